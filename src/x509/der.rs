//! A small DER writer (and a TLV reader), enough to build a TBSCertificate byte by byte.
//!
//! pkitool writes certificates itself instead of through rcgen's `CertificateParams`, because
//! rcgen's distinguished name is a map: repeated OU/DC attributes collapse, multi-valued RDNs are
//! refused, and the issuer is re-encoded instead of copied, so certificates issued from a certtool
//! CA with two OUs would not chain. Here the issuer is copied verbatim from the CA's DER.

/// Universal tags used by pkitool.
pub mod tag {
    /// BOOLEAN
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING
    pub const OCTET_STRING: u8 = 0x04;
    /// NULL
    pub const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER
    pub const OID: u8 = 0x06;
    /// UTF8String
    pub const UTF8_STRING: u8 = 0x0c;
    /// PrintableString
    pub const PRINTABLE_STRING: u8 = 0x13;
    /// IA5String
    pub const IA5_STRING: u8 = 0x16;
    /// UTCTime
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE
    pub const SEQUENCE: u8 = 0x30;
    /// SET
    pub const SET: u8 = 0x31;
}

/// Encodes a tag-length-value.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// A SEQUENCE of already-encoded elements.
pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &parts.concat())
}

/// A SET OF already-encoded elements, sorted as DER requires.
pub fn set_of(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted: Vec<&Vec<u8>> = parts.iter().collect();
    sorted.sort();
    let body: Vec<u8> = sorted.into_iter().flatten().copied().collect();
    tlv(tag::SET, &body)
}

/// A context-specific tag: `[n]` EXPLICIT (constructed) or IMPLICIT primitive.
pub fn context(n: u8, constructed: bool, content: &[u8]) -> Vec<u8> {
    let t = 0x80 | if constructed { 0x20 } else { 0 } | (n & 0x1f);
    tlv(t, content)
}

/// An OBJECT IDENTIFIER from its arcs. Returns an empty vector for an invalid OID (fewer than
/// two arcs), which callers only build from constants.
pub fn oid(arcs: &[u64]) -> Vec<u8> {
    let (Some(first), Some(second)) = (arcs.first(), arcs.get(1)) else {
        return Vec::new();
    };
    let mut body = Vec::new();
    // parse_oid guarantees this fits; saturate rather than overflow for constant callers.
    push_base128(&mut body, first.saturating_mul(40).saturating_add(*second));
    for arc in arcs.iter().skip(2) {
        push_base128(&mut body, *arc);
    }
    tlv(tag::OID, &body)
}

fn push_base128(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 10];
    let last = tmp.len() - 1;
    let mut i = tmp.len();
    loop {
        i -= 1;
        if let Some(slot) = tmp.get_mut(i) {
            *slot = (v & 0x7f) as u8 | if i == last { 0 } else { 0x80 };
        }
        v >>= 7;
        if v == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(tmp.get(i..).unwrap_or(&[]));
}

/// Parses a dotted OID string ("2.5.4.3") into arcs.
/// Only valid OIDs: at least two arcs, the first 0, 1 or 2, the second below 40 unless the first
/// is 2, and the first two arcs' combined encoding within 64 bits.
pub fn parse_oid(dotted: &str) -> Option<Vec<u64>> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                p.parse().ok()
            }
        })
        .collect::<Option<_>>()?;
    let (first, second) = (*arcs.first()?, *arcs.get(1)?);
    let valid = match first {
        0 | 1 => second < 40,
        2 => second.checked_add(80).is_some(),
        _ => false,
    };
    valid.then_some(arcs)
}

/// An unsigned INTEGER from big-endian magnitude bytes (leading zeros trimmed, a 0x00 added
/// when the top bit is set).
pub fn integer_unsigned(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = {
        let skip = magnitude.iter().take_while(|b| **b == 0).count();
        magnitude.get(skip..).unwrap_or(&[])
    };
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    match trimmed.first() {
        None => body.push(0),
        Some(b) if b & 0x80 != 0 => {
            body.push(0);
            body.extend_from_slice(trimmed);
        }
        Some(_) => body.extend_from_slice(trimmed),
    }
    tlv(tag::INTEGER, &body)
}

/// A small non-negative INTEGER.
pub fn integer_u64(v: u64) -> Vec<u8> {
    integer_unsigned(&v.to_be_bytes())
}

/// A BOOLEAN.
pub fn boolean(v: bool) -> Vec<u8> {
    tlv(tag::BOOLEAN, &[if v { 0xff } else { 0 }])
}

/// An OCTET STRING.
pub fn octet_string(v: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, v)
}

/// A BIT STRING with no unused bits.
pub fn bit_string(v: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(v.len() + 1);
    body.push(0);
    body.extend_from_slice(v);
    tlv(tag::BIT_STRING, &body)
}

/// A named-bit BIT STRING (KeyUsage): `bits` are bit numbers (0 = most significant bit of the
/// first octet); trailing zero bits are removed as DER requires.
pub fn named_bits(bits: &[u8]) -> Vec<u8> {
    let Some(max) = bits.iter().max() else {
        return tlv(tag::BIT_STRING, &[0]);
    };
    let nbytes = usize::from(*max) / 8 + 1;
    let mut bytes = vec![0u8; nbytes];
    for b in bits {
        if let Some(byte) = bytes.get_mut(usize::from(*b) / 8) {
            *byte |= 0x80 >> (b % 8);
        }
    }
    let last = bytes.last().copied().unwrap_or(0);
    let unused = if last == 0 {
        0
    } else {
        last.trailing_zeros() as u8
    };
    let mut body = vec![unused];
    body.extend_from_slice(&bytes);
    tlv(tag::BIT_STRING, &body)
}

/// A time as X.509 requires: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
pub fn time(t: time::OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year();
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if (1950..2050).contains(&year) {
        tlv(tag::UTC_TIME, format!("{:02}{rest}", year % 100).as_bytes())
    } else {
        tlv(
            tag::GENERALIZED_TIME,
            format!("{:04}{rest}", year.clamp(0, 9999)).as_bytes(),
        )
    }
}

/// PEM with LF line ends (the `pem` crate defaults to CRLF).
pub fn pem_lf(label: &str, der: Vec<u8>) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// PEM with LF line ends for secret DER (private keys): every intermediate buffer is allocated
/// once at its final size and zeroized on drop (the `pem` crate keeps plain copies).
pub fn pem_lf_secret(label: &str, der: &[u8]) -> zeroize::Zeroizing<String> {
    use base64::Engine;
    let b64_len = der.len().div_ceil(3) * 4;
    let mut b64 = zeroize::Zeroizing::new(String::with_capacity(b64_len));
    base64::engine::general_purpose::STANDARD.encode_string(der, &mut b64);
    let lines = b64_len.div_ceil(64);
    let mut out = zeroize::Zeroizing::new(String::with_capacity(
        2 * (16 + label.len()) + b64_len + lines,
    ));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest: &str = &b64;
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Reads one TLV with the expected tag at the start of `input`; returns (rest, content).
pub fn read_tlv(input: &[u8], expected_tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != expected_tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let len_bytes = rest.get(..n)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest.get(n..)?)
    };
    let content = rest.get(..len)?;
    Some((rest.get(len..)?, content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lengths_oids_and_integers() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0u8; 300]);
        assert_eq!(long.get(..4), Some(&[0x04, 0x82, 0x01, 0x2c][..]));
        assert_eq!(oid(&[2, 5, 4, 3]), vec![0x06, 3, 0x55, 0x04, 0x03]);
        assert_eq!(
            oid(&[1, 2, 840, 113549, 1, 1, 11]),
            vec![
                0x06, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b
            ]
        );
        assert_eq!(integer_unsigned(&[0, 0, 0x80]), vec![0x02, 2, 0, 0x80]);
        assert_eq!(integer_unsigned(&[]), vec![0x02, 1, 0]);
        assert_eq!(integer_u64(5), vec![0x02, 1, 5]);
        assert_eq!(parse_oid("2.5.4.12"), Some(vec![2, 5, 4, 12]));
        assert_eq!(parse_oid("x.5"), None);
    }

    #[test]
    fn key_usage_bits_trim_unused() {
        // digitalSignature(0) + keyEncipherment(2): 0xa0, 5 unused bits.
        assert_eq!(named_bits(&[0, 2]), vec![0x03, 2, 5, 0xa0]);
        // keyCertSign(5) + cRLSign(6): 0x06, 1 unused bit.
        assert_eq!(named_bits(&[5, 6]), vec![0x03, 2, 1, 0x06]);
    }

    #[test]
    fn times_switch_to_generalized_in_2050() {
        let t = time::macros::datetime!(2049-12-31 23:59:59 UTC);
        assert_eq!(time(t), tlv(tag::UTC_TIME, b"491231235959Z"));
        let t = time::macros::datetime!(2050-01-01 00:00:00 UTC);
        assert_eq!(time(t), tlv(tag::GENERALIZED_TIME, b"20500101000000Z"));
    }

    #[test]
    fn reads_back_what_it_writes() {
        let big = tlv(0x30, &[7u8; 200]);
        let (rest, content) = read_tlv(&big, 0x30).unwrap();
        assert!(rest.is_empty());
        assert_eq!(content.len(), 200);
        assert!(read_tlv(&big, 0x31).is_none());
        assert!(read_tlv(&[0x30, 0x85, 1, 1, 1, 1, 1], 0x30).is_none());
        assert!(read_tlv(&[0x30, 5, 1], 0x30).is_none());
    }

    #[test]
    fn secret_pem_equals_the_pem_crate_output() {
        for n in [0usize, 1, 2, 3, 47, 48, 49, 96, 121, 1217] {
            let der: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            assert_eq!(
                pem_lf_secret("PRIVATE KEY", &der).as_str(),
                pem_lf("PRIVATE KEY", der.clone()),
                "{n}"
            );
        }
    }
}
