//! The one integration-test binary. One module per area; `util` is the shared harness.

mod inspect;
mod provision;
mod robust;
mod util;
mod validate;
