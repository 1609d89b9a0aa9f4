//! Streamed response bodies.

pub mod hijack;
pub mod jsonlines;
pub mod stdcopy;
