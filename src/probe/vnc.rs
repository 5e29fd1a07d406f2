//! QEMU VNC with `tls-creds`: RFB 3.8, security type 19 (VeNCrypt), VeNCrypt 0.2 and an X.509
//! subtype, after which TLS starts (rfbproto.rst "Security", "VeNCrypt"; QEMU ui/vnc.c,
//! ui/vnc-auth-vencrypt.c; lifecycle-probe-ci.md §3.2).

use std::io::{Read, Write};

use super::Fail;

const VENCRYPT: u8 = 19;
/// Longest refusal text we read.
const MAX_REASON: u32 = 4096;

/// The VeNCrypt subtypes with an X.509 certificate, in the order we pick them.
const X509_SUBTYPES: &[(u32, &str)] = &[
    (260, "X509None"),
    (261, "X509Vnc"),
    (263, "X509SASL"),
    (262, "X509Plain"),
];

fn subtype_name(t: u32) -> String {
    match t {
        256 => "Plain".into(),
        257 => "TLSNone".into(),
        258 => "TLSVnc".into(),
        259 => "TLSPlain".into(),
        260 => "X509None".into(),
        261 => "X509Vnc".into(),
        262 => "X509Plain".into(),
        // QEMU's ui/vnc.h and gtk-vnc: 263 is X509SASL, 264 TLSSASL (anonymous), whatever
        // the order of the names suggests.
        263 => "X509SASL".into(),
        264 => "TLSSASL".into(),
        other => format!("{other}"),
    }
}

fn security_name(t: u8) -> String {
    match t {
        1 => "None(1)".into(),
        2 => "VNC(2)".into(),
        16 => "Tight(16)".into(),
        18 => "TLS(18)".into(),
        19 => "VeNCrypt(19)".into(),
        20 => "SASL(20)".into(),
        other => format!("{other}"),
    }
}

fn read_reason(s: &mut impl Read, what: &str) -> String {
    let mut l = [0u8; 4];
    if s.read_exact(&mut l).is_err() {
        return String::new();
    }
    let len = u32::from_be_bytes(l).min(MAX_REASON);
    let mut b = vec![0u8; len as usize];
    match s.read_exact(&mut b) {
        Ok(()) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => format!("(reason truncated {what})"),
    }
}

/// Negotiates up to TLS; returns the chosen VeNCrypt subtype (number, name).
pub fn starttls(s: &mut (impl Read + Write)) -> Result<(u32, &'static str), Fail> {
    let mut v = [0u8; 12];
    s.read_exact(&mut v)
        .map_err(|e| Fail::io(&e, "waiting for the RFB greeting"))?;
    if &v[..4] != b"RFB " || v[11] != b'\n' {
        return Err(Fail::not_service(&v, "a VNC server (no RFB greeting)"));
    }
    let text = String::from_utf8_lossy(&v[4..11]).to_string();
    let (major, minor) = text
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .ok_or_else(|| Fail::protocol(format!("unreadable RFB version {text:?}")))?;
    if (major, minor) < (3, 7) {
        return Err(Fail::no_tls(format!(
            "an RFB {major}.{minor} server: VeNCrypt needs RFB 3.7 or later"
        )));
    }
    s.write_all(b"RFB 003.008\n")
        .and_then(|()| s.flush())
        .map_err(|e| Fail::io(&e, "sending the RFB version"))?;
    let mut n = [0u8; 1];
    s.read_exact(&mut n)
        .map_err(|e| Fail::io(&e, "waiting for the RFB security types"))?;
    if n[0] == 0 {
        let why = read_reason(s, "in the RFB refusal");
        return Err(Fail::no_tls(format!(
            "the VNC server refused the connection: {why}"
        )));
    }
    let mut types = vec![0u8; usize::from(n[0])];
    s.read_exact(&mut types)
        .map_err(|e| Fail::io(&e, "reading the RFB security types"))?;
    if !types.contains(&VENCRYPT) {
        let list: Vec<String> = types.iter().map(|t| security_name(*t)).collect();
        return Err(Fail::no_tls(format!(
            "the VNC server offers no VeNCrypt (TLS) security type, only {}",
            list.join(", ")
        )));
    }
    s.write_all(&[VENCRYPT])
        .and_then(|()| s.flush())
        .map_err(|e| Fail::io(&e, "choosing VeNCrypt"))?;
    let mut ver = [0u8; 2];
    s.read_exact(&mut ver)
        .map_err(|e| Fail::io(&e, "waiting for the VeNCrypt version"))?;
    if ver < [0, 2] {
        return Err(Fail::no_tls(format!(
            "VeNCrypt {}.{}: only 0.2 carries X.509 subtypes",
            ver[0], ver[1]
        )));
    }
    s.write_all(&[0, 2])
        .and_then(|()| s.flush())
        .map_err(|e| Fail::io(&e, "sending the VeNCrypt version"))?;
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack)
        .map_err(|e| Fail::io(&e, "waiting for the VeNCrypt version answer"))?;
    if ack[0] != 0 {
        return Err(Fail::no_tls(
            "the VNC server refused VeNCrypt version 0.2".into(),
        ));
    }
    let mut n = [0u8; 1];
    s.read_exact(&mut n)
        .map_err(|e| Fail::io(&e, "waiting for the VeNCrypt subtypes"))?;
    let mut raw = vec![0u8; usize::from(n[0]) * 4];
    s.read_exact(&mut raw)
        .map_err(|e| Fail::io(&e, "reading the VeNCrypt subtypes"))?;
    let offered: Vec<u32> = raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let Some(&(chosen, name)) = X509_SUBTYPES.iter().find(|(t, _)| offered.contains(t)) else {
        let list: Vec<String> = offered.iter().map(|t| subtype_name(*t)).collect();
        let anon = offered.iter().any(|t| matches!(t, 257..=259 | 264));
        return Err(Fail::no_tls(format!(
            "VeNCrypt offers no X.509 subtype, only {}{}",
            if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            },
            if anon {
                " (anonymous TLS: the server presents no certificate, so clients cannot authenticate it)"
            } else {
                ""
            }
        )));
    };
    s.write_all(&chosen.to_be_bytes())
        .and_then(|()| s.flush())
        .map_err(|e| Fail::io(&e, "choosing the VeNCrypt subtype"))?;
    let mut ok = [0u8; 1];
    s.read_exact(&mut ok)
        .map_err(|e| Fail::io(&e, "waiting for the VeNCrypt subtype answer"))?;
    if ok[0] != 1 {
        return Err(Fail::no_tls(format!(
            "the VNC server refused VeNCrypt subtype {name}"
        )));
    }
    Ok((chosen, name))
}

/// Inside TLS: the server's first message proves that it accepted this client. For X509None that
/// is the SecurityResult (0 = OK); for X509Vnc the 16-byte VNC challenge; for SASL its mechanism
/// list. `Err` carries the server's refusal or the I/O failure.
pub fn after_tls(s: &mut impl Read, subtype: u32) -> Result<(), Fail> {
    let what = "waiting for the VNC server's first message inside TLS";
    let mut b = [0u8; 4];
    s.read_exact(&mut b).map_err(|e| Fail::io(&e, what))?;
    if subtype == 260 && b != [0, 0, 0, 0] {
        let why = read_reason(s, "in the SecurityResult");
        return Err(Fail::client_refused(format!(
            "the VNC server answered SecurityResult failed{}",
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Script {
        input: std::io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }
    impl Read for Script {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            self.input.read(b)
        }
    }
    impl Write for Script {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.written.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    fn script(input: &[u8]) -> Script {
        Script {
            input: std::io::Cursor::new(input.to_vec()),
            written: Vec::new(),
        }
    }

    #[test]
    fn x509none_sequence() {
        let mut input = b"RFB 003.008\n".to_vec();
        input.extend_from_slice(&[1, 19, 0, 2, 0, 1, 0, 0, 1, 4, 1]);
        let mut s = script(&input);
        assert_eq!(starttls(&mut s).unwrap(), (260, "X509None"));
        let mut want = b"RFB 003.008\n".to_vec();
        want.extend_from_slice(&[19, 0, 2, 0, 0, 1, 4]);
        assert_eq!(s.written, want);
    }

    #[test]
    fn refusals_name_what_the_server_offers() {
        let mut input = b"RFB 003.008\n".to_vec();
        input.extend_from_slice(&[2, 1, 2]);
        let e = starttls(&mut script(&input)).unwrap_err();
        assert_eq!(
            e.reason,
            "the VNC server offers no VeNCrypt (TLS) security type, only None(1), VNC(2)"
        );
        let e = starttls(&mut script(b"RFB 003.003\n")).unwrap_err();
        assert!(e.reason.contains("RFB 3.3"), "{}", e.reason);
        let mut input = b"RFB 003.008\n".to_vec();
        input.extend_from_slice(&[1, 19, 0, 2, 0, 1, 0, 0, 1, 1]);
        let e = starttls(&mut script(&input)).unwrap_err();
        assert!(
            e.reason.contains("only TLSNone (anonymous TLS"),
            "{}",
            e.reason
        );
    }
}
