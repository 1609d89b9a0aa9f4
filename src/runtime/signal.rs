//! Signal names as `kill` accepts them: a number, or a name with or without `SIG`, any case
//! (runc's parseSignal).

pub const SIGTERM: i32 = libc::SIGTERM;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignalError {
    #[error("unknown signal {0:?}")]
    Unknown(String),
}

const NAMES: &[(&str, i32)] = &[
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("BUS", libc::SIGBUS),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("IO", libc::SIGIO),
    ("IOT", libc::SIGIOT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("POLL", libc::SIGPOLL),
    ("PROF", libc::SIGPROF),
    ("PWR", libc::SIGPWR),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("STKFLT", libc::SIGSTKFLT),
    ("STOP", libc::SIGSTOP),
    ("SYS", libc::SIGSYS),
    ("TERM", libc::SIGTERM),
    ("TRAP", libc::SIGTRAP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("VTALRM", libc::SIGVTALRM),
    ("WINCH", libc::SIGWINCH),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
];

/// The highest real-time signal number on Linux.
const SIGRTMAX: i32 = 64;

/// Parses `9`, `KILL`, `SIGKILL`, `sigkill`, `RTMIN+3`.
pub fn parse(raw: &str) -> Result<i32, SignalError> {
    let unknown = || SignalError::Unknown(raw.to_string());
    if let Ok(n) = raw.parse::<i32>() {
        return if (1..=SIGRTMAX).contains(&n) {
            Ok(n)
        } else {
            Err(unknown())
        };
    }
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = NAMES.iter().find(|(n, _)| *n == name) {
        return Ok(n);
    }
    let rtmin = libc::SIGRTMIN();
    let rt = |base: i32, off: &str, sign: i32| -> Result<i32, SignalError> {
        let off: i32 = if off.is_empty() {
            0
        } else {
            off.parse().map_err(|_| unknown())?
        };
        let n = base + sign * off;
        if (rtmin..=SIGRTMAX).contains(&n) {
            Ok(n)
        } else {
            Err(unknown())
        }
    };
    if let Some(off) = name.strip_prefix("RTMIN") {
        return rt(rtmin, off.strip_prefix('+').unwrap_or(off), 1);
    }
    if let Some(off) = name.strip_prefix("RTMAX") {
        return rt(SIGRTMAX, off.strip_prefix('-').unwrap_or(off), -1);
    }
    Err(unknown())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_case() {
        assert_eq!(parse("9"), Ok(9));
        assert_eq!(parse("KILL"), Ok(9));
        assert_eq!(parse("SIGKILL"), Ok(9));
        assert_eq!(parse("sigterm"), Ok(15));
        assert_eq!(parse("term"), Ok(15));
        assert_eq!(parse("HUP"), Ok(1));
        assert_eq!(parse("SIGWINCH"), Ok(28));
        assert_eq!(parse("USR1"), Ok(10));
    }

    #[test]
    fn real_time_signals() {
        let rtmin = libc::SIGRTMIN();
        assert_eq!(parse("RTMIN"), Ok(rtmin));
        assert_eq!(parse("SIGRTMIN+3"), Ok(rtmin + 3));
        assert_eq!(parse("RTMAX-1"), Ok(63));
        assert!(parse("RTMIN+99").is_err());
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("0").is_err());
        assert!(parse("65").is_err());
        assert!(parse("-9").is_err());
        assert!(parse("NOPE").is_err());
        assert!(parse("").is_err());
    }
}
