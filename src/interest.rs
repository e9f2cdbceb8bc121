//! Which parts of the input the core reads, so the reader can keep the rest as text only.
//!
//! A ResourceList from a monorepo holds thousands of items the function never looks into.
//! The reader keeps of each copyable item only its [`slim`] form (identity, and for workloads
//! the names and images of their containers); before a run, [`Needs`] says which slim items
//! the run reads whole, and those are read again from their text
//! ([`crate::resource_list::ResourceList::materialize`]). Secrets are always kept whole: they
//! are few, and the function reads their values.
//!
//! The rule this module must keep: everything the core reads of an item that [`Needs::wants`]
//! turns down is in its slim form. `tests/properties.rs` checks that a run on slim items gives
//! the same output as a run on whole ones.

use crate::check;
use crate::config::{Config, DEFAULT_CONTAINER, Rollout};
use crate::resource;
use crate::workloads;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Kinds always kept whole.
const WHOLE_KINDS: [&str; 1] = ["Secret"];

/// What the slim form keeps of `metadata`.
const METADATA_KEPT: [&str; 3] = ["name", "namespace", "annotations"];

/// Annotations that can be large and that the core never reads.
const DROPPED_ANNOTATIONS: [&str; 1] = ["kubectl.kubernetes.io/last-applied-configuration"];

/// The slim form of an item the reader can copy back verbatim, and whether it is slimmer
/// than the item (see the module docs).
pub fn slim(item: Value) -> (Value, bool) {
    let kind = resource::kind(&item);
    if WHOLE_KINDS.contains(&kind) || !item.is_object() {
        return (item, false);
    }
    let template = workloads::template_path(kind);
    let Value::Object(mut map) = item else {
        unreachable!("checked above")
    };
    let mut out = Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(v) = map.remove(key) {
            out.insert(key.into(), v);
        }
    }
    if let Some(mut metadata) = map.remove("metadata") {
        if let Some(m) = metadata.as_object_mut() {
            m.retain(|k, _| METADATA_KEPT.contains(&k.as_str()));
            if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
                for key in DROPPED_ANNOTATIONS {
                    a.remove(key);
                }
            }
        }
        out.insert("metadata".into(), metadata);
    }
    if let Some(path) = template {
        let rest = Value::Object(map);
        let steps: Vec<&str> = path.iter().copied().chain(["spec"]).collect();
        let pod_spec = steps.iter().try_fold(&rest, |node, step| node.get(step));
        if let Some(pod_spec) = pod_spec {
            let mut nested = Value::Object(slim_pod_spec(pod_spec));
            for step in steps.iter().rev() {
                nested = Value::Object(Map::from_iter([(step.to_string(), nested)]));
            }
            if let Value::Object(m) = nested {
                out.extend(m);
            }
        }
    }
    (Value::Object(out), true)
}

/// `containers` and `initContainers` reduced to their names and images.
fn slim_pod_spec(pod_spec: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for list in ["containers", "initContainers"] {
        let Some(cs) = pod_spec.get(list).and_then(Value::as_array) else {
            continue;
        };
        let slim: Vec<Value> = cs
            .iter()
            .map(|c| {
                let mut m = Map::new();
                for key in ["name", "image"] {
                    if let Some(v) = c.get(key) {
                        m.insert(key.into(), v.clone());
                    }
                }
                Value::Object(m)
            })
            .collect();
        out.insert(list.into(), Value::Array(slim));
    }
    out
}

/// What one run reads whole.
#[derive(Debug, Default)]
pub struct Needs {
    /// Workloads with a container (or init container) of one of these names.
    containers: BTreeSet<String>,
    /// Workloads of one of these names.
    names: BTreeSet<String>,
    /// Every workload (references are renamed in all of them).
    all_workloads: bool,
    /// ConfigMaps of these names (read through `envFrom` of a whole workload).
    config_maps: BTreeSet<String>,
}

impl Needs {
    /// What an `AutheliaSecrets` run reads: the workloads it may wire, those that run Authelia
    /// (checked), and with `hashSuffix` every workload (references to the Secret are renamed).
    pub fn for_config(config: &Config) -> Self {
        let mut needs = Needs {
            all_workloads: config.rollout == Rollout::HashSuffix,
            ..Needs::default()
        };
        needs.containers.insert(DEFAULT_CONTAINER.to_string());
        for w in config.workloads.iter().flatten() {
            needs.names.insert(w.name.clone());
            needs.containers.insert(w.container.clone());
            needs.containers.extend(w.init_containers.iter().cloned());
        }
        needs
    }

    /// What an `AutheliaSecretsCheck` run reads: the workloads that run Authelia.
    pub fn for_check() -> Self {
        let mut needs = Needs::default();
        needs.containers.insert(DEFAULT_CONTAINER.to_string());
        needs
    }

    /// True when the run reads `item` (in its slim form) whole.
    pub fn wants(&self, item: &Value) -> bool {
        let kind = resource::kind(item);
        if kind == "ConfigMap" {
            return self.config_maps.contains(resource::name(item));
        }
        if workloads::template_path(kind).is_none() {
            return false;
        }
        self.all_workloads
            || self.names.contains(resource::name(item))
            || containers(item).any(|c| {
                c.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| self.containers.contains(n))
                    || check::runs_authelia(c)
            })
    }

    /// Adds the ConfigMaps that the whole workloads among `items` read through `envFrom`.
    /// Returns true when there are any.
    pub fn add_env_sources(&mut self, items: &[Value], is_slim: impl Fn(usize) -> bool) -> bool {
        for (i, item) in items.iter().enumerate() {
            if is_slim(i) {
                continue;
            }
            for c in containers(item) {
                let sources = c.get("envFrom").and_then(Value::as_array);
                for source in sources.into_iter().flatten() {
                    if let Some(name) = source.pointer("/configMapRef/name").and_then(Value::as_str)
                    {
                        self.config_maps.insert(name.to_string());
                    }
                }
            }
        }
        !self.config_maps.is_empty()
    }
}

/// Every container and init container of a workload item.
fn containers(item: &Value) -> impl Iterator<Item = &Value> {
    let node = workloads::template_path(resource::kind(item)).and_then(|path| {
        path.iter()
            .copied()
            .chain(["spec"])
            .try_fold(item, |node, step| node.get(step))
    });
    ["containers", "initContainers"]
        .into_iter()
        .filter_map(move |list| node.and_then(|n| n.get(list)).and_then(Value::as_array))
        .flatten()
}
