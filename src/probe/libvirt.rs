//! libvirt (16514): TLS from the first byte, then libvirt's RPC inside TLS. Right after the
//! handshake libvirtd checks the client certificate and `tls_allowed_dn_list`, then sends one
//! confirmation byte (`\x01`) that its clients wait for before the first RPC call (libvirt
//! src/rpc/virnetclient.c: "Wait for server to confirm the cert is acceptable"); when a check
//! fails it closes the connection instead. That byte is what proves the server admitted this
//! client; no RPC call is sent.

use std::io::Read;

use super::Fail;

/// Reads libvirtd's confirmation byte. `Ok` when the server admitted the client.
pub fn confirmation(s: &mut impl Read) -> Result<(), Fail> {
    let mut b = [0u8; 1];
    s.read_exact(&mut b).map_err(|e| {
        Fail::io(
            &e,
            "waiting for libvirtd's confirmation that it accepts the client",
        )
    })?;
    if b[0] == 1 {
        Ok(())
    } else {
        Err(Fail::protocol(format!(
            "not libvirtd: it sent {} where libvirtd confirms the client with byte 01",
            super::show_bytes(&b)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmation_byte() {
        assert!(confirmation(&mut &[1u8][..]).is_ok());
        let e = confirmation(&mut &[][..]).unwrap_err();
        assert_eq!(e.kind, crate::probe::FailKind::Closed);
        let e = confirmation(&mut &[0x48u8][..]).unwrap_err();
        assert!(e.reason.contains("not libvirtd"), "{}", e.reason);
    }
}
