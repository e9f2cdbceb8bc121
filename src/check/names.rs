//! What Authelia makes of an `AUTHELIA_*` name in one version, from the catalog.
//!
//! A name has two forms: `AUTHELIA_X` carries the value, `AUTHELIA_X_FILE` the path of a file
//! holding it. Both are matched against every catalog entry in every supported version.

use crate::catalog::{AutheliaVersion, CATALOG, Deprecation, Entry};
use crate::suggest;

/// Largest edit distance at which an unknown plain `AUTHELIA_*` name counts as a typo of a
/// known one. Authelia reads hundreds of plain variables the catalog does not list (it lists
/// secrets only), so a plain name is reported only when it is this close to a secret's name.
pub const PLAIN_TYPO_DISTANCE: usize = 2;

/// The two forms of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `AUTHELIA_X_FILE`: a file path.
    File,
    /// `AUTHELIA_X`: the value itself.
    Plain,
}

impl Form {
    /// The form of `name`.
    pub fn of(name: &str) -> Form {
        if name.ends_with("_FILE") {
            Form::File
        } else {
            Form::Plain
        }
    }

    /// The name of `entry` in this form for `version`.
    pub fn name(self, entry: &Entry, version: AutheliaVersion) -> String {
        match self {
            Form::File => entry.env_var(version),
            Form::Plain => entry.plain_var(version),
        }
    }
}

/// What a name means to one Authelia version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// The name this version reads for the secret.
    Current(&'static Entry),
    /// The name this version reads, of a secret it deprecates.
    DeprecatedSecret(&'static Entry, Deprecation),
    /// An older name this version still reads, with a warning; the string is the current name.
    OldName(&'static Entry, String),
    /// A name only other versions read; the string is the name this version reads.
    OtherVersion(&'static Entry, String),
    /// Not a name of a catalog secret.
    Unknown,
}

impl Known {
    /// The catalog entry, for known names.
    pub fn entry(&self) -> Option<&'static Entry> {
        match self {
            Known::Current(e)
            | Known::DeprecatedSecret(e, _)
            | Known::OldName(e, _)
            | Known::OtherVersion(e, _) => Some(e),
            Known::Unknown => None,
        }
    }
}

/// Classifies `name` for `version`.
pub fn classify(name: &str, version: AutheliaVersion) -> Known {
    let form = Form::of(name);
    for entry in CATALOG {
        if form.name(entry, version) == name {
            return match entry.deprecated {
                Some(d) if version >= d.since => Known::DeprecatedSecret(entry, d),
                _ => Known::Current(entry),
            };
        }
    }
    for entry in CATALOG {
        for other in AutheliaVersion::ALL {
            if form.name(entry, other) == name {
                let now = form.name(entry, version);
                // Authelia 4.38+ maps the 4.37 spelling to the new key, with a warning.
                if other < version && entry.config_key_4_37.is_some() {
                    return Known::OldName(entry, now);
                }
                return Known::OtherVersion(entry, now);
            }
        }
    }
    Known::Unknown
}

/// The closest known name for an unknown `name`: among the `_FILE` names of `version` for a
/// `_FILE` name (loosely), among both forms and only within [`PLAIN_TYPO_DISTANCE`] for a
/// plain one.
pub fn suggestion(name: &str, version: AutheliaVersion) -> Option<String> {
    match Form::of(name) {
        Form::File => {
            let known: Vec<String> = CATALOG.iter().map(|e| e.env_var(version)).collect();
            suggest::closest(name, known.iter().map(String::as_str)).map(str::to_string)
        }
        Form::Plain => {
            let known: Vec<String> = CATALOG
                .iter()
                .flat_map(|e| [e.plain_var(version), e.env_var(version)])
                .collect();
            suggest::closest_within(name, known.iter().map(String::as_str), PLAIN_TYPO_DISTANCE)
                .map(str::to_string)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AutheliaVersion::*;

    #[test]
    fn both_forms_are_classified() {
        assert!(matches!(
            classify("AUTHELIA_SESSION_SECRET", V4_39),
            Known::Current(e) if e.key == "SESSION_SECRET"
        ));
        assert!(matches!(
            classify("AUTHELIA_JWT_SECRET", V4_39),
            Known::OldName(_, now) if now == "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET"
        ));
        assert!(matches!(
            classify("AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE", V4_37),
            Known::OtherVersion(_, now) if now == "AUTHELIA_JWT_SECRET_FILE"
        ));
        assert!(matches!(
            classify(
                "AUTHELIA_IDENTITY_PROVIDERS_OIDC_ISSUER_PRIVATE_KEY_FILE",
                V4_39
            ),
            Known::DeprecatedSecret(..)
        ));
        assert_eq!(classify("AUTHELIA_LOG_LEVEL", V4_39), Known::Unknown);
    }

    #[test]
    fn plain_names_are_suggested_only_when_very_close() {
        assert_eq!(
            suggestion("AUTHELIA_SESION_SECRET", V4_39).as_deref(),
            Some("AUTHELIA_SESSION_SECRET")
        );
        // Real Authelia options that merely look alike are left alone.
        for name in [
            "AUTHELIA_SESSION_DOMAIN",
            "AUTHELIA_SESSION_NAME",
            "AUTHELIA_NOTIFIER_SMTP_USERNAME",
            "AUTHELIA_SESSION_REDIS_PORT",
            "AUTHELIA_STORAGE_POSTGRES_DATABASE",
            "AUTHELIA_DUO_API_HOSTNAME",
            "AUTHELIA_TOTP_SECRET_SIZE",
            "AUTHELIA_SERVER_TLS_KEY",
            "AUTHELIA_LOG_LEVEL",
        ] {
            assert_eq!(suggestion(name, V4_39), None, "{name}");
        }
    }
}
