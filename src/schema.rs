//! JSON Schemas of the two config kinds, built from the decoder's own field lists and enums.
//!
//! `authelia-secrets schema --kind K` prints them; `functions/authelia-secrets/*.schema.json`
//! are their committed copies (a test keeps them equal).

use crate::catalog::{AutheliaVersion, CATALOG, Charset};
use crate::config::{
    API_VERSION, CHECK_KIND, CHECK_SPEC_FIELDS, DEFAULT_CONTAINER, DEFAULT_MOUNT_PATH,
    DEFAULT_SEED_ENV, DEFAULT_VOLUME_NAME, KIND, MAX_LENGTH, Rollout, SECRET_FIELDS, SPEC_FIELDS,
    WORKLOAD_FIELDS, WORKLOAD_KINDS,
};
use crate::keys::Curve;
use serde_json::{Value, json};

/// The schema of `kind` (`AutheliaSecrets` or `AutheliaSecretsCheck`), if it is ours.
pub fn for_kind(kind: &str) -> Option<Value> {
    match kind {
        KIND => Some(authelia_secrets()),
        CHECK_KIND => Some(check()),
        _ => None,
    }
}

fn versions() -> Value {
    json!({
        "type": "string",
        "description": format!(
            "Authelia version whose env var names apply: {} (a patch release such as \"4.39.20\" is accepted). \
             When absent: the version the Authelia containers' image tags name, else 4.39.",
            AutheliaVersion::ALL.map(|v| v.as_str()).join(", ")
        ),
        "pattern": "^v?4\\.(37|38|39)(\\.[0-9]+)?$",
    })
}

fn envelope(kind: &str, description: &str, spec: Value) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": kind,
        "description": description,
        "type": "object",
        "required": ["apiVersion", "kind", "metadata"],
        "additionalProperties": false,
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": kind},
            "metadata": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "Object name; for AutheliaSecrets also the default Secret name."},
                    "namespace": {"type": "string", "description": "Namespace of the emitted Secret."},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "spec": spec,
        },
    })
}

/// Description and schema of each `spec` field of `AutheliaSecrets`.
fn spec_field(name: &str) -> Value {
    let rollouts: Vec<&str> = Rollout::ALL.iter().map(|(_, s)| *s).collect();
    let kinds: Vec<&str> = WORKLOAD_KINDS.iter().map(|(k, _)| *k).collect();
    match name {
        "autheliaVersion" => versions(),
        "secretName" => {
            json!({"type": "string", "description": "Name of the emitted Secret (default: metadata.name)."})
        }
        "namespace" => {
            json!({"type": "string", "description": "Namespace of the Secret, instead of metadata.namespace."})
        }
        "mountPath" => {
            json!({"type": "string", "pattern": "^/", "default": DEFAULT_MOUNT_PATH, "description": "Directory where the secret files appear in the container."})
        }
        "volumeName" => {
            json!({"type": "string", "default": DEFAULT_VOLUME_NAME, "description": "Name of the volume added to pods."})
        }
        "seed" => json!({
            "type": "object",
            "description": format!("Where the master seed comes from (default: {DEFAULT_SEED_ENV} when set). Configured but missing is an error."),
            "additionalProperties": false,
            "properties": {
                "env": {"type": "string", "description": "Environment variable holding the seed."},
                "file": {"type": "string", "description": "File holding the seed, relative to the root."},
            },
            "oneOf": [{"required": ["env"]}, {"required": ["file"]}],
        }),
        "workloads" => json!({
            "type": "array",
            "description": format!("Workloads to wire (default: every workload with a container named {DEFAULT_CONTAINER})."),
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": false,
                "properties": WORKLOAD_FIELDS.iter().map(|f| (f.to_string(), workload_field(f, &kinds))).collect::<serde_json::Map<_, _>>(),
            },
        }),
        "rollout" => {
            json!({"enum": rollouts, "default": "checksum", "description": "checksum: pod-template annotation with the Secret's SHA-256; hashSuffix: name the Secret <name>-<hash> with kustomize's content hash and rename the references to it; none."})
        }
        "secrets" => json!({
            "type": "object",
            "description": format!(
                "Secret key → how its value is obtained. Known keys: {}. Default: JWT_SECRET, SESSION_SECRET, STORAGE_ENCRYPTION_KEY.",
                CATALOG.iter().map(|e| e.key).collect::<Vec<_>>().join(", ")
            ),
            "propertyNames": {"pattern": "^[-._a-zA-Z0-9]{1,253}$"},
            "additionalProperties": {
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": SECRET_FIELDS.iter().map(|f| (f.to_string(), secret_field(f))).collect::<serde_json::Map<_, _>>(),
            },
        }),
        "allowFilesOutsideRoot" => {
            json!({"type": "boolean", "default": false, "description": "Allow fromFile and seed.file paths that are absolute or leave the root (unless the runner sets AUTHELIA_SECRETS_LOAD_RESTRICTOR=LoadRestrictionsRootOnly)."})
        }
        other => json!({"description": format!("undocumented field {other}")}),
    }
}

fn workload_field(name: &str, kinds: &[&str]) -> Value {
    match name {
        "kind" => json!({"enum": kinds}),
        "name" => json!({"type": "string"}),
        "namespace" => json!({"type": "string"}),
        "container" => json!({"type": "string", "default": DEFAULT_CONTAINER}),
        "initContainers" => {
            json!({"type": "array", "items": {"type": "string"}, "description": "Init containers to wire as well."})
        }
        other => json!({"description": format!("undocumented field {other}")}),
    }
}

fn secret_field(name: &str) -> Value {
    match name {
        "type" => {
            json!({"enum": ["random", "rsa", "ecdsa"], "description": "Generator type (default from the catalog)."})
        }
        "length" => json!({"type": "integer", "minimum": 1, "maximum": MAX_LENGTH, "default": 64}),
        "charset" => json!({"enum": Charset::ALL.map(|c| c.as_str()), "default": "alphanumeric"}),
        "bits" => json!({"enum": [2048, 3072, 4096], "default": 2048}),
        "curve" => json!({"enum": Curve::ALL.map(|c| c.as_str()), "default": "P-256"}),
        "format" => {
            json!({"enum": ["pkcs8", "pkcs1", "sec1"], "default": "pkcs8", "description": "PEM encoding: pkcs1 for RSA, sec1 for ECDSA, pkcs8 for both."})
        }
        "rotation" => {
            json!({"type": "integer", "minimum": 0, "default": 0, "description": "Bump to replace a generated value."})
        }
        "fromFile" => {
            json!({"type": "string", "description": "Read the value from this file (one trailing newline is stripped)."})
        }
        "fromEnv" => {
            json!({"type": "string", "description": "Read the value from this environment variable."})
        }
        "value" => {
            json!({"type": "string", "description": "A literal value (stored in Git; a warning says so)."})
        }
        "configKey" => {
            json!({"type": "string", "description": "Authelia config key for a key the catalog does not know."})
        }
        "mountOnly" => {
            json!({"type": "boolean", "description": "Mount the file without an env var."})
        }
        other => json!({"description": format!("undocumented field {other}")}),
    }
}

fn authelia_secrets() -> Value {
    let properties: serde_json::Map<String, Value> = SPEC_FIELDS
        .iter()
        .map(|f| (f.to_string(), spec_field(f)))
        .collect();
    envelope(
        KIND,
        "Generates Authelia's Secret with stable values and wires the workloads that run Authelia.",
        json!({"type": ["object", "null"], "additionalProperties": false, "properties": properties}),
    )
}

fn check() -> Value {
    let properties: serde_json::Map<String, Value> = CHECK_SPEC_FIELDS
        .iter()
        .map(|f| {
            let v = match *f {
                "autheliaVersion" => versions(),
                "allowVariables" => json!({"type": "array", "items": {"type": "string"}, "description": "AUTHELIA_*_FILE names to accept although the catalog does not know them."}),
                other => json!({"description": format!("undocumented field {other}")}),
            };
            (f.to_string(), v)
        })
        .collect();
    envelope(
        CHECK_KIND,
        "Reports wiring mistakes of Authelia's secrets in the resources; changes nothing.",
        json!({"type": ["object", "null"], "additionalProperties": false, "properties": properties}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn undocumented(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.starts_with("undocumented field") => {
                out.push(format!("{path}: {s}"))
            }
            Value::Object(m) => m
                .iter()
                .for_each(|(k, v)| undocumented(v, &format!("{path}.{k}"), out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, v)| undocumented(v, &format!("{path}[{i}]"), out)),
            _ => {}
        }
    }

    #[test]
    fn every_decoded_field_is_described() {
        let mut missing = Vec::new();
        for kind in [KIND, CHECK_KIND] {
            undocumented(&for_kind(kind).unwrap(), kind, &mut missing);
        }
        assert!(missing.is_empty(), "{missing:?}");
    }
}
