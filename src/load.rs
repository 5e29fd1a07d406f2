//! What a file holds: PEM blocks (with line numbers), or one DER object, classified into
//! certificates, private keys (by format, encrypted or not), CRLs, requests and parameters.
//!
//! GnuTLS accepts text before the first PEM block (certtool writes a human-readable dump there)
//! and CRLF line ends, so this does too. Everything else that would make GnuTLS fail (bad base64,
//! a BEGIN without its END, DER where PEM is expected) is reported precisely, never panics, and
//! the secret contents of a key block are never included in a message.

use base64::Engine as _;

/// What kind of object a PEM block or DER blob is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKind {
    /// An X.509 certificate (`CERTIFICATE`, or `X509 CERTIFICATE` / `TRUSTED CERTIFICATE`).
    Certificate,
    /// A private key that is not encrypted.
    PrivateKey(KeyFormat),
    /// A PKCS#8 `ENCRYPTED PRIVATE KEY`.
    EncryptedPrivateKey,
    /// A legacy OpenSSL key with `Proc-Type: 4,ENCRYPTED` headers.
    LegacyEncryptedKey,
    /// A public key (`PUBLIC KEY`).
    PublicKey,
    /// A certificate revocation list.
    Crl,
    /// A certificate signing request.
    Csr,
    /// Diffie-Hellman parameters.
    DhParams,
    /// Anything else, by its PEM label.
    Other(String),
}

/// The encoding of an unencrypted private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// PKCS#8 `PRIVATE KEY`.
    Pkcs8,
    /// PKCS#1 `RSA PRIVATE KEY` (certtool's default for RSA).
    Pkcs1,
    /// SEC1 `EC PRIVATE KEY` (certtool's default for ECDSA).
    Sec1,
}

impl ObjectKind {
    /// A short human description ("certificate", "private key", ...).
    pub fn describe(&self) -> String {
        match self {
            ObjectKind::Certificate => "certificate".into(),
            ObjectKind::PrivateKey(_) => "private key".into(),
            ObjectKind::EncryptedPrivateKey => "encrypted private key".into(),
            ObjectKind::LegacyEncryptedKey => "legacy encrypted private key".into(),
            ObjectKind::PublicKey => "public key".into(),
            ObjectKind::Crl => "certificate revocation list".into(),
            ObjectKind::Csr => "certificate request".into(),
            ObjectKind::DhParams => "DH parameters".into(),
            ObjectKind::Other(label) => format!("PEM block \"{label}\""),
        }
    }

    /// True for any kind of private key.
    pub fn is_private_key(&self) -> bool {
        matches!(
            self,
            ObjectKind::PrivateKey(_)
                | ObjectKind::EncryptedPrivateKey
                | ObjectKind::LegacyEncryptedKey
        )
    }

    fn from_label(label: &str, headers: &[(String, String)]) -> ObjectKind {
        let encrypted_headers = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("Proc-Type") && v.contains("ENCRYPTED"));
        match label {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => ObjectKind::Certificate,
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "DSA PRIVATE KEY" if encrypted_headers => {
                ObjectKind::LegacyEncryptedKey
            }
            "PRIVATE KEY" => ObjectKind::PrivateKey(KeyFormat::Pkcs8),
            "RSA PRIVATE KEY" => ObjectKind::PrivateKey(KeyFormat::Pkcs1),
            "EC PRIVATE KEY" => ObjectKind::PrivateKey(KeyFormat::Sec1),
            "ENCRYPTED PRIVATE KEY" => ObjectKind::EncryptedPrivateKey,
            "PUBLIC KEY" => ObjectKind::PublicKey,
            "X509 CRL" => ObjectKind::Crl,
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => ObjectKind::Csr,
            "DH PARAMETERS" => ObjectKind::DhParams,
            other => ObjectKind::Other(other.to_string()),
        }
    }
}

/// One object found in a file.
#[derive(Debug, Clone)]
pub struct Object {
    /// What it is.
    pub kind: ObjectKind,
    /// The PEM label, or `None` for a DER file.
    pub label: Option<String>,
    /// The decoded DER bytes (for keys: secret material; never print it).
    pub der: Vec<u8>,
    /// 1-based line of the BEGIN line (1 for DER).
    pub line: usize,
}

/// How the file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Text with PEM blocks.
    Pem,
    /// A single binary DER object.
    Der,
}

/// A parsed file.
#[derive(Debug, Clone)]
pub struct Contents {
    /// PEM or DER.
    pub encoding: Encoding,
    /// The objects, in file order.
    pub objects: Vec<Object>,
    /// Non-blank text precedes the first PEM block (GnuTLS accepts it).
    pub text_before: bool,
    /// The file uses CRLF line ends (GnuTLS accepts them).
    pub crlf: bool,
}

impl Contents {
    /// The objects of one kind.
    pub fn of_kind<'a>(&'a self, kind: &'a ObjectKind) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects.iter().filter(move |o| &o.kind == kind)
    }

    /// The DER of every certificate, in order.
    pub fn certificates(&self) -> impl Iterator<Item = &Object> {
        self.objects
            .iter()
            .filter(|o| o.kind == ObjectKind::Certificate)
    }

    /// The first private key of any kind.
    pub fn private_key(&self) -> Option<&Object> {
        self.objects.iter().find(|o| o.kind.is_private_key())
    }
}

/// Why a file's contents could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Zero bytes, or only whitespace.
    #[error("the file is empty")]
    Empty,
    /// A BEGIN line without its END line.
    #[error("line {line}: \"-----BEGIN {label}-----\" has no matching END line (truncated file?)")]
    Truncated {
        /// The label.
        label: String,
        /// Line of the BEGIN line.
        line: usize,
    },
    /// The base64 inside a block does not decode.
    #[error("line {line}: the base64 data of the {label} block is invalid")]
    BadBase64 {
        /// The label.
        label: String,
        /// Line of the BEGIN line.
        line: usize,
    },
    /// An END line with a different label.
    #[error("line {line}: \"-----END {found}-----\" closes a \"{expected}\" block")]
    MismatchedEnd {
        /// The BEGIN label.
        expected: String,
        /// The END label.
        found: String,
        /// Line of the END line.
        line: usize,
    },
    /// No PEM block, and not a recognisable DER object either.
    #[error("no PEM block found and the data is not a DER certificate, key or CRL ({hint})")]
    NotPem {
        /// What the data looks like.
        hint: String,
    },
}

/// Parses a file's bytes: PEM blocks if there are any BEGIN lines, otherwise one DER object.
pub fn parse(bytes: &[u8]) -> Result<Contents, ParseError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    if contains(bytes, b"-----BEGIN ") {
        return parse_pem(bytes);
    }
    if let Some(kind) = sniff_der(bytes) {
        return Ok(Contents {
            encoding: Encoding::Der,
            objects: vec![Object {
                kind,
                label: None,
                der: bytes.to_vec(),
                line: 1,
            }],
            text_before: false,
            crlf: false,
        });
    }
    Err(ParseError::NotPem {
        hint: describe_garbage(bytes),
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn describe_garbage(bytes: &[u8]) -> String {
    if bytes.first() == Some(&0x30) {
        "it starts like DER but is not a complete certificate, key or CRL".into()
    } else if bytes.contains(&0) || std::str::from_utf8(bytes).is_err() {
        "binary data".into()
    } else {
        "text without \"-----BEGIN\" lines".into()
    }
}

/// Classifies a DER blob by trying the structures pkitool handles.
fn sniff_der(bytes: &[u8]) -> Option<ObjectKind> {
    use x509_parser::prelude::FromDer;
    if bytes.first() != Some(&0x30) {
        return None;
    }
    if let Ok((rest, _)) = x509_parser::certificate::X509Certificate::from_der(bytes)
        && rest.is_empty()
    {
        return Some(ObjectKind::Certificate);
    }
    if let Ok((rest, _)) = x509_parser::revocation_list::CertificateRevocationList::from_der(bytes)
        && rest.is_empty()
    {
        return Some(ObjectKind::Crl);
    }
    if let Ok((rest, _)) =
        x509_parser::certification_request::X509CertificationRequest::from_der(bytes)
        && rest.is_empty()
    {
        return Some(ObjectKind::Csr);
    }
    if pkcs8::PrivateKeyInfoRef::try_from(bytes).is_ok() {
        return Some(ObjectKind::PrivateKey(KeyFormat::Pkcs8));
    }
    if pkcs8::EncryptedPrivateKeyInfoRef::try_from(bytes).is_ok() {
        return Some(ObjectKind::EncryptedPrivateKey);
    }
    None
}

fn parse_pem(bytes: &[u8]) -> Result<Contents, ParseError> {
    let text = String::from_utf8_lossy(bytes);
    let crlf = contains(bytes, b"\r\n");
    let mut objects = Vec::new();
    let mut text_before = false;
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
    while let Some((line_no, raw)) = lines.next() {
        let line = raw.trim_end_matches('\r').trim();
        let Some(label) = pem_label(line, "BEGIN") else {
            if objects.is_empty() && !line.is_empty() {
                text_before = true;
            }
            continue;
        };
        let label = label.to_string();
        let mut headers = Vec::new();
        let mut body = String::new();
        let mut closed = false;
        for (end_no, raw) in lines.by_ref() {
            let line = raw.trim_end_matches('\r').trim();
            if let Some(end_label) = pem_label(line, "END") {
                if end_label != label {
                    return Err(ParseError::MismatchedEnd {
                        expected: label,
                        found: end_label.to_string(),
                        line: end_no,
                    });
                }
                closed = true;
                break;
            }
            if pem_label(line, "BEGIN").is_some() {
                break;
            }
            match line.split_once(':') {
                Some((k, v)) if body.is_empty() => {
                    headers.push((k.trim().to_string(), v.trim().to_string()))
                }
                _ => body.push_str(line),
            }
        }
        if !closed {
            return Err(ParseError::Truncated {
                label,
                line: line_no,
            });
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .ok()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ParseError::BadBase64 {
                label: label.clone(),
                line: line_no,
            })?;
        objects.push(Object {
            kind: ObjectKind::from_label(&label, &headers),
            label: Some(label),
            der,
            line: line_no,
        });
    }
    Ok(Contents {
        encoding: Encoding::Pem,
        objects,
        text_before,
        crlf,
    })
}

/// `-----BEGIN LABEL-----` → `LABEL`.
fn pem_label<'a>(line: &'a str, which: &str) -> Option<&'a str> {
    line.strip_prefix("-----")?
        .strip_prefix(which)?
        .strip_prefix(' ')?
        .strip_suffix("-----")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT_B64: &str = "MAMCAQA="; // not a real certificate: the parser only decodes base64

    #[test]
    fn parses_blocks_with_preamble_and_crlf() {
        let text = format!(
            "Public Key Info:\r\n\tstuff\r\n-----BEGIN CERTIFICATE-----\r\n{CERT_B64}\r\n-----END CERTIFICATE-----\r\n-----BEGIN EC PRIVATE KEY-----\n{CERT_B64}\n-----END EC PRIVATE KEY-----\n"
        );
        let c = parse(text.as_bytes()).unwrap();
        assert_eq!(c.encoding, Encoding::Pem);
        assert!(c.text_before);
        assert!(c.crlf);
        assert_eq!(c.objects.len(), 2);
        assert_eq!(c.objects[0].kind, ObjectKind::Certificate);
        assert_eq!(c.objects[0].line, 3);
        assert_eq!(c.objects[1].kind, ObjectKind::PrivateKey(KeyFormat::Sec1));
    }

    #[test]
    fn detects_legacy_encrypted_keys() {
        let text = format!(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\n{CERT_B64}\n-----END RSA PRIVATE KEY-----\n"
        );
        let c = parse(text.as_bytes()).unwrap();
        assert_eq!(c.objects[0].kind, ObjectKind::LegacyEncryptedKey);
    }

    #[test]
    fn reports_truncation_bad_base64_and_garbage() {
        assert_eq!(parse(b"").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(b" \n\t").unwrap_err(), ParseError::Empty);
        let e = parse(b"-----BEGIN CERTIFICATE-----\nMAMC\n").unwrap_err();
        assert!(matches!(e, ParseError::Truncated { line: 1, .. }), "{e}");
        let e =
            parse(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n").unwrap_err();
        assert!(matches!(e, ParseError::BadBase64 { .. }), "{e}");
        let e =
            parse(b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END X509 CRL-----\n").unwrap_err();
        assert!(
            matches!(e, ParseError::MismatchedEnd { line: 3, .. }),
            "{e}"
        );
        assert!(matches!(
            parse(b"\x00\x01\x02garbage").unwrap_err(),
            ParseError::NotPem { .. }
        ));
        assert!(matches!(
            parse(b"\x30\x82\x01").unwrap_err(),
            ParseError::NotPem { .. }
        ));
    }
}
