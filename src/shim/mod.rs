//! The per-container shim process (containerd-shim's role). STUB: the real implementation
//! replaces this module. `shim::proto` is the one module shared with `task`.

pub mod proto;
