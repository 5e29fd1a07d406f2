//! QEMU NBD: fixed newstyle negotiation up to `NBD_OPT_STARTTLS`, and the polite
//! `NBD_OPT_ABORT` inside TLS (NetworkBlockDevice/nbd doc/proto.md; byte sequence verified
//! against qemu-nbd 10.0.2, lifecycle-probe-ci.md §3.2). Big-endian throughout.

use std::io::{Read, Write};

use super::Fail;

const NBDMAGIC: &[u8; 8] = b"NBDMAGIC";
const IHAVEOPT: &[u8; 8] = b"IHAVEOPT";
/// Oldstyle servers send this after NBDMAGIC (no options, so no TLS).
const OLDSTYLE: [u8; 8] = [0, 0, 0x42, 0x02, 0x81, 0x86, 0x12, 0x53];
const REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;
const FLAG_FIXED_NEWSTYLE: u16 = 1;
const OPT_ABORT: u32 = 2;
const OPT_STARTTLS: u32 = 5;
const REP_ACK: u32 = 1;
/// Longest option reply text we read (QEMU's are a few dozen bytes).
const MAX_REPLY: u32 = 4096;

fn rep_name(t: u32) -> String {
    match t {
        0x8000_0001 => "NBD_REP_ERR_UNSUP".into(),
        0x8000_0002 => "NBD_REP_ERR_POLICY".into(),
        0x8000_0003 => "NBD_REP_ERR_INVALID".into(),
        0x8000_0004 => "NBD_REP_ERR_PLATFORM".into(),
        0x8000_0005 => "NBD_REP_ERR_TLS_REQD".into(),
        0x8000_0006 => "NBD_REP_ERR_UNKNOWN".into(),
        0x8000_0007 => "NBD_REP_ERR_SHUTDOWN".into(),
        0x8000_0008 => "NBD_REP_ERR_BLOCK_SIZE_REQD".into(),
        0x8000_0009 => "NBD_REP_ERR_TOO_BIG".into(),
        other => format!("reply type {other:#x}"),
    }
}

fn option(opt: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(IHAVEOPT);
    b[8..12].copy_from_slice(&opt.to_be_bytes());
    b
}

/// One option reply: (option, type, data).
fn read_reply(s: &mut impl Read, what: &str) -> Result<(u32, u32, Vec<u8>), Fail> {
    let mut h = [0u8; 20];
    s.read_exact(&mut h).map_err(|e| Fail::io(&e, what))?;
    let magic = u64::from_be_bytes(h[..8].try_into().unwrap_or_default());
    if magic != REPLY_MAGIC {
        return Err(Fail::protocol(format!(
            "not an NBD option reply {what}: {}",
            super::show_bytes(&h)
        )));
    }
    let opt = u32::from_be_bytes(h[8..12].try_into().unwrap_or_default());
    let typ = u32::from_be_bytes(h[12..16].try_into().unwrap_or_default());
    let len = u32::from_be_bytes(h[16..20].try_into().unwrap_or_default());
    if len > MAX_REPLY {
        return Err(Fail::protocol(format!(
            "NBD option reply of {len} bytes {what} (more than {MAX_REPLY})"
        )));
    }
    let mut data = vec![0u8; len as usize];
    s.read_exact(&mut data).map_err(|e| Fail::io(&e, what))?;
    Ok((opt, typ, data))
}

/// Negotiates up to the point where TLS starts. `Err` says why TLS cannot start.
pub fn starttls(s: &mut (impl Read + Write)) -> Result<(), Fail> {
    let mut g = [0u8; 18];
    s.read_exact(&mut g[..8])
        .map_err(|e| Fail::io(&e, "waiting for the NBD greeting"))?;
    if &g[..8] != NBDMAGIC {
        return Err(Fail::not_service(
            &g[..8],
            "an NBD server (no NBDMAGIC greeting)",
        ));
    }
    s.read_exact(&mut g[8..18])
        .map_err(|e| Fail::io(&e, "reading the NBD greeting"))?;
    if g[8..16] == OLDSTYLE {
        return Err(Fail::no_tls(
            "an oldstyle NBD server: it has no options, so no TLS".into(),
        ));
    }
    if &g[8..16] != IHAVEOPT {
        return Err(Fail::protocol(format!(
            "unknown NBD greeting {}",
            super::show_bytes(&g)
        )));
    }
    let flags = u16::from_be_bytes([g[16], g[17]]);
    if flags & FLAG_FIXED_NEWSTYLE == 0 {
        return Err(Fail::no_tls(
            "the NBD server does not do fixed newstyle negotiation, which STARTTLS needs".into(),
        ));
    }
    let mut hello = Vec::with_capacity(20);
    hello.extend_from_slice(&u32::from(FLAG_FIXED_NEWSTYLE).to_be_bytes());
    hello.extend_from_slice(&option(OPT_STARTTLS));
    s.write_all(&hello)
        .and_then(|()| s.flush())
        .map_err(|e| Fail::io(&e, "sending NBD_OPT_STARTTLS"))?;
    let (opt, typ, data) = read_reply(s, "answering NBD_OPT_STARTTLS")?;
    if opt != OPT_STARTTLS {
        return Err(Fail::protocol(format!(
            "the NBD server answered option {opt} to NBD_OPT_STARTTLS"
        )));
    }
    if typ == REP_ACK {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&data);
    Err(Fail::no_tls(format!(
        "the NBD server refused STARTTLS: {}{}",
        rep_name(typ),
        if text.is_empty() {
            String::new()
        } else {
            format!(" \"{}\"", text.trim())
        }
    )))
}

/// Inside TLS: `NBD_OPT_ABORT`, and its ACK (qemu-nbd then logs nothing). `Ok(())` means the
/// server answered inside TLS, so it accepted this client.
pub fn abort(s: &mut (impl Read + Write)) -> Result<(), Fail> {
    s.write_all(&option(OPT_ABORT))
        .and_then(|()| s.flush())
        .map_err(|e| Fail::io(&e, "sending NBD_OPT_ABORT inside TLS"))?;
    let (opt, typ, _) = read_reply(s, "waiting for the answer to NBD_OPT_ABORT inside TLS")?;
    if opt == OPT_ABORT && typ == REP_ACK {
        Ok(())
    } else {
        Err(Fail::protocol(format!(
            "the NBD server answered NBD_OPT_ABORT with option {opt}, {}",
            rep_name(typ)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted peer: reads come from `input`, writes are recorded.
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
    fn script(input: Vec<u8>) -> Script {
        Script {
            input: std::io::Cursor::new(input),
            written: Vec::new(),
        }
    }
    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn starttls_bytes_are_the_ones_qemu_nbd_accepts() {
        // S->C greeting, then the STARTTLS ACK, as seen on the wire from qemu-nbd 10.0.2.
        let mut s = script(
            [
                hex("4e42444d41474943"),
                hex("49484156454f5054"),
                hex("0003"),
                hex("0003e889045565a9"),
                hex("000000050000000100000000"),
            ]
            .concat(),
        );
        starttls(&mut s).unwrap();
        assert_eq!(
            s.written,
            [
                hex("00000001"),
                hex("49484156454f5054"),
                hex("0000000500000000")
            ]
            .concat()
        );
    }

    #[test]
    fn policy_refusal_is_reported_with_its_text() {
        let text = b"TLS not configured";
        let mut input = [
            hex("4e42444d41474943"),
            hex("49484156454f5054"),
            hex("0003"),
            hex("0003e889045565a9"),
            hex("0000000580000002"),
        ]
        .concat();
        input.extend_from_slice(&(text.len() as u32).to_be_bytes());
        input.extend_from_slice(text);
        let e = starttls(&mut script(input)).unwrap_err();
        assert_eq!(
            e.reason,
            "the NBD server refused STARTTLS: NBD_REP_ERR_POLICY \"TLS not configured\""
        );
    }

    #[test]
    fn a_non_nbd_greeting_and_an_oversized_reply_are_refused() {
        let e = starttls(&mut script(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec())).unwrap_err();
        assert!(e.reason.contains("not an NBD server"), "{}", e.reason);
        let input = [
            hex("4e42444d41474943"),
            hex("49484156454f5054"),
            hex("0003"),
            hex("0003e889045565a9"),
            hex("0000000580000002"),
            hex("ffffffff"),
        ]
        .concat();
        let e = starttls(&mut script(input)).unwrap_err();
        assert!(e.reason.contains("more than 4096"), "{}", e.reason);
    }
}
