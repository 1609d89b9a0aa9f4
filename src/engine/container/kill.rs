//! `docker kill`.

use crate::engine::{Engine, Error, Result};
use crate::task::TaskError;

impl Engine {
    pub async fn kill_container(&self, input: &str, signal: Option<&str>) -> Result<()> {
        let c = self.container(input).await?;
        let signal = match signal.filter(|s| !s.is_empty()) {
            Some(s) => parse_signal(s)?,
            None => libc::SIGKILL,
        };
        let not_running = || Error::conflict(format!("Container {} is not running", c.id));
        if !c.state.is_running() {
            return Err(not_running());
        }
        let task = self.live().task(&c.id).ok_or_else(not_running)?;
        let mut lifecycle = self.live().subscribe(&c.id);
        match task.kill(signal, false).await {
            Ok(()) => {}
            // The process exited between our look and the signal: dockerd's 409.
            Err(TaskError::Precondition(_)) | Err(TaskError::NotFound) => return Err(not_running()),
            Err(e) => {
                return Err(Error::internal(format!(
                    "Cannot kill container: {}: {e}",
                    c.id
                )));
            }
        }
        self.events()
            .publish(c.event("kill").with("signal", signal.to_string()));
        if signal != libc::SIGKILL {
            return Ok(());
        }
        // As dockerd: a SIGKILL returns once the container is down (its exit recorded), so a
        // `docker rm` right after does not find it running.
        let down = lifecycle.wait_for(|l| !l.running);
        match tokio::time::timeout(KILL_BOUND, down).await {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::internal(format!(
                "Cannot kill container: {}: tried to kill container, but did not receive an exit event",
                c.id
            ))),
        }
    }
}

/// How long a SIGKILLed container may take to be recorded as exited.
const KILL_BOUND: std::time::Duration = std::time::Duration::from_secs(30);

/// A signal by number or name, with or without "SIG" ("TERM", "SIGTERM", "15"), as dockerd.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(Error::invalid(format!("invalid signal: {s}")));
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rt) = name.strip_prefix("RTMIN") {
        let off: i32 = match rt {
            "" => 0,
            r => r
                .trim_start_matches('+')
                .parse()
                .map_err(|_| Error::invalid(format!("invalid signal: {s}")))?,
        };
        return Ok(libc::SIGRTMIN() + off);
    }
    let n = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" | "CLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return Err(Error::invalid(format!("invalid signal: {s}"))),
    };
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::parse_signal;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("sigkill").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("SIGRTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("99").is_err());
    }
}
