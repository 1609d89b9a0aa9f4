//! What the cases share: bounds, unique names, and a bollard client (testcontainers re-exports it)
//! for checking what testcontainers did, the way a test would look behind its back.
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use testcontainers::bollard::Docker;

/// Every container's startup (create, copy, start, wait strategies) is bounded by this, never
/// testcontainers' default 60s; nextest's own per-test bound is the backstop.
pub const STARTUP: Duration = Duration::from_secs(20);
/// Any other single step of a case.
pub const STEP: Duration = Duration::from_secs(20);

/// `fut`, or a panic naming `what` when it takes longer than STEP.
pub async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no answer within {STEP:?}"),
    }
}

/// A name no other run (or leftover) uses: the suite's prefix, the process and the clock.
pub fn unique(what: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("berth-tcrs-{what}-{}-{nanos:x}", std::process::id())
}

/// The daemon testcontainers talks to (DOCKER_HOST), as bollard connects by default.
pub fn docker() -> Docker {
    Docker::connect_with_defaults().expect("a bollard client for DOCKER_HOST")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// On every container the cases start, so that ./run can sweep what a killed case left.
pub const LABEL: &str = "org.berth.compat";
