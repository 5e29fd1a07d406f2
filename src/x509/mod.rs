//! X.509 objects: DER encoding, distinguished names, loading files, keys, and the certificate
//! builder. Knows nothing of libvirt or QEMU.

pub mod build;
pub mod crl;
pub mod csr;
pub mod der;
pub mod dn;
pub mod idn;
pub mod keys;
pub mod load;
