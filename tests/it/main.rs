//! The one integration-test binary. One module per area; `util` is the shared harness.

mod ci_formats;
mod consumer_model;
mod csr;
mod differential;
mod dn_forms;
mod fleet;
mod hosts;
mod inspect;
mod interop;
mod lifecycle;
mod man;
mod peers;
mod probe;
mod provision;
mod provisioning;
mod readme_guide;
mod robust;
mod security;
mod util;
mod validate;
mod verdicts;
