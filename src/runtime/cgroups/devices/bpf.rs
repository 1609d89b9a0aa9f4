//! The bpf(2) calls that put a device program on a cgroup v2 directory: load, attach with
//! BPF_F_ALLOW_MULTI, then detach whatever was attached before (so an update never leaves a
//! window with no filter: while both are attached, both must allow).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::program::Insn;
use crate::runtime::cgroups::error::CgroupError;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The kernel accepts any license string for programs that call no GPL-only helpers.
const LICENSE: &[u8] = b"Apache-2.0\0";

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(cmd, attr, sizeof attr).
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialised #[repr(C)] struct laid out like the kernel's union
    // member for `cmd`, and the size passed is its size; pointers inside it are valid for the
    // duration of the call (the callers keep the buffers alive).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned_fd(raw: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just returned this new descriptor to us; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(raw as i32) }
}

fn load(prog: &[Insn], log: Option<&mut Vec<u8>>) -> io::Result<OwnedFd> {
    let code: Vec<u8> = prog.iter().flat_map(|i| i.encode()).collect();
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: code.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        ..Default::default()
    };
    attr.prog_name[..12].copy_from_slice(b"berth_device");
    if let Some(log) = log {
        attr.log_level = 1;
        attr.log_size = log.len() as u32;
        attr.log_buf = log.as_mut_ptr() as u64;
    }
    bpf(BPF_PROG_LOAD, &mut attr).map(owned_fd)
}

/// Loads the program; on failure loads again with the verifier log on, to say why.
pub(crate) fn load_device_program(prog: &[Insn]) -> Result<OwnedFd, CgroupError> {
    match load(prog, None) {
        Ok(fd) => Ok(fd),
        Err(source) => {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = load(prog, Some(&mut buf));
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            let text = String::from_utf8_lossy(&buf[..end]).trim().to_string();
            Err(CgroupError::Bpf {
                op: "load device program",
                source,
                detail: if text.is_empty() {
                    text
                } else {
                    format!("\n{text}")
                },
            })
        }
    }
}

fn query(cgroup: BorrowedFd<'_>) -> io::Result<Vec<u32>> {
    // A cgroup holds at most 64 programs per attach type.
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    bpf(BPF_PROG_QUERY, &mut attr)?;
    ids.truncate(attr.prog_cnt as usize);
    Ok(ids)
}

fn fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdByIdAttr {
        prog_id: id,
        ..Default::default()
    };
    bpf(BPF_PROG_GET_FD_BY_ID, &mut attr).map(owned_fd)
}

fn attach_or_detach(
    cmd: libc::c_long,
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: if cmd == BPF_PROG_ATTACH {
            BPF_F_ALLOW_MULTI
        } else {
            0
        },
        replace_bpf_fd: 0,
    };
    bpf(cmd, &mut attr).map(|_| ())
}

/// Attaches `prog` to the cgroup directory and removes the device programs attached before.
pub(crate) fn replace_device_program(dir: &Path, prog: &[Insn]) -> Result<(), CgroupError> {
    let cgroup = File::open(dir).map_err(|source| CgroupError::Io {
        op: "open cgroup directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let bpf_err = |op: &'static str| {
        move |source: io::Error| CgroupError::Bpf {
            op,
            source,
            detail: format!(" (cgroup {})", dir.display()),
        }
    };
    let old = query(cgroup.as_fd()).map_err(bpf_err("query attached device programs"))?;
    let new = load_device_program(prog)?;
    attach_or_detach(BPF_PROG_ATTACH, cgroup.as_fd(), new.as_fd())
        .map_err(bpf_err("attach device program"))?;
    for id in old {
        let old_prog = fd_by_id(id).map_err(bpf_err("open attached device program"))?;
        attach_or_detach(BPF_PROG_DETACH, cgroup.as_fd(), old_prog.as_fd())
            .map_err(bpf_err("detach old device program"))?;
    }
    Ok(())
}
