//! What GnuTLS (the TLS stack of libvirt and QEMU) does to certificate contents before any
//! libvirt or QEMU rule runs: the subject-alternative-name checks of `gnutls_x509_crt_import`
//! (a certificate that fails them cannot be loaded at all) and the IDNA mapping of host names
//! in `gnutls_x509_crt_check_hostname`.
//!
//! Observed with GnuTLS 3.7.9 (`certtool -i`, the same import libvirt and QEMU call): a
//! dNSName, rfc822Name, uniformResourceIdentifier or iPAddress of length zero makes the import
//! fail with "Unknown Subject Alternative name in X.509 certificate." (cfssl writes an empty
//! dNSName for `"hosts": [""]`); an iPAddress of another odd length, a registeredID or an
//! otherName imports.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

/// Signature algorithms GnuTLS refuses during verification ("The certificate uses an insecure
/// algorithm"), by OID, with the hash they use.
const INSECURE_SIGNATURES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.5", "SHA-1"),
    ("1.3.14.3.2.29", "SHA-1"),
    ("1.2.840.10045.4.1", "SHA-1"),
    ("1.2.840.10040.4.3", "SHA-1"),
    ("1.2.840.113549.1.1.4", "MD5"),
    ("1.3.14.3.2.25", "MD5"),
    ("1.2.840.113549.1.1.2", "MD2"),
];

/// The insecure hash of a signature algorithm GnuTLS refuses (`None`: it accepts it).
pub fn insecure_signature_hash(oid: &str) -> Option<&'static str> {
    INSECURE_SIGNATURES
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, h)| *h)
}

/// GnuTLS's error text for a SAN it cannot import.
pub const UNKNOWN_SAN: &str = "Unknown Subject Alternative name in X.509 certificate.";

/// The subject alternative names GnuTLS refuses to import, described ("an empty dNSName").
/// Empty when the certificate imports.
pub fn san_import_problems(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            let what = match g {
                GeneralName::DNSName("") => "dNSName",
                GeneralName::RFC822Name("") => "rfc822Name (email)",
                GeneralName::URI("") => "uniformResourceIdentifier",
                GeneralName::IPAddress([]) => "iPAddress",
                _ => return None,
            };
            Some(format!("an empty {what} (name #{})", i + 1))
        })
        .collect()
}

/// The form GnuTLS compares a host name in: an internationalised name is mapped to its ASCII
/// (punycode) form with UTS #46 non-transitional processing, as `gnutls_idna_map` does through
/// libidn2 (`bücher.example` becomes `xn--bcher-kva.example`). ASCII names are returned as
/// they are. `Err` when the name cannot be mapped (GnuTLS then matches nothing).
pub fn host_for_matching(host: &str) -> Result<String, String> {
    if host.is_ascii() {
        return Ok(host.to_string());
    }
    idna::domain_to_ascii(host).map_err(|e| format!("not a valid internationalised name: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_names_map_to_punycode() {
        assert_eq!(
            host_for_matching("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            host_for_matching("BÜCHER.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(host_for_matching("vm.example").unwrap(), "vm.example");
    }
}
