//! System-wide verbs: `info` and `version`, and the host facts they report.

mod host;
pub mod info;
pub mod version;

pub use host::{HostFacts, daemon_caps, nofile_hard_limit};
