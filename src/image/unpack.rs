//! Applies one image layer (an uncompressed tar) to an empty directory the way dockerd's overlay2
//! driver does, so the directory can serve as an overlayfs lower layer:
//!
//! - AUFS-style whiteouts become overlayfs ones: `.wh.NAME` is a 0:0 character device at `NAME`,
//!   `D/.wh..wh..opq` sets `trusted.overlay.opaque=y` on `D`; other `.wh..wh.*` (AUFS
//!   metadata) are dropped.
//! - Regular files, directories, symlinks, hard links, devices and fifos are created with the
//!   header's ownership, mode (after chown, which clears setuid), `SCHILY.xattr.*` PAX records
//!   and times; directory times are set last, since creating children changes them.
//!
//! The layer is untrusted, so no operation may land outside `dest`. Entry names are cleaned
//! lexically (a name climbing above the root is [`UnpackError::Breakout`]); the parent of each
//! entry is then resolved component by component from a descriptor of `dest`, opening every
//! directory with `O_NOFOLLOW` and resolving symlinks ourselves as if `dest` were the root
//! (absolute targets restart at `dest`, `..` stops at `dest`). Every create, remove, chown and
//! chmod is an `*at` call on that parent descriptor with a single final component, which is
//! never followed. Hard link targets are resolved the same way.

use std::collections::VecDeque;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{
    FchmodatFlags, Mode, SFlag, UtimensatFlags, fchmod, fchmodat, fstatat, makedev, mkdirat,
    mknodat, utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchownat, linkat, symlinkat, unlinkat};

/// Prefix of AUFS whiteout files.
const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// Prefix of AUFS metadata entries (`.wh..wh.plnk`, `.wh..wh.aufs`, ...).
const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
/// Marks its directory as opaque.
const WHITEOUT_OPAQUE_DIR: &[u8] = b".wh..wh..opq";
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const PAX_XATTR_PREFIX: &[u8] = b"SCHILY.xattr.";
/// Mode of directories a layer implies without listing them (dockerd's ImpliedDirectoryMode).
const IMPLIED_DIR_MODE: u32 = 0o755;
/// Symlinks followed while resolving one path before giving up with ELOOP (as securejoin).
const MAX_SYMLINKS: u32 = 255;

/// What one layer application wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Bytes of regular-file content written.
    pub bytes: u64,
    /// Tar members processed (PAX/GNU extension headers are not members).
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The archive stream itself could not be read or is malformed.
    #[error("reading layer archive: {0}")]
    Archive(#[source] io::Error),
    /// `path` is inside the layer ("/usr/bin"), not where the layer is being unpacked.
    #[error("{op} {} in the layer: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An entry name or hard link target that would leave the destination.
    #[error("breakout: {0}")]
    Breakout(String),
    #[error("invalid whiteout entry {0:?}")]
    InvalidWhiteout(String),
    #[error("unhandled tar header type {kind} for {path:?}")]
    UnsupportedEntry { path: String, kind: u8 },
    #[error("unsupported layer compression: {0}")]
    UnsupportedCompression(&'static str),
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> UnpackError + 'a {
    move |e| UnpackError::Io {
        op,
        path: path.to_path_buf(),
        source: io::Error::from(e),
    }
}

/// Compression of a layer blob, as dockerd detects it from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// Detects the compression from the first bytes of a blob (10 are enough).
pub fn detect_compression(head: &[u8]) -> Compression {
    const ZSTD_SKIPPABLE_START: u32 = 0x184D_2A50;
    const ZSTD_SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
    if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Compression::Gzip
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if head.len() >= 8
        && u32::from_le_bytes([head[0], head[1], head[2], head[3]]) & ZSTD_SKIPPABLE_MASK
            == ZSTD_SKIPPABLE_START
    {
        // A zstd stream may begin with a skippable frame.
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Wraps `reader` in a decompressor chosen by its magic bytes: gzip, zstd or none. bzip2 and
/// xz are recognised but not supported. The result is `Send` so a caller can hand it to a
/// blocking thread.
pub fn decompress<'a, R: Read + Send + 'a>(
    mut reader: R,
) -> Result<Box<dyn Read + Send + 'a>, UnpackError> {
    let mut head = [0u8; 10];
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(UnpackError::Archive(e)),
        }
    }
    let compression = detect_compression(&head[..n]);
    // Put the sniffed bytes back in front of the rest of the stream.
    let stream = io::Cursor::new(head[..n].to_vec()).chain(reader);
    Ok(match compression {
        Compression::None => Box::new(stream),
        // Multi-member gzip is valid and Go's reader accepts it.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(stream)),
        Compression::Zstd => Box::new(zstd::Decoder::new(stream).map_err(UnpackError::Archive)?),
        Compression::Bzip2 => return Err(UnpackError::UnsupportedCompression("bzip2")),
        Compression::Xz => return Err(UnpackError::UnsupportedCompression("xz")),
    })
}

/// Applies the uncompressed layer `tar` to `dest`, which should be an empty directory.
pub fn unpack_layer<R: Read>(tar: R, dest: &Path) -> Result<UnpackStats, UnpackError> {
    unpack_into(tar, dest).map_err(|e| match e {
        // Clients see the entry's path in the layer; the log gets where it was unpacked.
        UnpackError::Io { op, path, source } => {
            tracing::warn!(path = %path.display(), op, error = %source, "layer unpack failed");
            let inside = path.strip_prefix(dest).unwrap_or(Path::new(""));
            UnpackError::Io {
                op,
                path: Path::new("/").join(inside),
                source,
            }
        }
        other => other,
    })
}

fn unpack_into<R: Read>(tar: R, dest: &Path) -> Result<UnpackStats, UnpackError> {
    let root = nix::fcntl::open(
        dest,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err("open", dest))?;
    let mut unpacker = Unpacker {
        dest,
        root,
        dirs: Vec::new(),
        stats: UnpackStats::default(),
        buf: vec![0; 128 * 1024],
    };
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().map_err(UnpackError::Archive)? {
        let entry = entry.map_err(UnpackError::Archive)?;
        unpacker.apply(entry)?;
    }
    unpacker.finish_dirs()?;
    Ok(unpacker.stats)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Regular,
    Dir,
    Symlink,
    HardLink,
    Char,
    Block,
    Fifo,
    Other(u8),
}

/// A directory inside dest, opened without following symlinks.
struct ResolvedDir {
    fd: OwnedFd,
    /// Its symlink-free path relative to dest, one component per element.
    components: Vec<Vec<u8>>,
}

impl ResolvedDir {
    fn path(&self, dest: &Path) -> PathBuf {
        let mut p = dest.to_path_buf();
        for c in &self.components {
            p.push(OsStr::from_bytes(c));
        }
        p
    }
}

/// A directory whose times are applied after all entries.
struct DirTimes {
    components: Vec<Vec<u8>>,
    atime: TimeSpec,
    mtime: TimeSpec,
}

struct Unpacker<'a> {
    dest: &'a Path,
    root: OwnedFd,
    dirs: Vec<DirTimes>,
    stats: UnpackStats,
    buf: Vec<u8>,
}

/// Result of cleaning an archive path lexically.
#[derive(Debug, PartialEq, Eq)]
enum Cleaned {
    /// Refers to the root itself (`.`, `/`, `a/..`).
    Root,
    /// Climbs above the root.
    Escapes,
    Path(Vec<Vec<u8>>),
}

/// Strips leading `/`, drops `.` and empty components and resolves `..` lexically. For hard
/// link targets this also gives dockerd's semantics: an absolute target is relative to the
/// root, and `/../x` escapes rather than being clamped.
fn clean_path(raw: &[u8]) -> Cleaned {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Cleaned::Escapes;
                }
            }
            p => out.push(p.to_vec()),
        }
    }
    if out.is_empty() {
        Cleaned::Root
    } else {
        Cleaned::Path(out)
    }
}

fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

fn is_type(mode: libc::mode_t, kind: libc::mode_t) -> bool {
    mode & libc::S_IFMT == kind
}

/// Removes `name` in `dir` and, if it is a directory, everything below it. Symlinks are
/// removed, never followed.
fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<()> {
    match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => return Ok(()),
        Err(Errno::EISDIR) => {}
        Err(e) => return Err(e),
    }
    let child_dir = open_dir_at(dir, name)?;
    for child in list_dir(&child_dir)? {
        remove_all_at(child_dir.as_fd(), &child)?;
    }
    unlinkat(dir, name, UnlinkatFlags::RemoveDir)
}

/// Names in the directory open at `dir`, without `.` and `..`.
fn list_dir(dir: &OwnedFd) -> nix::Result<Vec<OsString>> {
    // fdopendir takes ownership of its descriptor, so give it a duplicate.
    let raw = dir
        .try_clone()
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF)))?
        .into_raw_fd();
    // SAFETY: raw is an open directory descriptor that we own; on success the DIR owns it.
    let dirp = unsafe { libc::fdopendir(raw) };
    if dirp.is_null() {
        let e = Errno::last();
        // SAFETY: fdopendir failed, so raw is still ours to close.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    // The duplicate shares the file offset; start from the beginning in any case.
    // SAFETY: dirp is a valid DIR stream.
    unsafe { libc::rewinddir(dirp) };
    let mut names = Vec::new();
    let result = loop {
        Errno::clear();
        // SAFETY: dirp is a valid DIR stream; the entry is read before the next readdir call.
        let ent = unsafe { libc::readdir(dirp) };
        if ent.is_null() {
            let e = Errno::last();
            break if e == Errno::UnknownErrno {
                Ok(())
            } else {
                Err(e)
            };
        }
        // SAFETY: d_name is a NUL-terminated array inside the entry readdir returned.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(OsString::from_vec(name.to_vec()));
        }
    };
    // SAFETY: dirp is valid and not used after this.
    unsafe { libc::closedir(dirp) };
    result.map(|()| names)
}

/// chmod of a final component known not to be a symlink (chmod cannot apply to one).
fn chmod_at(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> nix::Result<()> {
    let mode = Mode::from_bits_truncate(mode as libc::mode_t);
    match fchmodat(dir, name, mode, FchmodatFlags::NoFollowSymlink) {
        // Kernels without fchmodat2 (and libcs without emulation) cannot do NOFOLLOW; the entry
        // was just created by us as a non-symlink, so following is equivalent.
        Err(Errno::EOPNOTSUPP) => fchmodat(dir, name, mode, FchmodatFlags::FollowSymlink),
        r => r,
    }
}

fn lsetxattr(path: &Path, name: &[u8], value: &[u8]) -> io::Result<()> {
    let cpath = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let cname = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: both strings are NUL-terminated and outlive the call; value is a valid slice.
    let r = unsafe {
        libc::lsetxattr(
            cpath.as_ptr(),
            cname.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn fsetxattr(fd: BorrowedFd<'_>, name: &str, value: &[u8]) -> io::Result<()> {
    let cname = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: fd is open for the duration of the call; name is NUL-terminated.
    let r = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            cname.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Parses a PAX time (`sec[.frac]`, possibly negative) into seconds and nanoseconds.
fn parse_pax_time(v: &[u8]) -> Option<(i64, i64)> {
    let s = std::str::from_utf8(v).ok()?;
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    if sec.is_empty() || !sec.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sec: i64 = sec.parse().ok()?;
    // Nanoseconds from at most nine fraction digits, padded on the right.
    let mut nsec: i64 = 0;
    for i in 0..9 {
        nsec = nsec * 10 + frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
    }
    if neg && (sec != 0 || nsec != 0) {
        // Before the epoch: bound_time clamps it to the epoch anyway.
        return Some((-1, 0));
    }
    Some((sec, nsec))
}

/// dockerd's boundTime: times before the epoch or beyond what a 64-bit nanosecond count holds
/// become the epoch.
fn bound_time(sec: i64, nsec: i64) -> TimeSpec {
    let fits = sec >= 0
        && sec
            .checked_mul(1_000_000_000)
            .and_then(|ns| ns.checked_add(nsec))
            .is_some();
    if fits {
        TimeSpec::new(sec, nsec)
    } else {
        TimeSpec::new(0, 0)
    }
}

fn archive_err(e: io::Error) -> UnpackError {
    UnpackError::Archive(e)
}

/// A numeric header field; an empty one (all NUL or spaces) is 0, as Go's tar reader has it.
fn numeric(parsed: io::Result<u64>, field: &[u8]) -> Result<u64, UnpackError> {
    match parsed {
        Ok(v) => Ok(v),
        Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        Err(e) => Err(UnpackError::Archive(e)),
    }
}

impl Unpacker<'_> {
    fn apply<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let header = entry.header();
        let entry_type = header.entry_type();
        if entry_type.is_pax_global_extensions() {
            return Ok(());
        }
        self.stats.entries += 1;
        let typeflag = header.as_bytes()[156];
        let raw_name = entry.path_bytes().into_owned();
        let kind = match entry_type {
            // Pre-POSIX archives mark directories by a trailing slash on a '\0' entry.
            tar::EntryType::Regular if typeflag == 0 && raw_name.ends_with(b"/") => Kind::Dir,
            // Sparse files are expanded by the tar reader and written out in full.
            tar::EntryType::Regular | tar::EntryType::GNUSparse => Kind::Regular,
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink,
            tar::EntryType::Link => Kind::HardLink,
            tar::EntryType::Char => Kind::Char,
            tar::EntryType::Block => Kind::Block,
            tar::EntryType::Fifo => Kind::Fifo,
            _ => Kind::Other(typeflag),
        };
        let raw = header.as_old();
        let mode = numeric(header.mode().map(u64::from), &raw.mode)? as u32 & 0o7777;
        // The tar reader has already applied PAX uid/gid overrides to the header.
        let uid = numeric(header.uid(), &raw.uid)?;
        let gid = numeric(header.gid(), &raw.gid)?;
        let (major, minor) = match kind {
            Kind::Char | Kind::Block => (
                header.device_major().map_err(archive_err)?.unwrap_or(0),
                header.device_minor().map_err(archive_err)?.unwrap_or(0),
            ),
            _ => (0, 0),
        };
        let header_mtime = numeric(header.mtime(), &raw.mtime)?;
        let gnu_atime = match header.as_gnu() {
            Some(gnu) => gnu.atime().unwrap_or(0),
            None => 0,
        };
        let link_name = entry.link_name_bytes().map(|l| l.into_owned());
        let mut pax: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        if let Some(exts) = entry.pax_extensions().map_err(archive_err)? {
            for ext in exts {
                let ext = ext.map_err(archive_err)?;
                pax.push((ext.key_bytes().to_vec(), ext.value_bytes().to_vec()));
            }
        }
        let pax_value = |key: &[u8]| pax.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v);
        let bad_time = || {
            archive_err(io::Error::new(
                io::ErrorKind::InvalidData,
                "invalid PAX time",
            ))
        };
        let mtime = match pax_value(b"mtime") {
            Some(v) => parse_pax_time(v).ok_or_else(bad_time)?,
            None => (i64::try_from(header_mtime).unwrap_or(-1), 0),
        };
        let atime = match pax_value(b"atime") {
            Some(v) => parse_pax_time(v).ok_or_else(bad_time)?,
            None => (i64::try_from(gnu_atime).unwrap_or(-1), 0),
        };
        // dockerd uses the later of atime and mtime as atime.
        let atime = atime.max(mtime);
        let (atime, mtime) = (bound_time(atime.0, atime.1), bound_time(mtime.0, mtime.1));

        let components = match clean_path(&raw_name) {
            Cleaned::Root => return Ok(()),
            Cleaned::Escapes => {
                return Err(UnpackError::Breakout(format!(
                    "invalid entry name {:?}",
                    String::from_utf8_lossy(&raw_name)
                )));
            }
            Cleaned::Path(c) => c,
        };
        let Some((base, parents)) = components.split_last() else {
            return Ok(());
        };
        // AUFS metadata directories (`.wh..wh.plnk/...`) are skipped whole, as dockerd did.
        if parents
            .first()
            .is_some_and(|p| p.starts_with(WHITEOUT_META_PREFIX))
        {
            return Ok(());
        }
        let dir = self.resolve_dir(parents, true)?;
        let base = OsStr::from_bytes(base);
        let path = dir.path(self.dest).join(base);

        if base.as_bytes().starts_with(WHITEOUT_PREFIX) {
            return self.whiteout(&dir, base, &path, uid, gid);
        }

        let uid = u32::try_from(uid).map_err(|_| io_err("lchown", &path)(Errno::EINVAL))?;
        let gid = u32::try_from(gid).map_err(|_| io_err("lchown", &path)(Errno::EINVAL))?;

        // Replace whatever is there unless both are directories, which merge.
        let mut existing_dir = false;
        match fstatat(dir.fd.as_fd(), base, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => {
                existing_dir = is_type(st.st_mode, libc::S_IFDIR);
                if !(existing_dir && kind == Kind::Dir) {
                    existing_dir = false;
                    remove_all_at(dir.fd.as_fd(), base).map_err(io_err("remove", &path))?;
                }
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(io_err("lstat", &path)(e)),
        }

        let mut is_symlink_inode = false;
        match kind {
            Kind::Dir => {
                if !existing_dir {
                    mkdirat(
                        dir.fd.as_fd(),
                        base,
                        Mode::from_bits_truncate((mode & 0o777) as libc::mode_t),
                    )
                    .map_err(io_err("mkdir", &path))?;
                }
            }
            Kind::Regular => {
                let fd = openat(
                    dir.fd.as_fd(),
                    base,
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate((mode & 0o777) as libc::mode_t),
                )
                .map_err(io_err("create", &path))?;
                let mut file = File::from(fd);
                self.stats.bytes += copy_data(&mut entry, &mut file, &mut self.buf, &path)?;
            }
            Kind::Symlink => {
                let target = link_name.unwrap_or_default();
                symlinkat(OsStr::from_bytes(&target), dir.fd.as_fd(), base)
                    .map_err(io_err("symlink", &path))?;
                is_symlink_inode = true;
            }
            Kind::HardLink => {
                let raw_target = link_name.unwrap_or_default();
                let Cleaned::Path(target) = clean_path(&raw_target) else {
                    return Err(UnpackError::Breakout(format!(
                        "invalid hardlink target {:?} for {:?}",
                        String::from_utf8_lossy(&raw_target),
                        String::from_utf8_lossy(&raw_name)
                    )));
                };
                let Some((target_base, target_parents)) = target.split_last() else {
                    return Ok(());
                };
                let target_dir = self.resolve_dir(target_parents, false)?;
                let target_base = OsStr::from_bytes(target_base);
                // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
                linkat(
                    target_dir.fd.as_fd(),
                    target_base,
                    dir.fd.as_fd(),
                    base,
                    AtFlags::empty(),
                )
                .map_err(io_err("link", &path))?;
                let st = fstatat(dir.fd.as_fd(), base, AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(io_err("lstat", &path))?;
                is_symlink_inode = is_type(st.st_mode, libc::S_IFLNK);
            }
            Kind::Char | Kind::Block | Kind::Fifo => {
                let sflag = match kind {
                    Kind::Char => SFlag::S_IFCHR,
                    Kind::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                mknodat(
                    dir.fd.as_fd(),
                    base,
                    sflag,
                    Mode::from_bits_truncate(mode as libc::mode_t),
                    makedev(u64::from(major), u64::from(minor)),
                )
                .map_err(io_err("mknod", &path))?;
            }
            Kind::Other(t) => {
                return Err(UnpackError::UnsupportedEntry {
                    path: String::from_utf8_lossy(&raw_name).into_owned(),
                    kind: t,
                });
            }
        }

        fchownat(
            dir.fd.as_fd(),
            base,
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(io_err("lchown", &path))?;

        for (key, value) in &pax {
            let Some(name) = key.strip_prefix(PAX_XATTR_PREFIX) else {
                continue;
            };
            // The parent was resolved without symlinks and lsetxattr does not follow the final
            // component, so this path names exactly the entry just created.
            match lsetxattr(&path, name, value) {
                Ok(()) => {}
                // As dockerd: EPERM (e.g. trusted.* or security.* where not allowed) is skipped.
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                    tracing::warn!(
                        path = %path.display(),
                        xattr = %String::from_utf8_lossy(name),
                        error = %e,
                        "ignored xattr in layer"
                    );
                }
                Err(e) => {
                    return Err(UnpackError::Io {
                        op: "lsetxattr",
                        path,
                        source: e,
                    });
                }
            }
        }

        // After chown, which clears setuid/setgid. A symlink has no mode of its own.
        if !is_symlink_inode {
            chmod_at(dir.fd.as_fd(), base, mode).map_err(io_err("chmod", &path))?;
        }

        // A hard link to a symlink shares the symlink's inode; dockerd leaves its times alone.
        if kind == Kind::Symlink || !is_symlink_inode {
            utimensat(
                dir.fd.as_fd(),
                base,
                &atime,
                &mtime,
                UtimensatFlags::NoFollowSymlink,
            )
            .map_err(io_err("utimes", &path))?;
        }
        if kind == Kind::Dir {
            let mut components = dir.components;
            components.push(base.as_bytes().to_vec());
            self.dirs.push(DirTimes {
                components,
                atime,
                mtime,
            });
        }
        Ok(())
    }

    /// Converts an AUFS whiteout entry to its overlayfs form.
    fn whiteout(
        &self,
        dir: &ResolvedDir,
        base: &OsStr,
        path: &Path,
        uid: u64,
        gid: u64,
    ) -> Result<(), UnpackError> {
        let name = base.as_bytes();
        if name == WHITEOUT_OPAQUE_DIR {
            let dir_path = dir.path(self.dest);
            return fsetxattr(dir.fd.as_fd(), OPAQUE_XATTR, b"y").map_err(|source| {
                UnpackError::Io {
                    op: "setxattr trusted.overlay.opaque",
                    path: dir_path,
                    source,
                }
            });
        }
        if name.starts_with(WHITEOUT_META_PREFIX) {
            // AUFS bookkeeping (hard link dir, ...): meaningless for overlayfs.
            return Ok(());
        }
        let original = &name[WHITEOUT_PREFIX.len()..];
        if original.is_empty() || original == b"." || original == b".." {
            return Err(UnpackError::InvalidWhiteout(
                path.to_string_lossy().into_owned(),
            ));
        }
        let original = OsStr::from_bytes(original);
        let target = dir.path(self.dest).join(original);
        // Mode 0 and device 0:0, as dockerd creates them. An existing entry of the same name in
        // this layer makes this fail, as in dockerd.
        mknodat(dir.fd.as_fd(), original, SFlag::S_IFCHR, Mode::empty(), 0)
            .map_err(io_err("mknod whiteout", &target))?;
        if uid != 0 || gid != 0 {
            let uid = u32::try_from(uid).map_err(|_| io_err("lchown", &target)(Errno::EINVAL))?;
            let gid = u32::try_from(gid).map_err(|_| io_err("lchown", &target)(Errno::EINVAL))?;
            fchownat(
                dir.fd.as_fd(),
                original,
                Some(Uid::from_raw(uid)),
                Some(Gid::from_raw(gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(io_err("lchown", &target))?;
        }
        Ok(())
    }

    /// Opens the directory `components` names inside dest, resolving symlinks as if dest were
    /// the root: absolute targets restart at dest and `..` never climbs above it. With
    /// `create`, missing directories are made (mode 0755), as dockerd does for implied parents.
    fn resolve_dir(
        &self,
        components: &[Vec<u8>],
        create: bool,
    ) -> Result<ResolvedDir, UnpackError> {
        let mut queue: VecDeque<Vec<u8>> = components.iter().cloned().collect();
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut cur = self.dup_root()?;
        let mut links = 0u32;
        let here = |names: &[Vec<u8>], c: &[u8]| {
            let mut p = self.dest.to_path_buf();
            for n in names {
                p.push(OsStr::from_bytes(n));
            }
            p.push(OsStr::from_bytes(c));
            p
        };
        while let Some(c) = queue.pop_front() {
            match c.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    if names.pop().is_some() {
                        cur = self.walk(&names)?;
                    }
                    continue;
                }
                _ => {}
            }
            let name = OsStr::from_bytes(&c);
            match open_dir_at(cur.as_fd(), name) {
                Ok(fd) => {
                    cur = fd;
                    names.push(c);
                }
                Err(Errno::ENOENT) if create => {
                    let p = here(&names, &c);
                    match mkdirat(
                        cur.as_fd(),
                        name,
                        Mode::from_bits_truncate(IMPLIED_DIR_MODE as libc::mode_t),
                    ) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => return Err(io_err("mkdir", &p)(e)),
                    }
                    let fd = open_dir_at(cur.as_fd(), name).map_err(io_err("open", &p))?;
                    // Independent of the umask.
                    fchmod(
                        fd.as_fd(),
                        Mode::from_bits_truncate(IMPLIED_DIR_MODE as libc::mode_t),
                    )
                    .map_err(io_err("chmod", &p))?;
                    cur = fd;
                    names.push(c);
                }
                Err(Errno::ELOOP | Errno::ENOTDIR) => {
                    let p = here(&names, &c);
                    let st = fstatat(cur.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW)
                        .map_err(io_err("lstat", &p))?;
                    if !is_type(st.st_mode, libc::S_IFLNK) {
                        return Err(io_err("open", &p)(Errno::ENOTDIR));
                    }
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(io_err("resolve", &p)(Errno::ELOOP));
                    }
                    let target = readlinkat(cur.as_fd(), name)
                        .map_err(io_err("readlink", &p))?
                        .into_vec();
                    if target.starts_with(b"/") {
                        names.clear();
                        cur = self.dup_root()?;
                    }
                    for part in target.split(|&b| b == b'/').rev() {
                        queue.push_front(part.to_vec());
                    }
                }
                Err(e) => return Err(io_err("open", &here(&names, &c))(e)),
            }
        }
        Ok(ResolvedDir {
            fd: cur,
            components: names,
        })
    }

    fn dup_root(&self) -> Result<OwnedFd, UnpackError> {
        self.root.try_clone().map_err(|source| UnpackError::Io {
            op: "dup",
            path: self.dest.to_path_buf(),
            source,
        })
    }

    /// Reopens a directory from symlink-free components (after a `..`).
    fn walk(&self, names: &[Vec<u8>]) -> Result<OwnedFd, UnpackError> {
        let mut cur = self.dup_root()?;
        let mut p = self.dest.to_path_buf();
        for n in names {
            let name = OsStr::from_bytes(n);
            p.push(name);
            cur = open_dir_at(cur.as_fd(), name).map_err(io_err("open", &p))?;
        }
        Ok(cur)
    }

    /// Sets directory times last: entries created inside a directory change its mtime.
    fn finish_dirs(&mut self) -> Result<(), UnpackError> {
        for d in std::mem::take(&mut self.dirs) {
            let Some((base, parents)) = d.components.split_last() else {
                continue;
            };
            let dir = match self.resolve_dir(parents, false) {
                Ok(dir) => dir,
                // Replaced later in the layer by something that is not a directory.
                Err(UnpackError::Io { source, .. })
                    if matches!(source.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let base = OsStr::from_bytes(base);
            let path = dir.path(self.dest).join(base);
            match fstatat(dir.fd.as_fd(), base, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(st) if is_type(st.st_mode, libc::S_IFDIR) => {}
                Ok(_) | Err(Errno::ENOENT) => continue,
                Err(e) => return Err(io_err("lstat", &path)(e)),
            }
            utimensat(
                dir.fd.as_fd(),
                base,
                &d.atime,
                &d.mtime,
                UtimensatFlags::NoFollowSymlink,
            )
            .map_err(io_err("utimes", &path))?;
        }
        Ok(())
    }
}

/// Copies an entry's data, telling archive read errors from destination write errors.
fn copy_data<R: Read, W: Write>(
    from: &mut R,
    to: &mut W,
    buf: &mut [u8],
    path: &Path,
) -> Result<u64, UnpackError> {
    let mut total = 0u64;
    loop {
        let n = match from.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(UnpackError::Archive(e)),
        };
        to.write_all(&buf[..n]).map_err(|source| UnpackError::Io {
            op: "write",
            path: path.to_path_buf(),
            source,
        })?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    use tar::{Builder, EntryType, Header};

    /// A destination directory with an untouchable sentinel directory beside it.
    struct Env {
        _tmp: tempfile::TempDir,
        dest: PathBuf,
        sentinel: PathBuf,
    }

    fn setup() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("dest");
        let sentinel = tmp.path().join("sentinel");
        fs::create_dir(&dest).unwrap();
        fs::create_dir(&sentinel).unwrap();
        fs::write(sentinel.join("keep"), "original").unwrap();
        Env {
            _tmp: tmp,
            dest,
            sentinel,
        }
    }

    impl Env {
        fn unpack(&self, tar: Vec<u8>) -> Result<UnpackStats, UnpackError> {
            unpack_layer(&tar[..], &self.dest)
        }

        /// The sentinel still holds exactly its one file, unchanged, and nothing appeared
        /// beside dest.
        fn check_outside(&self) {
            let names: Vec<_> = fs::read_dir(&self.sentinel)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, vec![OsString::from("keep")]);
            let keep = self.sentinel.join("keep");
            assert_eq!(fs::read_to_string(&keep).unwrap(), "original");
            assert_eq!(fs::metadata(&keep).unwrap().nlink(), 1);
            let beside: Vec<_> = fs::read_dir(self.dest.parent().unwrap())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(beside.len(), 2, "{beside:?}");
        }

        fn p(&self, rel: &str) -> PathBuf {
            self.dest.join(rel)
        }

        /// Where an absolute host path lands once re-rooted at dest.
        fn rerooted(&self, abs: &Path) -> PathBuf {
            self.dest.join(abs.strip_prefix("/").unwrap())
        }
    }

    /// A GNU header with raw name and link name, bypassing the tar crate's path checks.
    fn header(name: &str, kind: EntryType, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_600_000_000);
        h
    }

    struct Tb(Builder<Vec<u8>>);

    fn tb() -> Tb {
        Tb(Builder::new(Vec::new()))
    }

    impl Tb {
        fn raw(&mut self, mut h: Header, data: &[u8]) -> &mut Self {
            h.set_cksum();
            self.0.append(&h, data).unwrap();
            self
        }

        fn file(&mut self, name: &str, data: &str) -> &mut Self {
            let h = header(name, EntryType::Regular, data.len() as u64);
            self.raw(h, data.as_bytes())
        }

        fn dir(&mut self, name: &str) -> &mut Self {
            self.raw(header(name, EntryType::Directory, 0), b"")
        }

        fn link(&mut self, kind: EntryType, name: &str, target: &str) -> &mut Self {
            let mut h = header(name, kind, 0);
            h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
            self.raw(h, b"")
        }

        fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
            self.link(EntryType::Symlink, name, target)
        }

        fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
            self.link(EntryType::Link, name, target)
        }

        fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
            self.0
                .append_pax_extensions(records.iter().copied())
                .unwrap();
            self
        }

        fn finish(&mut self) -> Vec<u8> {
            std::mem::replace(&mut self.0, Builder::new(Vec::new()))
                .into_inner()
                .unwrap()
        }
    }

    fn lgetxattr(path: &Path, name: &str) -> Option<Vec<u8>> {
        let cpath = CString::new(path.as_os_str().as_bytes()).unwrap();
        let cname = CString::new(name).unwrap();
        let mut buf = vec![0u8; 256];
        // SAFETY: valid C strings and a buffer of the given length.
        let n = unsafe {
            libc::lgetxattr(
                cpath.as_ptr(),
                cname.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return None;
        }
        buf.truncate(n as usize);
        Some(buf)
    }

    fn errno_of(e: &UnpackError) -> Option<i32> {
        match e {
            UnpackError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    #[test]
    fn regular_files_dirs_and_stats() {
        let env = setup();
        let mut etc = header("etc/", EntryType::Directory, 0);
        etc.set_mtime(1000);
        etc.set_mode(0o750);
        let mut host = header("etc/hostname", EntryType::Regular, 6);
        host.set_uid(1000);
        host.set_gid(2000);
        host.set_mtime(2000);
        host.set_mode(0o600);
        let tar = tb()
            .raw(etc, b"")
            .raw(host, b"berth\n")
            .file("usr/bin/tool", "#!/bin/sh\n")
            .finish();
        let stats = env.unpack(tar).unwrap();
        assert_eq!(
            stats,
            UnpackStats {
                bytes: 16,
                entries: 3
            }
        );

        let etc = fs::symlink_metadata(env.p("etc")).unwrap();
        assert!(etc.is_dir());
        assert_eq!(etc.mode() & 0o7777, 0o750);
        // Set after its child was created.
        assert_eq!(etc.mtime(), 1000);
        let host = fs::symlink_metadata(env.p("etc/hostname")).unwrap();
        assert_eq!(
            fs::read_to_string(env.p("etc/hostname")).unwrap(),
            "berth\n"
        );
        assert_eq!((host.uid(), host.gid()), (1000, 2000));
        assert_eq!(host.mode() & 0o7777, 0o600);
        assert_eq!(host.mtime(), 2000);
        // Implied parents: 0755, root-owned.
        for d in ["usr", "usr/bin"] {
            let m = fs::symlink_metadata(env.p(d)).unwrap();
            assert!(m.is_dir());
            assert_eq!(m.mode() & 0o7777, 0o755);
            assert_eq!((m.uid(), m.gid()), (0, 0));
        }
        env.check_outside();
    }

    #[test]
    fn dotdot_entry_is_breakout() {
        for name in [
            "../evil",
            "a/../../evil",
            "/../evil",
            "./../evil",
            "a/b/../../../evil",
        ] {
            let env = setup();
            let err = env.unpack(tb().file(name, "x").finish()).unwrap_err();
            assert!(matches!(err, UnpackError::Breakout(_)), "{name}: {err}");
            assert!(err.to_string().contains("evil"), "{err}");
            env.check_outside();
            assert_eq!(fs::read_dir(&env.dest).unwrap().count(), 0, "{name}");
        }
    }

    #[test]
    fn absolute_and_dotted_names_are_rooted() {
        let env = setup();
        let tar = tb()
            .dir("/")
            .dir("./")
            .file("/abs/file", "a")
            .file("./rel", "b")
            .file("x/../y", "c")
            .file("//double//slash", "d")
            .finish();
        let stats = env.unpack(tar).unwrap();
        assert_eq!(stats.entries, 6);
        assert_eq!(fs::read_to_string(env.p("abs/file")).unwrap(), "a");
        assert_eq!(fs::read_to_string(env.p("rel")).unwrap(), "b");
        assert_eq!(fs::read_to_string(env.p("y")).unwrap(), "c");
        assert_eq!(fs::read_to_string(env.p("double/slash")).unwrap(), "d");
        // "x" was only named lexically, never created.
        assert!(!env.p("x").exists());
        env.check_outside();
    }

    #[test]
    fn write_through_absolute_symlink_stays_inside() {
        let env = setup();
        let host_passwd = fs::read("/etc/passwd").ok();
        let sentinel = env.sentinel.to_str().unwrap().to_string();
        let tar = tb()
            .symlink("x", "/etc")
            .file("x/passwd", "root::0:0::/:/bin/sh\n")
            .symlink("s", &sentinel)
            .file("s/pwned", "gotcha")
            .file("s/keep", "overwritten?")
            .finish();
        env.unpack(tar).unwrap();
        assert_eq!(
            fs::read_to_string(env.p("etc/passwd")).unwrap(),
            "root::0:0::/:/bin/sh\n"
        );
        assert_eq!(fs::read("/etc/passwd").ok(), host_passwd);
        let inside = env.rerooted(&env.sentinel);
        assert_eq!(fs::read_to_string(inside.join("pwned")).unwrap(), "gotcha");
        assert_eq!(
            fs::read_to_string(inside.join("keep")).unwrap(),
            "overwritten?"
        );
        // The symlinks themselves are kept verbatim.
        assert_eq!(fs::read_link(env.p("x")).unwrap(), Path::new("/etc"));
        env.check_outside();
    }

    #[test]
    fn relative_symlink_climbing_out_is_clamped() {
        let env = setup();
        let tar = tb()
            .symlink("up", "../../../../../../..")
            .file("up/escaped", "e")
            .dir("a/b/")
            .symlink("a/b/back", "../../../x")
            .file("a/b/back/f", "f")
            .symlink("a/b/self", ".")
            .file("a/b/self/self/g", "g")
            .finish();
        env.unpack(tar).unwrap();
        assert_eq!(fs::read_to_string(env.p("escaped")).unwrap(), "e");
        assert_eq!(fs::read_to_string(env.p("x/f")).unwrap(), "f");
        assert_eq!(fs::read_to_string(env.p("a/b/g")).unwrap(), "g");
        env.check_outside();
    }

    #[test]
    fn symlink_loops_and_non_directories() {
        let env = setup();
        let tar = tb()
            .symlink("l1", "l2")
            .symlink("l2", "/l1")
            .file("l1/f", "x")
            .finish();
        let err = env.unpack(tar).unwrap_err();
        assert_eq!(errno_of(&err), Some(libc::ELOOP), "{err}");

        let env = setup();
        let tar = tb()
            .file("f", "x")
            .symlink("s", "f")
            .file("s/x", "y")
            .finish();
        let err = env.unpack(tar).unwrap_err();
        assert_eq!(errno_of(&err), Some(libc::ENOTDIR), "{err}");
        env.check_outside();
    }

    #[test]
    fn hard_links() {
        let env = setup();
        let tar = tb()
            .file("dir/file", "data")
            .hardlink("hl", "dir/file")
            .hardlink("hl_abs", "/dir/file")
            .hardlink("hl_dots", "./dir/../dir/file")
            .symlink("dangling", "nowhere")
            .hardlink("hl_sym", "dangling")
            .finish();
        let stats = env.unpack(tar).unwrap();
        assert_eq!(stats.bytes, 4);
        let ino = fs::metadata(env.p("dir/file")).unwrap().ino();
        for l in ["hl", "hl_abs", "hl_dots"] {
            assert_eq!(fs::metadata(env.p(l)).unwrap().ino(), ino, "{l}");
        }
        assert_eq!(fs::metadata(env.p("hl")).unwrap().nlink(), 4);
        // A link to a symlink links the symlink itself.
        let m = fs::symlink_metadata(env.p("hl_sym")).unwrap();
        assert!(m.file_type().is_symlink());
        assert_eq!(
            fs::read_link(env.p("hl_sym")).unwrap(),
            Path::new("nowhere")
        );
        env.check_outside();
    }

    #[test]
    fn hard_link_targets_cannot_escape() {
        for target in ["../../etc/passwd", "/../etc/passwd", "a/../../x", "", "."] {
            let env = setup();
            let err = env
                .unpack(tb().file("a", "x").hardlink("h", target).finish())
                .unwrap_err();
            assert!(matches!(err, UnpackError::Breakout(_)), "{target:?}: {err}");
            assert!(!env.p("h").exists());
            env.check_outside();
        }
        // Absolute targets are rooted at dest: the host's /etc/passwd is not linked.
        let env = setup();
        let err = env
            .unpack(tb().hardlink("h", "/etc/passwd").finish())
            .unwrap_err();
        assert_eq!(errno_of(&err), Some(libc::ENOENT), "{err}");
        assert!(!env.p("h").exists());
        // Nor through a symlink pointing outside.
        let env = setup();
        let sentinel = env.sentinel.to_str().unwrap().to_string();
        let tar = tb()
            .symlink("s", &sentinel)
            .hardlink("h", "s/keep")
            .finish();
        let err = env.unpack(tar).unwrap_err();
        assert_eq!(errno_of(&err), Some(libc::ENOENT), "{err}");
        assert!(!env.p("h").exists());
        env.check_outside();
    }

    #[test]
    fn whiteouts_become_overlay_whiteouts() {
        let env = setup();
        let mut wh = header("d/.wh.gone", EntryType::Regular, 0);
        wh.set_uid(1000);
        wh.set_gid(1001);
        let tar = tb()
            .dir("d/")
            .raw(wh, b"")
            .file(".wh.rootfile", "")
            .file("d/sub/.wh..wh..opq", "")
            .file("opaque-only/.wh..wh..opq", "")
            .dir(".wh..wh.plnk/")
            .file(".wh..wh.plnk/123.456", "aufs hardlink")
            .file("d/.wh..wh.aufs", "")
            .finish();
        env.unpack(tar).unwrap();

        for (p, owner) in [("d/gone", (1000, 1001)), ("rootfile", (0, 0))] {
            let m = fs::symlink_metadata(env.p(p)).unwrap();
            assert!(m.file_type().is_char_device(), "{p}");
            assert_eq!(m.rdev(), 0, "{p}");
            assert_eq!(m.mode() & 0o7777, 0, "{p}");
            assert_eq!((m.uid(), m.gid()), owner, "{p}");
        }
        assert!(!env.p("d/.wh.gone").exists());
        assert!(!env.p(".wh.rootfile").exists());
        for d in ["d/sub", "opaque-only"] {
            assert!(env.p(d).is_dir());
            assert_eq!(
                lgetxattr(&env.p(d), "trusted.overlay.opaque").as_deref(),
                Some(&b"y"[..]),
                "{d}"
            );
            assert!(!env.p(d).join(".wh..wh..opq").exists());
        }
        assert_eq!(lgetxattr(&env.p("d"), "trusted.overlay.opaque"), None);
        // AUFS metadata is dropped.
        assert!(!env.p(".wh..wh.plnk").exists());
        assert!(!env.p("d/.wh..wh.aufs").exists());
        assert!(!env.p("d/.wh.aufs").exists());
        env.check_outside();
    }

    #[test]
    fn invalid_whiteouts() {
        for name in [".wh.", "d/.wh..", "d/.wh..."] {
            let env = setup();
            let err = env.unpack(tb().file(name, "").finish()).unwrap_err();
            assert!(
                matches!(err, UnpackError::InvalidWhiteout(_)),
                "{name}: {err}"
            );
        }
        // A whiteout for something this layer already created fails, as in dockerd.
        let env = setup();
        let err = env
            .unpack(tb().file("x", "a").file(".wh.x", "").finish())
            .unwrap_err();
        assert_eq!(errno_of(&err), Some(libc::EEXIST), "{err}");
        // The other order: the later file replaces the whiteout.
        let env = setup();
        env.unpack(tb().file(".wh.x", "").file("x", "a").finish())
            .unwrap();
        assert_eq!(fs::read_to_string(env.p("x")).unwrap(), "a");
    }

    #[test]
    fn whiteout_through_symlink_stays_inside() {
        let env = setup();
        let sentinel = env.sentinel.to_str().unwrap().to_string();
        let tar = tb()
            .symlink("s", &sentinel)
            .file("s/.wh.keep", "")
            .file("s/.wh..wh..opq", "")
            .finish();
        env.unpack(tar).unwrap();
        let inside = env.rerooted(&env.sentinel);
        assert!(
            fs::symlink_metadata(inside.join("keep"))
                .unwrap()
                .file_type()
                .is_char_device()
        );
        assert_eq!(
            lgetxattr(&inside, "trusted.overlay.opaque").as_deref(),
            Some(&b"y"[..])
        );
        assert_eq!(lgetxattr(&env.sentinel, "trusted.overlay.opaque"), None);
        env.check_outside();
    }

    #[test]
    fn devices_and_fifos() {
        let env = setup();
        let mut null = header("dev/null", EntryType::Char, 0);
        null.set_device_major(1).unwrap();
        null.set_device_minor(3).unwrap();
        null.set_mode(0o666);
        let mut loop0 = header("dev/loop0", EntryType::Block, 0);
        loop0.set_device_major(7).unwrap();
        loop0.set_device_minor(0).unwrap();
        loop0.set_mode(0o660);
        loop0.set_gid(6);
        let mut fifo = header("run/fifo", EntryType::Fifo, 0);
        fifo.set_mode(0o600);
        let tar = tb().raw(null, b"").raw(loop0, b"").raw(fifo, b"").finish();
        env.unpack(tar).unwrap();

        let m = fs::symlink_metadata(env.p("dev/null")).unwrap();
        assert!(m.file_type().is_char_device());
        assert_eq!(m.rdev(), makedev(1, 3));
        assert_eq!(m.mode() & 0o7777, 0o666);
        let m = fs::symlink_metadata(env.p("dev/loop0")).unwrap();
        assert!(m.file_type().is_block_device());
        assert_eq!(m.rdev(), makedev(7, 0));
        assert_eq!(m.mode() & 0o7777, 0o660);
        assert_eq!(m.gid(), 6);
        let m = fs::symlink_metadata(env.p("run/fifo")).unwrap();
        assert!(m.file_type().is_fifo());
        assert_eq!(m.mode() & 0o7777, 0o600);
        env.check_outside();
    }

    #[test]
    fn special_mode_bits_survive_chown() {
        let env = setup();
        let mut su = header("bin/su", EntryType::Regular, 2);
        su.set_mode(0o4755);
        su.set_uid(1000);
        su.set_gid(1000);
        let mut sgid = header("srv/", EntryType::Directory, 0);
        sgid.set_mode(0o2775);
        sgid.set_gid(50);
        let mut tmp = header("tmp/", EntryType::Directory, 0);
        tmp.set_mode(0o1777);
        let mut gsh = header("bin/gsh", EntryType::Regular, 0);
        gsh.set_mode(0o2711);
        gsh.set_gid(7);
        let tar = tb()
            .raw(su, b"su")
            .raw(sgid, b"")
            .raw(tmp, b"")
            .raw(gsh, b"")
            .finish();
        env.unpack(tar).unwrap();
        let mode = |p: &str| fs::symlink_metadata(env.p(p)).unwrap().mode() & 0o7777;
        assert_eq!(mode("bin/su"), 0o4755);
        assert_eq!(fs::metadata(env.p("bin/su")).unwrap().uid(), 1000);
        assert_eq!(mode("srv"), 0o2775);
        assert_eq!(mode("tmp"), 0o1777);
        assert_eq!(mode("bin/gsh"), 0o2711);
    }

    #[test]
    fn xattrs_from_pax_records() {
        let env = setup();
        // VFS_CAP_REVISION_2 | effective, permitted = CAP_NET_BIND_SERVICE.
        let cap: [u8; 20] = [
            0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut tar = tb();
        tar.pax(&[
            ("SCHILY.xattr.user.foo", b"bar"),
            ("SCHILY.xattr.trusted.t", b"v"),
            ("SCHILY.xattr.security.capability", &cap),
            ("comment", b"not an xattr"),
        ])
        .file("bin/ping", "elf");
        // user.* is not allowed on symlinks: EPERM, skipped as dockerd does.
        tar.pax(&[("SCHILY.xattr.user.onlink", b"x")])
            .symlink("link", "bin/ping");
        tar.pax(&[("SCHILY.xattr.user.dir", b"d")]).dir("bin/");
        env.unpack(tar.finish()).unwrap();
        let f = env.p("bin/ping");
        assert_eq!(lgetxattr(&f, "user.foo").as_deref(), Some(&b"bar"[..]));
        assert_eq!(lgetxattr(&f, "trusted.t").as_deref(), Some(&b"v"[..]));
        assert_eq!(
            lgetxattr(&f, "security.capability").as_deref(),
            Some(&cap[..])
        );
        assert_eq!(lgetxattr(&f, "comment"), None);
        assert_eq!(lgetxattr(&env.p("link"), "user.onlink"), None);
        assert_eq!(
            lgetxattr(&env.p("bin"), "user.dir").as_deref(),
            Some(&b"d"[..])
        );
        // The PAX header's path did not become a file.
        assert_eq!(fs::read_dir(&env.dest).unwrap().count(), 2);
    }

    #[test]
    fn times() {
        let env = setup();
        let mut tar = tb();
        tar.pax(&[("mtime", b"1234567890.5"), ("atime", b"1000")])
            .file("precise", "x");
        tar.pax(&[("mtime", b"1234567890"), ("atime", b"1334567890.25")])
            .file("later-atime", "x");
        let mut old = header("old", EntryType::Regular, 0);
        old.set_mtime(0);
        tar.raw(old, b"");
        tar.pax(&[("mtime", b"-5.5")]).file("negative", "x");
        let mut d = header("d/", EntryType::Directory, 0);
        d.set_mtime(42);
        tar.raw(d, b"");
        tar.file("d/a", "a").dir("d/e/").file("d/e/f", "f");
        let mut l = header("d/link", EntryType::Symlink, 0);
        l.as_old_mut().linkname[..1].copy_from_slice(b"a");
        l.set_mtime(77);
        tar.raw(l, b"");
        env.unpack(tar.finish()).unwrap();

        let m = fs::symlink_metadata(env.p("precise")).unwrap();
        assert_eq!((m.mtime(), m.mtime_nsec()), (1_234_567_890, 500_000_000));
        // atime is never older than mtime.
        assert_eq!((m.atime(), m.atime_nsec()), (1_234_567_890, 500_000_000));
        let m = fs::symlink_metadata(env.p("later-atime")).unwrap();
        assert_eq!(m.mtime(), 1_234_567_890);
        assert_eq!((m.atime(), m.atime_nsec()), (1_334_567_890, 250_000_000));
        assert_eq!(fs::symlink_metadata(env.p("old")).unwrap().mtime(), 0);
        assert_eq!(fs::symlink_metadata(env.p("negative")).unwrap().mtime(), 0);
        assert_eq!(fs::symlink_metadata(env.p("d")).unwrap().mtime(), 42);
        assert_eq!(
            fs::symlink_metadata(env.p("d/e")).unwrap().mtime(),
            1_600_000_000
        );
        assert_eq!(fs::symlink_metadata(env.p("d/link")).unwrap().mtime(), 77);

        let env2 = setup();
        let mut tar = tb();
        tar.pax(&[("mtime", b"12x")]).file("bad", "x");
        let err = env2.unpack(tar.finish()).unwrap_err();
        assert!(matches!(err, UnpackError::Archive(_)), "{err}");
    }

    #[test]
    fn later_entries_replace_earlier_ones() {
        let env = setup();
        let sentinel = env.sentinel.to_str().unwrap().to_string();
        let mut d2 = header("merge/", EntryType::Directory, 0);
        d2.set_mode(0o750);
        let tar = tb()
            // dir with contents -> file
            .dir("d/")
            .file("d/x", "x")
            .dir("d/deep/")
            .symlink("d/deep/out", &sentinel)
            .symlink("d/deep/keep", &format!("{sentinel}/keep"))
            .file("d", "now a file")
            // file -> dir
            .file("f", "file")
            .dir("f/")
            // symlink to outside -> dir, and -> file
            .symlink("s", &sentinel)
            .dir("s/")
            .symlink("t", &format!("{sentinel}/keep"))
            .file("t", "replaced")
            // dir + dir merges
            .dir("merge/")
            .file("merge/a", "a")
            .raw(d2, b"")
            // file -> symlink
            .file("l", "file")
            .symlink("l", "f")
            .finish();
        env.unpack(tar).unwrap();
        assert_eq!(fs::read_to_string(env.p("d")).unwrap(), "now a file");
        assert!(fs::symlink_metadata(env.p("f")).unwrap().is_dir());
        let s = fs::symlink_metadata(env.p("s")).unwrap();
        assert!(s.is_dir());
        assert_eq!(fs::read_dir(env.p("s")).unwrap().count(), 0);
        assert!(fs::symlink_metadata(env.p("t")).unwrap().is_file());
        assert_eq!(fs::read_to_string(env.p("t")).unwrap(), "replaced");
        assert_eq!(fs::read_to_string(env.p("merge/a")).unwrap(), "a");
        assert_eq!(
            fs::symlink_metadata(env.p("merge")).unwrap().mode() & 0o7777,
            0o750
        );
        assert_eq!(fs::read_link(env.p("l")).unwrap(), Path::new("f"));
        env.check_outside();
    }

    #[test]
    fn header_quirks() {
        let env = setup();
        let mut tar = tb();
        // Pre-POSIX directory: type '\0' with a trailing slash.
        let mut old_dir = header("olddir/", EntryType::Regular, 0);
        old_dir.as_mut_bytes()[156] = 0;
        tar.raw(old_dir, b"");
        let mut old_file = header("oldfile", EntryType::Regular, 1);
        old_file.as_mut_bytes()[156] = 0;
        tar.raw(old_file, b"z");
        // A PAX global header is not a member.
        tar.raw(
            header("pax_global_header", EntryType::XGlobalHeader, 16),
            b"16 comment=abcd\n",
        );
        // Long names (GNU long-name extension).
        let long = format!("{}/file", "n".repeat(200));
        let mut h = Header::new_gnu();
        h.set_size(4);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        tar.0.append_data(&mut h, &long, &b"long"[..]).unwrap();
        // Empty numeric fields read as 0, as in Go.
        let mut empty = header("empty-fields", EntryType::Regular, 0);
        empty.as_old_mut().uid = [0; 8];
        empty.as_old_mut().gid = [b' '; 8];
        empty.as_old_mut().mtime = [0; 12];
        tar.raw(empty, b"");
        let stats = env.unpack(tar.finish()).unwrap();
        assert_eq!(stats.entries, 4);
        let m = fs::symlink_metadata(env.p("empty-fields")).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mtime()), (0, 0, 0));
        assert!(fs::symlink_metadata(env.p("olddir")).unwrap().is_dir());
        assert_eq!(fs::read_to_string(env.p("oldfile")).unwrap(), "z");
        assert!(!env.p("pax_global_header").exists());
        assert_eq!(fs::read_to_string(env.p(&long)).unwrap(), "long");

        let env = setup();
        let mut odd = header("odd", EntryType::Regular, 0);
        odd.as_mut_bytes()[156] = b'7';
        let err = env.unpack(tb().raw(odd, b"").finish()).unwrap_err();
        assert!(
            matches!(err, UnpackError::UnsupportedEntry { kind: b'7', .. }),
            "{err}"
        );
    }

    #[test]
    fn truncated_archive_is_an_archive_error() {
        let env = setup();
        let mut tar = tb().file("big", &"x".repeat(5000)).finish();
        tar.truncate(1024);
        let err = env.unpack(tar).unwrap_err();
        assert!(matches!(err, UnpackError::Archive(_)), "{err}");
    }

    #[test]
    fn decompress_sniffs_magic() {
        let plain = tb().file("hello", "world").finish();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&plain[..], 3).unwrap();
        for (what, blob) in [("plain", &plain), ("gzip", &gz), ("zstd", &zst)] {
            let env = setup();
            let reader = decompress(&blob[..]).unwrap();
            let stats = unpack_layer(reader, &env.dest).unwrap();
            assert_eq!(
                stats,
                UnpackStats {
                    bytes: 5,
                    entries: 1
                },
                "{what}"
            );
            assert_eq!(
                fs::read_to_string(env.p("hello")).unwrap(),
                "world",
                "{what}"
            );
        }
        assert_eq!(detect_compression(&gz), Compression::Gzip);
        assert_eq!(detect_compression(&zst), Compression::Zstd);
        assert_eq!(detect_compression(&plain), Compression::None);
        let skippable = [0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0];
        assert_eq!(detect_compression(&skippable), Compression::Zstd);
        assert!(matches!(
            decompress(&b"BZh91AY&SY"[..]),
            Err(UnpackError::UnsupportedCompression("bzip2"))
        ));
        assert!(matches!(
            decompress(&[0xfd, b'7', b'z', b'X', b'Z', 0x00][..]),
            Err(UnpackError::UnsupportedCompression("xz"))
        ));
        // Short and empty input pass through untouched.
        let mut out = Vec::new();
        decompress(&b"ab"[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"ab");
        let env = setup();
        assert_eq!(
            unpack_layer(decompress(&b""[..]).unwrap(), &env.dest).unwrap(),
            UnpackStats::default()
        );
    }

    #[test]
    fn clean_path_cases() {
        let p =
            |parts: &[&str]| Cleaned::Path(parts.iter().map(|s| s.as_bytes().to_vec()).collect());
        assert_eq!(clean_path(b""), Cleaned::Root);
        assert_eq!(clean_path(b"/"), Cleaned::Root);
        assert_eq!(clean_path(b"./a/.."), Cleaned::Root);
        assert_eq!(clean_path(b".."), Cleaned::Escapes);
        assert_eq!(clean_path(b"/../a"), Cleaned::Escapes);
        assert_eq!(clean_path(b"a/./b//c/"), p(&["a", "b", "c"]));
        assert_eq!(clean_path(b"a/b/../c"), p(&["a", "c"]));
        assert_eq!(clean_path(b"..."), p(&["..."]));
    }

    #[test]
    fn pax_time_parsing() {
        assert_eq!(parse_pax_time(b"12"), Some((12, 0)));
        assert_eq!(parse_pax_time(b"12.5"), Some((12, 500_000_000)));
        assert_eq!(parse_pax_time(b"12.1234567899"), Some((12, 123_456_789)));
        assert_eq!(parse_pax_time(b"-1.5"), Some((-1, 0)));
        assert_eq!(parse_pax_time(b"-0"), Some((0, 0)));
        assert_eq!(parse_pax_time(b""), None);
        assert_eq!(parse_pax_time(b"1.x"), None);
        assert_eq!(bound_time(-1, 0), TimeSpec::new(0, 0));
        assert_eq!(bound_time(i64::MAX / 2, 0), TimeSpec::new(0, 0));
        assert_eq!(bound_time(5, 7), TimeSpec::new(5, 7));
    }

    #[test]
    fn error_messages_name_the_path_in_the_layer_only() {
        let env = setup();
        let err = env
            .unpack(tb().file("f", "x").file("f/g", "y").finish())
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(" /f in the layer: "), "{msg}");
        assert!(msg.contains("Not a directory"), "{msg}");
        assert!(!msg.contains(&env.dest.display().to_string()), "{msg}");
    }
}
