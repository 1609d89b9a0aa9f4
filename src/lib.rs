//! Berth: a Docker Engine API daemon. See ARCHITECTURE.md for the map; the arrows are:
//! bin/berthd -> api -> engine -> { store, image, ... }; image -> store; everything -> util.

pub mod api;
pub mod config;
pub mod engine;
pub mod image;
pub mod models;
pub mod network;
pub mod runtime;
pub mod shim;
pub mod store;
pub mod task;
pub mod util;
