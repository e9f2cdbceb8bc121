//! Whether the user a container runs as can read the files of its Secret volumes.
//!
//! Secret files belong to root. With `defaultMode: 0400` (what the function writes) only root
//! can read them, unless the pod sets `securityContext.fsGroup`: the kubelet then gives the
//! files that group and adds group read to their mode. A container that runs as another user
//! (an explicit `runAsUser` other than 0) without an `fsGroup` gets "permission denied", and
//! Authelia does not start.

use super::Checker;
use serde_json::Value;

/// Kubernetes' default mode for Secret volume files.
const DEFAULT_MODE: u64 = 0o644;

impl Checker<'_> {
    /// Reports Secret volumes mounted into `container` whose files its user cannot read.
    pub(super) fn file_permissions(
        &mut self,
        item: &Value,
        pod: &Value,
        container: &Value,
        c_path: &str,
        pod_path: &str,
    ) {
        let run_as = |v: &Value| {
            v.pointer("/securityContext/runAsUser")
                .and_then(Value::as_u64)
        };
        let Some(uid) = run_as(container).or_else(|| run_as(pod)) else {
            return;
        };
        if uid == 0 || pod.pointer("/securityContext/fsGroup").is_some() {
            return;
        }
        let volumes = pod.get("volumes").and_then(Value::as_array);
        let mounts = container.get("volumeMounts").and_then(Value::as_array);
        for mount in mounts.into_iter().flatten() {
            let Some(name) = mount.get("name").and_then(Value::as_str) else {
                continue;
            };
            let Some(secret) = volumes
                .into_iter()
                .flatten()
                .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
                .and_then(|v| v.get("secret"))
            else {
                continue;
            };
            let default = secret
                .get("defaultMode")
                .and_then(Value::as_u64)
                .unwrap_or(DEFAULT_MODE);
            let modes = secret.get("items").and_then(Value::as_array).map_or_else(
                || vec![default],
                |items| {
                    items
                        .iter()
                        .map(|i| i.get("mode").and_then(Value::as_u64).unwrap_or(default))
                        .collect()
                },
            );
            // Owned by root: only the "other" read bit lets another user in.
            if modes.iter().all(|m| m & 0o004 != 0) {
                continue;
            }
            self.error(
                item,
                format!("{c_path}.volumeMounts[name={name}]"),
                format!(
                    "the files of Secret volume {name:?} belong to root and are not readable by others \
                     (mode {:04o}), but the container runs as user {uid} and the pod sets no fsGroup, so \
                     Authelia cannot read them; set {pod_path}.securityContext.fsGroup (the kubelet then \
                     gives the files that group, readable)",
                    modes.iter().find(|m| *m & 0o004 == 0).copied().unwrap_or(default)
                ),
            );
        }
    }
}
