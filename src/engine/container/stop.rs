//! `docker stop`: the stop signal, a grace period, then SIGKILL.

use std::time::Duration;

use super::kill::parse_signal;
use crate::engine::{Engine, Error, ErrorKind, Result};

/// How long a container may take to die after SIGKILL before stop reports an error.
const AFTER_KILL: Duration = Duration::from_secs(30);

impl Engine {
    /// Stops a running container; `timeout` overrides its StopTimeout (default 10 s; negative
    /// waits forever). A container that is not running gives NotModified (304).
    pub async fn stop_container(
        &self,
        input: &str,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        let c = self.container(input).await?;
        if !c.state.is_running() {
            return Err(Error::new(
                ErrorKind::NotModified,
                "container already stopped",
            ));
        }
        let signal = match signal.filter(|s| !s.is_empty()) {
            Some(s) => parse_signal(s)?,
            None => match c.config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
                Some(s) => parse_signal(s)?,
                None => libc::SIGTERM,
            },
        };
        let grace = timeout.or(c.config.stop_timeout).unwrap_or(10);
        let mut lifecycle = self.live().subscribe(&c.id);
        let Some(task) = self.live().task(&c.id) else {
            return Ok(());
        };
        // dockerd reports the stop signal as a kill, then `die`, then `stop` once it is down.
        self.events()
            .publish(c.event("kill").with("signal", signal.to_string()));
        let stopped = |engine: &Engine| engine.events().publish(c.event("stop"));
        let exited = |l: &super::live::Lifecycle| !l.running;
        if let Err(e) = task.kill(signal, false).await {
            tracing::debug!(container = %c.id, error = %e, "stop signal not delivered");
        }
        let waited = if grace < 0 {
            lifecycle.wait_for(exited).await.is_ok()
        } else {
            tokio::time::timeout(
                Duration::from_secs(grace as u64),
                lifecycle.wait_for(exited),
            )
            .await
            .is_ok()
        };
        if waited {
            stopped(self);
            return Ok(());
        }
        tracing::info!(container = %c.id, "did not stop within {grace}s; killing it");
        self.events().publish(c.event("kill").with("signal", "9"));
        let _ = task.kill(libc::SIGKILL, true).await;
        match tokio::time::timeout(AFTER_KILL, lifecycle.wait_for(exited)).await {
            Ok(_) => {
                stopped(self);
                Ok(())
            }
            Err(_) => Err(Error::internal(format!(
                "cannot stop container: {}: tried to kill container, but did not receive an exit event",
                c.id
            ))),
        }
    }
}
