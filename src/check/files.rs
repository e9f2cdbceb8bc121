//! Following an `AUTHELIA_*_FILE` path: the mount that covers it, the volume behind the mount
//! (a Secret, a projected volume or anything else), the Secret key it holds, and that key's
//! value when the Secret is in the list.

use super::Checker;
use crate::catalog::{self, Entry};
use crate::resource;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// One `AUTHELIA_*_FILE` variable of a container, with where it sits.
pub(super) struct FileVar<'a, 's> {
    pub item: &'a Value,
    pub pod: &'a Value,
    pub container: &'a Value,
    /// Field path of the container.
    pub c_path: &'s str,
    /// Field path of the variable.
    pub field: &'s str,
    pub name: &'s str,
    /// The file it points at, after `$(VAR)` expansion.
    pub path: &'s str,
}

/// Where a `_FILE` path leads.
struct Resolved {
    /// The Secret the file comes from, when it comes from one.
    secret: Option<String>,
    /// The Secret key the file holds, or the file name for other volumes.
    key: Option<String>,
}

/// The item key whose `path` is `rel` in a `key`/`path` items list.
fn item_for<'v>(items: &'v [Value], rel: &str) -> Option<&'v str> {
    items
        .iter()
        .find(|i| i.get("path").and_then(Value::as_str) == Some(rel))
        .and_then(|i| i.get("key").and_then(Value::as_str))
}

fn file_name(rel: &str) -> Option<String> {
    let f = rel.rsplit('/').next().unwrap_or(rel);
    (!f.is_empty()).then(|| f.to_string())
}

fn has_key(secret: &Value, key: &str) -> bool {
    ["data", "stringData"]
        .iter()
        .any(|d| secret.get(*d).and_then(|m| m.get(key)).is_some())
}

impl<'a> Checker<'a> {
    /// Checks where a `_FILE` variable points and, through it, the Secret's value.
    pub(super) fn file(&mut self, var: &FileVar<'a, '_>, entry: Option<&'static Entry>) {
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
        if let Some(secret_name) = &resolved.secret {
            self.secret_value(
                item,
                secret_name,
                &key,
                entry.or_else(|| catalog::find(&key)),
                field,
            );
        }
    }

    /// The Secret `name` in the workload's namespace, when it is in the list.
    fn find_secret(&self, workload: &Value, name: &str) -> Option<&'a Value> {
        let ns = resource::namespace(workload);
        self.items.iter().find(|i| {
            resource::kind(i) == "Secret"
                && resource::api_version(i) == "v1"
                && resource::name(i) == name
                && resource::namespace(i) == ns
        })
    }

    /// Follows a `_FILE` path to its mount and volume; reports files that will not exist.
    fn resolve(&mut self, var: &FileVar<'a, '_>) -> Option<Resolved> {
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
        if let Some(secret) = volume.get("secret") {
            let secret_name = secret
                .get("secretName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let key = match secret.get("items").and_then(Value::as_array) {
                Some(list) => match item_for(list, &rel) {
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
                },
                None => rel,
            };
            return Some(Resolved {
                secret: Some(secret_name),
                key: Some(key),
            });
        }
        if let Some(projected) = volume.get("projected") {
            return self.projected(var, vol_name, projected, &rel);
        }
        Some(Resolved {
            secret: None,
            key: file_name(&rel),
        })
    }

    /// Which source of a projected volume provides file `rel`. `None` when none does (an
    /// error) or when that cannot be told from the list (a source not in it).
    fn projected(
        &mut self,
        var: &FileVar<'a, '_>,
        vol_name: &str,
        projected: &Value,
        rel: &str,
    ) -> Option<Resolved> {
        let sources = projected
            .get("sources")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut unknowable = false;
        let mut lacking = Vec::new();
        for source in sources {
            if let Some(s) = source.get("secret") {
                let secret_name = s.get("name").and_then(Value::as_str).unwrap_or("");
                match s.get("items").and_then(Value::as_array) {
                    Some(list) => {
                        if let Some(key) = item_for(list, rel) {
                            return Some(Resolved {
                                secret: Some(secret_name.to_string()),
                                key: Some(key.to_string()),
                            });
                        }
                    }
                    None => match self.find_secret(var.item, secret_name) {
                        Some(secret) if has_key(secret, rel) => {
                            return Some(Resolved {
                                secret: Some(secret_name.to_string()),
                                key: Some(rel.to_string()),
                            });
                        }
                        Some(_) => {
                            lacking.push(format!("Secret {secret_name:?} has no key {rel:?}"))
                        }
                        None => unknowable = true,
                    },
                }
                continue;
            }
            // Other sources (configMap, downwardAPI, serviceAccountToken, ...): a file we do not
            // check, found by its path; without an items list we cannot tell what they hold.
            let provides = source.as_object().into_iter().flatten().any(|(_, s)| {
                s.get("path").and_then(Value::as_str) == Some(rel)
                    || s.get("items").and_then(Value::as_array).is_some_and(|l| {
                        l.iter()
                            .any(|i| i.get("path").and_then(Value::as_str) == Some(rel))
                    })
            });
            if provides {
                return Some(Resolved {
                    secret: None,
                    key: file_name(rel),
                });
            }
            let listed = source
                .as_object()
                .into_iter()
                .flatten()
                .any(|(_, s)| s.get("items").is_some() || s.get("path").is_some());
            if !listed {
                unknowable = true;
            }
        }
        if !unknowable {
            let detail = if lacking.is_empty() {
                String::new()
            } else {
                format!(" ({})", lacking.join("; "))
            };
            self.error(
                var.item,
                format!("{}.value", var.field),
                format!(
                    "{} points at {}, but no source of projected volume {vol_name:?} provides {rel:?}{detail}: the file will not exist",
                    var.name, var.path
                ),
            );
        }
        None
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
        let Some(secret) = self.find_secret(workload, secret_name) else {
            return;
        };
        if !self
            .checked_values
            .insert((ns, secret_name.to_string(), key.to_string()))
        {
            return;
        }
        let string = secret
            .get("stringData")
            .and_then(|d| d.get(key))
            .and_then(Value::as_str);
        let encoded = secret
            .get("data")
            .and_then(|d| d.get(key))
            .and_then(Value::as_str);
        let value = match (string, encoded) {
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
        let at = if string.is_some() {
            format!("stringData.{key}")
        } else {
            format!("data.{key}")
        };
        let read = catalog::as_authelia_reads(&value).len();
        if entry.min_length > 0 && read < entry.min_length {
            self.error(
                secret,
                at.clone(),
                format!(
                    "{key} has {read} characters as Authelia reads it (without trailing newlines); Authelia requires \
                     {} to be at least {}",
                    entry.config_key, entry.min_length
                ),
            );
        }
        if let Some(p) = entry.problem_with(&value) {
            self.error(secret, at, format!("{key} {p}"));
        }
    }
}
