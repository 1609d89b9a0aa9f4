//! Berth: a Docker Engine API daemon. See ARCHITECTURE.md for the map; the arrows are:
//! bin/berthd -> api -> engine -> { store, image, ... }; image -> store; everything -> util.

pub mod api;
pub mod config;
pub mod engine;
pub mod image;
pub mod models;
pub mod store;
pub mod util;
