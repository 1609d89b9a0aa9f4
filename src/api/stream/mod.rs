//! Streamed response bodies.

pub mod jsonlines;
