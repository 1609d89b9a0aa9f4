//! Fixture tests: tempdirs shaped like cgroupfs, checking exactly which files get which values.

mod fixture;
mod v1;
mod v2;
