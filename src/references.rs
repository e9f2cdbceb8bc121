//! Renaming references to our Secret when we give it a hashed name ourselves (`rollout:
//! hashSuffix` in transformer and kpt runs), as kustomize does for a secretGenerator.
//!
//! Pod specs refer to a Secret by name in `volumes[].secret.secretName`,
//! `volumes[].projected.sources[].secret.name`, and in every container (`containers`,
//! `initContainers`, `ephemeralContainers`) at `env[].valueFrom.secretKeyRef.name` and
//! `envFrom[].secretRef.name`. A reference is ours when it names the Secret's base name or its
//! previous hashed name, and the item lives in the Secret's namespace (or names none, like the
//! workloads we select). Only those values change; everything else stays as it is.

use crate::resource;
use crate::workloads::template_path;
use serde_json::{Value, json};

/// Which names to replace, by what, and where.
#[derive(Debug, Clone)]
pub struct Rename<'a> {
    /// Names that mean our Secret: its base name and the name it had in the input.
    pub from: Vec<&'a str>,
    /// The Secret's name now.
    pub to: &'a str,
    /// The Secret's namespace (`None`: the config names none, so every item may refer to it).
    pub namespace: Option<&'a str>,
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// `item` with its references to our Secret renamed, or `None` when it has none to rename.
pub fn rename(item: &Value, rename: &Rename<'_>) -> Option<Value> {
    let steps = template_path(resource::kind(item))?;
    let item_ns = resource::namespace(item);
    if rename
        .namespace
        .is_some_and(|ns| !item_ns.is_empty() && item_ns != ns)
    {
        return None;
    }
    let mut out = item.clone();
    let mut node = &mut out;
    for step in steps {
        node = node.get_mut(*step)?;
    }
    let spec = node.get_mut("spec")?;
    let mut changed = false;
    let mut fix = |slot: Option<&mut Value>| {
        if let Some(slot) = slot
            && slot
                .as_str()
                .is_some_and(|n| rename.from.contains(&n) && n != rename.to)
        {
            *slot = json!(rename.to);
            changed = true;
        }
    };
    for volume in each(spec.get_mut("volumes")) {
        fix(volume
            .get_mut("secret")
            .and_then(|s| s.get_mut("secretName")));
        let sources = volume
            .get_mut("projected")
            .and_then(|p| p.get_mut("sources"));
        for source in each(sources) {
            fix(source.get_mut("secret").and_then(|s| s.get_mut("name")));
        }
    }
    for list in CONTAINER_LISTS {
        for container in each(spec.get_mut(list)) {
            for var in each(container.get_mut("env")) {
                fix(var
                    .get_mut("valueFrom")
                    .and_then(|v| v.get_mut("secretKeyRef"))
                    .and_then(|r| r.get_mut("name")));
            }
            for source in each(container.get_mut("envFrom")) {
                fix(source.get_mut("secretRef").and_then(|r| r.get_mut("name")));
            }
        }
    }
    changed.then_some(out)
}

/// The elements of a sequence, or nothing when `value` is absent or not a sequence.
fn each(value: Option<&mut Value>) -> impl Iterator<Item = &mut Value> {
    value
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|v| v.iter_mut())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(ns: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "worker", "namespace": ns},
            "spec": {"template": {"spec": {
                "volumes": [
                    {"name": "a", "secret": {"secretName": "authelia"}},
                    {"name": "b", "projected": {"sources": [
                        {"secret": {"name": "authelia-old0000ab"}},
                        {"secret": {"name": "other"}},
                        {"configMap": {"name": "authelia"}},
                    ]}},
                ],
                "initContainers": [{"name": "init", "envFrom": [{"secretRef": {"name": "authelia"}}]}],
                "containers": [{"name": "main", "env": [
                    {"name": "A", "valueFrom": {"secretKeyRef": {"name": "authelia", "key": "JWT_SECRET"}}},
                    {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "authelia", "key": "x"}}},
                    {"name": "C", "value": "authelia"},
                ]}],
            }}},
        })
    }

    fn rule(namespace: Option<&'static str>) -> Rename<'static> {
        Rename {
            from: vec!["authelia", "authelia-old0000ab"],
            to: "authelia-new0000cd",
            namespace,
        }
    }

    #[test]
    fn renames_every_secret_reference_and_nothing_else() {
        let out = rename(&deployment("auth"), &rule(Some("auth"))).unwrap();
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(
            spec["volumes"][0]["secret"]["secretName"],
            "authelia-new0000cd"
        );
        let sources = &spec["volumes"][1]["projected"]["sources"];
        assert_eq!(sources[0]["secret"]["name"], "authelia-new0000cd");
        assert_eq!(sources[1]["secret"]["name"], "other");
        assert_eq!(sources[2]["configMap"]["name"], "authelia");
        assert_eq!(
            spec["initContainers"][0]["envFrom"][0]["secretRef"]["name"],
            "authelia-new0000cd"
        );
        let env = &spec["containers"][0]["env"];
        assert_eq!(
            env[0]["valueFrom"]["secretKeyRef"]["name"],
            "authelia-new0000cd"
        );
        assert_eq!(env[1]["valueFrom"]["configMapKeyRef"]["name"], "authelia");
        assert_eq!(env[2]["value"], "authelia");
        // Idempotent: a second pass finds nothing to rename.
        assert!(rename(&out, &rule(Some("auth"))).is_none());
    }

    #[test]
    fn other_namespaces_and_kinds_are_left_alone() {
        assert!(rename(&deployment("elsewhere"), &rule(Some("auth"))).is_none());
        assert!(rename(&deployment(""), &rule(Some("auth"))).is_some());
        assert!(rename(&deployment("elsewhere"), &rule(None)).is_some());
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "authelia"}});
        assert!(rename(&cm, &rule(None)).is_none());
    }
}
