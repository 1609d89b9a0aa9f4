//! Container networking. So far: network namespaces with loopback only (the default `bridge`
//! network gives a container its own namespace until the bridge driver lands), hosts and
//! resolv.conf files.

pub mod etc;
pub mod sandbox;
