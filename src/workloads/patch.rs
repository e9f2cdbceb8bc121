//! Patching one workload: the `_FILE` env vars, one read-only mount, one secret volume.
//!
//! Only the paths we own are touched; foreign env vars, mounts and volumes keep their order.
//! Ownership is inferred from the pod itself: our volume is the one named `volumeName` that
//! mounts our Secret, so a later run can move the mount or rename env vars it wrote before.
//! Anything that would make Authelia read a value twice, or read another value than ours, is a
//! conflict reported with the container and field path; then the workload is left as it was.

use super::{CHECKSUM_ANNOTATION, DEFAULT_MODE, Target, Wiring, template_path};
use crate::container_env;
use crate::resource;
use crate::result::KrmResult;
use crate::yaml::Map;
use serde_json::{Value, json};

/// Settings of a secret volume source we keep as the user wrote them.
const KEPT_SECRET_SETTINGS: [&str; 1] = ["optional"];
/// Settings of a secret volume source we write.
const OWN_SECRET_SETTINGS: [&str; 3] = ["secretName", "defaultMode", "items"];

/// Patches workload `items[index]`. Returns the new item, or the conflicts that prevent it.
/// `items` is the whole input, for the ConfigMaps and Secrets `envFrom` reads.
pub fn patch(items: &[Value], target: &Target, wiring: &Wiring) -> Result<Value, Vec<KrmResult>> {
    let item = &items[target.index];
    let mut out = item.clone();
    let mut errors = Vec::new();
    let kind = resource::kind(item).to_string();
    let steps = template_path(&kind).unwrap_or(&[]);
    let prefix = if steps.is_empty() {
        String::new()
    } else {
        format!("{}.", steps.join("."))
    };
    let err = |path: String, msg: String| KrmResult::error(msg).on(item).at(path);

    // Walk to the pod template.
    let mut node = &mut out;
    for step in steps {
        match node.get_mut(*step) {
            Some(next) if next.is_object() => node = next,
            _ => {
                errors.push(err(
                    format!("{prefix}spec"),
                    format!("{kind} has no pod template at {}", steps.join(".")),
                ));
                return Err(errors);
            }
        }
    }
    let Some(template) = node.as_object_mut() else {
        errors.push(err(String::new(), format!("{kind} is not a mapping")));
        return Err(errors);
    };
    if let Some(checksum) = &wiring.checksum {
        let meta = resource::child_map(template, "metadata");
        let ann = resource::child_map(meta, "annotations");
        ann.insert(CHECKSUM_ANNOTATION.into(), json!(checksum));
    }
    let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) else {
        errors.push(err(
            format!("{prefix}spec"),
            "the pod template has no spec".into(),
        ));
        return Err(errors);
    };
    let spec_path = format!("{prefix}spec");

    let ours_existed = match patch_volume(spec, &spec_path, wiring) {
        Ok(existed) => existed,
        Err(conflicts) => {
            errors.extend(conflicts.into_iter().map(|(p, m)| err(p, m)));
            false
        }
    };

    if !spec.contains_key("enableServiceLinks") {
        spec.insert("enableServiceLinks".into(), json!(false));
    }

    let namespace = resource::namespace(item);
    for (list, names) in [
        ("containers", &target.containers),
        ("initContainers", &target.init_containers),
    ] {
        for name in names {
            let list_path = format!("{spec_path}.{list}");
            let container = spec
                .get_mut(list)
                .and_then(Value::as_array_mut)
                .and_then(|cs| {
                    cs.iter_mut()
                        .find(|c| c.get("name").and_then(Value::as_str) == Some(name.as_str()))
                });
            let Some(container) = container.and_then(Value::as_object_mut) else {
                errors.push(err(
                    format!("{list_path}[name={name}]"),
                    format!(
                        "{kind} {:?} has no {list} entry named {name:?}",
                        resource::name(item)
                    ),
                ));
                continue;
            };
            let c_path = format!("{list_path}[name={name}]");
            let from_sources =
                container_env::from_sources(&Value::Object(container.clone()), namespace, items);
            let mut ctx = Container {
                path: &c_path,
                wiring,
                ours_existed,
                from_sources: &from_sources,
                report: &mut |p, m| errors.push(err(p, m)),
            };
            ctx.patch(container);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Adds or updates our volume. `Ok(true)`: it was there already (a run of ours wrote it).
fn patch_volume(
    spec: &mut Map,
    spec_path: &str,
    wiring: &Wiring,
) -> Result<bool, Vec<(String, String)>> {
    let Some(volumes) = resource::child_seq(spec, "volumes") else {
        return Err(vec![(
            format!("{spec_path}.volumes"),
            "expected a list".into(),
        )]);
    };
    let items: Vec<Value> = wiring
        .files
        .iter()
        .map(|f| json!({"key": f.key, "path": f.key}))
        .collect();
    let vol_field = format!("{spec_path}.volumes[name={}]", wiring.volume_name);
    let Some(existing) = volumes
        .iter_mut()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(wiring.volume_name.as_str()))
    else {
        volumes.push(json!({
            "name": wiring.volume_name,
            "secret": {
                "secretName": wiring.secret_name,
                "defaultMode": DEFAULT_MODE,
                "items": items,
            }
        }));
        return Ok(false);
    };
    if !is_our_volume(existing, wiring) {
        return Err(vec![(
            vol_field,
            format!(
                "a volume named {:?} already exists and does not mount Secret {:?}; \
                 rename it or set spec.volumeName",
                wiring.volume_name, wiring.secret_base_name
            ),
        )]);
    }
    let secret = existing
        .get_mut("secret")
        .and_then(Value::as_object_mut)
        .expect("is_our_volume checked the secret block");
    let unknown: Vec<String> = secret
        .keys()
        .filter(|k| {
            !OWN_SECRET_SETTINGS.contains(&k.as_str())
                && !KEPT_SECRET_SETTINGS.contains(&k.as_str())
        })
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(unknown
            .into_iter()
            .map(|k| {
                (
                    format!("{vol_field}.secret.{k}"),
                    format!(
                        "{k:?} is not a setting of a secret volume (known: {}); remove it",
                        OWN_SECRET_SETTINGS
                            .iter()
                            .chain(KEPT_SECRET_SETTINGS.iter())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
            .collect());
    }
    // In place: a key already there keeps its position, and `optional` stays as the user set it.
    secret.insert("secretName".into(), json!(wiring.secret_name));
    secret.insert("defaultMode".into(), json!(DEFAULT_MODE));
    secret.insert("items".into(), Value::Array(items));
    Ok(true)
}

fn is_our_volume(volume: &Value, wiring: &Wiring) -> bool {
    let Some(map) = volume.as_object() else {
        return false;
    };
    let only_secret = map.keys().all(|k| k == "name" || k == "secret");
    let name = volume
        .pointer("/secret/secretName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ours = name == wiring.secret_name
        || name == wiring.secret_base_name
        || name
            .strip_prefix(&wiring.secret_base_name)
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(|h| h.len() == 10);
    only_secret && ours && volume.get("secret").is_some_and(Value::is_object)
}

/// One container being patched.
struct Container<'a> {
    path: &'a str,
    wiring: &'a Wiring,
    ours_existed: bool,
    from_sources: &'a [container_env::FromSource],
    report: &'a mut dyn FnMut(String, String),
}

impl Container<'_> {
    fn patch(&mut self, container: &mut Map) {
        let Some(old_mount_path) = self.mount(container) else {
            return;
        };
        self.env(container, old_mount_path);
    }

    /// Adds or updates our mount; `None` when the container cannot be patched. Returns the
    /// directory our mount had before, if it moved.
    fn mount(&mut self, container: &mut Map) -> Option<Option<String>> {
        let (c_path, wiring) = (self.path, self.wiring);
        let Some(mounts) = resource::child_seq(container, "volumeMounts") else {
            (self.report)(format!("{c_path}.volumeMounts"), "expected a list".into());
            return None;
        };
        for m in mounts.iter() {
            let name = m.get("name").and_then(Value::as_str).unwrap_or("");
            let path = m.get("mountPath").and_then(Value::as_str).unwrap_or("");
            if name != wiring.volume_name && path.trim_end_matches('/') == wiring.mount_path {
                (self.report)(
                    format!("{c_path}.volumeMounts[name={name}]"),
                    format!(
                        "volume {name:?} is already mounted at {}; choose another spec.mountPath",
                        wiring.mount_path
                    ),
                );
            }
        }
        let desired =
            json!({"name": wiring.volume_name, "mountPath": wiring.mount_path, "readOnly": true});
        let mut old = None;
        match mounts
            .iter_mut()
            .find(|m| m.get("name").and_then(Value::as_str) == Some(wiring.volume_name.as_str()))
        {
            Some(existing) => {
                let plain = existing.as_object().is_some_and(|m| {
                    m.keys()
                        .all(|k| ["name", "mountPath", "readOnly"].contains(&k.as_str()))
                });
                if self.ours_existed && plain {
                    old = existing
                        .get("mountPath")
                        .and_then(Value::as_str)
                        .map(|p| p.trim_end_matches('/').to_string());
                    if *existing != desired {
                        *existing = desired;
                    }
                } else if *existing != desired {
                    (self.report)(
                        format!("{c_path}.volumeMounts[name={}]", wiring.volume_name),
                        format!(
                            "a volume mount named {:?} already exists with other settings; \
                             remove it or set spec.volumeName",
                            wiring.volume_name
                        ),
                    );
                }
            }
            None => mounts.push(desired),
        }
        Some(old)
    }

    fn env(&mut self, container: &mut Map, old_mount_path: Option<String>) {
        let (c_path, wiring, ours_existed) = (self.path, self.wiring, self.ours_existed);
        let Some(env) = resource::child_seq(container, "env") else {
            (self.report)(format!("{c_path}.env"), "expected a list".into());
            return;
        };
        let our_dirs: Vec<String> = [Some(wiring.mount_path.clone()), old_mount_path]
            .into_iter()
            .flatten()
            .collect();
        let points_into_ours = |value: &str| {
            our_dirs.iter().any(|d| {
                value
                    .strip_prefix(d.as_str())
                    .and_then(|r| r.strip_prefix('/'))
                    .is_some_and(|f| !f.is_empty() && !f.contains('/'))
            })
        };
        let desired: Vec<(String, String, Vec<String>)> = wiring
            .files
            .iter()
            .filter_map(|f| {
                let name = f.env_var.clone()?;
                let plain = name.strip_suffix("_FILE").unwrap_or(&name).to_string();
                // Other names of the same secret: the plain form (Authelia refuses both), and
                // those of other versions (Authelia reads only one of them).
                let mut others = vec![plain];
                if let Some(entry) = f.entry {
                    for n in entry.all_names() {
                        if n != name && !others.contains(&n) {
                            others.push(n);
                        }
                    }
                }
                Some((name, format!("{}/{}", wiring.mount_path, f.key), others))
            })
            .collect();

        // Drop AUTHELIA_*_FILE entries that point into our mount but are no longer wanted (a
        // renamed variable after a version change, or a removed key).
        env.retain(|e| {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("");
            let value = e.get("value").and_then(Value::as_str);
            let stale = name.starts_with("AUTHELIA_")
                && name.ends_with("_FILE")
                && value.is_some_and(points_into_ours)
                && ours_existed
                && !desired.iter().any(|(n, _, _)| n == name);
            !stale
        });

        for (name, value, others) in &desired {
            for (i, other) in others.iter().enumerate() {
                let why = if i == 0 {
                    format!("Authelia refuses a value set both as {other} and {name}")
                } else {
                    format!(
                        "{other} is another name of the same secret; with both set, Authelia reads one and \
                         ignores the other"
                    )
                };
                if env
                    .iter()
                    .any(|e| e.get("name").and_then(Value::as_str) == Some(other.as_str()))
                {
                    (self.report)(
                        format!("{c_path}.env[name={other}]"),
                        format!(
                            "{other} is set beside {name}, which this config wires: {why}; remove {other}"
                        ),
                    );
                }
                for from in self.from_sources.iter().filter(|f| f.name == *other) {
                    (self.report)(
                        format!("{c_path}.envFrom[{}]", from.index),
                        format!(
                            "{} supplies {other} through envFrom beside {name}, which this config wires: {why}; \
                             remove that key or this envFrom entry",
                            from.source
                        ),
                    );
                }
            }
            let field = format!("{c_path}.env[name={name}]");
            match env
                .iter_mut()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(name.as_str()))
            {
                None => env.push(json!({"name": name, "value": value})),
                Some(existing) => {
                    let current = existing.get("value").and_then(Value::as_str);
                    let simple = existing
                        .as_object()
                        .is_some_and(|m| m.keys().all(|k| k == "name" || k == "value"));
                    if current == Some(value.as_str()) && simple {
                        continue;
                    }
                    if simple && current.is_some_and(points_into_ours) && ours_existed {
                        *existing = json!({"name": name, "value": value});
                    } else {
                        let how = if existing.get("valueFrom").is_some() {
                            "is already set through valueFrom"
                        } else {
                            "is already set to another value"
                        };
                        (self.report)(
                            field,
                            format!("{name} {how}; remove it so it can point at {value}"),
                        );
                    }
                }
            }
        }
    }
}
