//! Private keys: RSA and ECDSA keys made from seed bytes, PEM encoding, and checks of provided PEM.
//!
//! RSA keys come from `rsa` (pinned exactly) driven by ChaCha20 seeded with 32 derived bytes;
//! EC keys are built directly from derived bytes, so no RNG algorithm sits in between.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

/// Elliptic curves Authelia accepts for ECDSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// All curves with their config spelling.
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    /// "P-256".
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Parses "P-256" (also "p256", "P256", "prime256v1", "secp384r1", "secp521r1").
    pub fn parse(s: &str) -> Option<Curve> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "p256" | "prime256v1" | "secp256r1" => Some(Curve::P256),
            "p384" | "secp384r1" => Some(Curve::P384),
            "p521" | "secp521r1" => Some(Curve::P521),
            _ => None,
        }
    }

    /// Bytes in a scalar of this curve.
    fn scalar_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The PEM encoding of a generated private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// `-----BEGIN PRIVATE KEY-----` (any key type).
    Pkcs8,
    /// `-----BEGIN RSA PRIVATE KEY-----`.
    Pkcs1,
    /// `-----BEGIN EC PRIVATE KEY-----`.
    Sec1,
}

impl KeyFormat {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyFormat::Pkcs8 => "pkcs8",
            KeyFormat::Pkcs1 => "pkcs1",
            KeyFormat::Sec1 => "sec1",
        }
    }

    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<KeyFormat> {
        [KeyFormat::Pkcs8, KeyFormat::Pkcs1, KeyFormat::Sec1]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// Why a key could not be made. Carries no key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("RSA key generation failed: {0}")]
    Rsa(String),
    #[error("no valid {0} scalar in the derived bytes")]
    Scalar(Curve),
    #[error("PEM encoding failed")]
    Encoding,
}

/// Most derived RSA keys the process keeps (see [`rsa_pem`]).
const RSA_CACHE_ENTRIES: usize = 16;

type RsaCache = HashMap<([u8; 32], usize), rsa::PrivateKey>;

/// An RSA key of `bits` from 32 seed bytes: ChaCha20 (rand_chacha) seeded with them drives
/// `rsa::PrivateKey::new`.
///
/// The prime search is the one costly step of a run (RSA-4096: about half a second), and a
/// process that runs the core more than once (the fuzz harness, the benchmarks, a library
/// user) would repeat it: each key is made once per process and kept, by the SHA-256 of its
/// seed bytes, in a small in-memory cache.
pub fn rsa_pem(seed: [u8; 32], bits: usize, format: KeyFormat) -> Result<String, KeyError> {
    static CACHE: OnceLock<Mutex<RsaCache>> = OnceLock::new();
    let id = (Sha256::digest(seed).into(), bits);
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let cached = cache.lock().ok().and_then(|c| c.get(&id).cloned());
    let key = match cached {
        Some(key) => key,
        None => {
            let mut rng = ChaCha20Rng::from_seed(seed);
            let key =
                rsa::PrivateKey::new(&mut rng, bits).map_err(|e| KeyError::Rsa(e.to_string()))?;
            if let Ok(mut c) = cache.lock() {
                if c.len() >= RSA_CACHE_ENTRIES {
                    c.clear();
                }
                c.insert(id, key.clone());
            }
            key
        }
    };
    let pem = match format {
        KeyFormat::Pkcs1 => key
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encoding)?,
        _ => key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encoding)?,
    };
    Ok(pem.to_string())
}

/// PKCS#8 or SEC1 PEM of an EC secret key (the same code for each curve's type).
macro_rules! encode_ec {
    ($key:expr, $format:expr) => {{
        let pem = match $format {
            KeyFormat::Sec1 => $key
                .to_sec1_pem(LineEnding::LF)
                .map_err(|_| KeyError::Encoding)?,
            _ => $key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|_| KeyError::Encoding)?,
        };
        Ok::<String, KeyError>(pem.to_string())
    }};
}

/// An EC key from derived bytes: successive scalar-sized chunks (for P-521 the first byte masked
/// with 0x01) until one is a valid scalar (non-zero, below the group order).
pub fn ec_pem(bytes: &[u8], curve: Curve, format: KeyFormat) -> Result<String, KeyError> {
    let len = curve.scalar_len();
    for chunk in bytes.chunks_exact(len) {
        let mut scalar = chunk.to_vec();
        if curve == Curve::P521 {
            scalar[0] &= 0x01;
        }
        let pem = match curve {
            Curve::P256 => match p256::SecretKey::from_slice(&scalar) {
                Ok(k) => Some(encode_ec!(k, format)),
                Err(_) => None,
            },
            Curve::P384 => match p384::SecretKey::from_slice(&scalar) {
                Ok(k) => Some(encode_ec!(k, format)),
                Err(_) => None,
            },
            Curve::P521 => match p521::SecretKey::from_slice(&scalar) {
                Ok(k) => Some(encode_ec!(k, format)),
                Err(_) => None,
            },
        };
        scalar.fill(0);
        if let Some(pem) = pem {
            return pem;
        }
    }
    Err(KeyError::Scalar(curve))
}

/// One PEM block: its label and DER bytes.
#[derive(Debug)]
pub struct PemBlock {
    pub label: String,
    pub der: Vec<u8>,
}

/// A PEM label we are willing to repeat in messages: upper-case words, at most 40 characters.
fn pem_label(line: &str, marker: &str) -> Option<String> {
    let label = line.strip_prefix(marker)?.strip_suffix("-----")?;
    let ok = !label.is_empty()
        && label.len() <= 40
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ');
    ok.then(|| label.to_string())
}

/// Splits PEM text into blocks. Errors name the problem, never the content.
pub fn pem_blocks(text: &[u8]) -> Result<Vec<PemBlock>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "is not PEM text (not UTF-8)".to_string())?;
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r').trim_end();
        if let Some((label, body)) = current.as_mut() {
            if line.starts_with("-----END ") {
                let Some(end) = pem_label(line, "-----END ") else {
                    return Err(format!("the END line of PEM block {label:?} is malformed"));
                };
                if end != *label {
                    return Err(format!("PEM block {label:?} ends with {end:?}"));
                }
                let der = STANDARD
                    .decode(body.as_bytes())
                    .map_err(|_| format!("PEM block {label:?} is not valid base64"))?;
                blocks.push(PemBlock {
                    label: label.clone(),
                    der,
                });
                current = None;
            } else {
                body.push_str(line.trim());
            }
        } else if line.starts_with("-----BEGIN ") {
            let Some(label) = pem_label(line, "-----BEGIN ") else {
                return Err(
                    "has a malformed PEM BEGIN line (PEM needs line breaks: was it flattened onto one line?)".into(),
                );
            };
            current = Some((label, String::new()));
        } else if !line.trim().is_empty() {
            return Err("has text outside PEM blocks".into());
        }
    }
    if let Some((label, _)) = current {
        return Err(format!("PEM block {label:?} has no END line"));
    }
    if blocks.is_empty() {
        return Err("holds no PEM block".into());
    }
    Ok(blocks)
}

/// What a parsed private key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa { bits: usize },
    Ec(Curve),
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::Rsa { bits } => write!(f, "RSA {bits}-bit"),
            KeyKind::Ec(c) => write!(f, "ECDSA {c}"),
        }
    }
}

/// Parses a private key file as Authelia would: exactly one PEM block, PKCS#1, PKCS#8 or SEC1.
pub fn inspect_private_key(text: &[u8]) -> Result<KeyKind, String> {
    let blocks = pem_blocks(text)?;
    if blocks.len() != 1 {
        return Err(format!(
            "holds {} PEM blocks; Authelia reads exactly one private key per file",
            blocks.len()
        ));
    }
    let block = &blocks[0];
    let der = block.der.as_slice();
    let kind = match block.label.as_str() {
        "RSA PRIVATE KEY" => rsa::PrivateKey::from_pkcs1_der(der)
            .ok()
            .map(|k| KeyKind::Rsa { bits: k.size() * 8 }),
        "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(der)
            .ok()
            .map(|_| KeyKind::Ec(Curve::P256))
            .or_else(|| {
                p384::SecretKey::from_sec1_der(der)
                    .ok()
                    .map(|_| KeyKind::Ec(Curve::P384))
            })
            .or_else(|| {
                p521::SecretKey::from_sec1_der(der)
                    .ok()
                    .map(|_| KeyKind::Ec(Curve::P521))
            }),
        "PRIVATE KEY" => rsa::PrivateKey::from_pkcs8_der(der)
            .ok()
            .map(|k| KeyKind::Rsa { bits: k.size() * 8 })
            .or_else(|| {
                p256::SecretKey::from_pkcs8_der(der)
                    .ok()
                    .map(|_| KeyKind::Ec(Curve::P256))
            })
            .or_else(|| {
                p384::SecretKey::from_pkcs8_der(der)
                    .ok()
                    .map(|_| KeyKind::Ec(Curve::P384))
            })
            .or_else(|| {
                p521::SecretKey::from_pkcs8_der(der)
                    .ok()
                    .map(|_| KeyKind::Ec(Curve::P521))
            }),
        "ENCRYPTED PRIVATE KEY" => {
            return Err("is an encrypted private key; Authelia needs it unencrypted".into());
        }
        other => return Err(format!("is a {other:?} PEM block, not a private key")),
    };
    kind.ok_or_else(|| {
        format!(
            "has a {:?} block that does not parse as an RSA or ECDSA (P-256/P-384/P-521) key",
            block.label
        )
    })
}

/// Checks a certificate chain as Authelia reads it: one or more `CERTIFICATE` blocks and nothing
/// else, each an X.509 certificate. Returns how many there are.
pub fn inspect_certificates(text: &[u8]) -> Result<usize, String> {
    use x509_cert::der::Decode;
    let blocks = pem_blocks(text)?;
    for (i, b) in blocks.iter().enumerate() {
        if b.label != "CERTIFICATE" {
            return Err(format!(
                "holds a {:?} block; a certificate chain holds only CERTIFICATE blocks",
                b.label
            ));
        }
        if x509_cert::Certificate::from_der(&b.der).is_err() {
            return Err(format!(
                "has a CERTIFICATE block (number {} of {}) that does not parse as an X.509 certificate",
                i + 1,
                blocks.len()
            ));
        }
    }
    Ok(blocks.len())
}

/// SHA-256 of the public key's DER (SubjectPublicKeyInfo), hex: a fingerprint that reveals nothing secret.
pub fn public_fingerprint(private_pem: &str) -> Option<String> {
    use rsa::pkcs8::EncodePublicKey;
    use sha2::{Digest, Sha256};
    let der = if let Ok(k) = rsa::PrivateKey::from_pkcs8_pem(private_pem)
        .or_else(|_| rsa::PrivateKey::from_pkcs1_pem(private_pem))
    {
        k.to_public_key()
            .to_public_key_der()
            .ok()?
            .as_bytes()
            .to_vec()
    } else if let Ok(k) = p256::SecretKey::from_pkcs8_pem(private_pem) {
        k.public_key().to_public_key_der().ok()?.as_bytes().to_vec()
    } else if let Ok(k) = p384::SecretKey::from_pkcs8_pem(private_pem) {
        k.public_key().to_public_key_der().ok()?.as_bytes().to_vec()
    } else if let Ok(k) = p521::SecretKey::from_pkcs8_pem(private_pem) {
        k.public_key().to_public_key_der().ok()?.as_bytes().to_vec()
    } else {
        return None;
    };
    Some(
        Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKER: &str = "SECRETMATERIALSECRETMATERIAL";

    #[test]
    fn flattened_pem_errors_do_not_repeat_content() {
        let flat =
            format!("-----BEGIN RSA PRIVATE KEY----- {MARKER} -----END RSA PRIVATE KEY-----");
        let err = inspect_private_key(flat.as_bytes()).unwrap_err();
        assert!(!err.contains(MARKER), "{err}");
        assert!(err.contains("one line"), "{err}");
        let junk = format!("{MARKER}\n");
        let err = inspect_private_key(junk.as_bytes()).unwrap_err();
        assert!(!err.contains(MARKER), "{err}");
        let bad_end = format!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END {MARKER}x-----\n");
        let err = inspect_private_key(bad_end.as_bytes()).unwrap_err();
        assert!(!err.contains(MARKER), "{err}");
    }

    /// A self-signed P-256 test certificate (openssl req -x509; its key was thrown away).
    pub(crate) const TEST_CERTIFICATE: &str = include_str!("../tests/data/test-certificate.pem");

    #[test]
    fn certificate_chains_hold_only_x509_certificates() {
        let two = format!("{TEST_CERTIFICATE}{TEST_CERTIFICATE}");
        assert_eq!(inspect_certificates(two.as_bytes()), Ok(2));
        let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(inspect_certificates(key.as_bytes()).is_err());
        // The right label around bytes that are no certificate.
        let fake = format!(
            "{TEST_CERTIFICATE}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        );
        let err = inspect_certificates(fake.as_bytes()).unwrap_err();
        assert!(err.contains("number 2 of 2"), "{err}");
        // One flipped byte inside the DER.
        let corrupt = TEST_CERTIFICATE.replacen("MIIBlDCCATug", "MIIBlDCCATuh", 1);
        assert!(inspect_certificates(corrupt.as_bytes()).is_err());
    }
}
