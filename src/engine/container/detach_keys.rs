//! Detach keys (`detachKeys`, default ctrl-p,ctrl-q): a terminal attach ends when the client
//! types the sequence, and the container keeps running, as in dockerd (which looks for them
//! only when the container has a terminal). The keys are never forwarded; a partial match that
//! breaks off is forwarded as typed.

/// Docker's default, ctrl-p ctrl-q.
pub const DEFAULT_KEYS: [u8; 2] = [0x10, 0x11];

/// Parses moby's notation: comma-separated keys, each a single character, `ctrl-<c>` for
/// `c` in `@`, `a`..`z`, `[`, `\`, `]`, `^`, `_`, or `DEL`.
pub fn parse(keys: &str) -> Result<Vec<u8>, String> {
    const CTRL: &[u8] = b"@abcdefghijklmnopqrstuvwxyz[\\]^_";
    keys.split(',')
        .map(|key| {
            if key.len() == 1 {
                return Ok(key.as_bytes()[0]);
            }
            if key == "DEL" {
                return Ok(127);
            }
            key.strip_prefix("ctrl-")
                .filter(|c| c.len() == 1)
                .and_then(|c| CTRL.iter().position(|&x| x == c.as_bytes()[0]))
                .map(|code| code as u8)
                .ok_or_else(|| format!("Invalid detach keys ({keys}) provided"))
        })
        .collect()
}

/// Watches an input stream for the sequence.
#[derive(Debug)]
pub struct Detector {
    keys: Vec<u8>,
    matched: usize,
}

impl Detector {
    pub fn new(keys: Vec<u8>) -> Detector {
        Detector { keys, matched: 0 }
    }

    /// Appends to `out` what should reach the container from `input`; true when the sequence
    /// is complete (the rest of `input` is dropped, as the attach ends there).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return false;
        }
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return true;
                }
                continue;
            }
            // The held-back prefix was typed, not a sequence: forward it, then look at `b`
            // afresh (it may start a new match).
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    return true;
                }
            } else {
                out.push(b);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(keys: &[u8], chunks: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut d = Detector::new(keys.to_vec());
        let mut out = Vec::new();
        for c in chunks {
            if d.feed(c, &mut out) {
                return (out, true);
            }
        }
        (out, false)
    }

    #[test]
    fn parses_moby_notation() {
        assert_eq!(parse("ctrl-p,ctrl-q").unwrap(), DEFAULT_KEYS);
        assert_eq!(parse("ctrl-@,ctrl-[,ctrl-_").unwrap(), vec![0, 27, 31]);
        assert_eq!(parse("a,b,DEL").unwrap(), vec![b'a', b'b', 127]);
        assert_eq!(parse("ctrl-\\").unwrap(), vec![28]);
        for bad in ["", "ctrl-", "ctrl-1", "ctrl-A", "ab", "a,,b", "ctrl-pq"] {
            assert_eq!(
                parse(bad),
                Err(format!("Invalid detach keys ({bad}) provided")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn detects_across_reads_and_forwards_nothing_of_it() {
        assert_eq!(
            run(&DEFAULT_KEYS, &[b"ls\r\x10", b"\x11rest"]),
            (b"ls\r".to_vec(), true)
        );
        assert_eq!(run(&DEFAULT_KEYS, &[b"\x10\x11"]), (vec![], true));
    }

    #[test]
    fn a_broken_prefix_is_forwarded_as_typed() {
        assert_eq!(run(&DEFAULT_KEYS, &[b"\x10x"]), (b"\x10x".to_vec(), false));
        // ctrl-p twice then ctrl-q: the first ctrl-p was typed, the second starts the sequence.
        assert_eq!(
            run(&DEFAULT_KEYS, &[b"\x10", b"\x10\x11"]),
            (b"\x10".to_vec(), true)
        );
        assert_eq!(run(b"abc", &[b"ababc"]), (b"ab".to_vec(), true));
        assert_eq!(run(&DEFAULT_KEYS, &[b"plain"]), (b"plain".to_vec(), false));
    }

    #[test]
    fn a_single_key_and_no_keys() {
        assert_eq!(run(b"q", &[b"abq"]), (b"ab".to_vec(), true));
        assert_eq!(run(b"", &[b"\x10\x11"]), (b"\x10\x11".to_vec(), false));
    }
}
