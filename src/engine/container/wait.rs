//! `docker wait`: until the container is not running, exits next, or is removed.

use super::live::Lifecycle;
use crate::engine::{Engine, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    pub fn parse(s: &str) -> Result<WaitCondition> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(Error::invalid(format!("invalid condition: \"{other}\""))),
        }
    }
}

/// What a waiter gets back once its condition holds: the exit code.
pub type WaitFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<i64>> + Send>>;

impl Engine {
    /// Registers the wait now (so a start that follows is not missed) and returns the future
    /// that resolves when the condition holds.
    pub async fn wait_container(
        &self,
        input: &str,
        condition: WaitCondition,
    ) -> Result<WaitFuture> {
        let c = self.container(input).await?;
        let mut rx = self.live().subscribe(&c.id);
        let start = rx.borrow().clone();
        let recorded_exit = c.state.exit_code;
        if condition == WaitCondition::NotRunning && !c.state.is_running() {
            return Ok(Box::pin(async move { Ok(recorded_exit) }));
        }
        Ok(Box::pin(async move {
            let done = |l: &Lifecycle| match condition {
                WaitCondition::NotRunning => !l.running || l.exits > start.exits,
                WaitCondition::NextExit => l.exits > start.exits,
                WaitCondition::Removed => l.removed,
            };
            match rx.wait_for(done).await {
                Ok(l) => Ok(l.exit_code),
                // The sender is gone only when the container was removed.
                Err(_) => Ok(recorded_exit),
            }
        }))
    }
}
