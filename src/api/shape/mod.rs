//! Response shapes per requested API version. The engine produces the newest (1.53) model; these
//! functions add or reshape what older clients still read, following moby's API changelog. This
//! is the one place (with route handlers) where API versions branch.

pub mod containers;
pub mod events;
pub mod images;
pub mod system;
