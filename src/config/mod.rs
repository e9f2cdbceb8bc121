//! Our own config object, `AutheliaSecrets`: the typed model and its defaults.
//!
//! Loading is decode → default → validate (see [`decode`]); every problem is reported at
//! once as a result with its field path.

mod check;
mod configmap;
mod decode;

pub(crate) use check::CHECK_SPEC_FIELDS;
pub use check::load_check;
pub use decode::load;
pub(crate) use decode::{MAX_LENGTH, SECRET_FIELDS, SPEC_FIELDS, WORKLOAD_FIELDS};

use crate::catalog::{AutheliaVersion, Entry, Generator};

/// The apiVersion of our config kinds.
pub const API_VERSION: &str = "authelia-secrets.dev/v1alpha1";
/// The generating kind.
pub const KIND: &str = "AutheliaSecrets";
/// The validating kind.
pub const CHECK_KIND: &str = "AutheliaSecretsCheck";
/// Default mount path of the secret volume.
pub const DEFAULT_MOUNT_PATH: &str = "/app/secrets";
/// Default name of the volume we add to pods.
pub const DEFAULT_VOLUME_NAME: &str = "authelia-secrets";
/// Default container to patch.
pub const DEFAULT_CONTAINER: &str = "authelia";
/// Environment variable holding the master seed when `spec.seed` is not set.
pub const DEFAULT_SEED_ENV: &str = "AUTHELIA_SECRETS_SEED";

/// How pods learn that the Secret changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// A SHA-256 of the Secret's data in a pod-template annotation.
    Checksum,
    /// The Secret is named `<name>-<hash>` as kustomize's secretGenerator does.
    HashSuffix,
    /// Nothing.
    None,
}

impl Rollout {
    /// All values with their config spelling.
    pub const ALL: [(Rollout, &'static str); 3] = [
        (Rollout::Checksum, "checksum"),
        (Rollout::HashSuffix, "hashSuffix"),
        (Rollout::None, "none"),
    ];
}

/// Where the master seed comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedSource {
    /// `AUTHELIA_SECRETS_SEED` when set; otherwise no seed.
    Default,
    /// `spec.seed.env`: this variable must be set.
    Env(String),
    /// `spec.seed.file`: this file must exist.
    File(String),
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Made by us (derived from the seed, or random).
    Generate(Generator),
    /// Read from a file relative to the kustomization/package root.
    FromFile(String),
    /// Read from an environment variable.
    FromEnv(String),
    /// Written in the config (a literal in Git).
    Literal(String),
}

/// One key of the emitted Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    /// The Secret key and file name.
    pub key: String,
    /// How the value is obtained.
    pub source: Source,
    /// Bumping this replaces a generated value.
    pub rotation: u64,
    /// The env var pointing at the file; `None` for `mountOnly`.
    pub env_var: Option<String>,
    /// The catalog entry, for known keys.
    pub entry: Option<&'static Entry>,
    /// Field path of this entry in the config, for results.
    pub field: String,
}

/// Which workloads to patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadSelector {
    pub kind: Option<String>,
    pub name: String,
    pub namespace: Option<String>,
    pub container: String,
    pub init_containers: Vec<String>,
    /// Field path of this entry, for results.
    pub field: String,
}

/// A loaded, defaulted and validated `AutheliaSecrets`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The config object as given (for resourceRef and file in results).
    pub origin: serde_json::Value,
    pub namespace: Option<String>,
    /// The version in force: declared, else detected from the targets' images, else the default.
    /// The env var names in `secrets` follow it (see [`Config::with_version`]).
    pub version: AutheliaVersion,
    /// `spec.autheliaVersion` as written; `None` lets the targets' image tags decide.
    pub version_declared: Option<AutheliaVersion>,
    pub secret_name: String,
    pub mount_path: String,
    pub volume_name: String,
    pub seed: SeedSource,
    /// `None`: every workload with a container named `authelia`.
    pub workloads: Option<Vec<WorkloadSelector>>,
    pub rollout: Rollout,
    /// Sorted by key.
    pub secrets: Vec<SecretSpec>,
    pub allow_files_outside_root: bool,
}

impl Config {
    /// The same config for Authelia `version`: catalog secrets get that version's env var names.
    pub fn with_version(&self, version: AutheliaVersion) -> Config {
        let mut out = self.clone();
        out.version = version;
        for s in &mut out.secrets {
            if let (Some(entry), Some(_)) = (s.entry, &s.env_var) {
                s.env_var = Some(entry.env_var(version));
            }
        }
        out
    }
}

/// Secrets that would set the same env var: `(field of the later one, message)`.
pub(crate) fn duplicate_env_vars(secrets: &[SecretSpec]) -> Vec<(String, String)> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut out: Vec<(String, String)> = Vec::new();
    for s in secrets {
        if let Some(env) = &s.env_var {
            if let Some((other, _)) = seen.iter().find(|(_, e)| *e == env.as_str()) {
                let msg = format!("{} and {other} both set {env}", s.key);
                if !out.iter().any(|(_, m)| *m == msg) {
                    out.push((s.field.clone(), msg));
                }
            }
            seen.push((&s.key, env));
        }
    }
    out
}

/// Workload kinds we patch, with the path from the object to its pod template.
pub const WORKLOAD_KINDS: [(&str, &[&str]); 7] = [
    ("Deployment", &["spec", "template"]),
    ("StatefulSet", &["spec", "template"]),
    ("DaemonSet", &["spec", "template"]),
    ("ReplicaSet", &["spec", "template"]),
    ("Job", &["spec", "template"]),
    ("CronJob", &["spec", "jobTemplate", "spec", "template"]),
    ("Pod", &[]),
];

/// A loaded `AutheliaSecretsCheck`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// The config object (for results).
    pub origin: serde_json::Value,
    /// The declared Authelia version; `None`: detect it from each container's image tag.
    pub version: Option<AutheliaVersion>,
    /// `AUTHELIA_*` names to accept although the catalog does not know them.
    pub allow_variables: Vec<String>,
    /// `Some` for the self-check of an `AutheliaSecrets` run: the variables it wrote (a
    /// deprecation of theirs was reported at the config, where it has to be fixed), and image
    /// tags were already compared with the version in force.
    pub own_variables: Option<Vec<String>>,
}
