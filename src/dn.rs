//! Distinguished names exactly as GnuTLS `gnutls_x509_crt_get_dn` prints them (what libvirt's
//! `tls_allowed_dn_list` and QEMU's authz compare), a parser for DNs written in that order
//! (`--dn`), the DER encoder for subjects, and libvirt's allow-list matching.
//!
//! (Being written: the signatures below are the interface other modules use.)

use x509_parser::x509::X509Name;

/// Formats a name in GnuTLS "compat" order (encoding order), e.g.
/// `C=GB,ST=London,L=London,O=Example Org,CN=client1`.
pub fn format_gnutls(name: &X509Name<'_>) -> String {
    name.to_string()
}
