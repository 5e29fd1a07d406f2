//! The one integration-test binary. One module per area; `util` is the shared harness.

// mod differential; // enabled when `pkitool validate` lands (branch validate)
mod interop;
mod man;
mod peers;
mod util;
