//! Private keys: generation, loading (every format certtool and openssl write), encrypted PKCS#8
//! writing that certtool can read back, and public-key helpers.
//!
//! Backend: rcgen's `KeyPair` on aws-lc-rs. aws-lc-rs (unlike ring) generates RSA keys and loads
//! PKCS#1 `RSA PRIVATE KEY` and SEC1 `EC PRIVATE KEY` files, and the PKCS#8 EC keys certtool writes
//! with a scalar padded to 33 bytes. Encrypted keys go through the `pkcs8` crate: reading accepts
//! whatever PBES2 scheme it supports; writing always uses explicit PBKDF2-SHA256 + AES-256-CBC,
//! because the crate's default (scrypt) cannot be read by certtool.

use pkcs8::der::{Decode, Encode};
use rcgen::{KeyPair, PublicKeyData, RsaKeySize, SignatureAlgorithm};

use crate::x509::load::{KeyFormat, Object, ObjectKind};

/// PBKDF2 iterations for keys pkitool encrypts (certtool 3.7 uses about 600,000 too).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// The key algorithms pkitool generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256 (default).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA 2048, signing with PKCS#1 v1.5 SHA-256.
    Rsa2048,
    /// RSA 3072.
    Rsa3072,
    /// RSA 4096.
    Rsa4096,
}

impl KeyType {
    /// The `--key-type` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }
}

/// Why a key could not be generated, loaded or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The object is not a private key at all.
    #[error("expected a private key, found a {0}")]
    NotAKey(String),
    /// Old OpenSSL `Proc-Type: 4,ENCRYPTED` keys are not supported.
    #[error(
        "this key uses the legacy OpenSSL encryption (Proc-Type: 4,ENCRYPTED), which pkitool does \
         not read; convert it to encrypted PKCS#8 with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out KEY.p8"
    )]
    LegacyEncrypted,
    /// An encrypted key and no password.
    #[error(
        "the key is encrypted and no password was given (use --password-file, or run on a terminal)"
    )]
    PasswordRequired,
    /// Wrong password, or an encryption scheme the pkcs8 crate does not support.
    #[error(
        "cannot decrypt the key: wrong password, or an unsupported scheme ({0}); re-encrypt it with: \
         openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out KEY.p8"
    )]
    Decrypt(String),
    /// The key's bytes are not a key pkitool can use.
    #[error(
        "cannot use this private key ({0}); supported: RSA, ECDSA P-256/P-384/P-521 and Ed25519 in \
         PKCS#1, SEC1 or PKCS#8"
    )]
    Unsupported(String),
    /// Key generation failed.
    #[error("key generation failed: {0}")]
    Generate(String),
    /// Encrypting the key failed.
    #[error("cannot encrypt the key: {0}")]
    Encrypt(String),
}

/// A key pair whose DER copy is zeroized when it is dropped (rcgen's `KeyPair` only implements
/// `Zeroize`; aws-lc clears its own copy when it frees the key).
pub type SecretKeyPair = zeroize::Zeroizing<KeyPair>;

/// Generates a new key pair.
pub fn generate(kind: KeyType) -> Result<SecretKeyPair, KeyError> {
    let result = match kind {
        KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyType::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        KeyType::Rsa2048 => return generate_rsa_racing(RsaKeySize::_2048),
        KeyType::Rsa3072 => return generate_rsa_racing(RsaKeySize::_3072),
        KeyType::Rsa4096 => return generate_rsa_racing(RsaKeySize::_4096),
    };
    result
        .map(zeroize::Zeroizing::new)
        .map_err(|e| KeyError::Generate(e.to_string()))
}

/// RSA key generation time is dominated by a random prime search with a long-tailed duration
/// (RSA-3072: from under 100 ms to over a second). Running one independent search per core and
/// keeping the first key found cuts the mean and the tail. The losing searches are detached
/// threads: in the CLI they end with the process.
fn generate_rsa_racing(size: RsaKeySize) -> Result<SecretKeyPair, KeyError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..workers {
        let worker_tx = tx.clone();
        let spawned = std::thread::Builder::new().spawn(move || {
            // The losing keys are zeroized too when the receiver is gone.
            let _ = worker_tx.send(
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size)
                    .map(zeroize::Zeroizing::new),
            );
        });
        if spawned.is_err() {
            // No thread: generate on this one.
            let _ = tx.send(
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size)
                    .map(zeroize::Zeroizing::new),
            );
            break;
        }
    }
    drop(tx);
    let mut last_err = None;
    for result in rx.iter() {
        match result {
            Ok(key) => return Ok(key),
            Err(e) => last_err = Some(e.to_string()),
        }
    }
    Err(KeyError::Generate(
        last_err.unwrap_or_else(|| "no key generated".into()),
    ))
}

/// Loads a private key from a parsed object: PKCS#1, SEC1 or PKCS#8 (including certtool's padded
/// EC scalars), or an encrypted PKCS#8 key with `password`.
pub fn load_private_key(obj: &Object, password: Option<&[u8]>) -> Result<SecretKeyPair, KeyError> {
    match &obj.kind {
        ObjectKind::PrivateKey(format) => from_plain_der(&obj.der, *format),
        ObjectKind::EncryptedPrivateKey => {
            let password = password.ok_or(KeyError::PasswordRequired)?;
            let plain = decrypt_pkcs8(&obj.der, password)?;
            from_plain_der(&plain, KeyFormat::Pkcs8)
        }
        ObjectKind::LegacyEncryptedKey => Err(KeyError::LegacyEncrypted),
        other => Err(KeyError::NotAKey(other.describe())),
    }
}

/// True when the object is an encrypted key that needs a password.
pub fn needs_password(obj: &Object) -> bool {
    obj.kind == ObjectKind::EncryptedPrivateKey
}

fn from_plain_der(der: &[u8], format: KeyFormat) -> Result<SecretKeyPair, KeyError> {
    use rustls_pki_types::{
        PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
    };
    let key: PrivateKeyDer<'_> = match format {
        KeyFormat::Pkcs8 => PrivatePkcs8KeyDer::from(der).into(),
        KeyFormat::Pkcs1 => PrivatePkcs1KeyDer::from(der).into(),
        KeyFormat::Sec1 => PrivateSec1KeyDer::from(der).into(),
    };
    KeyPair::try_from(&key)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| KeyError::Unsupported(e.to_string()))
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` (PKCS#8 PBES2) into plain PKCS#8 DER.
pub fn decrypt_pkcs8(der: &[u8], password: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der)
        .map_err(|e| KeyError::Decrypt(e.to_string()))?;
    let doc = info
        .decrypt(password)
        .map_err(|e| KeyError::Decrypt(e.to_string()))?;
    Ok(zeroize::Zeroizing::new(doc.as_bytes().to_vec()))
}

/// The key as unencrypted PKCS#8 PEM (`PRIVATE KEY`). Keys pkitool generates are PKCS#8 already;
/// a loaded PKCS#1/SEC1 key is written in its own format.
pub fn to_pem(key: &KeyPair) -> zeroize::Zeroizing<String> {
    if let Ok(der) = pkcs8_der(key) {
        return crate::x509::der::pem_lf_secret("PRIVATE KEY", &der);
    }
    let label = if key.algorithm() == &rcgen::PKCS_RSA_SHA256 {
        "RSA PRIVATE KEY"
    } else {
        "EC PRIVATE KEY"
    };
    crate::x509::der::pem_lf_secret(label, key.serialized_der())
}

/// The key as encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`): PBES2 with PBKDF2-HMAC-SHA256
/// ([`PBKDF2_ITERATIONS`]) and AES-256-CBC, readable by certtool, openssl and pkitool.
pub fn to_encrypted_pem(key: &KeyPair, password: &[u8]) -> Result<String, KeyError> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| KeyError::Encrypt("no randomness".into()))?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| KeyError::Encrypt("no randomness".into()))?;
    let params = pkcs8::pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
        PBKDF2_ITERATIONS,
        &salt,
        iv,
    )
    .map_err(|e| KeyError::Encrypt(e.to_string()))?;
    let plain_pkcs8 = pkcs8_der(key)?;
    let scheme = pkcs8::pkcs5::EncryptionScheme::from(params);
    let ciphertext = scheme
        .encrypt(password, &plain_pkcs8)
        .map_err(|e| KeyError::Encrypt(e.to_string()))?;
    let data = pkcs8::der::asn1::OctetStringRef::new(&ciphertext)
        .map_err(|e| KeyError::Encrypt(e.to_string()))?;
    let info = pkcs8::EncryptedPrivateKeyInfoRef {
        encryption_algorithm: scheme,
        encrypted_data: data,
    };
    let der = info
        .to_der()
        .map_err(|e| KeyError::Encrypt(e.to_string()))?;
    Ok(crate::x509::der::pem_lf("ENCRYPTED PRIVATE KEY", der))
}

/// The key as plain PKCS#8 v1 DER.
///
/// aws-lc writes Ed25519 keys as PKCS#8 v2 (RFC 5958 OneAsymmetricKey, with the public key
/// inside); GnuTLS 3.7 (certtool, qemu-nbd: "ASN1 parser: Error in DER parsing.") and
/// `openssl pkey` cannot read that, so the optional public key is dropped, which makes the
/// structure a plain v1 PrivateKeyInfo that every peer reads.
fn pkcs8_der(key: &KeyPair) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
    let der = key.serialized_der();
    if let Ok(mut info) = pkcs8::PrivateKeyInfoRef::from_der(der) {
        if info.public_key.is_none() {
            return Ok(zeroize::Zeroizing::new(der.to_vec()));
        }
        info.public_key = None;
        let v1 = info
            .to_der()
            .map_err(|e| KeyError::Encrypt(e.to_string()))?;
        return Ok(zeroize::Zeroizing::new(v1));
    }
    Err(KeyError::Encrypt(
        "only PKCS#8 keys can be encrypted (convert with openssl pkcs8 -topk8)".into(),
    ))
}

/// The DER SubjectPublicKeyInfo of a key (for matching a key to a certificate).
pub fn public_key_spki(key: &KeyPair) -> Vec<u8> {
    key.subject_public_key_info()
}

/// The raw public key bits (the BIT STRING contents of the SPKI), as hashed for key identifiers.
pub fn public_key_bits(key: &KeyPair) -> &[u8] {
    key.der_bytes()
}

/// A short description: "ECDSA P-256", "RSA 3072 bits", "Ed25519".
pub fn describe(key: &KeyPair) -> String {
    let alg = key.algorithm();
    if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        "ECDSA P-256".into()
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        "ECDSA P-384".into()
    } else if alg == &rcgen::PKCS_ECDSA_P521_SHA512 {
        "ECDSA P-521".into()
    } else if alg == &rcgen::PKCS_ED25519 {
        "Ed25519".into()
    } else if is_rsa(alg) {
        format!("RSA {} bits", rsa_bits(key).unwrap_or(0))
    } else {
        "unknown".into()
    }
}

/// True for the RSA signature algorithms.
pub fn is_rsa(alg: &SignatureAlgorithm) -> bool {
    alg == &rcgen::PKCS_RSA_SHA256
        || alg == &rcgen::PKCS_RSA_SHA384
        || alg == &rcgen::PKCS_RSA_SHA512
}

/// RSA modulus size in bits, from the PKCS#1 RSAPublicKey in the public key bits.
pub fn rsa_bits(key: &KeyPair) -> Option<usize> {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    let (_, body) = crate::x509::der::read_tlv(key.der_bytes(), 0x30)?;
    let (_, modulus) = crate::x509::der::read_tlv(body, 0x02)?;
    let significant = modulus.iter().skip_while(|b| **b == 0).count();
    Some(significant * 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: ObjectKind, der: Vec<u8>) -> Object {
        Object {
            kind,
            label: None,
            der: der.into(),
            line: 1,
        }
    }

    #[test]
    fn written_keys_are_pkcs8_v1_without_the_public_key() {
        for kind in [KeyType::Ed25519, KeyType::EcdsaP256] {
            let key = generate(kind).unwrap();
            let pem = to_pem(&key);
            let contents = crate::x509::load::parse(pem.as_bytes()).unwrap();
            let der = &contents.objects[0].der;
            let info = pkcs8::PrivateKeyInfoRef::from_der(der).unwrap();
            assert!(info.public_key.is_none(), "{kind:?}");
            // The reloaded key is the same key.
            let again = load_private_key(&contents.objects[0], None).unwrap();
            assert_eq!(public_key_spki(&again), public_key_spki(&key));
        }
    }

    #[test]
    fn generated_keys_reload_and_describe() {
        for (kind, desc) in [
            (KeyType::EcdsaP256, "ECDSA P-256"),
            (KeyType::EcdsaP384, "ECDSA P-384"),
            (KeyType::Ed25519, "Ed25519"),
            (KeyType::Rsa2048, "RSA 2048 bits"),
        ] {
            let key = generate(kind).unwrap();
            assert_eq!(describe(&key), desc);
            let again = load_private_key(
                &obj(
                    ObjectKind::PrivateKey(KeyFormat::Pkcs8),
                    key.serialized_der().to_vec(),
                ),
                None,
            )
            .unwrap();
            assert_eq!(public_key_spki(&again), public_key_spki(&key));
        }
    }

    #[test]
    fn encrypted_round_trip_and_wrong_password() {
        let key = generate(KeyType::EcdsaP256).unwrap();
        let pem_text = to_encrypted_pem(&key, b"s3cret").unwrap();
        let block = pem::parse(&pem_text).unwrap();
        assert_eq!(block.tag(), "ENCRYPTED PRIVATE KEY");
        let o = obj(ObjectKind::EncryptedPrivateKey, block.contents().to_vec());
        assert!(matches!(
            load_private_key(&o, None),
            Err(KeyError::PasswordRequired)
        ));
        assert!(matches!(
            load_private_key(&o, Some(b"wrong")),
            Err(KeyError::Decrypt(_))
        ));
        let back = load_private_key(&o, Some(b"s3cret")).unwrap();
        assert_eq!(public_key_spki(&back), public_key_spki(&key));
    }

    #[test]
    fn refuses_non_keys_and_legacy_encryption() {
        assert!(matches!(
            load_private_key(&obj(ObjectKind::Certificate, vec![0x30, 0]), None),
            Err(KeyError::NotAKey(_))
        ));
        let err = load_private_key(&obj(ObjectKind::LegacyEncryptedKey, vec![]), None).unwrap_err();
        assert!(err.to_string().contains("openssl pkcs8 -topk8"));
        assert!(matches!(
            load_private_key(
                &obj(ObjectKind::PrivateKey(KeyFormat::Pkcs8), vec![1, 2, 3]),
                None
            ),
            Err(KeyError::Unsupported(_))
        ));
    }
}
