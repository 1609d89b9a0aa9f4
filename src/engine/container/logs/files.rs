//! The json-file log's files as the logs verb reads them: opened by identity so that a rotation
//! cannot move a file under the reader, tails found by reading backwards from the end, and lines
//! read forwards a block at a time. Everything here blocks: callers run it on blocking threads.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// How much one read takes, backwards (tail) or forwards.
pub const BLOCK: usize = 32 * 1024;

/// A line longer than this is not a line the shim wrote (its lines are at most a few times
/// its 16 KiB message buffer): it is dropped rather than held in memory.
const MAX_LINE: usize = 1024 * 1024;

/// A file's identity, which survives renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(m: &std::fs::Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// Positioned reads, so that tests can count what a reader reads.
pub trait ReadAt {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

/// Fills `buf` from `offset`; fewer bytes only at end of file.
fn read_full<R: ReadAt>(r: &R, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The last complete lines of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailSpan {
    /// Where the first of them starts.
    pub start: u64,
    /// Just past the newline of the last complete line (0 without one).
    pub end: u64,
    /// How many lines `start..end` holds: `n`, or fewer when the file has fewer.
    pub lines: usize,
}

/// Finds the last `n` complete lines of `r[..size]` by reading blocks backwards from the end,
/// so that the work is bounded by what is asked for, not by the file's size.
pub fn tail_span<R: ReadAt>(r: &R, size: u64, n: usize) -> io::Result<TailSpan> {
    let mut buf = vec![0u8; BLOCK];
    let mut pos = size;
    let mut end = None;
    let mut lines = 0;
    while pos > 0 {
        let len = BLOCK.min(pos as usize);
        let got = read_full(r, &mut buf[..len], pos - len as u64)?;
        if got < len {
            // The file shrank under us: it is not the file we sized; read nothing of it.
            return Ok(TailSpan {
                start: 0,
                end: 0,
                lines: 0,
            });
        }
        pos -= len as u64;
        for i in (0..len).rev() {
            if buf[i] != b'\n' {
                continue;
            }
            let at = pos + i as u64;
            match end {
                // The last newline ends the last complete line; what follows is being written.
                None => {
                    end = Some(at + 1);
                    if n == 0 {
                        return Ok(TailSpan {
                            start: at + 1,
                            end: at + 1,
                            lines: 0,
                        });
                    }
                }
                Some(end) => {
                    lines += 1;
                    if lines == n {
                        return Ok(TailSpan {
                            start: at + 1,
                            end,
                            lines,
                        });
                    }
                }
            }
        }
    }
    Ok(match end {
        // The first line starts the file.
        Some(end) => TailSpan {
            start: 0,
            end,
            lines: lines + 1,
        },
        None => TailSpan {
            start: 0,
            end: 0,
            lines: 0,
        },
    })
}

/// One open log file.
pub struct LogFile {
    pub file: File,
    pub id: FileId,
    /// Its size when opened.
    pub size: u64,
}

fn open_one(path: &Path) -> io::Result<Option<LogFile>> {
    match File::open(path) {
        Ok(file) => {
            let m = file.metadata()?;
            Ok(Some(LogFile {
                id: FileId::of(&m),
                size: m.len(),
                file,
            }))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// `log` for index 0, `log.N` for N.
fn name(log: &Path, i: u32) -> PathBuf {
    if i == 0 {
        return log.to_path_buf();
    }
    let mut p = log.to_path_buf().into_os_string();
    p.push(format!(".{i}"));
    PathBuf::from(p)
}

/// The highest N of the `log.N` files there are now.
fn highest_index(log: &Path) -> u32 {
    let (Some(dir), Some(base)) = (log.parent(), log.file_name()) else {
        return 0;
    };
    let prefix = format!("{}.", base.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix(&prefix)?
                .parse::<u32>()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

/// The identity of the file now at `log`, if there is one.
pub fn current_id(log: &Path) -> Option<FileId> {
    std::fs::metadata(log).ok().map(|m| FileId::of(&m))
}

/// Opens the log's files, oldest first; with `after`, only those newer than that file.
///
/// The shim rotates while we look (`log.(n-1)` removed, each `log.i` renamed to `log.(i+1)`
/// oldest first, `log` renamed to `log.1`, a new `log`), so names are taken newest first and
/// files told apart by identity: a file moves at most one name older per rotation while the
/// scan moves one name per step, so the scan cannot pass a file without opening it, and a
/// file seen twice (renamed between two steps) is kept once.
pub fn open_files(log: &Path, after: Option<FileId>) -> io::Result<Vec<LogFile>> {
    let top = highest_index(log);
    let mut files: Vec<LogFile> = Vec::new();
    let mut i = 0u32;
    loop {
        match open_one(&name(log, i))? {
            Some(f) => {
                if Some(f.id) == after {
                    break;
                }
                if !files.iter().any(|g| g.id == f.id) {
                    files.push(f);
                }
            }
            // A gap is a rename in flight; past the last name there was, the end.
            None if i > top => break,
            None => {}
        }
        i = match i.checked_add(1) {
            Some(i) => i,
            None => break,
        };
    }
    files.reverse();
    Ok(files)
}

/// Reads one file forwards in blocks, handing out complete lines; the rest of a line being
/// written waits in `carry` for the next read.
pub struct Cursor {
    pub file: LogFile,
    pos: u64,
    /// Read no further than this (the end of what existed when a one-shot read began).
    limit: Option<u64>,
    carry: Vec<u8>,
    /// Dropping the rest of an overlong line.
    skipping: bool,
}

impl Cursor {
    pub fn new(file: LogFile, pos: u64, limit: Option<u64>) -> Cursor {
        Cursor {
            file,
            pos,
            limit,
            carry: Vec::new(),
            skipping: false,
        }
    }

    /// Reads one block and passes each complete line (without its newline) to `line`; returns
    /// how many bytes were read (0 at the end of the file or of the limit).
    pub fn read_lines(&mut self, line: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let want = match self.limit {
            Some(l) => BLOCK.min(l.saturating_sub(self.pos) as usize),
            None => BLOCK,
        };
        if want == 0 {
            return Ok(0);
        }
        let mut buf = vec![0u8; want];
        let got = read_full(&self.file.file, &mut buf, self.pos)?;
        self.pos += got as u64;
        let mut data = &buf[..got];
        while let Some(i) = data.iter().position(|&b| b == b'\n') {
            if self.skipping {
                self.skipping = false;
            } else if self.carry.is_empty() {
                line(&data[..i]);
            } else {
                self.carry.extend_from_slice(&data[..i]);
                line(&self.carry);
                self.carry.clear();
            }
            data = &data[i + 1..];
        }
        if !self.skipping {
            self.carry.extend_from_slice(data);
            if self.carry.len() > MAX_LINE {
                self.carry = Vec::new();
                self.skipping = true;
            }
        }
        if self.carry.is_empty() && self.carry.capacity() > BLOCK {
            self.carry = Vec::new();
        }
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::io::{Seek, SeekFrom, Write};

    struct Counting<'a> {
        inner: &'a [u8],
        read: Cell<u64>,
    }
    impl ReadAt for Counting<'_> {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let start = (offset as usize).min(self.inner.len());
            let n = buf.len().min(self.inner.len() - start);
            buf[..n].copy_from_slice(&self.inner[start..start + n]);
            self.read.set(self.read.get() + n as u64);
            Ok(n)
        }
    }

    fn span(data: &[u8], n: usize) -> (String, usize) {
        let c = Counting {
            inner: data,
            read: Cell::new(0),
        };
        let s = tail_span(&c, data.len() as u64, n).unwrap();
        (
            String::from_utf8(data[s.start as usize..s.end as usize].to_vec()).unwrap(),
            s.lines,
        )
    }

    #[test]
    fn tail_spans() {
        assert_eq!(span(b"a\nb\nc\n", 2), ("b\nc\n".into(), 2));
        assert_eq!(span(b"a\nb\nc\n", 3), ("a\nb\nc\n".into(), 3));
        assert_eq!(span(b"a\nb\nc\n", 9), ("a\nb\nc\n".into(), 3));
        // A line being written is not a line yet.
        assert_eq!(span(b"a\nb\npart", 1), ("b\n".into(), 1));
        assert_eq!(span(b"a\nb\npart", 0), ("".into(), 0));
        assert_eq!(span(b"part", 3), ("".into(), 0));
        assert_eq!(span(b"", 3), ("".into(), 0));
        assert_eq!(span(b"\n\n", 1), ("\n".into(), 1));
        // Lines across block boundaries.
        let long: Vec<u8> = (0..3000)
            .flat_map(|i| format!("line {i:05} {}\n", "x".repeat(40)).into_bytes())
            .collect();
        let (text, n) = span(&long, 1000);
        assert_eq!(n, 1000);
        assert!(text.starts_with("line 02000 "), "{}", &text[..20]);
        assert_eq!(text.lines().count(), 1000);
    }

    #[test]
    fn tail_of_a_huge_file_reads_only_its_end() {
        // 200 MB: a hole (one enormous line of zeros) between lines at the start and the end.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let mut f = File::create(&path).unwrap();
        for i in 0..1000 {
            writeln!(f, "early {i}").unwrap();
        }
        f.seek(SeekFrom::Start(200 * 1024 * 1024)).unwrap();
        for i in 0..1000 {
            writeln!(f, "late {i}").unwrap();
        }
        drop(f);
        struct CountingFile(File, Cell<u64>);
        impl ReadAt for CountingFile {
            fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
                let n = FileExt::read_at(&self.0, buf, offset)?;
                self.1.set(self.1.get() + n as u64);
                Ok(n)
            }
        }
        let f = CountingFile(File::open(&path).unwrap(), Cell::new(0));
        let size = f.0.metadata().unwrap().len();
        let s = tail_span(&f, size, 5).unwrap();
        assert_eq!(s.lines, 5);
        assert!(f.1.get() <= BLOCK as u64, "read {} bytes", f.1.get());
        let mut buf = vec![0u8; (s.end - s.start) as usize];
        FileExt::read_exact_at(&f.0, &mut buf, s.start).unwrap();
        assert_eq!(buf, b"late 995\nlate 996\nlate 997\nlate 998\nlate 999\n");
    }

    #[test]
    fn cursor_holds_partial_lines_and_drops_overlong_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        std::fs::write(&path, b"one\ntw").unwrap();
        let mut c = Cursor::new(open_one(&path).unwrap().unwrap(), 0, None);
        let mut got: Vec<String> = Vec::new();
        let mut collect = |l: &[u8]| got.push(String::from_utf8_lossy(l).into_owned());
        assert_eq!(c.read_lines(&mut collect).unwrap(), 6);
        assert_eq!(c.read_lines(&mut collect).unwrap(), 0);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"o\n").unwrap();
        f.write_all(&vec![b'z'; MAX_LINE + BLOCK]).unwrap();
        f.write_all(b"\nthree\n").unwrap();
        while c.read_lines(&mut collect).unwrap() > 0 {}
        assert_eq!(got, vec!["one", "two", "three"]);
        assert!(c.carry.capacity() <= MAX_LINE + BLOCK);
    }

    #[test]
    fn limit_stops_a_one_shot_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        std::fs::write(&path, b"a\nb\n").unwrap();
        let mut c = Cursor::new(open_one(&path).unwrap().unwrap(), 0, Some(2));
        let mut got = Vec::new();
        while c.read_lines(&mut |l| got.push(l.to_vec())).unwrap() > 0 {}
        assert_eq!(got, vec![b"a".to_vec()]);
    }

    #[test]
    fn open_files_oldest_first_and_after_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c-json.log");
        for (n, body) in [(".2", "a\n"), (".1", "b\n"), ("", "c\n")] {
            std::fs::write(format!("{}{n}", log.display()), body).unwrap();
        }
        // Unrelated names are not log files.
        std::fs::write(format!("{}.x", log.display()), "zz").unwrap();
        let files = open_files(&log, None).unwrap();
        let bodies: Vec<u64> = files.iter().map(|f| f.size).collect();
        assert_eq!(bodies, vec![2, 2, 2]);
        let first = files[0].id;
        let middle = files[1].id;
        let after = open_files(&log, Some(middle)).unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!(Some(after[0].id), current_id(&log));
        // A rotation: the current file becomes .1, and a gap in the names is crossed.
        std::fs::remove_file(name(&log, 2)).unwrap();
        std::fs::rename(name(&log, 1), name(&log, 3)).unwrap();
        let files = open_files(&log, None).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].id, middle);
        assert!(files.iter().all(|f| f.id != first));
        assert!(
            open_files(&dir.path().join("none"), None)
                .unwrap()
                .is_empty()
        );
    }
}
