//! libvirt (16514): TLS from the first byte, then libvirt's RPC inside TLS. libvirtd checks the
//! client certificate and `tls_allowed_dn_list` right after the handshake and closes the
//! connection when they fail, so an answer to one harmless RPC call (`REMOTE_PROC_AUTH_LIST`,
//! which every client sends first) proves that the server accepted this client.

use std::io::{Read, Write};

use super::Fail;

/// libvirt's remote program number and version (src/remote/remote_protocol.x).
const REMOTE_PROGRAM: u32 = 0x2000_8086;
const REMOTE_PROTOCOL_VERSION: u32 = 1;
/// REMOTE_PROC_AUTH_LIST.
const PROC_AUTH_LIST: u32 = 66;
const TYPE_CALL: u32 = 0;
const TYPE_REPLY: u32 = 1;
/// The longest answer we read (an auth list is a few bytes; a libvirt error a few hundred).
const MAX_PACKET: u32 = 1 << 16;

/// One RPC packet header: length (including itself), program, version, procedure, type,
/// serial, status.
fn call(proc_: u32, serial: u32) -> [u8; 28] {
    let mut b = [0u8; 28];
    let words = [
        28,
        REMOTE_PROGRAM,
        REMOTE_PROTOCOL_VERSION,
        proc_,
        TYPE_CALL,
        serial,
        0,
    ];
    for (i, w) in words.iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    b
}

fn word(b: &[u8], i: usize) -> u32 {
    b.get(i * 4..i * 4 + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_be_bytes)
        .unwrap_or_default()
}

/// Sends `REMOTE_PROC_AUTH_LIST` and reads the reply. `Ok` when libvirtd answered it (the
/// status may be an error: the session was still accepted).
pub fn auth_list(s: &mut (impl Read + Write)) -> Result<(), Fail> {
    s.write_all(&call(PROC_AUTH_LIST, 1))
        .and_then(|()| s.flush())
        .map_err(|e| Fail::io(&e, "sending libvirt's first RPC call inside TLS"))?;
    let what = "waiting for the answer to libvirt's first RPC call inside TLS";
    let mut len = [0u8; 4];
    s.read_exact(&mut len).map_err(|e| Fail::io(&e, what))?;
    let n = u32::from_be_bytes(len);
    if !(28..=MAX_PACKET).contains(&n) {
        return Err(Fail::protocol(format!(
            "not a libvirt RPC reply: packet length {n}"
        )));
    }
    let mut rest = vec![0u8; n as usize - 4];
    s.read_exact(&mut rest).map_err(|e| Fail::io(&e, what))?;
    let (prog, proc_, typ) = (word(&rest, 0), word(&rest, 2), word(&rest, 3));
    if prog != REMOTE_PROGRAM || proc_ != PROC_AUTH_LIST || typ != TYPE_REPLY {
        return Err(Fail::protocol(format!(
            "not a libvirt RPC reply: program {prog:#x}, procedure {proc_}, type {typ}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_header_is_xdr() {
        let c = call(66, 1);
        assert_eq!(
            c,
            [
                0, 0, 0, 28, 0x20, 0, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 66, 0, 0, 0, 0, 0, 0, 0, 1,
                0, 0, 0, 0
            ]
        );
    }
}
