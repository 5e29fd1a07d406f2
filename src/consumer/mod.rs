//! What libvirt and QEMU accept.

pub mod allowlist;
