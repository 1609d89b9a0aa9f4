//! Messages between the daemon (`task`) and a shim. STUB.
