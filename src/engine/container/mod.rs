//! Container verbs, one per file. This layer so far records containers (create, list, inspect,
//! remove); running them arrives with the task manager.

pub mod create;
pub mod inspect;
pub mod list;
pub mod names;
pub mod remove;
pub mod state;

pub use state::{ContainerState, Status};
