//! Wiring workloads to our Secret: which ones ([`select`]), for which Authelia version
//! ([`version`]), and the patch itself ([`patch`]).

mod patch;
mod select;
mod version;

pub use patch::patch;
pub use select::select;
pub use version::resolve as resolve_version;

use crate::catalog::Entry;
use crate::config::WORKLOAD_KINDS;
use crate::resource;
use serde_json::Value;

/// The pod-template annotation holding the Secret's checksum (`rollout: checksum`).
pub const CHECKSUM_ANNOTATION: &str = "authelia-secrets.dev/secret-checksum";
/// `defaultMode: 0400`: files readable by their owner only.
pub const DEFAULT_MODE: u64 = 0o400;

/// One file of the Secret as the pods see it.
#[derive(Debug, Clone)]
pub struct WiredFile {
    /// The Secret key and file name.
    pub key: String,
    /// The env var pointing at the file; `None` for `mountOnly`.
    pub env_var: Option<String>,
    /// The catalog entry, for known keys (its other names are aliases we must not leave beside).
    pub entry: Option<&'static Entry>,
}

/// What every patched container gets.
#[derive(Debug, Clone)]
pub struct Wiring {
    pub secret_name: String,
    pub volume_name: String,
    pub mount_path: String,
    /// Every key, in Secret order.
    pub files: Vec<WiredFile>,
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

/// The pod spec of a workload of a kind we patch.
pub fn pod_spec(item: &Value) -> Option<&Value> {
    let mut node = item;
    for step in template_path(resource::kind(item))? {
        node = node.get(step)?;
    }
    node.get("spec")
}

/// The field path of a workload's pod spec, e.g. `spec.template.spec` (`spec` for a Pod).
pub fn pod_spec_path(kind: &str) -> String {
    match template_path(kind) {
        Some(steps) if !steps.is_empty() => format!("{}.spec", steps.join(".")),
        _ => "spec".to_string(),
    }
}

/// The container named `name` in `list` (`containers` or `initContainers`) of a pod spec.
pub fn container<'a>(pod: &'a Value, list: &str, name: &str) -> Option<&'a Value> {
    pod.get(list)?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
}
