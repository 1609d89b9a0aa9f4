//! Streamed response bodies.

pub mod attach;
pub mod escape;
pub mod hijack;
pub mod jsonlines;
pub mod stdcopy;
