//! `docker stop`: the stop signal, a grace period, then SIGKILL.

use std::time::Duration;

use super::kill::parse_signal;
use super::state::ContainerState;
use crate::engine::{Engine, Error, ErrorKind, Result};
use crate::models::ContainerConfig;

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
        let row = self.resolve_container(input).await?;
        if !ContainerState::parse(&row.state).is_running() {
            return Err(Error::new(
                ErrorKind::NotModified,
                "container already stopped",
            ));
        }
        let config: ContainerConfig = serde_json::from_str(&row.config).unwrap_or_default();
        let signal = match signal.filter(|s| !s.is_empty()) {
            Some(s) => parse_signal(s)?,
            None => match config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
                Some(s) => parse_signal(s)?,
                None => libc::SIGTERM,
            },
        };
        let grace = timeout.or(config.stop_timeout).unwrap_or(10);
        let mut lifecycle = self.live().subscribe(&row.id);
        let Some(task) = self.live().task(&row.id) else {
            return Ok(());
        };
        let exited = |l: &super::live::Lifecycle| !l.running;
        if let Err(e) = task.kill(signal, false).await {
            tracing::debug!(container = %row.id, error = %e, "stop signal not delivered");
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
            return Ok(());
        }
        tracing::info!(container = %row.id, "did not stop within {grace}s; killing it");
        let _ = task.kill(libc::SIGKILL, true).await;
        match tokio::time::timeout(AFTER_KILL, lifecycle.wait_for(exited)).await {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::internal(format!(
                "cannot stop container: {}: tried to kill container, but did not receive an exit event",
                row.id
            ))),
        }
    }
}
