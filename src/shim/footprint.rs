//! Keeping an idle shim small. A shim lives as long as its container, so what stays resident
//! while it waits is paid once per container. Its private memory is a few hundred KiB; the rest
//! of its RSS is its own code: file pages shared with every other shim through the page cache,
//! but counted in each process that has them mapped. Setting up a container and answering the
//! daemon runs code all over the binary, and the kernel maps 16 neighbouring pages around every
//! code fault, so a busy shim ends up with nearly its whole binary mapped although, waiting, it
//! runs almost none of it. So when a shim has been quiet for a while it returns free heap to the
//! kernel and, right before it blocks, unmaps its read-only segments: the next event maps back
//! the code it runs, from the page cache, in microseconds.

use std::ffi::c_void;
use std::sync::OnceLock;
use std::time::Duration;

use nix::poll::PollFd;

/// How long without any event before the shim trims itself.
pub const IDLE_TRIM_AFTER: Duration = Duration::from_secs(1);

const PAGE: usize = 4096;

/// The binary's never-written loaded segments, as page-aligned (start, length).
static SEGMENTS: OnceLock<Vec<(usize, usize)>> = OnceLock::new();

/// Releases free heap. Done first: it runs more code than `unmap_code_and_poll`.
pub fn trim_heap() {
    // SAFETY: malloc_trim only returns free memory to the kernel.
    unsafe { libc::malloc_trim(0) };
}

/// Unmaps the binary's read-only segments, then blocks in poll(2) on `fds` for `timeout_ms`.
/// One function with nothing but the two system calls between them, because whatever code runs
/// after the unmap is faulted back in (16 pages at a time) and stays resident while idle.
pub fn unmap_code_and_poll(fds: &mut [PollFd<'_>], timeout_ms: i32) -> nix::Result<i32> {
    let segs = SEGMENTS.get_or_init(read_only_segments);
    // nix's PollFd is a transparent wrapper of pollfd (nix's own poll casts it the same way).
    let (fds_ptr, nfds) = (fds.as_mut_ptr().cast::<libc::pollfd>(), fds.len());
    let (segs_ptr, nsegs) = (segs.as_ptr(), segs.len());
    let mut i = 0;
    while i < nsegs {
        // SAFETY: `i` < the length of the Vec behind `segs_ptr`; the ranges are private,
        // never-written file pages of our own binary: MADV_DONTNEED drops them and the next
        // access faults the same bytes back in.
        unsafe {
            let (start, len) = *segs_ptr.add(i);
            libc::madvise(start as *mut c_void, len, libc::MADV_DONTNEED);
        }
        i += 1;
    }
    // SAFETY: `fds_ptr` points at `nfds` pollfd structures borrowed for this call.
    let rc = unsafe { libc::poll(fds_ptr, nfds as libc::nfds_t, timeout_ms) };
    nix::errno::Errno::result(rc)
}

fn read_only_segments() -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    // SAFETY: dl_iterate_phdr calls back with valid program headers for each loaded object;
    // the callback reads them and pushes into the Vec passed as its data pointer.
    unsafe {
        libc::dl_iterate_phdr(Some(collect), (&mut out as *mut Vec<(usize, usize)>).cast());
    }
    out
}

unsafe extern "C" fn collect(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut c_void,
) -> libc::c_int {
    // SAFETY: the pointers come from dl_iterate_phdr and `read_only_segments`' own frame.
    let (info, out) = unsafe { (&*info, &mut *(data as *mut Vec<(usize, usize)>)) };
    for i in 0..info.dlpi_phnum as usize {
        // SAFETY: dlpi_phdr points at dlpi_phnum headers.
        let ph = unsafe { &*info.dlpi_phdr.add(i) };
        // Writable segments (data, bss, and RELRO, which relocation wrote) hold private state:
        // only never-written segments are file pages that can be dropped and read again.
        if ph.p_type != libc::PT_LOAD || ph.p_flags & libc::PF_W != 0 {
            continue;
        }
        let start = info.dlpi_addr as usize + ph.p_vaddr as usize;
        let first = start & !(PAGE - 1);
        // Whole pages only: a page shared with a writable segment is left alone.
        let last = (start + ph.p_memsz as usize) & !(PAGE - 1);
        if last > first {
            out.push((first, last - first));
        }
    }
    // Only the main program (the first object): a static binary has no other.
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_code_and_survives_unmapping_it() {
        let segs = read_only_segments();
        let here = finds_the_code_and_survives_unmapping_it as fn() as usize;
        assert!(
            segs.iter().any(|&(s, l)| (s..s + l).contains(&here)),
            "this function's code is in no read-only segment: {segs:x?}"
        );
        trim_heap();
        let (r, _w) = nix::unistd::pipe().unwrap();
        let mut fds = [PollFd::new(
            std::os::fd::AsFd::as_fd(&r),
            nix::poll::PollFlags::POLLIN,
        )];
        assert_eq!(unmap_code_and_poll(&mut fds, 1).unwrap(), 0);
        // Still running, and the code and constants read back the same.
        assert_eq!(format!("{}", 6 * 7), "42");
    }
}
