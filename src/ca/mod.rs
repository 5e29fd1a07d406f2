//! The certificate authority's operations: create a CA, load one, issue leaves, read certtool
//! templates.

pub mod lock;
pub mod provision;
pub mod request;
pub mod sign;
pub mod template;
