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
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

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
/// `C=GB,ST=London,L=London,O=Example Org,CN=client1`.
pub fn format_gnutls(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for (i, rdn) in name.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            format_attribute(&mut out, atv);
        }
    }
    out
}

fn format_attribute(out: &mut String, atv: &AttributeTypeAndValue<'_>) {
    let oid = atv.attr_type().to_id_string();
    let value = atv.attr_value();
    let known = attribute_by_oid(&oid);
    out.push_str(&match known {
        Some((Some(name), _)) => name.to_string(),
        _ => oid.clone(),
    });
    out.push('=');
    let decoded = known.and_then(|(_, ty)| decode_value(ty, value.tag(), value.data));
    match decoded {
        Some(Decoded::Text(text)) if !text.contains('\0') => escape_into(out, &text),
        // Hex made from the string's contents goes through GnuTLS's escaping, which escapes
        // the leading `#`; hex of a whole undecodable value does not.
        Some(Decoded::Hex(bytes)) => {
            out.push('\\');
            push_hex(out, &bytes)
        }
        _ => push_hex(out, &der_of(value.tag(), value.data)),
    }
}

enum Decoded {
    Text(String),
    /// GnuTLS prints non-ASCII TeletexString and UniversalString contents (without the tag) as hex.
    Hex(Vec<u8>),
}

fn decode_value(ty: ValueType, tag: Tag, data: &[u8]) -> Option<Decoded> {
    let text = |d: &[u8]| {
        std::str::from_utf8(d)
            .ok()
            .map(|s| Decoded::Text(s.to_string()))
    };
    match ty {
        ValueType::Printable if tag == Tag::PrintableString => text(data),
        ValueType::Ia5 if tag == Tag::Ia5String => text(data),
        ValueType::Directory => match tag {
            Tag::PrintableString | Tag::Utf8String => text(data),
            Tag::TeletexString if data.is_ascii() => text(data),
            Tag::TeletexString | Tag::UniversalString => Some(Decoded::Hex(data.to_vec())),
            Tag::BmpString => {
                if !data.len().is_multiple_of(2) {
                    return Some(Decoded::Hex(data.to_vec()));
                }
                let units = data.chunks_exact(2).map(|c| match c {
                    [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                    _ => 0xfffd, // chunks_exact(2) yields only pairs
                });
                match char::decode_utf16(units).collect::<Result<String, _>>() {
                    Ok(s) => Some(Decoded::Text(s)),
                    Err(_) => Some(Decoded::Hex(data.to_vec())),
                }
            }
            _ => None,
        },
        _ => None,
    }
}

/// Re-encodes a primitive value's tag and length (the DER GnuTLS hex-dumps).
fn der_of(tag: Tag, data: &[u8]) -> Vec<u8> {
    // Universal string tags are all low-numbered, primitive.
    tlv((tag.0 & 0x1f) as u8, data)
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    out.push('#');
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
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
}
