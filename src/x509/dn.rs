//! Distinguished names exactly as GnuTLS prints and compares them.
//!
//! libvirt's `tls_allowed_dn_list`, QEMU's `tls-authz` and `virt-pki-query-dn` all use
//! `gnutls_x509_crt_get_dn`, which prints the RDNs in **encoding order** (normally `C=` first),
//! joined by `,` without spaces, multi-valued RDNs joined by `+`, GnuTLS's attribute names, and
//! RFC 4514 escaping of `,+"\<>;`, a leading `#` or space and a trailing space. Values whose
//! string type does not fit the attribute (a UTF8String country) and unknown attributes are
//! printed as `#` and the hex of their DER. This module reproduces that byte for byte
//! ([`format_gnutls`]), parses DN strings written in that order ([`parse`], for `--dn`), and
//! encodes them as certtool does ([`Dn::to_der`]): PrintableString when the value fits,
//! UTF8String otherwise, IA5String for DC and EMAIL, PrintableString always for C.

use std::fmt::Write as _;

use crate::x509::der::tlv;
use x509_parser::x509::X509Name;

/// How GnuTLS decodes an attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueType {
    /// X.520 DirectoryString (a CHOICE of string types).
    Directory,
    /// Must be a PrintableString.
    Printable,
    /// Must be an IA5String.
    Ia5,
}

/// GnuTLS's table of printable DN attributes (lib/x509/common.c `_oid2str`): OID, the name
/// GnuTLS prints (or `None`, printed as the OID), the value type.
const ATTRIBUTES: &[(&str, Option<&str>, ValueType)] = &[
    (
        "1.3.6.1.5.5.7.9.2",
        Some("placeOfBirth"),
        ValueType::Directory,
    ),
    ("1.3.6.1.5.5.7.9.3", Some("gender"), ValueType::Printable),
    (
        "1.3.6.1.5.5.7.9.4",
        Some("countryOfCitizenship"),
        ValueType::Printable,
    ),
    (
        "1.3.6.1.5.5.7.9.5",
        Some("countryOfResidence"),
        ValueType::Printable,
    ),
    ("2.5.4.6", Some("C"), ValueType::Printable),
    ("2.5.4.9", Some("street"), ValueType::Directory),
    ("2.5.4.12", Some("title"), ValueType::Directory),
    ("2.5.4.10", Some("O"), ValueType::Directory),
    ("2.5.4.11", Some("OU"), ValueType::Directory),
    ("2.5.4.3", Some("CN"), ValueType::Directory),
    ("2.5.4.7", Some("L"), ValueType::Directory),
    ("2.5.4.8", Some("ST"), ValueType::Directory),
    ("2.5.4.13", Some("description"), ValueType::Directory),
    ("2.5.4.5", Some("serialNumber"), ValueType::Printable),
    ("2.5.4.20", Some("telephoneNumber"), ValueType::Printable),
    ("2.5.4.4", Some("surName"), ValueType::Directory),
    ("2.5.4.43", Some("initials"), ValueType::Directory),
    (
        "2.5.4.44",
        Some("generationQualifier"),
        ValueType::Directory,
    ),
    ("2.5.4.42", Some("givenName"), ValueType::Directory),
    ("2.5.4.65", Some("pseudonym"), ValueType::Directory),
    ("2.5.4.46", Some("dnQualifier"), ValueType::Printable),
    ("2.5.4.17", Some("postalCode"), ValueType::Directory),
    ("2.5.4.41", Some("name"), ValueType::Directory),
    ("2.5.4.15", Some("businessCategory"), ValueType::Directory),
    ("0.9.2342.19200300.100.1.25", Some("DC"), ValueType::Ia5),
    (
        "0.9.2342.19200300.100.1.1",
        Some("UID"),
        ValueType::Directory,
    ),
    (
        "1.2.840.113556.1.4.656",
        Some("userPrincipalName"),
        ValueType::Directory,
    ),
    (
        "1.3.6.1.4.1.311.60.2.1.1",
        Some("jurisdictionOfIncorporationLocalityName"),
        ValueType::Directory,
    ),
    (
        "1.3.6.1.4.1.311.60.2.1.2",
        Some("jurisdictionOfIncorporationStateOrProvinceName"),
        ValueType::Directory,
    ),
    (
        "1.3.6.1.4.1.311.60.2.1.3",
        Some("jurisdictionOfIncorporationCountryName"),
        ValueType::Printable,
    ),
    ("1.2.840.113549.1.9.1", Some("EMAIL"), ValueType::Ia5),
];

/// Extra spellings accepted when parsing (case-insensitive), mapped to OIDs.
const ALIASES: &[(&str, &str)] = &[
    ("emailAddress", "1.2.840.113549.1.9.1"),
    ("E", "1.2.840.113549.1.9.1"),
    ("SN", "2.5.4.4"),
    ("surname", "2.5.4.4"),
    ("S", "2.5.4.8"),
    ("stateOrProvinceName", "2.5.4.8"),
    ("localityName", "2.5.4.7"),
    ("organizationName", "2.5.4.10"),
    ("organizationalUnitName", "2.5.4.11"),
    ("commonName", "2.5.4.3"),
    ("countryName", "2.5.4.6"),
    ("domainComponent", "0.9.2342.19200300.100.1.25"),
    ("userid", "0.9.2342.19200300.100.1.1"),
    ("STREET", "2.5.4.9"),
];

fn attribute_by_oid(oid: &str) -> Option<(Option<&'static str>, ValueType)> {
    ATTRIBUTES
        .iter()
        .find(|(o, _, _)| *o == oid)
        .map(|(_, name, ty)| (*name, *ty))
}

/// The name GnuTLS prints for an attribute OID (dotted OID when it has none).
pub fn attribute_name(oid: &str) -> String {
    match attribute_by_oid(oid) {
        Some((Some(name), _)) => name.to_string(),
        _ => oid.to_string(),
    }
}

/// Formats a name in GnuTLS "compat" order (encoding order), e.g.
/// `C=GB,ST=London,L=London,O=Example Org,CN=client1`, from the name's DER (see
/// [`format_gnutls_der`]). A name GnuTLS cannot print at all ([`DnUnprintable`]; the strict
/// loader refuses certificates whose subject is such a name) is shown with that value as `#hex`.
pub fn format_gnutls(name: &X509Name<'_>) -> String {
    format_gnutls_der(name.as_raw()).unwrap_or_else(|e| e.fallback)
}

/// The subject DN of a certificate as GnuTLS prints it, read from the certificate's own DER:
/// x509-parser stops reading a Name at an empty RDN (and `X509Name::as_raw` ends there), where
/// GnuTLS goes on (`CN=a,CN=b` for `CN=a`, an empty RDN, `CN=b`).
pub fn subject_of(cert: &x509_parser::certificate::X509Certificate<'_>) -> String {
    try_subject_of(cert).unwrap_or_else(|e| e.fallback)
}

/// [`subject_of`], or why GnuTLS cannot print it.
pub fn try_subject_of(
    cert: &x509_parser::certificate::X509Certificate<'_>,
) -> Result<String, DnUnprintable> {
    match tbs_subject(cert.tbs_certificate.as_ref()) {
        Some(subject) => format_gnutls_der(subject),
        None => format_gnutls_der(cert.subject().as_raw()),
    }
}

/// The whole subject Name TLV of a TBSCertificate.
fn tbs_subject(tbs: &[u8]) -> Option<&[u8]> {
    let (t, _) = raw_tlv(tbs)?;
    let mut rest = t.contents;
    let mut fields = Vec::new();
    while let Some((f, r)) = raw_tlv(rest) {
        fields.push(f.whole);
        rest = r;
    }
    // [0] version (optional), serial, signature, issuer, validity, subject.
    let skip = usize::from(fields.first()?.first() == Some(&0xa0));
    fields.get(skip + 4).copied()
}

/// Why GnuTLS's `gnutls_x509_crt_get_dn` fails on a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnUnprintable {
    /// What the name has, for messages ("an empty CN value", "no attributes").
    pub what: String,
    /// What GnuTLS 3.7 says (or does).
    pub gnutls: &'static str,
    /// The name with an unprintable value shown as `#hex`, for messages.
    pub fallback: String,
}

/// [`DnUnprintable::what`] for a name without RDNs (X.509 allows it for a leaf with
/// subjectAltNames; GnuTLS loads the certificate but `get_dn` fails, and libvirt with it).
pub const NO_ATTRIBUTES: &str = "no attributes (an empty subject)";

/// GnuTLS's error for an empty DirectoryString.
const VALUE_NOT_VALID: &str = "\"ASN1 parser: Value is not valid.\"";

/// How GnuTLS decodes one attribute's value (lib/x509/common.c `_oid2str`: an `asn_desc`
/// CHOICE, or one fixed string type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decode {
    /// X.520 DirectoryString: teletexString, printableString, universalString, utf8String,
    /// bmpString.
    Directory,
    /// PKCS #9 challengePassword: printableString or utf8String.
    Challenge,
    /// Exactly this universal tag.
    Fixed(u32),
}

/// Attributes GnuTLS decodes beyond [`ATTRIBUTES`] (no name of their own, or never written by
/// pkitool): challengePassword, friendlyName (BMPString), localKeyId (OCTET STRING), XmppAddr.
const EXTRA_DECODED: &[(&str, Option<&str>, Decode)] = &[
    ("1.2.840.113549.1.9.7", None, Decode::Challenge),
    ("1.2.840.113549.1.9.20", None, Decode::Fixed(0x1e)),
    ("1.2.840.113549.1.9.21", None, Decode::Fixed(0x04)),
    ("1.3.6.1.5.5.7.8.5", Some("XmppAddr"), Decode::Fixed(0x0c)),
];

fn decoding_of(oid: &str) -> Option<(Option<&'static str>, Decode)> {
    if let Some((name, ty)) = attribute_by_oid(oid) {
        return Some((
            name,
            match ty {
                ValueType::Directory => Decode::Directory,
                ValueType::Printable => Decode::Fixed(0x13),
                ValueType::Ia5 => Decode::Fixed(0x16),
            },
        ));
    }
    EXTRA_DECODED
        .iter()
        .find(|(o, _, _)| *o == oid)
        .map(|(_, n, d)| (*n, *d))
}

/// One BER/DER value: its identifier octets, contents and whole encoding.
struct RawTlv<'a> {
    ident: &'a [u8],
    contents: &'a [u8],
    whole: &'a [u8],
}

/// Reads the value at the start of `input` (high tag numbers and long lengths of up to four
/// bytes, non-minimal forms included, as libtasn1 reads them); returns it and the rest.
fn raw_tlv(input: &[u8]) -> Option<(RawTlv<'_>, &[u8])> {
    let first = *input.first()?;
    let mut i = 1;
    if first & 0x1f == 0x1f {
        while input.get(i)? & 0x80 != 0 {
            i += 1;
            if i > 5 {
                return None;
            }
        }
        i += 1;
    }
    let ident = input.get(..i)?;
    let l = *input.get(i)?;
    i += 1;
    let len = if l < 0x80 {
        usize::from(l)
    } else {
        let n = usize::from(l & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = input.get(i..i + n)?;
        i += n;
        bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b))
    };
    let end = i.checked_add(len)?;
    let contents = input.get(i..end)?;
    let whole = input.get(..end)?;
    Some((
        RawTlv {
            ident,
            contents,
            whole,
        },
        input.get(end..)?,
    ))
}

/// The tag number of a universal-class, primitive identifier (low or high tag form).
fn universal_primitive(ident: &[u8]) -> Option<u32> {
    let (&first, rest) = ident.split_first()?;
    if first & 0xe0 != 0 {
        return None;
    }
    if first & 0x1f != 0x1f {
        return Some(u32::from(first & 0x1f));
    }
    rest.iter().try_fold(0u32, |n, b| {
        n.checked_mul(128).map(|n| n | u32::from(b & 0x7f))
    })
}

/// A dotted OID from an OBJECT IDENTIFIER's contents.
fn dotted_oid(contents: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    for (i, b) in contents.iter().enumerate() {
        cur = cur.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (a, b) = match cur {
                    0..=39 => (0, cur),
                    40..=79 => (1, cur - 40),
                    _ => (2, cur - 80),
                };
                arcs.extend([a, b]);
            } else {
                arcs.push(cur);
            }
            cur = 0;
        } else if i + 1 == contents.len() {
            return None;
        }
    }
    if arcs.is_empty() {
        return None;
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// What GnuTLS prints for one value.
enum Printed {
    /// Bytes that go through `str_escape` (decoded text, or `#hex` of a string's contents).
    Escaped(Vec<u8>),
    /// `#` and the hex of the whole value, unescaped (unknown attributes, undecodable values).
    Hex,
    /// `gnutls_x509_crt_get_dn` fails.
    Fails,
}

fn hex_text(bytes: &[u8]) -> Vec<u8> {
    let mut s = String::from("#");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s.into_bytes()
}

/// `_gnutls_ucs2_to_utf8`: one trailing U+0000 dropped (when more than two bytes), an odd last
/// byte ignored, `None` for unpaired surrogates.
fn bmp_to_utf8(data: &[u8]) -> Option<Vec<u8>> {
    let mut n = data.len();
    if n > 2 && data.get(n - 2..) == Some(&[0, 0][..]) {
        n -= 2;
    }
    let units = data.get(..n)?.chunks_exact(2).map(|c| {
        u16::from_be_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ])
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
        .map(String::into_bytes)
}

/// GnuTLS 3.7's `_gnutls_x509_dn_to_string`, checked value by value against
/// `virt-pki-query-dn` (tests/it/security.rs).
fn printed_value(decode: Option<Decode>, value: &RawTlv<'_>) -> Printed {
    let Some(decode) = decode else {
        return Printed::Hex;
    };
    // lib/x509/dn.c refuses an empty DirectoryString whose length octet is 0.
    if decode == Decode::Directory && value.whole.get(1) == Some(&0) {
        return Printed::Fails;
    }
    let Some(tag) = universal_primitive(value.ident) else {
        return Printed::Hex;
    };
    let data = value.contents;
    if data.is_empty() {
        return Printed::Hex;
    }
    let text = match (decode, tag) {
        (Decode::Directory, 0x14) => {
            if data.iter().all(|b| (0x20..0x7f).contains(b)) {
                data.to_vec()
            } else {
                hex_text(data)
            }
        }
        (Decode::Directory, 0x1c) => hex_text(data),
        (Decode::Directory, 0x1e) | (Decode::Fixed(0x1e), 0x1e) => {
            bmp_to_utf8(data).unwrap_or_else(|| hex_text(data))
        }
        (Decode::Directory | Decode::Challenge, 0x13 | 0x0c) => data.to_vec(),
        (Decode::Fixed(want), t) if want == t => data.to_vec(),
        _ => return Printed::Hex,
    };
    // "Refuse to deal with strings containing NULs": the value is then printed as hex.
    if text.contains(&0) {
        return Printed::Hex;
    }
    Printed::Escaped(text)
}

/// `str_escape`: `,+"\<>;` always, `#` and space first, space last (byte-wise).
fn escape_bytes(out: &mut Vec<u8>, value: &[u8]) {
    let last = value.len().saturating_sub(1);
    for (i, &b) in value.iter().enumerate() {
        if matches!(b, b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';')
            || (i == 0 && (b == b'#' || b == b' '))
            || (i == last && b == b' ')
        {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// The bytes of a DN as text: GnuTLS copies UTF8String and PrintableString contents without
/// checking them, so the DN may hold bytes that are not UTF-8; each such byte is written
/// `\xHH`. (Unambiguous: GnuTLS escapes every backslash of a value as `\\`.)
pub fn bytes_to_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for b in bad.iter().take(n) {
                    let _ = write!(out, "\\x{b:02X}");
                }
                rest = bad.get(n..).unwrap_or_default();
            }
        }
    }
}

/// The DN GnuTLS's `gnutls_x509_crt_get_dn` prints for a DER `Name`, value by value as GnuTLS
/// 3.7 decodes it: the string types each attribute allows, exact universal primitive tags
/// only (a constructed, context or application tag is printed as `#` and the hex of the value
/// as it is encoded), BMPStrings as `_gnutls_ucs2_to_utf8` converts them (odd lengths
/// included), TeletexStrings as text only when printable ASCII, UniversalStrings as escaped
/// hex, NULs as hex, unknown attributes as `OID=#hex`. Invalid UTF-8 is kept byte for byte
/// and written `\xHH` ([`bytes_to_text`]).
pub fn format_gnutls_der(name_der: &[u8]) -> Result<String, DnUnprintable> {
    let mut out = Vec::new();
    let mut fails: Option<String> = None;
    let body = raw_tlv(name_der)
        .map(|(t, _)| t.contents)
        .unwrap_or_default();
    let mut rdns = body;
    let mut any_rdn = false;
    // GnuTLS 3.7 (checked with virt-pki-query-dn): `+` between the attributes of an RDN, and
    // `,` after every RDN that printed something unless it is the last one, so an empty RDN
    // adds nothing in the middle and leaves a trailing `,` at the end (`CN=a,`).
    while let Some((rdn, rest)) = raw_tlv(rdns) {
        rdns = rest;
        any_rdn = true;
        let mut atvs = rdn.contents;
        let mut first_atv = true;
        while let Some((atv, rest)) = raw_tlv(atvs) {
            atvs = rest;
            let Some((oid_tlv, after)) = raw_tlv(atv.contents) else {
                continue;
            };
            let Some((value, _)) = raw_tlv(after) else {
                continue;
            };
            if !first_atv {
                out.push(b'+');
            }
            first_atv = false;
            let oid = dotted_oid(oid_tlv.contents).unwrap_or_default();
            let known = decoding_of(&oid);
            let name = known
                .and_then(|(n, _)| n)
                .map_or(oid.clone(), str::to_string);
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            match printed_value(known.map(|(_, d)| d), &value) {
                Printed::Escaped(text) => escape_bytes(&mut out, &text),
                Printed::Hex => out.extend(hex_text(value.whole)),
                Printed::Fails => {
                    fails.get_or_insert(format!("an empty {name} value"));
                    out.extend(hex_text(value.whole));
                }
            }
        }
        if !first_atv && !rdns.is_empty() {
            out.push(b',');
        }
    }
    let text = bytes_to_text(&out);
    let (what, gnutls) = match fails {
        Some(what) => (what, VALUE_NOT_VALID),
        None if !any_rdn => (
            NO_ATTRIBUTES.to_string(),
            "\"The requested data were not available.\"",
        ),
        None if out.is_empty() => (
            "only empty RDNs".to_string(),
            "GnuTLS 3.7 aborts: assertion `dn.data != NULL' in _gnutls_x509_parse_dn",
        ),
        None => return Ok(text),
    };
    Err(DnUnprintable {
        what,
        gnutls,
        fallback: text,
    })
}

/// True when a DN string from this module holds a `\xHH` for a byte that is not UTF-8
/// ([`bytes_to_text`]): no pattern written in a UTF-8 configuration file spells it.
pub fn has_raw_bytes(dn: &str) -> bool {
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.next() == Some('x') {
            return true;
        }
    }
    false
}

/// True when `gnutls_x509_crt_get_dn` can print this DER `Name` (see [`DnUnprintable`]).
pub fn gnutls_can_print(name_der: &[u8]) -> Result<(), DnUnprintable> {
    format_gnutls_der(name_der).map(|_| ())
}

/// RFC 4514 escaping as GnuTLS's `str_escape` does it.
fn escape_into(out: &mut String, value: &str) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let escape = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Escapes one attribute value as GnuTLS prints it.
pub fn escape_value(value: &str) -> String {
    let mut out = String::new();
    escape_into(&mut out, value);
    out
}

/// A parsed DN: RDNs in encoding order, each with one or more attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dn {
    /// The RDNs, in the order they are encoded (and printed by GnuTLS).
    pub rdns: Vec<Vec<Attribute>>,
}

/// One attribute of a DN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Dotted OID.
    pub oid: String,
    /// The value.
    pub value: AttributeValue,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    /// A string, encoded with the type certtool would choose.
    Text(String),
    /// A `#hex` value: the DER of the value, used verbatim.
    Der(Vec<u8>),
}

/// Why a DN string could not be parsed or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnError {
    /// The string is empty.
    #[error("the DN is empty")]
    Empty,
    /// An RDN component has no `=`.
    #[error("\"{0}\" is not NAME=VALUE")]
    MissingEquals(String),
    /// An attribute name that is neither known nor a dotted OID.
    #[error(
        "unknown attribute name \"{0}\" (use C, ST, L, O, OU, CN, DC, UID, EMAIL, ... or a dotted OID)"
    )]
    UnknownAttribute(String),
    /// An empty value.
    #[error("attribute {0} has an empty value")]
    EmptyValue(String),
    /// A backslash at the end, or an invalid `\XX` escape.
    #[error("bad escape in \"{0}\"")]
    BadEscape(String),
    /// A `#hex` value that is not valid hex DER.
    #[error("bad #hex value for {0}")]
    BadHex(String),
    /// A value that cannot be encoded with the type the attribute requires.
    #[error("{name}={value}: {reason}")]
    BadValue {
        /// Attribute name.
        name: String,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
}

impl Dn {
    /// Encodes the DN as a DER `Name`, in the given order.
    pub fn to_der(&self) -> Result<Vec<u8>, DnError> {
        let mut rdns = Vec::new();
        for rdn in &self.rdns {
            let mut atvs = Vec::new();
            for attr in rdn {
                let mut atv = encode_oid(&attr.oid);
                atv.extend(encode_value(attr)?);
                atvs.push(tlv(0x30, &atv));
            }
            // DER: the members of a SET OF are sorted by their encodings.
            atvs.sort();
            rdns.push(tlv(0x31, &atvs.concat()));
        }
        Ok(tlv(0x30, &rdns.concat()))
    }

    /// The DN as GnuTLS would print it once encoded.
    pub fn to_gnutls_string(&self) -> Result<String, DnError> {
        let der = self.to_der()?;
        match x509_parser::x509::X509Name::from_der_name(&der) {
            Some(name) => Ok(format_gnutls(&name)),
            None => Err(DnError::Empty),
        }
    }

    /// All values of one attribute (by OID), in order.
    pub fn values<'a>(&'a self, oid: &'a str) -> impl Iterator<Item = &'a AttributeValue> + 'a {
        self.rdns
            .iter()
            .flatten()
            .filter(move |a| a.oid == oid)
            .map(|a| &a.value)
    }
}

/// Helper to parse a DER `Name` with x509-parser.
trait FromDerName<'a>: Sized {
    fn from_der_name(der: &'a [u8]) -> Option<Self>;
}

impl<'a> FromDerName<'a> for X509Name<'a> {
    fn from_der_name(der: &'a [u8]) -> Option<Self> {
        use x509_parser::prelude::FromDer;
        X509Name::from_der(der).ok().map(|(_, n)| n)
    }
}

/// The dotted OID for an attribute name (GnuTLS names, common aliases, or a dotted OID).
pub fn oid_for_name(name: &str) -> Option<String> {
    if let Some((oid, _, _)) = ATTRIBUTES
        .iter()
        .find(|(_, n, _)| n.is_some_and(|n| n.eq_ignore_ascii_case(name)))
    {
        return Some((*oid).to_string());
    }
    if let Some((_, oid)) = ALIASES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Some((*oid).to_string());
    }
    crate::x509::der::parse_oid(name).map(|_| name.to_string())
}

/// Parses a DN written in libvirt/GnuTLS order: `C=GB,ST=London,O=Example Org,CN=client1`.
///
/// `,` separates RDNs and `+` the attributes of a multi-valued RDN; `\` escapes the next
/// character (or two hex digits, RFC 4514); `#hex` gives a DER value. Spaces around names and
/// unescaped spaces at either end of a value are ignored, as RFC 4514 parsers do.
pub fn parse(input: &str) -> Result<Dn, DnError> {
    if input.trim().is_empty() {
        return Err(DnError::Empty);
    }
    let mut rdns = Vec::new();
    for rdn_text in split_unescaped(input, ',') {
        let mut rdn = Vec::new();
        for atv_text in split_unescaped(&rdn_text, '+') {
            rdn.push(parse_attribute(&atv_text)?);
        }
        rdns.push(rdn);
    }
    Ok(Dn { rdns })
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
}

fn parse_attribute(text: &str) -> Result<Attribute, DnError> {
    let (name, raw) = text
        .split_once('=')
        .ok_or_else(|| DnError::MissingEquals(text.trim().to_string()))?;
    let name = name.trim();
    let oid = oid_for_name(name).ok_or_else(|| DnError::UnknownAttribute(name.to_string()))?;
    let raw = raw.trim_start();
    if let Some(hex) = raw.strip_prefix('#') {
        let der = decode_hex(hex.trim_end()).ok_or_else(|| DnError::BadHex(name.to_string()))?;
        check_hex_value(&oid, &der).map_err(|reason| DnError::BadValue {
            name: name.to_string(),
            value: format!("#{}", hex.trim_end()),
            reason,
        })?;
        return Ok(Attribute {
            oid,
            value: AttributeValue::Der(der),
        });
    }
    let value = unescape(raw)?;
    if value.is_empty() {
        return Err(DnError::EmptyValue(name.to_string()));
    }
    Ok(Attribute {
        oid,
        value: AttributeValue::Text(value),
    })
}

/// A `#hex` value must be exactly one well-formed string TLV of a type the attribute allows,
/// with contents valid for that type and no control characters: anything else would be signed
/// into a certificate that neither pkitool nor GnuTLS can read back the same way.
fn check_hex_value(oid: &str, der: &[u8]) -> Result<(), &'static str> {
    let (&tag, rest) = der.split_first().ok_or("an empty value")?;
    let (&first, rest) = rest.split_first().ok_or("no length")?;
    let (len, body) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => match rest.split_first() {
            Some((&l, b)) if l >= 0x80 => (usize::from(l), b),
            _ => return Err("a non-minimal length"),
        },
        0x82 => match rest {
            [hi, lo, b @ ..] if *hi != 0 => (usize::from(*hi) << 8 | usize::from(*lo), b),
            _ => return Err("a non-minimal length"),
        },
        _ => return Err("a length form DER does not allow here"),
    };
    if body.len() != len {
        return Err("the length does not match the bytes given (one complete TLV is required)");
    }
    let ty = attribute_by_oid(oid).map_or(ValueType::Directory, |(_, t)| t);
    let allowed: &[u8] = match ty {
        ValueType::Printable => &[0x13],
        ValueType::Ia5 => &[0x16],
        ValueType::Directory => &[0x13, 0x0c, 0x1e],
    };
    if !allowed.contains(&tag) {
        return Err(match ty {
            ValueType::Printable => "the attribute takes a PrintableString (tag 0x13)",
            ValueType::Ia5 => "the attribute takes an IA5String (tag 0x16)",
            ValueType::Directory => {
                "only PrintableString (0x13), UTF8String (0x0c) or BMPString (0x1e) values are accepted"
            }
        });
    }
    let text = match tag {
        0x13 | 0x16 | 0x0c => std::str::from_utf8(body)
            .map_err(|_| "the contents are not valid for the string type")?
            .to_string(),
        _ => {
            if body.len() % 2 != 0 {
                return Err("a BMPString must have an even number of bytes");
            }
            let units = body
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| "the BMPString is not valid UTF-16")?
        }
    };
    if tag == 0x13 && !is_printable_string(&text) {
        return Err("the contents are not PrintableString characters");
    }
    if tag == 0x16 && !text.is_ascii() {
        return Err("the contents are not ASCII");
    }
    if text.is_empty() {
        return Err("an empty value");
    }
    if text.chars().any(crate::quoting::terminal::is_control) {
        return Err("control characters are not allowed in certificate fields");
    }
    Ok(())
}

/// Resolves escapes and drops unescaped trailing spaces.
fn unescape(raw: &str) -> Result<String, DnError> {
    let mut bytes = Vec::new();
    let mut keep = 0; // length up to the last escaped or non-space byte
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let n = chars
                .next()
                .ok_or_else(|| DnError::BadEscape(raw.to_string()))?;
            if n.is_ascii_hexdigit() && chars.peek().is_some_and(|h| h.is_ascii_hexdigit()) {
                let h = chars.next().unwrap_or('0');
                let byte = u8::from_str_radix(&format!("{n}{h}"), 16)
                    .map_err(|_| DnError::BadEscape(raw.to_string()))?;
                bytes.push(byte);
            } else {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(n.encode_utf8(&mut buf).as_bytes());
            }
            keep = bytes.len();
        } else {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            if c != ' ' {
                keep = bytes.len();
            }
        }
    }
    bytes.truncate(keep);
    String::from_utf8(bytes).map_err(|_| DnError::BadEscape(raw.to_string()))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// PrintableString's character set (X.680), which GnuTLS and certtool check strictly.
pub fn is_printable_string(s: &str) -> bool {
    s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\'' | b'(' | b')' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
            )
    })
}

fn encode_value(attr: &Attribute) -> Result<Vec<u8>, DnError> {
    let text = match &attr.value {
        AttributeValue::Der(der) => return Ok(der.clone()),
        AttributeValue::Text(t) => t,
    };
    let name = attribute_name(&attr.oid);
    let bad = |reason| DnError::BadValue {
        name: name.clone(),
        value: text.clone(),
        reason,
    };
    let ty = attribute_by_oid(&attr.oid).map_or(ValueType::Directory, |(_, t)| t);
    if attr.oid == "2.5.4.6" && !(text.len() == 2 && text.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Err(bad("a country must be a two-letter code such as GB"));
    }
    Ok(match ty {
        ValueType::Printable if is_printable_string(text) => tlv(0x13, text.as_bytes()),
        ValueType::Printable => {
            return Err(bad(
                "the value must use only PrintableString characters (A-Z a-z 0-9 space '()+,-./:=?)",
            ));
        }
        ValueType::Ia5 if text.is_ascii() => tlv(0x16, text.as_bytes()),
        ValueType::Ia5 => return Err(bad("the value must be ASCII")),
        ValueType::Directory if is_printable_string(text) => tlv(0x13, text.as_bytes()),
        ValueType::Directory => tlv(0x0c, text.as_bytes()),
    })
}

/// DER-encodes a dotted OID (the caller guarantees the syntax: see [`oid_for_name`]).
fn encode_oid(oid: &str) -> Vec<u8> {
    crate::x509::der::oid(&crate::x509::der::parse_oid(oid).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::der_parser::asn1_rs::Tag;
    use x509_parser::prelude::FromDer;

    fn roundtrip(dn: &str) -> String {
        let der = parse(dn).unwrap().to_der().unwrap();
        let (_, name) = X509Name::from_der(&der).unwrap();
        format_gnutls(&name)
    }

    #[test]
    fn keeps_order_repeats_and_multivalued_rdns() {
        let dn =
            "C=GB,ST=London,L=London,O=Example Org,OU=a,OU=b,CN=client1+UID=u1,DC=example,DC=org";
        assert_eq!(roundtrip(dn), dn);
    }

    #[test]
    fn escapes_like_gnutls() {
        assert_eq!(
            roundtrip(r"O=Example\, Inc.,OU=R&D \+ Ops,CN=client #2 = weird"),
            r"O=Example\, Inc.,OU=R&D \+ Ops,CN=client #2 = weird"
        );
        assert_eq!(roundtrip(r"CN=\#hash"), r"CN=\#hash");
        assert_eq!(roundtrip(r"CN=\ lead"), r"CN=\ lead");
        assert_eq!(roundtrip(r"CN=trail\ "), r"CN=trail\ ");
        assert_eq!(
            roundtrip(r#"CN=a\"b\\c\<d\>e\;f"#),
            r#"CN=a\"b\\c\<d\>e\;f"#
        );
        assert_eq!(
            roundtrip("O=Société Générale,CN=Zoë"),
            "O=Société Générale,CN=Zoë"
        );
    }

    #[test]
    fn tolerant_input_is_normalised() {
        assert_eq!(roundtrip("c=GB, o = Org ,  cn=x"), "C=GB,O=Org,CN=x");
        assert_eq!(roundtrip(r"CN=\41BC"), "CN=ABC");
        assert_eq!(roundtrip("emailAddress=a@b.c,CN=x"), "EMAIL=a@b.c,CN=x");
    }

    #[test]
    fn encodes_string_types_like_certtool() {
        let der = parse("C=GB,O=R&D,CN=plain,DC=org")
            .unwrap()
            .to_der()
            .unwrap();
        let (_, name) = X509Name::from_der(&der).unwrap();
        let tags: Vec<Tag> = name
            .iter_attributes()
            .map(|a| a.attr_value().tag())
            .collect();
        assert_eq!(
            tags,
            vec![
                Tag::PrintableString,
                Tag::Utf8String,
                Tag::PrintableString,
                Tag::Ia5String
            ]
        );
    }

    #[test]
    fn non_conforming_types_print_as_hex() {
        // C as UTF8String (what rcgen does by default): GnuTLS prints C=#0c024742.
        let dn = Dn {
            rdns: vec![vec![Attribute {
                oid: "2.5.4.6".into(),
                value: AttributeValue::Der(vec![0x0c, 0x02, b'G', b'B']),
            }]],
        };
        assert_eq!(dn.to_gnutls_string().unwrap(), "C=#0c024742");
        assert_eq!(roundtrip("1.2.3.4=#0c0161"), "1.2.3.4=#0c0161");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(parse("").unwrap_err(), DnError::Empty);
        assert!(matches!(
            parse("CN").unwrap_err(),
            DnError::MissingEquals(_)
        ));
        assert!(matches!(
            parse("XX=1").unwrap_err(),
            DnError::UnknownAttribute(_)
        ));
        assert!(matches!(parse("CN=").unwrap_err(), DnError::EmptyValue(_)));
        assert!(matches!(
            parse(r"CN=a\").unwrap_err(),
            DnError::BadEscape(_)
        ));
        assert!(matches!(parse("CN=#zz").unwrap_err(), DnError::BadHex(_)));
        let e = parse("C=GBR").unwrap().to_der().unwrap_err();
        assert!(matches!(e, DnError::BadValue { .. }), "{e}");
    }

    #[test]
    fn hex_values_must_be_one_well_formed_string() {
        for ok in ["#0c03616263", "#1303616263", "#1e0400410042"] {
            assert!(parse(&format!("CN={ok}")).is_ok(), "{ok}");
        }
        assert!(parse("DC=#1603616263").is_ok());
        for bad in [
            "#0c0461626364ff", // length mismatch (trailing byte)
            "#0c0561",         // truncated
            "#300100",         // a SEQUENCE
            "#04026162",       // an OCTET STRING
            "#0c021b5b",       // ESC inside
            "#1e03000041",     // odd BMPString
            "#1e02d800",       // lone surrogate
            "#0c02c328",       // invalid UTF-8
            "#13032a2a2a",     // '*' is not PrintableString
            "#0c8103616263",   // non-minimal length
            "#0c00",           // empty
        ] {
            assert!(parse(&format!("CN={bad}")).is_err(), "{bad}");
        }
        assert!(parse("C=#0c024742").is_err(), "C takes a PrintableString");
        assert!(parse("DC=#0c03616263").is_err(), "DC takes an IA5String");
    }

    fn printed(rdns: &[&[(&str, &[u8])]]) -> Result<String, DnUnprintable> {
        let sets: Vec<Vec<u8>> = rdns
            .iter()
            .map(|rdn| {
                let atvs: Vec<u8> = rdn
                    .iter()
                    .flat_map(|(oid, v)| {
                        let mut a = encode_oid(oid);
                        a.extend_from_slice(v);
                        tlv(0x30, &a)
                    })
                    .collect();
                tlv(0x31, &atvs)
            })
            .collect();
        format_gnutls_der(&tlv(0x30, &sets.concat()))
    }

    #[test]
    fn decodes_values_as_gnutls_3_7_does() {
        let cn = |v: &[u8]| printed(&[&[("2.5.4.3", v)]]).unwrap();
        assert_eq!(cn(&[0x1e, 3, 0, 0x41, 0]), "CN=A");
        assert_eq!(cn(&[0x1e, 4, 0, 0x41, 0, 0]), "CN=A");
        assert_eq!(cn(&[0x1e, 1, 0x41]), "CN=");
        assert_eq!(cn(&[0x1e, 2, 0, 0]), "CN=#1e020000");
        assert_eq!(cn(&[0x1e, 2, 0xd8, 0]), "CN=\\#d800");
        assert_eq!(cn(&[0x0c, 2, 0xc3, 0x28]), "CN=\\xC3(");
        assert_eq!(cn(&[0x14, 3, b'a', 0x1b, b'b']), "CN=\\#611b62");
        assert_eq!(
            cn(&[0x2c, 5, 0x0c, 3, b'a', b'b', b'c']),
            "CN=#2c050c03616263"
        );
        assert_eq!(cn(&[0x4c, 1, b'a']), "CN=#4c0161");
        assert_eq!(cn(&[0x1f, 0x0c, 1, b'a']), "CN=a");
        assert_eq!(cn(&[0x0c, 0x81, 0]), "CN=#0c8100");
        assert_eq!(
            printed(&[&[
                ("2.5.4.6", &[0x13, 0]),
                ("1.3.6.1.5.5.7.8.5", &[0x0c, 1, b'x'])
            ]])
            .unwrap(),
            "C=#1300+XmppAddr=x"
        );
        let e = printed(&[
            &[("2.5.4.10", &[0x0c, 1, b'O'])],
            &[("2.5.4.3", &[0x0c, 0])],
        ])
        .unwrap_err();
        assert_eq!(e.what, "an empty CN value");
        assert_eq!(e.fallback, "O=O,CN=#0c00");
        // Empty RDNs: nothing in the middle, a trailing comma at the end; none at all fails.
        let a: &[(&str, &[u8])] = &[("2.5.4.3", &[0x0c, 1, b'a'])];
        assert_eq!(printed(&[&[], a]).unwrap(), "CN=a");
        assert_eq!(printed(&[a, &[]]).unwrap(), "CN=a,");
        assert_eq!(printed(&[a, &[], a]).unwrap(), "CN=a,CN=a");
        assert_eq!(
            printed(&[]).unwrap_err().what,
            "no attributes (an empty subject)"
        );
        assert_eq!(printed(&[&[], &[]]).unwrap_err().what, "only empty RDNs");
        // challengePassword is no DirectoryString: an empty one is hex, not a failure.
        assert_eq!(
            printed(&[&[("1.2.840.113549.1.9.7", &[0x0c, 0])]]).unwrap(),
            "1.2.840.113549.1.9.7=#0c00"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_written_as_escapes() {
        assert_eq!(bytes_to_text(b"a\xffb"), "a\\xFFb");
        assert_eq!(bytes_to_text(b"a\xffb\xc3"), "a\\xFFb\\xC3");
        assert_eq!(bytes_to_text("é".as_bytes()), "é");
        assert!(has_raw_bytes("CN=a\\xFFb"));
        assert!(
            !has_raw_bytes("CN=a\\\\xffb"),
            "an escaped backslash, then text"
        );
        assert!(!has_raw_bytes("CN=a\\,x"));
    }
}

/// Tests for survivors of the cargo-mutants run over this file (benches/mutants.sh dn).
#[cfg(test)]
mod mutants_tests {
    use super::*;

    #[test]
    fn attribute_names_are_gnutls_short_names_or_the_dotted_oid() {
        assert_eq!(attribute_name("2.5.4.3"), "CN");
        assert_eq!(attribute_name("2.5.4.6"), "C");
        assert_eq!(attribute_name("1.3.6.1.5.5.7.9.3"), "gender");
        assert_eq!(attribute_name("1.2.3.4"), "1.2.3.4");
    }

    #[test]
    fn a_certificates_subject_is_read_past_an_empty_rdn() {
        use crate::check::testkit;
        use crate::x509::build::{Profile, issue_for_public_key};
        use crate::x509::keys::{self, KeyType};
        // CN=a, an empty RDN, CN=b: x509-parser's Name stops at the empty RDN, GnuTLS does not.
        let cn = |v: &[u8]| {
            let mut a = encode_oid("2.5.4.3");
            a.extend_from_slice(&tlv(0x0c, v));
            tlv(0x31, &tlv(0x30, &a))
        };
        let subject = tlv(0x30, &[cn(b"a"), tlv(0x31, &[]), cn(b"b")].concat());
        let ca = testkit::root("CA", KeyType::EcdsaP256);
        let key = keys::generate(KeyType::EcdsaP256).unwrap();
        let spec = testkit::spec(Profile::Client, testkit::cn("unused"), &[], 30);
        let der = issue_for_public_key(&spec, &subject, &keys::public_key_spki(&key), &ca.signer())
            .unwrap()
            .der;
        let cert = testkit::parse(&der);
        assert_ne!(cert.subject().as_raw(), subject.as_slice());
        assert_eq!(try_subject_of(&cert).unwrap(), "CN=a,CN=b");
        assert_eq!(subject_of(&cert), "CN=a,CN=b");
    }

    #[test]
    fn high_tag_numbers_take_up_to_five_identifier_bytes_after_the_first() {
        // [129] primitive: 9f 81 01.
        let (t, rest) = raw_tlv(&[0x9f, 0x81, 0x01, 0x01, 0xaa, 0xff]).unwrap();
        assert_eq!(
            (t.ident, t.contents, rest),
            (&[0x9f, 0x81, 0x01][..], &[0xaa][..], &[0xff][..])
        );
        // Four continuation bytes and the last: read, as libtasn1 reads them.
        let four = [0x1f, 0x81, 0x81, 0x81, 0x81, 0x01, 0x01, 0xaa];
        assert_eq!(raw_tlv(&four).unwrap().0.ident.len(), 6);
        // Five: refused.
        assert!(raw_tlv(&[0x1f, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01, 0x01, 0xaa]).is_none());
        // Truncated in the identifier.
        assert!(raw_tlv(&[0x1f, 0x81]).is_none());
        // A two-byte long-form length (256).
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend([0x41; 256]);
        assert_eq!(raw_tlv(&long).unwrap().0.contents.len(), 256);
    }

    #[test]
    fn a_truncated_oid_is_no_oid() {
        assert_eq!(dotted_oid(&[0x2a, 0x86, 0x48]).as_deref(), Some("1.2.840"));
        assert_eq!(dotted_oid(&[0x2a, 0x86]), None);
        assert_eq!(dotted_oid(&[0x86]), None);
        assert_eq!(dotted_oid(&[]), None);
    }

    #[test]
    fn one_trailing_bmp_nul_is_dropped_whatever_the_length() {
        assert_eq!(bmp_to_utf8(&[0, 0x41, 0, 0x42, 0, 0]).unwrap(), b"AB");
        assert_eq!(bmp_to_utf8(&[0, 0x41, 0, 0]).unwrap(), b"A");
        assert_eq!(bmp_to_utf8(&[0, 0]).unwrap(), b"\0");
    }

    #[test]
    fn escape_value_escapes_specials_anywhere_and_hash_or_space_at_the_ends() {
        assert_eq!(escape_value("a,b+c"), r"a\,b\+c");
        assert_eq!(escape_value(r#"q"\<>;"#), r#"q\"\\\<\>\;"#);
        assert_eq!(escape_value("#x#"), r"\#x#");
        assert_eq!(escape_value(" x "), r"\ x\ ");
        assert_eq!(escape_value("Zoë "), r"Zoë\ ");
        assert_eq!(escape_value("a b"), "a b");
        assert_eq!(escape_value(""), "");
    }

    #[test]
    fn hex_values_take_minimal_long_form_lengths() {
        let utf8 = |n: usize| {
            let mut v = vec![0x0c];
            match n {
                0..=0x7f => v.push(n as u8),
                0x80..=0xff => v.extend([0x81, n as u8]),
                _ => v.extend([0x82, (n >> 8) as u8, n as u8]),
            }
            v.extend(std::iter::repeat_n(b'a', n));
            v
        };
        for n in [1, 0x7f, 0x80, 0xff, 0x100, 0x1234] {
            assert_eq!(check_hex_value("2.5.4.10", &utf8(n)), Ok(()), "{n}");
        }
        // Non-minimal: 0x81 with a length under 0x80, 0x82 with a zero high byte.
        let mut short81 = vec![0x0c, 0x81, 0x05];
        short81.extend(b"aaaaa");
        assert_eq!(
            check_hex_value("2.5.4.10", &short81),
            Err("a non-minimal length")
        );
        let mut short82 = vec![0x0c, 0x82, 0x00, 0x90];
        short82.extend([b'a'; 0x90]);
        assert_eq!(
            check_hex_value("2.5.4.10", &short82),
            Err("a non-minimal length")
        );
    }

    #[test]
    fn values_lists_every_value_of_one_attribute_in_order() {
        let dn = parse("O=a,CN=x,O=b+CN=y").unwrap();
        let texts: Vec<String> = dn.values("2.5.4.3").map(|v| format!("{v:?}")).collect();
        assert_eq!(texts.len(), 2);
        assert!(
            texts[0].contains('x') && texts[1].contains('y'),
            "{texts:?}"
        );
        assert_eq!(dn.values("2.5.4.6").count(), 0);
        // A multi-valued RDN is a SET OF: DER sorts its members by their encoding.
        assert_eq!(dn.to_gnutls_string().unwrap(), "O=a,CN=x,CN=y+O=b");
    }

    #[test]
    fn string_types_refuse_what_they_cannot_hold() {
        let der_err = |dn: &str| match parse(dn) {
            Ok(d) => d.to_der().unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        let e = der_err("serialNumber=a_b");
        assert!(e.contains("only PrintableString characters"), "{e}");
        let e = der_err("DC=bücher");
        assert!(e.contains("must be ASCII"), "{e}");
        assert!(parse("serialNumber=ab12").unwrap().to_der().is_ok());
        assert!(parse("DC=example").unwrap().to_der().is_ok());
        // A #hex value needs an even, non-zero number of hex digits.
        assert!(parse("CN=#").is_err());
        assert!(parse("CN=#0c0").is_err());
        assert!(parse("CN=#0c0141").is_ok());
        // Non-ASCII text: fine in a UTF8String, not in an IA5String.
        assert_eq!(
            check_hex_value("2.5.4.10", &[0x0c, 0x02, 0xc3, 0xa9]),
            Ok(())
        );
        assert_eq!(
            check_hex_value("0.9.2342.19200300.100.1.25", &[0x16, 0x02, 0xc3, 0xa9]),
            Err("the contents are not ASCII")
        );
    }
}
