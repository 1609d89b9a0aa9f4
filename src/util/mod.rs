//! Leaf helpers shared by every layer: IDs, time formatting, atomic file writes.

pub mod caps;
pub mod fsutil;
pub mod ids;
pub mod lockfile;
pub mod newmount;
pub mod retry;
pub mod sysctl;
pub mod time;
