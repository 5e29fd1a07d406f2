//! The rustls client of `pkitool probe`: it captures the chain the server presents instead of
//! judging it (the judgement is pkitool's own, through the same checks as `validate`), records
//! whether the server asked for a client certificate, and offers one when it was given.
//!
//! The capturing verifier still checks the handshake signatures (`CertificateVerify`,
//! `ServerKeyExchange`) with aws-lc-rs, so a completed handshake means the server holds the
//! private key of the certificate it presented. The chain is recorded before that check runs:
//! even a handshake that fails later (a server that demands a client certificate under TLS 1.2,
//! a key rustls refuses) leaves the chain behind (lifecycle-probe-ci.md §3.3).

use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// What the handshake revealed, shared between the verifier, the resolver and the caller.
#[derive(Debug, Default)]
pub struct Captured {
    /// The chain as presented (leaf first), DER.
    pub chain: Option<Vec<Vec<u8>>>,
    /// The server sent a CertificateRequest.
    pub client_requested: bool,
    /// We answered it with a certificate (not an empty one).
    pub client_sent: bool,
}

/// The shared capture slot.
pub type Capture = Arc<Mutex<Captured>>;

fn lock(c: &Capture) -> std::sync::MutexGuard<'_, Captured> {
    c.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
struct CapturingVerifier {
    provider: Arc<CryptoProvider>,
    capture: Capture,
}

impl ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.as_ref().to_vec()];
        chain.extend(intermediates.iter().map(|c| c.as_ref().to_vec()));
        lock(&self.capture).chain = Some(chain);
        // Captured, not judged: pkitool's checks judge the chain afterwards.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[derive(Debug)]
struct Resolver {
    key: Option<Arc<CertifiedKey>>,
    capture: Capture,
}

impl ResolvesClientCert for Resolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let mut c = lock(&self.capture);
        c.client_requested = true;
        let key = self
            .key
            .as_ref()
            .filter(|k| k.key.choose_scheme(sigschemes).is_some())
            .cloned();
        c.client_sent = key.is_some();
        key
    }

    // Always true, so that rustls asks `resolve` (and we learn that the server asked) even when
    // no certificate was given; `resolve` then answers with an empty Certificate message.
    fn has_certs(&self) -> bool {
        true
    }
}

/// A client certificate and key ready for rustls.
#[derive(Debug, Clone)]
pub struct ClientKey(Arc<CertifiedKey>);

impl ClientKey {
    /// Builds it from the certificate chain (DER, leaf first) and the private key.
    pub fn new(chain: Vec<Vec<u8>>, key: PrivateKeyDer<'static>) -> Result<ClientKey, String> {
        let provider = provider();
        let key = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| format!("the TLS library cannot use this key: {e}"))?;
        let certs = chain.into_iter().map(CertificateDer::from).collect();
        let ck = CertifiedKey::new(certs, key);
        ck.keys_match().map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                "the private key does not match the certificate".to_string()
            }
            other => other.to_string(),
        })?;
        Ok(ClientKey(Arc::new(ck)))
    }
}

/// The one crypto provider (aws-lc-rs, as rcgen uses).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client configuration for one connection, writing into `capture`.
pub fn config(client: Option<&ClientKey>, capture: &Capture) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS configuration: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(CapturingVerifier {
            provider,
            capture: capture.clone(),
        }))
        .with_client_cert_resolver(Arc::new(Resolver {
            key: client.map(|k| k.0.clone()),
            capture: capture.clone(),
        }));
    Ok(Arc::new(cfg))
}

/// The name sent as SNI (a DNS name) or none (an IP address); rustls needs a `ServerName`.
pub fn server_name(host: &str) -> ServerName<'static> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return ServerName::IpAddress(ip.into());
    }
    match ServerName::try_from(bare.to_string()) {
        Ok(n) => n,
        // A name rustls cannot put in SNI (an underscore, ...): connect without SNI.
        Err(_) => ServerName::IpAddress(std::net::IpAddr::from([0, 0, 0, 0]).into()),
    }
}

/// "TLS 1.3" for a rustls protocol version.
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".into(),
        other => format!("{other:?}"),
    }
}
