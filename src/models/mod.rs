//! API models: bollard-stubs (generated from the same v1.53 spec we serve) plus our own types
//! the stubs lack: filters, query structs and stream messages.

pub use bollard_stubs::models::*;

pub mod filters;

pub use filters::Filters;
