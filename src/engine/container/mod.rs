//! Container verbs, one per file, over the store, the image store and the task manager.

pub mod attach;
pub mod create;
pub mod detach_keys;
pub mod exit;
pub mod filter;
pub mod inspect;
pub mod kill;
pub mod list;
pub mod live;
pub mod logs;
pub mod names;
pub mod paths;
pub mod record;
pub mod remove;
pub mod restart;
pub mod restore;
pub mod start;
pub mod state;
pub mod stop;
pub mod transition;
pub mod view;
pub mod wait;

pub use crate::task::{AttachOptions, AttachStream};
pub use record::Container;
pub use state::{ContainerState, Status};
