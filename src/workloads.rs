//! Patching workloads: the `_FILE` env vars, one read-only mount, one secret volume per pod.
//!
//! Only the paths we own are touched; foreign env vars, mounts and volumes keep their order.
//! Ownership is inferred from the pod itself: our volume is the one named `volumeName` that
//! mounts our Secret, so a later run can move the mount or rename env vars it wrote before.

use crate::config::{Config, DEFAULT_CONTAINER, WORKLOAD_KINDS, WorkloadSelector};
use crate::resource;
use crate::result::KrmResult;
use crate::yaml::Map;
use serde_json::{Value, json};

/// The pod-template annotation holding the Secret's checksum (`rollout: checksum`).
pub const CHECKSUM_ANNOTATION: &str = "authelia-secrets.dev/secret-checksum";
/// `defaultMode: 0400`: files readable by their owner only.
pub const DEFAULT_MODE: u64 = 0o400;

/// What every patched container gets.
#[derive(Debug, Clone)]
pub struct Wiring {
    pub secret_name: String,
    pub volume_name: String,
    pub mount_path: String,
    /// Secret key and, unless mount-only, its env var.
    pub files: Vec<(String, Option<String>)>,
    /// Pod-template annotation value, for `rollout: checksum`.
    pub checksum: Option<String>,
    /// Earlier names of our Secret that still count as ours (hash-suffixed names).
    pub secret_base_name: String,
}

/// A workload to patch: its index in the items and the containers to wire.
#[derive(Debug, Clone)]
pub struct Target {
    pub index: usize,
    pub containers: Vec<String>,
    pub init_containers: Vec<String>,
    /// The explicit selector, for results (`None` with the default selection).
    pub selector_field: Option<String>,
}

/// The path from a workload to its pod template, for the kinds we patch.
pub fn template_path(kind: &str) -> Option<&'static [&'static str]> {
    WORKLOAD_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)
}

fn pod_spec(item: &Value) -> Option<&Value> {
    let mut node = item;
    for step in template_path(resource::kind(item))? {
        node = node.get(step)?;
    }
    node.get("spec")
}

fn has_container(item: &Value, name: &str) -> bool {
    pod_spec(item)
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.get("name").and_then(Value::as_str) == Some(name))
        })
}

/// Chooses the workloads to patch. `generator`: the input holds no workloads by design.
pub fn select(items: &[Value], config: &Config, generator: bool) -> (Vec<Target>, Vec<KrmResult>) {
    let mut results = Vec::new();
    let mut targets = Vec::new();
    let is_workload = |item: &Value| template_path(resource::kind(item)).is_some();
    match &config.workloads {
        None => {
            let ns = config.namespace.as_deref();
            for (index, item) in items.iter().enumerate() {
                let item_ns = resource::namespace(item);
                let ns_ok = ns.is_none_or(|ns| item_ns.is_empty() || item_ns == ns);
                if is_workload(item) && ns_ok && has_container(item, DEFAULT_CONTAINER) {
                    targets.push(Target {
                        index,
                        containers: vec![DEFAULT_CONTAINER.to_string()],
                        init_containers: Vec::new(),
                        selector_field: None,
                    });
                }
            }
            if targets.is_empty() && !generator {
                results.push(
                    KrmResult::warning(format!(
                        "no workload has a container named {DEFAULT_CONTAINER:?}, so none was wired to Secret {:?}; \
                         list workloads under spec.workloads",
                        config.secret_name
                    ))
                    .on(&config.origin)
                    .at("spec.workloads"),
                );
            }
        }
        Some(selectors) => {
            for sel in selectors {
                let matched: Vec<usize> = items
                    .iter()
                    .enumerate()
                    .filter(|(_, item)| is_workload(item) && matches(item, sel))
                    .map(|(i, _)| i)
                    .collect();
                if matched.is_empty() && !generator {
                    results.push(
                        KrmResult::error(format!(
                            "no {} named {:?}{} in the input",
                            sel.kind.as_deref().unwrap_or("workload"),
                            sel.name,
                            sel.namespace
                                .as_ref()
                                .map(|n| format!(" in namespace {n:?}"))
                                .unwrap_or_default()
                        ))
                        .on(&config.origin)
                        .at(&sel.field),
                    );
                }
                for index in matched {
                    match targets.iter_mut().find(|t: &&mut Target| t.index == index) {
                        Some(t) => {
                            if !t.containers.contains(&sel.container) {
                                t.containers.push(sel.container.clone());
                            }
                            for c in &sel.init_containers {
                                if !t.init_containers.contains(c) {
                                    t.init_containers.push(c.clone());
                                }
                            }
                        }
                        None => targets.push(Target {
                            index,
                            containers: vec![sel.container.clone()],
                            init_containers: sel.init_containers.clone(),
                            selector_field: Some(sel.field.clone()),
                        }),
                    }
                }
            }
        }
    }
    (targets, results)
}

fn matches(item: &Value, sel: &WorkloadSelector) -> bool {
    resource::name(item) == sel.name
        && sel
            .kind
            .as_deref()
            .is_none_or(|k| resource::kind(item) == k)
        && sel
            .namespace
            .as_deref()
            .is_none_or(|ns| resource::namespace(item) == ns)
}

/// Patches one workload. Returns the new item, or the conflicts that prevent it.
pub fn patch(item: &Value, target: &Target, wiring: &Wiring) -> Result<Value, Vec<KrmResult>> {
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
    let template = node.as_object_mut().expect("checked above");
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

    // The volume: ours if it mounts our Secret under our name.
    let volumes = match resource::child_seq(spec, "volumes") {
        Some(v) => v,
        None => {
            errors.push(err(
                format!("{spec_path}.volumes"),
                "expected a list".into(),
            ));
            return Err(errors);
        }
    };
    let desired_volume = json!({
        "name": wiring.volume_name,
        "secret": {
            "secretName": wiring.secret_name,
            "defaultMode": DEFAULT_MODE,
            "items": wiring.files.iter().map(|(k, _)| json!({"key": k, "path": k})).collect::<Vec<_>>(),
        }
    });
    let vol_field = format!("{spec_path}.volumes[name={}]", wiring.volume_name);
    let mut ours_existed = false;
    match volumes
        .iter_mut()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(wiring.volume_name.as_str()))
    {
        Some(existing) => {
            if is_our_volume(existing, wiring) {
                ours_existed = true;
                if let Some(m) = existing.as_object_mut() {
                    m.insert("secret".into(), desired_volume["secret"].clone());
                }
            } else {
                errors.push(err(
                    vol_field.clone(),
                    format!(
                        "a volume named {:?} already exists and does not mount Secret {:?}; \
                         rename it or set spec.volumeName",
                        wiring.volume_name, wiring.secret_base_name
                    ),
                ));
            }
        }
        None => volumes.push(desired_volume),
    }

    if !spec.contains_key("enableServiceLinks") {
        spec.insert("enableServiceLinks".into(), json!(false));
    }

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
            patch_container(container, &c_path, wiring, ours_existed, &mut |p, m| {
                errors.push(err(p, m))
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
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
    only_secret && ours
}

fn patch_container(
    container: &mut Map,
    c_path: &str,
    wiring: &Wiring,
    ours_existed: bool,
    report: &mut dyn FnMut(String, String),
) {
    // The mount: ours by name; nobody else may sit at our path.
    let mounts = match resource::child_seq(container, "volumeMounts") {
        Some(m) => m,
        None => {
            report(format!("{c_path}.volumeMounts"), "expected a list".into());
            return;
        }
    };
    let mut old_mount_path: Option<String> = None;
    for m in mounts.iter() {
        let name = m.get("name").and_then(Value::as_str).unwrap_or("");
        let path = m.get("mountPath").and_then(Value::as_str).unwrap_or("");
        if name != wiring.volume_name && path.trim_end_matches('/') == wiring.mount_path {
            report(
                format!("{c_path}.volumeMounts[name={name}]"),
                format!(
                    "volume {name:?} is already mounted at {}; choose another spec.mountPath",
                    wiring.mount_path
                ),
            );
        }
    }
    let desired_mount =
        json!({"name": wiring.volume_name, "mountPath": wiring.mount_path, "readOnly": true});
    match mounts
        .iter_mut()
        .find(|m| m.get("name").and_then(Value::as_str) == Some(wiring.volume_name.as_str()))
    {
        Some(existing) => {
            let plain = existing.as_object().is_some_and(|m| {
                m.keys()
                    .all(|k| ["name", "mountPath", "readOnly"].contains(&k.as_str()))
            });
            if ours_existed && plain {
                old_mount_path = existing
                    .get("mountPath")
                    .and_then(Value::as_str)
                    .map(|p| p.trim_end_matches('/').to_string());
                if *existing != desired_mount {
                    *existing = desired_mount;
                }
            } else if *existing != desired_mount {
                report(
                    format!("{c_path}.volumeMounts[name={}]", wiring.volume_name),
                    format!(
                        "a volume mount named {:?} already exists with other settings; \
                         remove it or set spec.volumeName",
                        wiring.volume_name
                    ),
                );
            }
        }
        None => mounts.push(desired_mount),
    }

    // Env vars.
    let env = match resource::child_seq(container, "env") {
        Some(e) => e,
        None => {
            report(format!("{c_path}.env"), "expected a list".into());
            return;
        }
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
    let desired: Vec<(String, String)> = wiring
        .files
        .iter()
        .filter_map(|(k, e)| {
            e.as_ref()
                .map(|e| (e.clone(), format!("{}/{k}", wiring.mount_path)))
        })
        .collect();

    // Drop AUTHELIA_*_FILE entries that point into our mount but are no longer wanted (a renamed
    // variable after a version change, or a removed key).
    env.retain(|e| {
        let name = e.get("name").and_then(Value::as_str).unwrap_or("");
        let value = e.get("value").and_then(Value::as_str);
        let stale = name.starts_with("AUTHELIA_")
            && name.ends_with("_FILE")
            && value.is_some_and(&points_into_ours)
            && ours_existed
            && !desired.iter().any(|(n, _)| n == name);
        !stale
    });

    for (name, value) in &desired {
        let plain = name.strip_suffix("_FILE").unwrap_or(name);
        if env
            .iter()
            .any(|e| e.get("name").and_then(Value::as_str) == Some(plain))
        {
            report(
                format!("{c_path}.env[name={plain}]"),
                format!(
                    "{plain} is set beside {name}; Authelia refuses a value set both ways: remove {plain}"
                ),
            );
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
                if simple && current.is_some_and(&points_into_ours) && ours_existed {
                    *existing = json!({"name": name, "value": value});
                } else {
                    report(
                        field,
                        format!(
                            "{name} is already set to another value; remove it so it can point at {value}"
                        ),
                    );
                }
            }
        }
    }
}
