//! Docker's default seccomp profile, as our own data. STUB.
