//! io.weight (or io.bfq.weight when the BFQ scheduler provides it), io.max throttles.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use super::set;
use crate::runtime::cgroups::convert;
use crate::runtime::cgroups::error::CgroupError;

pub(super) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    // BFQ takes the v1 range [10, 1000] as is; io.weight needs [1, 10000].
    let bfq = dir.join("io.bfq.weight").exists();
    let weight = |w: u16| {
        if bfq {
            ("io.bfq.weight", u64::from(w))
        } else {
            ("io.weight", convert::blkio_weight_to_io_weight(w))
        }
    };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        let (file, value) = weight(w);
        set(dir, file, &value.to_string())?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight().filter(|w| *w != 0) {
            let (file, value) = weight(w);
            set(dir, file, &format!("{}:{} {value}", d.major(), d.minor()))?;
        }
    }
    let throttles: [(&str, &Option<Vec<LinuxThrottleDevice>>); 4] = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, devices) in throttles {
        for d in devices.iter().flatten() {
            let line = format!("{}:{} {key}={}", d.major(), d.minor(), d.rate());
            set(dir, "io.max", &line)?;
        }
    }
    Ok(())
}
