//! The emitted `v1/Secret`: finding an existing one, reading its values, and writing ours.

use crate::config::{Config, Rollout};
use crate::resource::{self, LEGACY_PATH_ANNOTATION, PATH_ANNOTATION};
use crate::yaml::Map;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Records, per generated key, the rotation its value was made for: `JWT_SECRET=0,SESSION_SECRET=2`.
pub const ROTATIONS_ANNOTATION: &str = "authelia-secrets.dev/rotations";
/// Records every key this function manages in the Secret: `JWT_SECRET,LDAP_PASSWORD`.
pub const KEYS_ANNOTATION: &str = "authelia-secrets.dev/keys";
/// Asks kustomize to append its content hash to the name (generators only).
pub const NEEDS_HASH_ANNOTATION: &str = "kustomize.config.k8s.io/needs-hash";

/// How kustomize passes [`NEEDS_HASH_ANNOTATION`] on to later transformers.
pub const NEEDS_HASH_INTERNAL_ANNOTATION: &str = "internal.config.kubernetes.io/needsHashSuffix";

/// True when kustomize will append its hash to this Secret's name (it came from a generator
/// marked with `needs-hash`).
pub fn marked_for_kustomize_hash(secret: &Value) -> bool {
    resource::annotation(secret, NEEDS_HASH_ANNOTATION) == Some("true")
        || resource::annotation(secret, NEEDS_HASH_INTERNAL_ANNOTATION) == Some("enabled")
}

/// Secret values by key. Never printed.
pub type Values = BTreeMap<String, Vec<u8>>;

/// The index of the Secret we manage, if the input holds it.
pub fn find_existing(items: &[Value], config: &Config) -> Option<usize> {
    let ns = config.namespace.as_deref().unwrap_or("");
    let name = config.secret_name.as_str();
    items.iter().position(|item| {
        if resource::api_version(item) != "v1" || resource::kind(item) != "Secret" {
            return false;
        }
        let ns_ok = resource::namespace(item) == ns;
        let n = resource::name(item);
        let name_ok = n == name
            || (config.rollout == Rollout::HashSuffix
                && resource::annotation(item, KEYS_ANNOTATION).is_some()
                && n.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(is_kustomize_hash));
        ns_ok && name_ok
    })
}

fn is_kustomize_hash(s: &str) -> bool {
    s.len() == 10
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A value from an existing Secret (`data`, base64; or `stringData`).
pub fn existing_value(secret: &Value, key: &str) -> Option<Vec<u8>> {
    if let Some(s) = secret
        .get("stringData")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
    {
        return Some(s.as_bytes().to_vec());
    }
    let encoded = secret.get("data")?.get(key)?.as_str()?;
    STANDARD.decode(encoded.trim()).ok()
}

/// True when the existing Secret has `key` in `data` but it is not valid base64.
pub fn has_undecodable(secret: &Value, key: &str) -> bool {
    secret
        .get("data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
        .is_some_and(|s| STANDARD.decode(s.trim()).is_err())
}

/// The rotations recorded on an existing Secret.
pub fn recorded_rotations(secret: &Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    if let Some(text) = resource::annotation(secret, ROTATIONS_ANNOTATION) {
        for part in text.split(',') {
            if let Some((k, n)) = part.split_once('=')
                && let Ok(n) = n.trim().parse()
            {
                out.insert(k.trim().to_string(), n);
            }
        }
    }
    out
}

/// The keys an existing Secret says we manage.
pub fn recorded_keys(secret: &Value) -> Vec<String> {
    resource::annotation(secret, KEYS_ANNOTATION)
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Where a new Secret goes in a kpt package: next to the config, `secret-<name>.yaml`.
pub fn new_file_path(config_path: Option<&str>, secret_name: &str) -> String {
    let dir = config_path
        .and_then(|p| p.rsplit_once('/'))
        .map(|(d, _)| format!("{d}/"))
        .unwrap_or_default();
    format!("{dir}secret-{secret_name}.yaml")
}

/// What to write into the Secret.
pub struct Plan<'a> {
    pub config: &'a Config,
    pub values: &'a Values,
    /// Rotation per generated key.
    pub rotations: &'a BTreeMap<String, u64>,
    /// For a new Secret in a kpt package: its file.
    pub file_path: Option<String>,
    /// Mark for kustomize's hash suffix (generator mode with `rollout: hashSuffix`).
    pub needs_hash: bool,
}

/// Writes our keys into the existing Secret, or makes a new one. Foreign keys are kept.
pub fn build(plan: &Plan<'_>, existing: Option<&Value>) -> Value {
    let config = plan.config;
    let mut secret = match existing {
        Some(e) => e.clone(),
        None => {
            let mut meta = Map::new();
            meta.insert("name".into(), json!(config.secret_name));
            if let Some(ns) = &config.namespace {
                meta.insert("namespace".into(), json!(ns));
            }
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque"})
        }
    };
    let obj = secret.as_object_mut().expect("a Secret is a mapping");
    let previous_keys = existing.map(recorded_keys).unwrap_or_default();

    // data: foreign keys stay; keys we managed before but no longer do are removed.
    let mut data: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(Value::Object(old)) = obj.get("data") {
        for (k, v) in old {
            if !previous_keys.contains(k) || plan.values.contains_key(k) {
                data.insert(k.clone(), v.clone());
            }
        }
    }
    let string_data: Option<&Map> = obj.get("stringData").and_then(Value::as_object);
    for (k, v) in plan.values {
        if string_data.is_some_and(|sd| sd.contains_key(k)) {
            continue;
        }
        data.insert(k.clone(), json!(STANDARD.encode(v)));
    }
    obj.insert("data".into(), Value::Object(data.into_iter().collect()));
    if !obj.contains_key("type") {
        obj.insert("type".into(), json!("Opaque"));
    }

    let meta = resource::child_map(obj, "metadata");
    let annotations = resource::child_map(meta, "annotations");
    let keys: Vec<&str> = plan.values.keys().map(String::as_str).collect();
    annotations.insert(KEYS_ANNOTATION.into(), json!(keys.join(",")));
    let rotations: Vec<String> = plan
        .rotations
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    if rotations.is_empty() {
        annotations.remove(ROTATIONS_ANNOTATION);
    } else {
        annotations.insert(ROTATIONS_ANNOTATION.into(), json!(rotations.join(",")));
    }
    if plan.needs_hash {
        annotations.insert(NEEDS_HASH_ANNOTATION.into(), json!("true"));
    }
    if existing.is_none()
        && let Some(path) = &plan.file_path
    {
        annotations.insert(PATH_ANNOTATION.into(), json!(path));
        annotations.insert(LEGACY_PATH_ANNOTATION.into(), json!(path));
    }
    secret
}

/// SHA-256 over the Secret's `data` and `stringData`, for the pod-template checksum annotation.
///
/// Input: the JSON text of `{"data": {...}, "stringData": {...}}` with sorted keys.
pub fn checksum(secret: &Value) -> String {
    let sorted = |field: &str| -> BTreeMap<String, Value> {
        secret
            .get(field)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    let doc = json!({"data": sorted("data"), "stringData": sorted("stringData")});
    let digest = Sha256::digest(doc.to_string().as_bytes());
    format!("sha256:{}", hex(&digest))
}

/// kustomize's content hash of a Secret (`api/hasher/hasher.go`, `encodeSecret`): the suffix
/// kustomize appends to a generated Secret marked `needs-hash`.
///
/// SHA-256 of the JSON `{"data":…,"kind":"Secret","name":"","type":…}` as Go's `json.Marshal`
/// writes it (keys sorted, no spaces, `<` `>` `&` U+2028 U+2029 escaped), with `stringData`
/// added when present; then the first 10 hex digits with 0→g 1→h 3→k a→m e→t. The name is
/// empty: kustomize looks it up as the single key "metadata/name", which finds nothing (checked
/// against kubectl kustomize v5.5).
///
/// The data values are hashed as they stand in this Secret. For the Secret we emit as a
/// generator that is exactly what kustomize hashes, so `hashSuffix` gives the same name whether
/// kustomize or this function appends it. A `secretGenerator` given the same values gets another
/// suffix: kyaml's `encodeBase64` (`kyaml/yaml/datamap.go`) puts a newline after every 70
/// base64 characters of values that long, and those newlines are hashed too.
pub fn kustomize_hash(secret: &Value) -> String {
    let sorted_map = |field: &str| -> Option<BTreeMap<String, Value>> {
        secret
            .get(field)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    let mut doc: BTreeMap<&str, Value> = BTreeMap::new();
    doc.insert("kind", json!("Secret"));
    doc.insert("name", json!(""));
    doc.insert(
        "type",
        json!(secret.get("type").and_then(Value::as_str).unwrap_or("")),
    );
    doc.insert("data", sorted_map("data").map_or(json!(""), |m| json!(m)));
    if let Some(sd) = sorted_map("stringData") {
        doc.insert("stringData", json!(sd));
    }
    let text = go_json_escapes(&serde_json::to_string(&doc).expect("JSON of strings"));
    let digest = hex(&Sha256::digest(text.as_bytes()));
    digest[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect()
}

/// Go's `json.Marshal` escapes these characters inside strings; serde_json does not. They can
/// only occur inside strings, so replacing them in the whole text is exact.
fn go_json_escapes(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_kustomize() {
        // The expected suffixes of kustomize's own TestSecretHash (api/hasher/hasher_test.go).
        let cases = [
            (json!({"type": "my-type"}), "5gmgkf8578"),
            (
                json!({"type": "my-type", "data": {"one": ""}}),
                "74bd68bm66",
            ),
            (
                json!({"type": "my-type", "data": {"one": ""}, "stringData": {"two": 2}}),
                "c4h4264gdb",
            ),
        ];
        for (secret, expected) in cases {
            assert_eq!(kustomize_hash(&secret), expected, "{secret}");
        }
    }

    #[test]
    fn escapes_like_go_json_marshal() {
        assert_eq!(
            go_json_escapes("{\"a\":\"<&>\u{2028}\"}"),
            r#"{"a":"\u003c\u0026\u003e\u2028"}"#
        );
    }
}
