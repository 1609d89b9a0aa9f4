//! System-wide verbs: `info`, `version` and `events`, and the host facts they report.

pub mod events;
mod host;
pub mod info;
pub mod version;

pub use host::{HostFacts, daemon_caps, nofile_hard_limit};
