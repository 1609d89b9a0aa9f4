//! Creating container processes: the channels, the fork dance (main -> intermediate -> init),
//! the init's ordered setup, and the sealed re-exec that keeps the runtime binary out of reach.

pub mod channel;
pub mod fork;
pub mod init;
pub mod intermediate;
pub mod launch;
pub mod message;
pub mod sealed_exe;
pub mod setup;
pub mod wait;
