//! Streamed response bodies.

pub mod attach;
pub mod hijack;
pub mod jsonlines;
pub mod stdcopy;
