//! The certificate authority's operations: create a CA, load one, issue leaves, read certtool
//! templates.

pub mod encrypt;
pub mod ledger;
pub mod lock;
pub mod provision;
pub mod renew;
pub mod request;
pub mod revoke;
pub mod sign;
pub mod template;
