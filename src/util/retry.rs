//! Retrying an operation whose failure may pass (a full disk that is being cleaned up, an I/O
//! error), with exponential backoff and a bound, for work that must not be lost: recording an
//! exit, removing an `--rm` container.

use std::future::Future;
use std::time::Duration;

/// How the retries are spaced: 100 ms doubling up to 5 s, 8 attempts (about 16 s in all).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 8,
            first: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

/// Runs `op` until it succeeds, fails with an error `transient` rejects, or the attempts are
/// used up; returns the last result. Each failure is logged with `what`.
pub async fn with_backoff<T, E, F, Fut>(
    what: &str,
    backoff: Backoff,
    transient: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut delay = backoff.first;
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= backoff.attempts || !transient(&e) => return Err(e),
            Err(e) => {
                tracing::warn!(attempt, error = %e, "{what} failed; retrying");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(backoff.max);
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn quick(attempts: u32) -> Backoff {
        Backoff {
            attempts,
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn retries_transient_failures_until_success() {
        let calls = Cell::new(0);
        let r: Result<u32, String> = with_backoff(
            "op",
            quick(5),
            |_| true,
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n < 3 { Err("full".into()) } else { Ok(n) } }
            },
        )
        .await;
        assert_eq!(r, Ok(3));
    }

    #[tokio::test]
    async fn stops_at_a_permanent_error_or_the_bound() {
        let calls = Cell::new(0);
        let r: Result<(), String> = with_backoff(
            "op",
            quick(5),
            |e: &String| e != "gone",
            || {
                calls.set(calls.get() + 1);
                async { Err("gone".to_string()) }
            },
        )
        .await;
        assert_eq!((r, calls.get()), (Err("gone".into()), 1));
        calls.set(0);
        let r: Result<(), String> = with_backoff(
            "op",
            quick(4),
            |_| true,
            || {
                calls.set(calls.get() + 1);
                async { Err("full".to_string()) }
            },
        )
        .await;
        assert_eq!((r, calls.get()), (Err("full".into()), 4));
    }
}
