//! Making values: deterministic derivation from the master seed (HKDF-SHA256), or OS randomness.
//!
//! The derivation is a public, versioned contract (README, "Derivation contract v1"):
//!
//! ```text
//! PRK  = HKDF-Extract(salt = "authelia-secrets/v1", IKM = seed as UTF-8 bytes)
//! info = "authelia-secrets/v1" 0x00 namespace 0x00 secretName 0x00 key 0x00 rotation 0x00 descriptor
//! OKM  = HKDF-Expand(PRK, info, 8160)          (255 × 32 bytes, the HKDF maximum)
//! ```
//!
//! An RSA key seeds ChaCha20 (`rand_chacha`) with OKM[0..32] and runs `rsa::PrivateKey::new`
//! (`rsa` and the crates under it are pinned, see Cargo.toml). An ECDSA key takes successive
//! scalar-sized OKM chunks (32, 48, 66 bytes; for P-521 the first byte ANDed with 0x01) until
//! one is a valid scalar.
//!
//! A random value takes OKM bytes in order and keeps byte `b` when `b < 256 - 256 % n`
//! (n = alphabet size), emitting `alphabet[b % n]`, until `length` characters are made.
//! Changing anything here changes every derived value: it needs a new contract version.

use crate::catalog::{Charset, Generator};
use crate::keys;
use hkdf::Hkdf;
use sha2::Sha256;

/// The contract version, bound into every derivation.
pub const DERIVATION_VERSION: &str = "authelia-secrets/v1";
/// The shortest master seed we accept, in characters.
pub const MIN_SEED_CHARS: usize = 32;
/// HKDF-SHA256's maximum output.
const OKM_LEN: usize = 255 * 32;

/// What a derived value is bound to besides the seed.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub namespace: &'a str,
    pub secret_name: &'a str,
    pub key: &'a str,
    pub rotation: u64,
}

/// Why a value could not be made. Never carries value bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    #[error("the derivation ran out of bytes (length too large for charset)")]
    Exhausted,
    #[error("{0}")]
    Random(String),
    #[error(transparent)]
    Key(#[from] keys::KeyError),
}

/// The HKDF `info` string for a binding and generator.
pub fn info(binding: &Binding<'_>, generator: &Generator) -> Vec<u8> {
    let parts = [
        DERIVATION_VERSION.to_string(),
        binding.namespace.to_string(),
        binding.secret_name.to_string(),
        binding.key.to_string(),
        binding.rotation.to_string(),
        generator.descriptor(),
    ];
    parts.join("\0").into_bytes()
}

/// Derives a value from the seed. Same inputs, same output, on any machine.
pub fn derive(
    seed: &[u8],
    binding: &Binding<'_>,
    generator: &Generator,
) -> Result<String, GenerateError> {
    let hk = Hkdf::<Sha256>::new(Some(DERIVATION_VERSION.as_bytes()), seed);
    let info = info(binding, generator);
    // HKDF-Expand's output is prefix-stable: expanding fewer bytes first, and the maximum only
    // when they run out, gives the same value faster.
    let first = match generator {
        Generator::Random { length, .. } => (length * 2 + 64).min(OKM_LEN),
        Generator::Rsa { .. } => 32,
        Generator::Ecdsa { .. } => 4 * 66,
    };
    match derive_from(&hk, &info, generator, first) {
        Err(GenerateError::Exhausted) if first < OKM_LEN => {
            derive_from(&hk, &info, generator, OKM_LEN)
        }
        other => other,
    }
}

fn derive_from(
    hk: &Hkdf<Sha256>,
    info: &[u8],
    generator: &Generator,
    len: usize,
) -> Result<String, GenerateError> {
    let mut okm = vec![0u8; len];
    hk.expand(info, &mut okm)
        .map_err(|_| GenerateError::Exhausted)?;
    let value = match generator {
        Generator::Random { length, charset } => {
            map_to_charset(&okm, *charset, *length).ok_or(GenerateError::Exhausted)
        }
        Generator::Rsa { bits, format } => {
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&okm[..32]);
            let pem = keys::rsa_pem(seed, *bits, *format).map_err(GenerateError::Key);
            seed.fill(0);
            pem
        }
        Generator::Ecdsa { curve, format } => {
            keys::ec_pem(&okm, *curve, *format).map_err(|e| match e {
                keys::KeyError::Scalar(_) => GenerateError::Exhausted,
                other => GenerateError::Key(other),
            })
        }
    };
    okm.fill(0);
    value
}

/// Makes a fresh random value from the operating system's random source.
pub fn random(
    fill: &dyn Fn(&mut [u8]) -> Result<(), String>,
    generator: &Generator,
) -> Result<String, GenerateError> {
    match generator {
        Generator::Random { length, charset } => {
            // Rejection sampling needs a little more than `length` bytes; draw until done.
            let mut out = String::with_capacity(*length);
            let mut buf = vec![0u8; length + 64];
            while out.len() < *length {
                fill(&mut buf).map_err(GenerateError::Random)?;
                let need = length - out.len();
                if let Some(more) = map_prefix(&buf, *charset, need) {
                    out.push_str(&more);
                }
            }
            buf.fill(0);
            Ok(out)
        }
        Generator::Rsa { bits, format } => {
            let mut seed = [0u8; 32];
            fill(&mut seed).map_err(GenerateError::Random)?;
            let pem = keys::rsa_pem(seed, *bits, *format).map_err(GenerateError::Key);
            seed.fill(0);
            pem
        }
        Generator::Ecdsa { curve, format } => {
            let mut bytes = vec![0u8; 1024];
            fill(&mut bytes).map_err(GenerateError::Random)?;
            let pem = keys::ec_pem(&bytes, *curve, *format).map_err(GenerateError::Key);
            bytes.fill(0);
            pem
        }
    }
}

/// Maps bytes to exactly `length` characters, or `None` when the bytes run out.
fn map_to_charset(bytes: &[u8], charset: Charset, length: usize) -> Option<String> {
    let s = map_prefix(bytes, charset, length)?;
    (s.len() == length).then_some(s)
}

/// Maps bytes to up to `length` characters (fewer when the bytes run out).
fn map_prefix(bytes: &[u8], charset: Charset, length: usize) -> Option<String> {
    let alphabet = charset.alphabet();
    let n = alphabet.len();
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(length);
    for &b in bytes {
        if out.len() == length {
            break;
        }
        if (b as usize) < limit {
            out.push(alphabet[b as usize % n] as char);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &[u8] = b"golden-vector-seed-0123456789abcdef";

    fn binding(key: &str) -> Binding<'_> {
        Binding {
            namespace: "auth",
            secret_name: "authelia",
            key,
            rotation: 0,
        }
    }

    #[test]
    fn alphabets_have_expected_sizes() {
        assert_eq!(Charset::Alphanumeric.alphabet().len(), 62);
        assert_eq!(Charset::Hex.alphabet().len(), 16);
        assert_eq!(Charset::Rfc3986.alphabet().len(), 66);
        assert_eq!(Charset::Ascii.alphabet().len(), 94);
    }

    #[test]
    fn derivation_is_bound_to_every_input() {
        let g = Generator::RANDOM_64;
        let base = derive(SEED, &binding("JWT_SECRET"), &g).unwrap();
        assert_eq!(base.len(), 64);
        assert!(base.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(base, derive(SEED, &binding("JWT_SECRET"), &g).unwrap());
        assert_ne!(base, derive(SEED, &binding("SESSION_SECRET"), &g).unwrap());
        let other_ns = Binding {
            namespace: "staging",
            ..binding("JWT_SECRET")
        };
        assert_ne!(base, derive(SEED, &other_ns, &g).unwrap());
        let rotated = Binding {
            rotation: 1,
            ..binding("JWT_SECRET")
        };
        assert_ne!(base, derive(SEED, &rotated, &g).unwrap());
        let longer = Generator::Random {
            length: 65,
            charset: Charset::Alphanumeric,
        };
        assert!(
            !derive(SEED, &binding("JWT_SECRET"), &longer)
                .unwrap()
                .starts_with(&base)
        );
    }

    #[test]
    fn random_values_have_length_and_charset() {
        let fill = |b: &mut [u8]| getrandom::fill(b).map_err(|e| e.to_string());
        for charset in Charset::ALL {
            let g = Generator::Random {
                length: 100,
                charset,
            };
            let v = random(&fill, &g).unwrap();
            assert_eq!(v.len(), 100);
            assert!(v.bytes().all(|b| charset.alphabet().contains(&b)));
        }
    }
}
