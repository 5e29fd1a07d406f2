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
    /// The decoded DER bytes (for keys: secret material; never print it). Zeroized on drop, as
    /// is the base64 text it was decoded from.
    pub der: zeroize::Zeroizing<Vec<u8>>,
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
    /// A block whose base64 decodes but whose bytes are not one well-formed DER structure
    /// (GnuTLS refuses these with "ASN1 parser: Error in DER parsing" even where a lenient
    /// parser would read them).
    #[error("line {line}: the {} is not valid {} DER ({reason})", .kind.describe(), der_standard(.kind))]
    BadDer {
        /// What the block claims to be.
        kind: ObjectKind,
        /// Line of the BEGIN line.
        line: usize,
        /// What is wrong with the structure (never its contents).
        reason: DerFault,
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
                der: zeroize::Zeroizing::new(bytes.to_vec()),
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
    if bytes.first() != Some(&0x30) || check_der(bytes, &ObjectKind::Crl).is_err() {
        return None;
    }
    if let Ok((rest, _)) = x509_parser::certificate::X509Certificate::from_der(bytes)
        && rest.is_empty()
        && check_der(bytes, &ObjectKind::Certificate).is_ok()
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
    // The traditional key forms GnuTLS also imports from DER (what `openssl pkey -outform
    // DER` and `openssl rsa -outform DER` write).
    if is_pkcs1_der(bytes) {
        return Some(ObjectKind::PrivateKey(KeyFormat::Pkcs1));
    }
    if is_sec1_der(bytes) {
        return Some(ObjectKind::PrivateKey(KeyFormat::Sec1));
    }
    None
}

/// A whole PKCS#1 RSAPrivateKey: SEQUENCE { version 0 or 1, then eight INTEGERs, and for
/// version 1 the other-prime infos }.
fn is_pkcs1_der(bytes: &[u8]) -> bool {
    use crate::x509::der::read_tlv;
    let Some((rest, seq)) = read_tlv(bytes, 0x30) else {
        return false;
    };
    let mut cur = seq;
    let mut ints = Vec::new();
    while let Some((r, int)) = read_tlv(cur, 0x02) {
        ints.push(int);
        cur = r;
    }
    let version_ok = matches!(ints.first(), Some(&[0]) | Some(&[1]));
    let tail_ok = cur.is_empty() || (ints.first() == Some(&&[1][..]) && cur.first() == Some(&0x30));
    rest.is_empty() && version_ok && ints.len() == 9 && tail_ok
}

/// A whole SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING key, [0] parameters
/// OPTIONAL, [1] publicKey OPTIONAL }.
fn is_sec1_der(bytes: &[u8]) -> bool {
    use crate::x509::der::read_tlv;
    let Some((rest, seq)) = read_tlv(bytes, 0x30) else {
        return false;
    };
    let Some((cur, version)) = read_tlv(seq, 0x02) else {
        return false;
    };
    let Some((mut cur, key)) = read_tlv(cur, 0x04) else {
        return false;
    };
    for tag in [0xa0, 0xa1] {
        if let Some((r, _)) = read_tlv(cur, tag) {
            cur = r;
        }
    }
    rest.is_empty() && version == [1] && !key.is_empty() && cur.is_empty()
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
        let mut body = zeroize::Zeroizing::new(String::new());
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
            .map(zeroize::Zeroizing::new)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ParseError::BadBase64 {
                label: label.clone(),
                line: line_no,
            })?;
        let kind = ObjectKind::from_label(&label, &headers);
        // OpenSSL's TRUSTED CERTIFICATE is a certificate followed by its trust settings.
        let checked = if label == "TRUSTED CERTIFICATE" {
            read_tlv(&der, 0, der.len())
                .ok()
                .and_then(|t| der.get(..t.end))
                .unwrap_or(&der)
        } else {
            &der
        };
        if let Err(reason) = check_der(checked, &kind) {
            return Err(ParseError::BadDer {
                kind,
                line: line_no,
                reason,
            });
        }
        objects.push(Object {
            kind,
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

/// The standard a kind of object is encoded in (for messages).
fn der_standard(kind: &ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Certificate | ObjectKind::Crl => "X.509",
        ObjectKind::PrivateKey(KeyFormat::Pkcs8) | ObjectKind::EncryptedPrivateKey => "PKCS#8",
        ObjectKind::PrivateKey(KeyFormat::Pkcs1) => "PKCS#1",
        ObjectKind::PrivateKey(KeyFormat::Sec1) => "SEC1",
        ObjectKind::PublicKey => "SubjectPublicKeyInfo",
        ObjectKind::Csr => "PKCS#10",
        ObjectKind::DhParams => "PKCS#3",
        ObjectKind::LegacyEncryptedKey | ObjectKind::Other(_) => "",
    }
}

/// What is wrong with a DER structure. Offsets only: never the bytes (they may be a key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DerFault {
    /// The outermost value is not a SEQUENCE.
    #[error("it does not start with a SEQUENCE")]
    NotSequence,
    /// A value's header or contents run past the end of the data or of the enclosing value.
    #[error(
        "the value at byte {0} runs past the end of its enclosing value (truncated or corrupt)"
    )]
    Overrun(usize),
    /// An indefinite length (BER, not DER).
    #[error("the value at byte {0} has an indefinite length (BER, not DER)")]
    IndefiniteLength(usize),
    /// A length field of more than four bytes, or the reserved 0xff.
    #[error("the value at byte {0} has an invalid length field")]
    BadLength(usize),
    /// A multi-byte tag that is too long or not minimally encoded.
    #[error("the value at byte {0} has an invalid tag")]
    BadTag(usize),
    /// Bytes after the outermost value.
    #[error("{0} bytes follow the end of the structure")]
    TrailingData(usize),
    /// Nested more deeply than any real certificate or key.
    #[error("the structure is nested more than {MAX_DER_DEPTH} levels deep")]
    TooDeep,
    /// A certificate field whose ASN.1 tags are not what X.509 says (GnuTLS: "Error in TAG").
    #[error("the certificate's {0} field is malformed")]
    BadField(&'static str),
    /// tbsCertificate.signature and signatureAlgorithm name different algorithms.
    #[error("the signature algorithm inside the certificate differs from the one outside")]
    AlgorithmMismatch,
    /// A subject GnuTLS cannot print (`gnutls_x509_crt_get_dn`: "ASN1 parser: Value is not
    /// valid."): an empty DirectoryString value. libvirt reads the DN of every peer
    /// certificate and refuses the connection when it cannot.
    #[error(
        "the certificate's subject has {what}: GnuTLS cannot print the DN ({gnutls}), so libvirt refuses the certificate"
    )]
    UnprintableSubject {
        /// What the subject has.
        what: String,
        /// What GnuTLS says.
        gnutls: &'static str,
    },
    /// A certificate that is not SEQUENCE { SEQUENCE, SEQUENCE, BIT STRING }.
    #[error(
        "a certificate is tbsCertificate (SEQUENCE), signatureAlgorithm (SEQUENCE), signatureValue (BIT STRING)"
    )]
    NotCertificate,
}

/// Deeper than anything in a real certificate, key or CRL, shallow enough for the stack.
const MAX_DER_DEPTH: usize = 32;

/// One DER header: the tag's first byte, whether the value is constructed, and where its
/// contents start and end.
struct Tlv {
    tag: u8,
    constructed: bool,
    start: usize,
    end: usize,
}

/// Reads the header of the value at `pos`, which must end by `limit`.
fn read_tlv(der: &[u8], pos: usize, limit: usize) -> Result<Tlv, DerFault> {
    let at = |i: usize| -> Result<u8, DerFault> {
        if i < limit {
            der.get(i).copied().ok_or(DerFault::Overrun(pos))
        } else {
            Err(DerFault::Overrun(pos))
        }
    };
    let tag = at(pos)?;
    let mut i = pos + 1;
    if tag & 0x1f == 0x1f {
        // High tag number: base-128, minimal, at most 4 bytes.
        if at(i)? == 0x80 {
            return Err(DerFault::BadTag(pos));
        }
        let mut n = 0;
        while at(i)? & 0x80 != 0 {
            i += 1;
            n += 1;
            if n >= 4 {
                return Err(DerFault::BadTag(pos));
            }
        }
        i += 1;
    }
    let first = at(i)?;
    i += 1;
    let len = match first {
        0x80 => return Err(DerFault::IndefiniteLength(pos)),
        l if l < 0x80 => usize::from(l),
        0xff => return Err(DerFault::BadLength(pos)),
        l => {
            // Long form. GnuTLS accepts a non-minimal long form, so this does too.
            let n = usize::from(l & 0x7f);
            if n > 4 {
                return Err(DerFault::BadLength(pos));
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | usize::from(at(i)?);
                i += 1;
            }
            len
        }
    };
    let end = i.checked_add(len).ok_or(DerFault::Overrun(pos))?;
    if end > limit {
        return Err(DerFault::Overrun(pos));
    }
    Ok(Tlv {
        tag,
        constructed: tag & 0x20 != 0,
        start: i,
        end,
    })
}

/// Checks that `start..end` is a run of complete values, recursing into constructed ones.
fn check_values(der: &[u8], start: usize, end: usize, depth: usize) -> Result<(), DerFault> {
    if depth > MAX_DER_DEPTH {
        return Err(DerFault::TooDeep);
    }
    let mut pos = start;
    while pos < end {
        let tlv = read_tlv(der, pos, end)?;
        if tlv.constructed {
            check_values(der, tlv.start, tlv.end, depth + 1)?;
        }
        pos = tlv.end;
    }
    Ok(())
}

/// Checks the structure GnuTLS's DER decoder insists on before it looks at any field: one
/// SEQUENCE spanning the whole data, definite lengths, every constructed value made of complete
/// values; for a certificate, the three top-level fields. (Non-minimal long-form lengths are
/// accepted, as GnuTLS accepts them.) Kinds that are not DER (legacy encrypted keys, unknown
/// labels) are not checked.
pub fn check_der(der: &[u8], kind: &ObjectKind) -> Result<(), DerFault> {
    if matches!(kind, ObjectKind::LegacyEncryptedKey | ObjectKind::Other(_)) {
        return Ok(());
    }
    let top = check_sequence(der)?;
    if *kind == ObjectKind::Certificate {
        check_certificate_fields(der, &top)?;
    }
    Ok(())
}

/// One well-formed SEQUENCE spanning all of `der`.
fn check_sequence(der: &[u8]) -> Result<Tlv, DerFault> {
    let top = read_tlv(der, 0, der.len())?;
    if top.tag != 0x30 {
        return Err(DerFault::NotSequence);
    }
    if top.end != der.len() {
        return Err(DerFault::TrailingData(der.len() - top.end));
    }
    check_values(der, top.start, top.end, 1)?;
    Ok(top)
}

/// The values inside a constructed value (already checked by [`check_values`]).
fn children(der: &[u8], parent: &Tlv) -> Result<Vec<Tlv>, DerFault> {
    let mut out = Vec::new();
    let mut pos = parent.start;
    while pos < parent.end {
        let tlv = read_tlv(der, pos, parent.end)?;
        pos = tlv.end;
        out.push(tlv);
    }
    Ok(out)
}

/// The tags of X.509's fields, down to the attributes of the names: x509-parser silently reads
/// an RDN with a wrong tag as the end of the name (an empty subject), where GnuTLS refuses the
/// certificate. Extension values and the key are not descended into.
fn check_certificate_fields(der: &[u8], top: &Tlv) -> Result<(), DerFault> {
    let tags = |v: &[Tlv]| v.iter().map(|t| t.tag).collect::<Vec<_>>();
    let top_fields = children(der, top)?;
    let [tbs, alg, _sig] = top_fields.as_slice() else {
        return Err(DerFault::NotCertificate);
    };
    if tags(&top_fields) != [0x30, 0x30, 0x03] {
        return Err(DerFault::NotCertificate);
    }
    // An AlgorithmIdentifier; returns its OID's bytes.
    let algorithm = |t: &Tlv, name: &'static str| -> Result<&[u8], DerFault> {
        let c = children(der, t)?;
        match c.first() {
            Some(oid) if t.tag == 0x30 && oid.tag == 0x06 && c.len() <= 2 => {
                der.get(oid.start..oid.end).ok_or(DerFault::BadField(name))
            }
            _ => Err(DerFault::BadField(name)),
        }
    };
    let outer_alg = algorithm(alg, "signatureAlgorithm")?;
    let name = |t: &Tlv, field: &'static str| -> Result<(), DerFault> {
        if t.tag != 0x30 {
            return Err(DerFault::BadField(field));
        }
        for rdn in children(der, t)? {
            if rdn.tag != 0x31 {
                return Err(DerFault::BadField(field));
            }
            for atv in children(der, &rdn)? {
                let parts = tags(&children(der, &atv)?);
                if atv.tag != 0x30 || parts.len() != 2 || parts.first() != Some(&0x06) {
                    return Err(DerFault::BadField(field));
                }
            }
        }
        Ok(())
    };
    let fields = children(der, tbs)?;
    let mut it = fields.iter().peekable();
    let mut next = |want: &[u8], field: &'static str| -> Result<&Tlv, DerFault> {
        match it.next() {
            Some(t) if want.contains(&t.tag) => Ok(t),
            _ => Err(DerFault::BadField(field)),
        }
    };
    let first = next(&[0xa0, 0x02], "version")?;
    if first.tag == 0xa0 {
        let v = children(der, first)?;
        if tags(&v) != [0x02] {
            return Err(DerFault::BadField("version"));
        }
        next(&[0x02], "serialNumber")?;
    }
    // GnuTLS refuses a certificate whose two signature algorithms differ ("Error in the
    // certificate"), as RFC 5280 4.1.1.2 requires.
    if algorithm(next(&[0x30], "signature")?, "signature")? != outer_alg {
        return Err(DerFault::AlgorithmMismatch);
    }
    name(next(&[0x30], "issuer")?, "issuer")?;
    let validity = next(&[0x30], "validity")?;
    let times = tags(&children(der, validity)?);
    if times.len() != 2 || !times.iter().all(|t| matches!(t, 0x17 | 0x18)) {
        return Err(DerFault::BadField("validity"));
    }
    let subject = next(&[0x30], "subject")?;
    name(subject, "subject")?;
    let subject_der = crate::x509::der::tlv(
        0x30,
        der.get(subject.start..subject.end).unwrap_or_default(),
    );
    // Malformed names (an empty DirectoryString, only empty RDNs) are refused here; an empty
    // subject is valid X.509 and left to the commands that need the DN (`dn`, `match-dn`).
    match crate::x509::dn::gnutls_can_print(&subject_der) {
        Err(e) if e.what != crate::x509::dn::NO_ATTRIBUTES => {
            return Err(DerFault::UnprintableSubject {
                what: e.what,
                gnutls: e.gnutls,
            });
        }
        _ => {}
    }
    let spki = next(&[0x30], "subjectPublicKeyInfo")?;
    let spki_parts = children(der, spki)?;
    match spki_parts.as_slice() {
        [key_alg, key] if key.tag == 0x03 => {
            algorithm(key_alg, "subjectPublicKeyInfo")?;
        }
        _ => return Err(DerFault::BadField("subjectPublicKeyInfo")),
    }
    // Optional [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions, in that order.
    let mut last = 0u8;
    for t in it {
        let order = match t.tag {
            0x81 | 0xa1 => 1,
            0x82 | 0xa2 => 2,
            0xa3 => 3,
            _ => return Err(DerFault::BadField("tbsCertificate")),
        };
        if order <= last {
            return Err(DerFault::BadField("tbsCertificate"));
        }
        last = order;
        if t.tag == 0xa3 {
            let seq = children(der, t)?;
            let [list] = seq.as_slice() else {
                return Err(DerFault::BadField("extensions"));
            };
            if list.tag != 0x30 {
                return Err(DerFault::BadField("extensions"));
            }
            for ext in children(der, list)? {
                let parts = children(der, &ext)?;
                let p = tags(&parts);
                let ok = ext.tag == 0x30 && (p == [0x06, 0x04] || p == [0x06, 0x01, 0x04]);
                let (Some(oid), Some(value)) = (parts.first(), parts.last()) else {
                    return Err(DerFault::BadField("extensions"));
                };
                if !ok {
                    return Err(DerFault::BadField("extensions"));
                }
                // GnuTLS decodes the subject and issuer alternative names when it imports a
                // certificate, so a malformed one makes the whole certificate unreadable.
                let oid = der.get(oid.start..oid.end).unwrap_or_default();
                if oid == [0x55, 0x1d, 0x11] || oid == [0x55, 0x1d, 0x12] {
                    let field = if oid == [0x55, 0x1d, 0x11] {
                        "subjectAltName"
                    } else {
                        "issuerAltName"
                    };
                    let inner = der.get(value.start..value.end).unwrap_or_default();
                    let names = check_sequence(inner).map_err(|_| DerFault::BadField(field))?;
                    // GeneralName: [0] otherName .. [8] registeredID, constructed where the
                    // type is a SEQUENCE or CHOICE.
                    let general_name = |t: u8| {
                        matches!(
                            t,
                            0xa0 | 0x81 | 0x82 | 0xa3 | 0xa4 | 0xa5 | 0x86 | 0x87 | 0x88
                        )
                    };
                    if !tags(&children(inner, &names)?)
                        .into_iter()
                        .all(general_name)
                    {
                        return Err(DerFault::BadField(field));
                    }
                }
            }
        }
    }
    Ok(())
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

    // The smallest certificate-shaped DER: every X.509 field with the right tag, all empty.
    const CERT_B64: &str = "MCswIaADAgECAgEBMAMGASowADAEFwAXADAAMAgwAwYBKgMBADADBgEqAwEA";

    #[test]
    fn traditional_der_keys_are_recognised_and_load() {
        use crate::x509::keys::{self, KeyType};
        for (kt, format) in [
            (KeyType::EcdsaP256, KeyFormat::Sec1),
            (KeyType::Rsa2048, KeyFormat::Pkcs1),
        ] {
            let key = keys::generate(kt).unwrap();
            let pkcs8_der = key.serialize_der();
            // The inner key of a PKCS#8 PrivateKeyInfo is the traditional form.
            let inner = pkcs8::PrivateKeyInfoRef::try_from(pkcs8_der.as_slice())
                .unwrap()
                .private_key
                .as_bytes()
                .to_vec();
            let c = parse(&inner).unwrap();
            assert_eq!(c.objects[0].kind, ObjectKind::PrivateKey(format), "{kt:?}");
            let loaded = keys::load_private_key(&c.objects[0], None).unwrap();
            assert_eq!(keys::public_key_bits(&loaded), keys::public_key_bits(&key));
            // Truncated or with a byte after it: not a key.
            assert!(parse(&inner[..inner.len() - 1]).is_err(), "{kt:?}");
            let mut longer = inner.clone();
            longer.push(0);
            assert!(parse(&longer).is_err(), "{kt:?}");
        }
        // Structures that only look similar.
        assert!(!is_pkcs1_der(&[0x30, 0x03, 0x02, 0x01, 0x00]));
        assert!(!is_sec1_der(&[0x30, 0x05, 0x02, 0x01, 0x01, 0x04, 0x00]));
        assert!(!is_sec1_der(&[
            0x30, 0x06, 0x02, 0x01, 0x02, 0x04, 0x01, 0x07
        ]));
        assert!(is_sec1_der(&[
            0x30, 0x06, 0x02, 0x01, 0x01, 0x04, 0x01, 0x07
        ]));
    }

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

    fn pem(label: &str, der: &[u8]) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n").into_bytes()
    }

    /// [`CERT_B64`] decoded.
    const CERT: [u8; 45] = [
        0x30, 0x2b, 0x30, 0x21, 0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01, 0x30, 0x03, 0x06,
        0x01, 0x2a, 0x30, 0x00, 0x30, 0x04, 0x17, 0x00, 0x17, 0x00, 0x30, 0x00, 0x30, 0x08, 0x30,
        0x03, 0x06, 0x01, 0x2a, 0x03, 0x01, 0x00, 0x30, 0x03, 0x06, 0x01, 0x2a, 0x03, 0x01, 0x00,
    ];

    fn fault(der: &[u8]) -> DerFault {
        match parse(&pem("CERTIFICATE", der)).unwrap_err() {
            ParseError::BadDer {
                reason, line: 1, ..
            } => reason,
            e => panic!("{e}"),
        }
    }

    #[test]
    fn refuses_certificates_gnutls_cannot_decode() {
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(CERT_B64)
                .unwrap(),
            CERT
        );
        assert!(parse(&pem("CERTIFICATE", &CERT)).is_ok());
        // The outer tag's bit 6 flipped (x509-parser reads it anyway; GnuTLS does not).
        let mut m = CERT;
        m[0] = 0x70;
        assert_eq!(fault(&m), DerFault::NotSequence);
        // An inner length that runs past its parent.
        let mut m = CERT;
        m[3] = 0x49;
        assert_eq!(fault(&m), DerFault::Overrun(2));
        // BER indefinite length, trailing bytes, a SET where tbsCertificate belongs.
        let mut m = CERT.to_vec();
        m[1] = 0x80;
        m.extend([0, 0]);
        assert_eq!(fault(&m), DerFault::IndefiniteLength(0));
        let mut m = CERT.to_vec();
        m.push(0);
        assert_eq!(fault(&m), DerFault::TrailingData(1));
        let mut m = CERT;
        m[2] = 0x31;
        assert_eq!(fault(&m), DerFault::NotCertificate);
        assert_eq!(fault(&[0x30, 0x85, 1, 1, 1, 1, 1]), DerFault::BadLength(0));
        assert_eq!(fault(&[0x30, 0xff]), DerFault::BadLength(0));
        assert_eq!(fault(&[0x30, 3, 0x1f, 0x80, 0]), DerFault::BadTag(2));
        // A non-minimal long-form length is accepted, as GnuTLS accepts it.
        let mut m = vec![0x30, 0x81];
        m.extend_from_slice(&CERT[1..]);
        assert!(parse(&pem("CERTIFICATE", &m)).is_ok());
        // The message names the line and the standard, never the bytes.
        let e = parse(&pem("CERTIFICATE", &[0x70, 0]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 1: the certificate is not valid X.509 DER ("),
            "{e}"
        );
    }

    #[test]
    fn refuses_certificates_whose_fields_have_the_wrong_tags() {
        let with = |i: usize, b: u8| {
            let mut m = CERT;
            m[i] = b;
            m
        };
        // No version and no serial; an INTEGER where the issuer Name belongs; a bad validity.
        assert_eq!(fault(&with(4, 0xa1)), DerFault::BadField("version"));
        assert_eq!(fault(&with(17, 0x02)), DerFault::BadField("issuer"));
        assert_eq!(fault(&with(21, 0x04)), DerFault::BadField("validity"));
        assert_eq!(
            fault(&with(34, 0x04)),
            DerFault::BadField("subjectPublicKeyInfo")
        );
        assert_eq!(
            fault(&with(39, 0x04)),
            DerFault::BadField("signatureAlgorithm")
        );
        // An RDN that is not a SET (x509-parser stops reading the name there: an empty subject).
        let name = [
            0x30, 0x0b, 0x21, 0x09, 0x30, 0x07, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x00,
        ];
        let mut tbs = CERT[4..25].to_vec();
        tbs.extend_from_slice(&name);
        tbs.extend_from_slice(&CERT[27..37]);
        let mut cert = vec![0x30, 0x37, 0x30, tbs.len() as u8];
        cert.extend_from_slice(&tbs);
        cert.extend_from_slice(&CERT[37..]);
        cert[1] = (cert.len() - 2) as u8;
        assert_eq!(fault(&cert), DerFault::BadField("subject"));
        cert[14 + 13] = 0x31; // make the RDN a SET again
        // ... whose CN is an empty UTF8String: GnuTLS imports it but cannot print the DN.
        assert!(
            matches!(fault(&cert), DerFault::UnprintableSubject { what, .. } if what == "an empty CN value")
        );
        // As C (2.5.4.6, not a DirectoryString) the empty value is printed as hex: loadable.
        let at = cert
            .windows(5)
            .rposition(|w| w == [0x55, 0x04, 0x03, 0x0c, 0x00])
            .unwrap();
        cert[at + 2] = 0x06;
        assert!(parse(&pem("CERTIFICATE", &cert)).is_ok(), "{cert:02x?}");
    }

    /// [`CERT`] with one extension (OID 2.5.29.`ext`, value `value`) and `sig_oid` as the
    /// outer signature algorithm's OID byte.
    fn cert_with(ext: u8, value: &[u8], sig_oid: u8) -> Vec<u8> {
        let mut e = vec![0x06, 0x03, 0x55, 0x1d, ext, 0x04, value.len() as u8];
        e.extend_from_slice(value);
        let mut exts = vec![0x30, e.len() as u8];
        exts.extend(e);
        let mut list = vec![0x30, exts.len() as u8];
        list.extend(exts);
        let mut a3 = vec![0xa3, list.len() as u8];
        a3.extend(list);
        let mut tbs_body = CERT[4..37].to_vec();
        tbs_body.extend(a3);
        let mut body = vec![0x30, tbs_body.len() as u8];
        body.extend(tbs_body);
        body.extend([0x30, 0x03, 0x06, 0x01, sig_oid, 0x03, 0x01, 0x00]);
        let mut cert = vec![0x30, body.len() as u8];
        cert.extend(body);
        cert
    }

    #[test]
    fn refuses_what_gnutls_refuses_when_it_imports_a_certificate() {
        // A dNSName and an iPAddress: fine.
        let san = [0x30, 0x07, 0x82, 0x01, b'h', 0x87, 0x02, 0x7f, 0x01];
        assert!(parse(&pem("CERTIFICATE", &cert_with(17, &san, 0x2a))).is_ok());
        // The two signature algorithms differ.
        assert_eq!(
            fault(&cert_with(17, &san, 0x2b)),
            DerFault::AlgorithmMismatch
        );
        // A subjectAltName that is not a SEQUENCE of GeneralNames (GnuTLS decodes it on import).
        let mut bad = san;
        bad[2] = 0x02;
        assert_eq!(
            fault(&cert_with(17, &bad, 0x2a)),
            DerFault::BadField("subjectAltName")
        );
        let mut bad = san;
        bad[1] = 0x08;
        assert_eq!(
            fault(&cert_with(18, &bad, 0x2a)),
            DerFault::BadField("issuerAltName")
        );
        // Other extensions' values are not decoded here.
        assert!(parse(&pem("CERTIFICATE", &cert_with(19, &bad, 0x2a))).is_ok());
    }

    #[test]
    fn reads_openssl_trusted_certificates() {
        let mut der = CERT.to_vec();
        der.extend([0x30, 0x03, 0x0c, 0x01, b'x']); // X509_AUX: an alias
        let c = parse(&pem("TRUSTED CERTIFICATE", &der)).unwrap();
        assert_eq!(c.objects[0].kind, ObjectKind::Certificate);
        assert_eq!(*c.objects[0].der, der);
        // ... but a plain CERTIFICATE block with bytes after it is refused, as GnuTLS does.
        assert_eq!(fault(&der), DerFault::TrailingData(5));
    }

    #[test]
    fn refuses_deeply_nested_der_without_recursing_forever() {
        let mut der = vec![0x30, 0];
        for _ in 0..200 {
            let mut outer = vec![0x30, 0x82];
            outer.extend_from_slice(&(der.len() as u16).to_be_bytes());
            outer.extend_from_slice(&der);
            der = outer;
        }
        let e = parse(&pem("PRIVATE KEY", &der)).unwrap_err();
        assert!(
            matches!(
                e,
                ParseError::BadDer {
                    reason: DerFault::TooDeep,
                    ..
                }
            ),
            "{e}"
        );
        // Keys are checked for structure only: a SEQUENCE is enough to be classified.
        assert!(parse(&pem("PRIVATE KEY", &[0x30, 3, 2, 1, 0])).is_ok());
        // DER files are sniffed with the same rules.
        assert!(matches!(
            parse(&[0x70, 7, 0x30, 0, 0x30, 0, 3, 1, 0]).unwrap_err(),
            ParseError::NotPem { .. }
        ));
    }
}
