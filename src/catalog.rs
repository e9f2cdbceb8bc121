//! The one table of Authelia secrets: Secret key, config key, env var per version, how the value is obtained.
//!
//! Generation, patching, checking and the `catalog` subcommand all read [`CATALOG`]; there is no
//! other list of Authelia secret names in the code. Facts and sources: `shared/notes/authelia.md`.

use crate::keys::{self, Curve, KeyFormat, KeyKind};
use std::fmt;

/// The Authelia minor versions whose env var names we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AutheliaVersion {
    V4_37,
    V4_38,
    V4_39,
}

impl AutheliaVersion {
    /// All supported versions, oldest first.
    pub const ALL: [AutheliaVersion; 3] = [Self::V4_37, Self::V4_38, Self::V4_39];
    /// The default when the config does not say.
    pub const DEFAULT: AutheliaVersion = Self::V4_39;

    /// "4.39".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V4_37 => "4.37",
            Self::V4_38 => "4.38",
            Self::V4_39 => "4.39",
        }
    }

    /// Parses "4.39" or a full release such as "4.39.20" or "v4.38.0".
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let (major, minor) = (parts.next()?, parts.next()?);
        if let Some(patch) = parts.next()
            && (patch.is_empty() || !patch.chars().all(|c| c.is_ascii_digit()))
        {
            return None;
        }
        if parts.next().is_some() || major != "4" {
            return None;
        }
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == format!("4.{minor}"))
    }
}

impl fmt::Display for AutheliaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Characters a random value is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `A-Z a-z 0-9` (Authelia's recommendation for every generated secret).
    Alphanumeric,
    /// `0-9 a-f`.
    Hex,
    /// RFC 3986 unreserved characters: `A-Z a-z 0-9 - . _ ~`.
    Rfc3986,
    /// Printable ASCII without space: `!` to `~`.
    Ascii,
}

impl Charset {
    /// All charsets, in the order the docs list them.
    pub const ALL: [Charset; 4] = [Self::Alphanumeric, Self::Hex, Self::Rfc3986, Self::Ascii];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alphanumeric => "alphanumeric",
            Self::Hex => "hex",
            Self::Rfc3986 => "rfc3986",
            Self::Ascii => "ascii",
        }
    }

    /// The characters, in the order the derivation maps bytes onto them.
    pub fn alphabet(self) -> &'static [u8] {
        match self {
            Self::Alphanumeric => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            Self::Hex => b"0123456789abcdef",
            Self::Rfc3986 => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
            }
            Self::Ascii => {
                b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
            }
        }
    }

    /// Parses the config spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// How a generated value is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// `length` characters from `charset`.
    Random { length: usize, charset: Charset },
    /// An RSA private key of `bits`, PEM.
    Rsa { bits: usize, format: KeyFormat },
    /// An ECDSA private key on `curve`, PEM.
    Ecdsa { curve: Curve, format: KeyFormat },
}

impl Generator {
    /// The default for text secrets: 64 alphanumerics, as Authelia's docs recommend.
    pub const RANDOM_64: Generator = Generator::Random {
        length: 64,
        charset: Charset::Alphanumeric,
    };

    /// The default RSA key: 2048 bits (Authelia's minimum), PKCS#8.
    pub const RSA_2048: Generator = Generator::Rsa {
        bits: 2048,
        format: KeyFormat::Pkcs8,
    };

    /// The canonical description bound into the derivation, e.g. `random;charset=alphanumeric;length=64`.
    ///
    /// The PEM format is not part of it: `format: pkcs1` encodes the same key differently.
    pub fn descriptor(&self) -> String {
        match self {
            Generator::Random { length, charset } => {
                format!("random;charset={};length={length}", charset.as_str())
            }
            Generator::Rsa { bits, .. } => format!("rsa;bits={bits}"),
            Generator::Ecdsa { curve, .. } => format!("ecdsa;curve={}", curve.as_str()),
        }
    }

    /// A short human description: "64 alphanumeric", "RSA 2048", "ECDSA P-256".
    pub fn summary(&self) -> String {
        match self {
            Generator::Random { length, charset } => format!("{length} {}", charset.as_str()),
            Generator::Rsa { bits, .. } => format!("RSA {bits}"),
            Generator::Ecdsa { curve, .. } => format!("ECDSA {curve}"),
        }
    }
}

/// Where a value comes from when it is not generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Obtain {
    /// We can make it.
    Generate(Generator),
    /// Someone else issues it; the text says who ("your LDAP server"). A generator may still be
    /// asked for explicitly (a password you set on both sides).
    Provide(&'static str),
    /// Provided, and never generated: the value is not a secret we could make (a file path).
    ProvideOnly(&'static str),
}

/// What the file holds, for checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A password or random string.
    Text,
    /// A PEM private key.
    PrivateKey,
    /// PEM certificates.
    CertificateChain,
    /// The path of a file inside the container (not the file's content).
    Path,
}

/// One Authelia secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The Secret key and file name, e.g. `JWT_SECRET`.
    pub key: &'static str,
    /// Authelia's config key in the newest version.
    pub config_key: &'static str,
    /// Config key before 4.38 when it differed.
    pub config_key_4_37: Option<&'static str>,
    /// Where the value comes from by default.
    pub obtain: Obtain,
    /// Minimum length Authelia accepts (0: none enforced).
    pub min_length: usize,
    /// The file's format.
    pub format: Format,
    /// When and in favour of what Authelia deprecates this secret.
    pub deprecated: Option<Deprecation>,
}

/// Authelia deprecates a secret: since when, what replaces it, and how to move in our config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    /// The first minor version that warns.
    pub since: AutheliaVersion,
    /// What replaces it, in Authelia's own terms (shown to `AutheliaSecretsCheck` users too).
    pub replacement: &'static str,
    /// How to move in an `AutheliaSecrets` config (shown only with that kind).
    pub config_hint: &'static str,
}

const PROVIDE_LDAP: &str = "is issued by your LDAP server (the bind user's password)";
const PROVIDE_SMTP: &str = "is issued by your mail provider";
const PROVIDE_DUO: &str = "is issued by Duo (Admin Panel, Auth API application)";
const PROVIDE_TLS: &str = "is issued with your client certificate";
const PROVIDE_PATH: &str = "holds the path of a private key file inside the container (the deprecated \
     storage.postgres.ssl block), not a key";

const fn text(key: &'static str, config_key: &'static str, obtain: Obtain) -> Entry {
    Entry {
        key,
        config_key,
        config_key_4_37: None,
        obtain,
        min_length: 0,
        format: Format::Text,
        deprecated: None,
    }
}

const fn pem(key: &'static str, config_key: &'static str, format: Format) -> Entry {
    Entry {
        key,
        config_key,
        config_key_4_37: None,
        obtain: Obtain::Provide(PROVIDE_TLS),
        min_length: 0,
        format,
        deprecated: None,
    }
}

const GEN: Obtain = Obtain::Generate(Generator::RANDOM_64);

/// The OIDC issuer key and chain give way to `jwks`, a list, which env vars cannot set.
const JWKS: Deprecation = Deprecation {
    since: AutheliaVersion::V4_38,
    replacement: "identity_providers.oidc.jwks in the configuration file (a list: read the key file \
                  there through the template filter)",
    config_hint: "keep the key with mountOnly: true and reference its file from jwks",
};

/// Every Authelia secret that can be read from a file (22 current names, 4 deprecated).
pub const CATALOG: &[Entry] = &[
    Entry {
        config_key_4_37: Some("jwt_secret"),
        ..text(
            "JWT_SECRET",
            "identity_validation.reset_password.jwt_secret",
            GEN,
        )
    },
    text("SESSION_SECRET", "session.secret", GEN),
    Entry {
        min_length: 20,
        ..text("STORAGE_ENCRYPTION_KEY", "storage.encryption_key", GEN)
    },
    text("STORAGE_PASSWORD", "storage.postgres.password", GEN),
    pem(
        "STORAGE_POSTGRES_TLS_PRIVATE_KEY",
        "storage.postgres.tls.private_key",
        Format::PrivateKey,
    ),
    pem(
        "STORAGE_POSTGRES_TLS_CERTIFICATE_CHAIN",
        "storage.postgres.tls.certificate_chain",
        Format::CertificateChain,
    ),
    text("STORAGE_MYSQL_PASSWORD", "storage.mysql.password", GEN),
    pem(
        "STORAGE_MYSQL_TLS_PRIVATE_KEY",
        "storage.mysql.tls.private_key",
        Format::PrivateKey,
    ),
    pem(
        "STORAGE_MYSQL_TLS_CERTIFICATE_CHAIN",
        "storage.mysql.tls.certificate_chain",
        Format::CertificateChain,
    ),
    text("REDIS_PASSWORD", "session.redis.password", GEN),
    text(
        "REDIS_SENTINEL_PASSWORD",
        "session.redis.high_availability.sentinel_password",
        GEN,
    ),
    pem(
        "REDIS_TLS_PRIVATE_KEY",
        "session.redis.tls.private_key",
        Format::PrivateKey,
    ),
    pem(
        "REDIS_TLS_CERTIFICATE_CHAIN",
        "session.redis.tls.certificate_chain",
        Format::CertificateChain,
    ),
    text(
        "LDAP_PASSWORD",
        "authentication_backend.ldap.password",
        Obtain::Provide(PROVIDE_LDAP),
    ),
    pem(
        "LDAP_TLS_PRIVATE_KEY",
        "authentication_backend.ldap.tls.private_key",
        Format::PrivateKey,
    ),
    pem(
        "LDAP_TLS_CERTIFICATE_CHAIN",
        "authentication_backend.ldap.tls.certificate_chain",
        Format::CertificateChain,
    ),
    text(
        "SMTP_PASSWORD",
        "notifier.smtp.password",
        Obtain::Provide(PROVIDE_SMTP),
    ),
    pem(
        "SMTP_TLS_PRIVATE_KEY",
        "notifier.smtp.tls.private_key",
        Format::PrivateKey,
    ),
    pem(
        "SMTP_TLS_CERTIFICATE_CHAIN",
        "notifier.smtp.tls.certificate_chain",
        Format::CertificateChain,
    ),
    text(
        "DUO_INTEGRATION_KEY",
        "duo_api.integration_key",
        Obtain::Provide(PROVIDE_DUO),
    ),
    text(
        "DUO_SECRET_KEY",
        "duo_api.secret_key",
        Obtain::Provide(PROVIDE_DUO),
    ),
    text(
        "OIDC_HMAC_SECRET",
        "identity_providers.oidc.hmac_secret",
        GEN,
    ),
    Entry {
        obtain: Obtain::Generate(Generator::RSA_2048),
        deprecated: Some(JWKS),
        ..pem(
            "OIDC_ISSUER_PRIVATE_KEY",
            "identity_providers.oidc.issuer_private_key",
            Format::PrivateKey,
        )
    },
    Entry {
        deprecated: Some(JWKS),
        ..pem(
            "OIDC_ISSUER_CERTIFICATE_CHAIN",
            "identity_providers.oidc.issuer_certificate_chain",
            Format::CertificateChain,
        )
    },
    Entry {
        deprecated: Some(Deprecation {
            since: AutheliaVersion::V4_37,
            replacement: "storage.postgres.tls.private_key (AUTHELIA_STORAGE_POSTGRES_TLS_PRIVATE_KEY_FILE)",
            config_hint: "rename the key to STORAGE_POSTGRES_TLS_PRIVATE_KEY",
        }),
        // A path (internal/configuration/schema/storage.go: "Path to the Private Key to use"),
        // so it is never generated and never parsed as PEM.
        obtain: Obtain::ProvideOnly(PROVIDE_PATH),
        ..pem(
            "STORAGE_POSTGRES_SSL_KEY",
            "storage.postgres.ssl.key",
            Format::Path,
        )
    },
];

/// The keys a minimal Authelia needs; provided when `spec.secrets` is omitted.
pub const MINIMAL: [&str; 3] = ["JWT_SECRET", "SESSION_SECRET", "STORAGE_ENCRYPTION_KEY"];

/// Looks a Secret key up.
pub fn find(key: &str) -> Option<&'static Entry> {
    CATALOG.iter().find(|e| e.key == key)
}

/// All Secret keys, for suggestions.
pub fn keys() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|e| e.key)
}

impl Entry {
    /// The config key Authelia reads for this secret in `version`.
    pub fn config_key_for(&self, version: AutheliaVersion) -> &'static str {
        match (version, self.config_key_4_37) {
            (AutheliaVersion::V4_37, Some(old)) => old,
            _ => self.config_key,
        }
    }

    /// The `AUTHELIA_..._FILE` variable for this secret in `version`.
    pub fn env_var(&self, version: AutheliaVersion) -> String {
        env_var_for_config_key(self.config_key_for(version))
    }

    /// Why Authelia would refuse `value` for this secret (PEM material is parsed as Authelia
    /// reads it), or `None`. The text never contains the value.
    pub fn problem_with(&self, value: &[u8]) -> Option<String> {
        match self.format {
            Format::Text => None,
            Format::Path => path_problem(value),
            Format::CertificateChain => keys::inspect_certificates(value).err(),
            Format::PrivateKey => match keys::inspect_private_key(value) {
                Err(problem) => Some(problem),
                Ok(KeyKind::Rsa { bits }) if bits < 2048 => Some(format!(
                    "is an RSA {bits}-bit key; Authelia refuses RSA keys under 2048 bits"
                )),
                Ok(KeyKind::Ec(curve)) if self.key == "OIDC_ISSUER_PRIVATE_KEY" => Some(format!(
                    "is an ECDSA {curve} key; Authelia reads the issuer private key as RSA only"
                )),
                Ok(_) => None,
            },
        }
    }

    /// True when Authelia deprecates this secret in `version`.
    pub fn is_deprecated_in(&self, version: AutheliaVersion) -> bool {
        self.deprecated.is_some_and(|d| version >= d.since)
    }

    /// The plain variable (the value itself, not a file) for this secret in `version`.
    pub fn plain_var(&self, version: AutheliaVersion) -> String {
        plain_var_for_config_key(self.config_key_for(version))
    }

    /// Every name, plain and `_FILE`, under which some supported version reads this secret.
    pub fn all_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for v in AutheliaVersion::ALL {
            for n in [self.env_var(v), self.plain_var(v)] {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        names
    }
}

/// The bytes Authelia uses from a secret file: it strips every trailing `\n` (not `\r`, not
/// spaces). Authelia's `loadSecret` in `internal/configuration/helpers.go` returns
/// `strings.TrimRight(string(content), "\n")`, and the storage validator compares `len()` of
/// that string, i.e. bytes.
pub fn as_authelia_reads(value: &[u8]) -> &[u8] {
    let end = value.iter().rposition(|b| *b != b'\n').map_or(0, |i| i + 1);
    &value[..end]
}

/// `AUTHELIA_` + key upper-cased with `.` → `_` (the plain form, without `_FILE`).
pub fn plain_var_for_config_key(config_key: &str) -> String {
    format!("AUTHELIA_{}", config_key.replace('.', "_").to_uppercase())
}

/// Authelia's naming rule: `AUTHELIA_` + key upper-cased, `.` → `_`, + `_FILE`.
pub fn env_var_for_config_key(config_key: &str) -> String {
    format!("{}_FILE", plain_var_for_config_key(config_key))
}

/// Authelia config keys that hold a list or a map: keys inside them (`jwks[].key`,
/// `clients[].client_secret`, `authorization_policies.*.…`) are never read from an env var.
///
/// From Authelia's schema (`internal/configuration/schema/*.go`, 4.38 to 4.39): the fields
/// typed as a slice or a map, whose children `keys.go` lists with `[]` or `.*.`.
pub const LIST_OR_MAP_KEYS: [&str; 16] = [
    "access_control.networks",
    "access_control.rules",
    "authentication_backend.file.extra_attributes",
    "authentication_backend.ldap.attributes.extra",
    "definitions.network",
    "definitions.user_attributes",
    "identity_providers.oidc.authorization_policies",
    "identity_providers.oidc.claims_policies",
    "identity_providers.oidc.clients",
    "identity_providers.oidc.jwks",
    "identity_providers.oidc.lifespans.custom",
    "identity_providers.oidc.scopes",
    "server.endpoints.authz",
    "session.cookies",
    "session.redis.high_availability.nodes",
    "storage.postgres.servers",
];

/// Last-segment endings Authelia reads from a `_FILE` variable (`secretSuffix`,
/// `internal/configuration/const.go`).
const SECRET_SUFFIXES: [&str; 5] = ["key", "secret", "password", "token", "certificate_chain"];
/// Keys that end like a secret but that Authelia never reads from a file (`secretExclusionExact`).
const SECRET_EXCLUDED: [&str; 3] = [
    "server.tls.key",
    "authentication_backend.disable_reset_password",
    "tls_key",
];
/// Prefixes whose keys are never read from a file (`secretExclusionPrefix`).
const SECRET_EXCLUDED_PREFIX: &str = "identity_providers.oidc.lifespans.";

/// Why Authelia would not read `config_key` from a file, or `None` when it would.
///
/// Authelia's rule (`IsSecretKey`, `internal/configuration/helpers.go`): not inside a list
/// (`[]`) or a map (`.*.`), not excluded (`server.tls.key`, a path; `disable_reset_password`;
/// `identity_providers.oidc.lifespans.*`), and the key ends in `key`, `secret`, `password`,
/// `token` or `certificate_chain`.
pub fn config_key_problem(config_key: &str) -> Option<String> {
    const TEMPLATE_HINT: &str = "use mountOnly: true and read the file in Authelia's \
         configuration through the template filter, {{ secret \"<mountPath>/<KEY>\" | mindent 10 \"|\" | msquote }} \
         (it needs X_AUTHELIA_CONFIG_FILTERS=template)";
    if config_key.contains("[]") || config_key.contains('*') {
        return Some(format!(
            "keys inside lists or maps cannot be set through an env var; {TEMPLATE_HINT}"
        ));
    }
    let valid_chars = config_key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if config_key.is_empty() || !valid_chars || config_key.split('.').any(str::is_empty) {
        return Some(
            "must be a dotted Authelia config key in lower case, e.g. notifier.smtp.password"
                .into(),
        );
    }
    if let Some(container) = LIST_OR_MAP_KEYS
        .iter()
        .find(|c| config_key.starts_with(&format!("{c}.")))
    {
        return Some(format!(
            "{container} is a list or map in Authelia's configuration, and keys inside it cannot \
             be set through an env var; {TEMPLATE_HINT}"
        ));
    }
    if config_key == "server.tls.key" {
        return Some(
            "server.tls.key holds a path, not a secret; mount the file with mountOnly".into(),
        );
    }
    if SECRET_EXCLUDED.contains(&config_key) || config_key.starts_with(SECRET_EXCLUDED_PREFIX) {
        return Some(format!(
            "Authelia never reads {config_key} from a file; use mountOnly: true to only mount it"
        ));
    }
    let last = config_key.rsplit('.').next().unwrap_or(config_key);
    if !SECRET_SUFFIXES.iter().any(|s| last.ends_with(s)) {
        return Some(format!(
            "Authelia reads a key from a file only when its last part ends in {}; \
             use mountOnly: true to mount the file without an env var",
            SECRET_SUFFIXES.join(", ")
        ));
    }
    None
}

/// Why a value that Authelia reads as a path is not one, or `None`.
fn path_problem(value: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(value);
    if text.contains("-----BEGIN") {
        return Some(
            "is PEM text, but Authelia reads it as the path of a key file: mount the key with \
             mountOnly and put its path here, or give the key itself as \
             STORAGE_POSTGRES_TLS_PRIVATE_KEY (storage.postgres.tls.private_key)"
                .into(),
        );
    }
    if text.contains('\n') {
        return Some("spans several lines; Authelia reads it as one file path".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_22_current_and_4_deprecated_names() {
        let v = AutheliaVersion::V4_39;
        let mut names: Vec<String> = CATALOG.iter().map(|e| e.env_var(v)).collect();
        names.push(find("JWT_SECRET").unwrap().env_var(AutheliaVersion::V4_37));
        let deprecated = CATALOG.iter().filter(|e| e.is_deprecated_in(v)).count() + 1;
        assert_eq!(names.len() - deprecated, 22);
        assert_eq!(deprecated, 4);
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn env_names_follow_authelia_rule() {
        let jwt = find("JWT_SECRET").unwrap();
        assert_eq!(
            jwt.env_var(AutheliaVersion::V4_37),
            "AUTHELIA_JWT_SECRET_FILE"
        );
        assert_eq!(
            jwt.env_var(AutheliaVersion::V4_38),
            "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE"
        );
        assert_eq!(
            find("REDIS_SENTINEL_PASSWORD")
                .unwrap()
                .env_var(AutheliaVersion::V4_39),
            "AUTHELIA_SESSION_REDIS_HIGH_AVAILABILITY_SENTINEL_PASSWORD_FILE"
        );
        assert_eq!(
            find("STORAGE_PASSWORD")
                .unwrap()
                .env_var(AutheliaVersion::V4_39),
            "AUTHELIA_STORAGE_POSTGRES_PASSWORD_FILE"
        );
    }

    #[test]
    fn versions_parse() {
        assert_eq!(AutheliaVersion::parse("4.39"), Some(AutheliaVersion::V4_39));
        assert_eq!(
            AutheliaVersion::parse("v4.38.0"),
            Some(AutheliaVersion::V4_38)
        );
        assert_eq!(
            AutheliaVersion::parse("4.37.5"),
            Some(AutheliaVersion::V4_37)
        );
        assert_eq!(AutheliaVersion::parse("4.40"), None);
        assert_eq!(AutheliaVersion::parse("4.3"), None);
        assert_eq!(AutheliaVersion::parse("4.39.x"), None);
    }

    #[test]
    fn authelia_strips_every_trailing_newline_only() {
        assert_eq!(as_authelia_reads(b"abc\n\n"), b"abc");
        assert_eq!(as_authelia_reads(b"abc\r\n"), b"abc\r");
        assert_eq!(as_authelia_reads(b"abc \n"), b"abc ");
        assert_eq!(as_authelia_reads(b"\n\n"), b"");
        assert_eq!(as_authelia_reads(b"a\nb"), b"a\nb");
    }

    #[test]
    fn all_names_hold_both_forms_of_every_version() {
        let jwt = find("JWT_SECRET").unwrap();
        let names = jwt.all_names();
        for n in [
            "AUTHELIA_JWT_SECRET_FILE",
            "AUTHELIA_JWT_SECRET",
            "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE",
            "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET",
        ] {
            assert!(names.contains(&n.to_string()), "{n}");
        }
        assert_eq!(names.len(), 4);
    }

    #[test]
    fn config_key_rule() {
        assert!(config_key_problem("notifier.smtp.password").is_none());
        assert!(config_key_problem("server.tls.key").is_some());
        assert!(config_key_problem("session.name").is_some());
        assert!(config_key_problem("Session.Secret").is_some());
        for inside in [
            "identity_providers.oidc.jwks.key",
            "identity_providers.oidc.clients.client_secret",
            "identity_providers.oidc.jwks[].key",
            "storage.postgres.servers.tls.private_key",
            "identity_providers.oidc.lifespans.custom.x.token",
        ] {
            let problem = config_key_problem(inside).expect(inside);
            assert!(problem.contains("mountOnly"), "{inside}: {problem}");
        }
        assert!(config_key_problem("authentication_backend.disable_reset_password").is_some());
        assert!(config_key_problem("identity_providers.oidc.lifespans.refresh_token").is_some());
    }

    #[test]
    fn every_catalog_key_passes_the_config_key_rule() {
        for e in CATALOG {
            assert_eq!(config_key_problem(e.config_key), None, "{}", e.key);
        }
    }

    #[test]
    fn the_postgres_ssl_key_is_a_path_that_is_never_generated() {
        let e = find("STORAGE_POSTGRES_SSL_KEY").unwrap();
        assert!(matches!(e.obtain, Obtain::ProvideOnly(_)));
        assert_eq!(e.problem_with(b"/certs/postgres.key"), None);
        assert!(
            e.problem_with(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_some()
        );
    }
}
