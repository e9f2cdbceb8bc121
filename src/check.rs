//! `AutheliaSecretsCheck`: finds wiring mistakes in manifests; changes nothing.
//!
//! For every container that runs Authelia (named `authelia`, or an `authelia/authelia` image) it
//! checks the `AUTHELIA_*_FILE` variables against the catalog, follows each file to its mount,
//! volume and Secret key, and checks the Secret's values when the Secret is in the list.

use crate::catalog::{self, AutheliaVersion, CATALOG, Entry};
use crate::config::{CheckConfig, DEFAULT_CONTAINER};
use crate::resource;
use crate::result::KrmResult;
use crate::suggest;
use crate::workloads::template_path;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use std::collections::BTreeSet;

/// Image repositories of Authelia.
const IMAGES: [&str; 3] = [
    "authelia/authelia",
    "docker.io/authelia/authelia",
    "ghcr.io/authelia/authelia",
];

/// What Authelia makes of an `AUTHELIA_*_FILE` name in one version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Known {
    Current(&'static Entry),
    Deprecated(&'static Entry, String),
    /// Read by other versions only; the string is the name this version reads.
    OtherVersion(&'static Entry, String),
    Unknown,
}

fn classify(name: &str, version: AutheliaVersion) -> Known {
    for entry in CATALOG {
        if entry.env_var(version) == name {
            return match entry.deprecated {
                Some((since, replacement)) if version >= since => Known::Deprecated(
                    entry,
                    format!("deprecated since Authelia {since}; use {replacement}"),
                ),
                _ => Known::Current(entry),
            };
        }
    }
    for entry in CATALOG {
        for other in AutheliaVersion::ALL {
            if entry.env_var(other) == name {
                let now = entry.env_var(version);
                // The 4.37 spelling is still read, with a warning, by later versions.
                if other < version && entry.config_key_4_37.is_some() {
                    return Known::Deprecated(
                        entry,
                        format!("deprecated since Authelia 4.38; use {now}"),
                    );
                }
                return Known::OtherVersion(entry, now);
            }
        }
    }
    Known::Unknown
}

fn known_names(version: AutheliaVersion) -> Vec<String> {
    CATALOG.iter().map(|e| e.env_var(version)).collect()
}

/// True for containers that run Authelia.
pub fn runs_authelia(container: &Value) -> bool {
    container.get("name").and_then(Value::as_str) == Some(DEFAULT_CONTAINER)
        || image_repository(container).is_some_and(|r| IMAGES.contains(&r))
}

fn image_repository(container: &Value) -> Option<&str> {
    let image = container.get("image")?.as_str()?;
    let without_digest = image.split('@').next().unwrap_or(image);
    // A tag follows the last ':' after the last '/'.
    let slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    Some(match without_digest[slash..].find(':') {
        Some(i) => &without_digest[..slash + i],
        None => without_digest,
    })
}

fn image_version(container: &Value) -> Option<AutheliaVersion> {
    let image = container.get("image")?.as_str()?;
    let repo = image_repository(container)?;
    let tag = image.strip_prefix(repo)?.strip_prefix(':')?;
    AutheliaVersion::parse(tag.split('@').next().unwrap_or(tag))
}

/// Runs every check over the items; `only`: restrict to these item indexes (self-check).
pub fn run(items: &[Value], config: &CheckConfig, only: Option<&[usize]>) -> Vec<KrmResult> {
    let mut checker = Checker {
        items,
        config,
        results: Vec::new(),
        checked_values: BTreeSet::new(),
    };
    for (index, item) in items.iter().enumerate() {
        if only.is_some_and(|o| !o.contains(&index)) {
            continue;
        }
        checker.workload(item);
    }
    checker.results
}

struct Checker<'a> {
    items: &'a [Value],
    config: &'a CheckConfig,
    results: Vec<KrmResult>,
    /// (namespace, Secret, key) already checked.
    checked_values: BTreeSet<(String, String, String)>,
}

/// One `AUTHELIA_*_FILE` variable of a container, with where it sits.
struct FileVar<'a, 's> {
    item: &'a Value,
    pod: &'a Value,
    container: &'a Value,
    /// Field path of the container.
    c_path: &'s str,
    /// Field path of the variable.
    field: &'s str,
    name: &'s str,
    /// The file it points at.
    path: &'s str,
}

/// Where a `_FILE` path leads: the volume and, for Secret volumes, the Secret key.
struct Resolved<'a> {
    volume: &'a Value,
    /// The Secret key the file holds (for Secret volumes), or the file name.
    key: Option<String>,
}

impl<'a> Checker<'a> {
    fn error(&mut self, item: &Value, path: String, message: String) {
        self.results
            .push(KrmResult::error(message).on(item).at(path));
    }

    fn warning(&mut self, item: &Value, path: String, message: String) {
        self.results
            .push(KrmResult::warning(message).on(item).at(path));
    }

    fn workload(&mut self, item: &'a Value) {
        let Some(steps) = template_path(resource::kind(item)) else {
            return;
        };
        let mut node = item;
        for step in steps {
            match node.get(*step) {
                Some(n) => node = n,
                None => return,
            }
        }
        let Some(spec) = node.get("spec") else {
            return;
        };
        let prefix = if steps.is_empty() {
            "spec".to_string()
        } else {
            format!("{}.spec", steps.join("."))
        };
        let mut runs = false;
        for list in ["containers", "initContainers"] {
            let Some(containers) = spec.get(list).and_then(Value::as_array) else {
                continue;
            };
            for c in containers {
                if list == "containers" && runs_authelia(c)
                    || list == "initContainers"
                        && image_repository(c).is_some_and(|r| IMAGES.contains(&r))
                {
                    runs = true;
                    let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                    let path = format!("{prefix}.{list}[name={name}]");
                    self.container(item, spec, c, &path);
                }
            }
        }
        if runs {
            self.service_links(item, spec, &prefix);
        }
    }

    fn version_for(&self, container: &Value) -> AutheliaVersion {
        self.config
            .version
            .or_else(|| image_version(container))
            .unwrap_or(AutheliaVersion::DEFAULT)
    }

    fn container(&mut self, item: &'a Value, pod: &'a Value, container: &'a Value, c_path: &str) {
        let version = self.version_for(container);
        let env: Vec<&Value> = container
            .get("env")
            .and_then(Value::as_array)
            .map(|e| e.iter().collect())
            .unwrap_or_default();
        let names: Vec<&str> = env
            .iter()
            .filter_map(|e| e.get("name").and_then(Value::as_str))
            .collect();
        for var in &env {
            let Some(name) = var.get("name").and_then(Value::as_str) else {
                continue;
            };
            let field = format!("{c_path}.env[name={name}]");
            if !(name.starts_with("AUTHELIA_") && name.ends_with("_FILE")) {
                continue;
            }
            if let Some(plain) = name.strip_suffix("_FILE")
                && names.contains(&plain)
            {
                self.error(
                    item,
                    format!("{c_path}.env[name={plain}]"),
                    format!("{plain} and {name} are both set; Authelia refuses a value defined twice: keep one"),
                );
            }
            let entry = match classify(name, version) {
                Known::Current(e) => Some(e),
                Known::Deprecated(e, why) => {
                    self.warning(item, field.clone(), format!("{name} is {why}"));
                    Some(e)
                }
                Known::OtherVersion(e, now) => {
                    self.error(
                        item,
                        field.clone(),
                        format!("Authelia {version} does not read {name}; use {now}"),
                    );
                    Some(e)
                }
                Known::Unknown => {
                    if !self.config.allow_variables.iter().any(|a| a == name) {
                        let known = known_names(version);
                        let hint = suggest::did_you_mean(name, known.iter().map(String::as_str));
                        self.error(
                            item,
                            field.clone(),
                            format!(
                                "Authelia {version} does not know {name}, so the secret it should set stays unset{hint}"
                            ),
                        );
                    }
                    None
                }
            };
            let Some(path) = var.get("value").and_then(Value::as_str) else {
                continue;
            };
            let var = FileVar {
                item,
                pod,
                container,
                c_path,
                field: &field,
                name,
                path,
            };
            self.file(&var, entry);
        }
    }

    fn file(&mut self, var: &FileVar<'a, '_>, entry: Option<&'static Entry>) {
        let Some(resolved) = self.resolve(var) else {
            return;
        };
        let Some(key) = resolved.key.clone() else {
            return;
        };
        let (item, field, name, path) = (var.item, var.field, var.name, var.path);
        if let (Some(e), Some(other)) = (entry, catalog::find(&key))
            && other.key != e.key
        {
            self.error(
                item,
                format!("{field}.value"),
                format!(
                    "{name} points at {path}, which holds {} ({}); {} belongs in its own file",
                    other.key, other.config_key, e.config_key
                ),
            );
        }
        if let Some(secret_name) = resolved
            .volume
            .pointer("/secret/secretName")
            .and_then(Value::as_str)
        {
            self.secret_value(
                item,
                secret_name,
                &key,
                entry.or_else(|| catalog::find(&key)),
                field,
            );
        }
    }

    /// Follows a `_FILE` path to its mount and volume; reports files that will not exist.
    fn resolve(&mut self, var: &FileVar<'a, '_>) -> Option<Resolved<'a>> {
        let (item, pod, container, c_path, field, name, path) = (
            var.item,
            var.pod,
            var.container,
            var.c_path,
            var.field,
            var.name,
            var.path,
        );
        let mounts = container.get("volumeMounts").and_then(Value::as_array);
        let covering = mounts
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let mp = m.get("mountPath")?.as_str()?.trim_end_matches('/');
                let rel = if path == mp {
                    Some(String::new())
                } else {
                    path.strip_prefix(mp)?.strip_prefix('/').map(str::to_string)
                }?;
                Some((mp.len(), m, rel))
            })
            .max_by_key(|(len, _, _)| *len);
        let Some((_, mount, rel)) = covering else {
            self.error(
                item,
                format!("{field}.value"),
                format!("{name} points at {path}, but no volumeMount of this container covers it: the file will not exist"),
            );
            return None;
        };
        let vol_name = mount.get("name").and_then(Value::as_str).unwrap_or("");
        let volume = pod.get("volumes").and_then(Value::as_array).and_then(|vs| {
            vs.iter()
                .find(|v| v.get("name").and_then(Value::as_str) == Some(vol_name))
        });
        let Some(volume) = volume else {
            self.error(
                item,
                format!("{c_path}.volumeMounts[name={vol_name}]"),
                format!("mounts volume {vol_name:?}, which the pod does not define"),
            );
            return None;
        };
        // With subPath the mount is the file (or directory) named by subPath inside the volume.
        let rel = match mount.get("subPath").and_then(Value::as_str) {
            Some(sub) if rel.is_empty() => sub.to_string(),
            Some(sub) => format!("{sub}/{rel}"),
            None => rel,
        };
        let Some(secret) = volume.get("secret") else {
            let file = rel.rsplit('/').next().unwrap_or(&rel).to_string();
            return Some(Resolved {
                volume,
                key: (!file.is_empty()).then_some(file),
            });
        };
        let key = match secret.get("items").and_then(Value::as_array) {
            Some(list) => {
                let hit = list
                    .iter()
                    .find(|i| i.get("path").and_then(Value::as_str) == Some(rel.as_str()));
                match hit.and_then(|i| i.get("key")).and_then(Value::as_str) {
                    Some(k) => k.to_string(),
                    None => {
                        self.error(
                            item,
                            format!("{field}.value"),
                            format!(
                                "{name} points at {path}, but the items of Secret volume {vol_name:?} do not include {rel:?}: the file will not exist"
                            ),
                        );
                        return None;
                    }
                }
            }
            None => rel,
        };
        Some(Resolved {
            volume,
            key: Some(key),
        })
    }

    /// Checks a Secret's value when the Secret is in the list.
    fn secret_value(
        &mut self,
        workload: &'a Value,
        secret_name: &str,
        key: &str,
        entry: Option<&'static Entry>,
        field: &str,
    ) {
        let ns = resource::namespace(workload).to_string();
        let secret = self.items.iter().find(|i| {
            resource::kind(i) == "Secret"
                && resource::api_version(i) == "v1"
                && resource::name(i) == secret_name
                && resource::namespace(i) == ns
        });
        let Some(secret) = secret else {
            return;
        };
        if !self
            .checked_values
            .insert((ns.clone(), secret_name.to_string(), key.to_string()))
        {
            return;
        }
        let value = match (
            secret
                .get("stringData")
                .and_then(|d| d.get(key))
                .and_then(Value::as_str),
            secret
                .get("data")
                .and_then(|d| d.get(key))
                .and_then(Value::as_str),
        ) {
            (Some(s), _) => s.as_bytes().to_vec(),
            (None, Some(encoded)) => match STANDARD.decode(encoded.trim()) {
                Ok(v) => v,
                Err(_) => {
                    self.error(
                        secret,
                        format!("data.{key}"),
                        format!("{key} is not valid base64, so the Secret cannot be applied"),
                    );
                    return;
                }
            },
            (None, None) => {
                self.error(
                    workload,
                    format!("{field}.value"),
                    format!("Secret {secret_name:?} has no key {key:?}: the file will not exist"),
                );
                return;
            }
        };
        let Some(entry) = entry else {
            return;
        };
        let at = if secret.get("stringData").and_then(|d| d.get(key)).is_some() {
            format!("stringData.{key}")
        } else {
            format!("data.{key}")
        };
        if entry.min_length > 0 && value.len() < entry.min_length {
            self.error(
                secret,
                at.clone(),
                format!(
                    "{key} has {} characters; Authelia requires {} to be at least {}",
                    value.len(),
                    entry.config_key,
                    entry.min_length
                ),
            );
        }
        let problem = entry.problem_with(&value);
        if let Some(p) = problem {
            self.error(secret, at, format!("{key} {p}"));
        }
    }

    fn service_links(&mut self, item: &Value, pod: &Value, prefix: &str) {
        if pod.get("enableServiceLinks").and_then(Value::as_bool) == Some(false) {
            return;
        }
        let ns = resource::namespace(item);
        let service = self.items.iter().any(|i| {
            resource::kind(i) == "Service"
                && resource::name(i) == "authelia"
                && resource::namespace(i) == ns
        });
        if service {
            self.error(
                item,
                format!("{prefix}.enableServiceLinks"),
                "service links are enabled and a Service named authelia is in the same namespace: Kubernetes injects \
                 AUTHELIA_PORT and similar variables, which Authelia reads as configuration and fails; set enableServiceLinks: false"
                    .to_string(),
            );
        }
    }
}
