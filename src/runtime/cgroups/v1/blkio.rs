//! blkio weight (CFQ's blkio.weight, or BFQ's blkio.bfq.weight), per-device weights, throttles.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

pub(super) fn wants(b: &LinuxBlockIo) -> bool {
    b.weight().is_some_and(|w| w != 0)
        || b.leaf_weight().is_some_and(|w| w != 0)
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || [
            b.throttle_read_bps_device(),
            b.throttle_write_bps_device(),
            b.throttle_read_iops_device(),
            b.throttle_write_iops_device(),
        ]
        .iter()
        .any(|t| t.as_ref().is_some_and(|v| !v.is_empty()))
}

pub(super) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let (weight_file, weight_device_file) = if fsio::exists(dir, "blkio.weight") {
        ("blkio.weight", "blkio.weight_device")
    } else {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    };
    let unsupported = || CgroupError::Resource {
        what: "blkio weight",
        reason: format!(
            "the kernel offers neither blkio.weight nor blkio.bfq.weight in {} (no CFQ/BFQ scheduler)",
            dir.display()
        ),
    };
    let needs_weight = b.weight().is_some_and(|w| w != 0)
        || b.weight_device()
            .iter()
            .flatten()
            .any(|d| d.weight().is_some_and(|w| w != 0));
    if needs_weight && !fsio::exists(dir, weight_file) {
        return Err(unsupported());
    }
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        fsio::write(dir, weight_file, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        fsio::write(dir, "blkio.leaf_weight", &w.to_string())?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight().filter(|w| *w != 0) {
            fsio::write(
                dir,
                weight_device_file,
                &format!("{}:{} {w}", d.major(), d.minor()),
            )?;
        }
        if let Some(w) = d.leaf_weight().filter(|w| *w != 0) {
            let line = format!("{}:{} {w}", d.major(), d.minor());
            fsio::write(dir, "blkio.leaf_weight_device", &line)?;
        }
    }
    let throttles: [(&str, &Option<Vec<LinuxThrottleDevice>>); 4] = [
        (
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ];
    for (file, devices) in throttles {
        for d in devices.iter().flatten() {
            fsio::write(
                dir,
                file,
                &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
            )?;
        }
    }
    Ok(())
}
