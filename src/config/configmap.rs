//! The `ConfigMap` form of the config (`kpt fn eval --exec authelia-secrets -- key=value`).
//!
//! Flat string keys are turned into the equivalent `AutheliaSecrets` object, decoded by the same
//! code, and findings are reported at the ConfigMap's own `data.<key>` paths.

use super::decode::{Decoder, is_env_name};
use super::{API_VERSION, Config, KIND};
use crate::resource_list::describe_type;
use crate::result::KrmResult;
use crate::suggest::did_you_mean;
use crate::yaml::Map;
use serde_json::{Value, json};

/// ConfigMap keys and the AutheliaSecrets field each one sets.
const KEYS: [(&str, &str); 12] = [
    ("name", "metadata.name"),
    ("namespace", "metadata.namespace"),
    ("secretName", "spec.secretName"),
    ("autheliaVersion", "spec.autheliaVersion"),
    ("mountPath", "spec.mountPath"),
    ("volumeName", "spec.volumeName"),
    ("rollout", "spec.rollout"),
    ("allowFilesOutsideRoot", "spec.allowFilesOutsideRoot"),
    ("seedEnv", "spec.seed.env"),
    ("seedFile", "spec.seed.file"),
    ("secrets", "spec.secrets"),
    ("workloads", "spec.workloads"),
];

/// Default Secret name when the ConfigMap does not say (its own name is `function-input`).
const DEFAULT_NAME: &str = "authelia";

pub(super) fn load(cm: &Value) -> (Option<Config>, Vec<KrmResult>) {
    let mut d = Decoder::new(cm);
    let data = match cm.get("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            d.error(
                "data",
                format!(
                    "expected a mapping of strings, found {}",
                    describe_type(other)
                ),
            );
            return (None, d.finish());
        }
    };
    let mut strings: Vec<(String, String)> = Vec::new();
    for (k, v) in &data {
        match v {
            Value::String(s) => strings.push((k.clone(), s.clone())),
            other => d.error(
                &format!("data.{k}"),
                format!("expected a string, found {}", describe_type(other)),
            ),
        }
        if !KEYS.iter().any(|(key, _)| key == k) {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            d.error(
                &format!("data.{k}"),
                format!(
                    "unknown key {k:?}{}; known keys: {}",
                    did_you_mean(k, known.iter().copied()),
                    known.join(", ")
                ),
            );
        }
    }
    let object = to_object(&strings, &mut d);
    let before = d.results.len();
    let config = d.config(&object, KIND);
    for r in &mut d.results[before..] {
        if let Some(field) = &r.field {
            r.field = Some(map_path(field));
        }
    }
    let results = d.finish();
    if results.iter().any(KrmResult::is_error) {
        (None, results)
    } else {
        (config, results)
    }
}

fn to_object(data: &[(String, String)], d: &mut Decoder) -> Value {
    let mut metadata = Map::new();
    let mut spec = Map::new();
    let mut seed = Map::new();
    metadata.insert("name".into(), json!(DEFAULT_NAME));
    for (key, text) in data {
        match key.as_str() {
            "name" | "namespace" => {
                metadata.insert(key.clone(), json!(text));
            }
            "allowFilesOutsideRoot" => {
                let v = match text.as_str() {
                    "true" => json!(true),
                    "false" => json!(false),
                    _ => json!(text),
                };
                spec.insert(key.clone(), v);
            }
            "seedEnv" => {
                seed.insert("env".into(), json!(text));
            }
            "seedFile" => {
                seed.insert("file".into(), json!(text));
            }
            "secrets" => {
                spec.insert(key.clone(), secrets(text, d));
            }
            "workloads" => {
                spec.insert(key.clone(), workloads(text, d));
            }
            k if KEYS.iter().any(|(known, _)| *known == k) => {
                spec.insert(key.clone(), json!(text));
            }
            _ => {}
        }
    }
    if !seed.is_empty() {
        spec.insert("seed".into(), Value::Object(seed));
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": spec,
    })
}

/// `JWT_SECRET,LDAP_PASSWORD=env:LDAP_PASSWORD,SMTP_PASSWORD=file:smtp.txt`.
fn secrets(text: &str, d: &mut Decoder) -> Value {
    let mut out = Map::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, source) = match part.split_once('=') {
            None => (part, Value::Object(Map::new())),
            Some((key, spec)) => {
                let source = match spec.split_once(':') {
                    Some(("env", name)) if is_env_name(name) => json!({ "fromEnv": name }),
                    Some(("file", path)) if !path.is_empty() => json!({ "fromFile": path }),
                    _ => {
                        d.error(
                            "data.secrets",
                            format!("{key}: expected KEY, KEY=env:NAME or KEY=file:PATH"),
                        );
                        continue;
                    }
                };
                (key, source)
            }
        };
        out.insert(key.trim().to_string(), source);
    }
    Value::Object(out)
}

/// `Deployment/authelia,authelia-worker:main`: `[Kind/]name[:container]`.
fn workloads(text: &str, d: &mut Decoder) -> Value {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (rest, container) = match part.split_once(':') {
            Some((r, c)) => (r, Some(c)),
            None => (part, None),
        };
        let (kind, name) = match rest.split_once('/') {
            Some((k, n)) => (Some(k), n),
            None => (None, rest),
        };
        if name.is_empty() || container == Some("") {
            d.error(
                "data.workloads",
                format!("{part:?}: expected [Kind/]name[:container]"),
            );
            continue;
        }
        let mut w = Map::new();
        if let Some(k) = kind {
            w.insert("kind".into(), json!(k));
        }
        w.insert("name".into(), json!(name));
        if let Some(c) = container {
            w.insert("container".into(), json!(c));
        }
        out.push(Value::Object(w));
    }
    Value::Array(out)
}

/// Maps a field path of the equivalent object back to the ConfigMap key that set it.
fn map_path(path: &str) -> String {
    let mut best: Option<(&str, &str)> = None;
    for (key, field) in KEYS {
        let matches = path == field
            || path.starts_with(&format!("{field}."))
            || path.starts_with(&format!("{field}["));
        if matches && best.is_none_or(|(_, f)| field.len() > f.len()) {
            best = Some((key, field));
        }
    }
    match best {
        Some((key, _)) => format!("data.{key}"),
        None if path == "spec.seed" => "data.seedEnv".to_string(),
        None => "data".to_string(),
    }
}
