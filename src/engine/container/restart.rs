//! `docker restart`: stop (as `docker stop`, when running), then start, then the `restart`
//! event, as dockerd's containerRestart. An `--rm` container restarted by hand is not removed
//! by the exit its stop causes (dockerd's HasBeenManuallyRestarted).

use crate::engine::{Engine, Error, ErrorKind, Result};

impl Engine {
    pub async fn restart_container(
        &self,
        input: &str,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        let c = self.container(input).await?;
        // dockerd wraps every failure after the lookup (and so answers 500).
        let failed = |e: Error| {
            let message = format!("Cannot restart container {input}: {}", e.message);
            Error::caused_by(ErrorKind::Internal, message, e)
        };
        if c.state.is_running() {
            self.live().set_manual_restart(&c.id, true);
            match self.stop_container(&c.id, signal, timeout).await {
                Ok(()) => {}
                Err(e) if e.kind == ErrorKind::NotModified => {}
                Err(e) => {
                    self.live().set_manual_restart(&c.id, false);
                    return Err(failed(e));
                }
            }
        }
        let started = self.start_container(&c.id).await;
        self.live().set_manual_restart(&c.id, false);
        match started {
            Ok(()) => {}
            // Started meanwhile by someone else: it runs, as asked.
            Err(e) if e.kind == ErrorKind::NotModified => {}
            Err(e) => return Err(failed(e)),
        }
        self.events().publish(c.event("restart"));
        Ok(())
    }
}
