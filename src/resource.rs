//! Read and write the few well-known fields of a generic KRM item (ids, names, annotations).

use crate::yaml::Map;
use serde_json::Value;

/// Annotations that orchestrators use to put items back into files; we never change them.
pub const PATH_ANNOTATION: &str = "internal.config.kubernetes.io/path";
/// The legacy spelling of [`PATH_ANNOTATION`].
pub const LEGACY_PATH_ANNOTATION: &str = "config.kubernetes.io/path";
/// The position of an item inside its file.
pub const INDEX_ANNOTATION: &str = "internal.config.kubernetes.io/index";
/// The legacy spelling of [`INDEX_ANNOTATION`].
pub const LEGACY_INDEX_ANNOTATION: &str = "config.kubernetes.io/index";
/// The absolute directory of the kpt package an item comes from (kpt fn render only).
pub const PACKAGE_PATH_ANNOTATION: &str = "internal.config.kubernetes.io/package-path";
/// Marks an object that orchestrators drop from their final output.
pub const LOCAL_CONFIG_ANNOTATION: &str = "config.kubernetes.io/local-config";

/// `apiVersion`, or "" when absent.
pub fn api_version(item: &Value) -> &str {
    item.get("apiVersion").and_then(Value::as_str).unwrap_or("")
}

/// `kind`, or "" when absent.
pub fn kind(item: &Value) -> &str {
    item.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// `metadata.name`, or "" when absent.
pub fn name(item: &Value) -> &str {
    item.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.namespace`, or "" when absent.
pub fn namespace(item: &Value) -> &str {
    item.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// One annotation's value when it is a string.
pub fn annotation<'a>(item: &'a Value, key: &str) -> Option<&'a str> {
    item.pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// The file an item was read from, as orchestrators annotate it.
pub fn file_path(item: &Value) -> Option<&str> {
    annotation(item, PATH_ANNOTATION).or_else(|| annotation(item, LEGACY_PATH_ANNOTATION))
}

/// The position of an item in its file.
pub fn file_index(item: &Value) -> Option<u64> {
    annotation(item, INDEX_ANNOTATION)
        .or_else(|| annotation(item, LEGACY_INDEX_ANNOTATION))
        .and_then(|i| i.parse().ok())
}

/// True when the item is marked `config.kubernetes.io/local-config: "true"`.
pub fn is_local_config(item: &Value) -> bool {
    annotation(item, LOCAL_CONFIG_ANNOTATION) == Some("true")
}

/// The mapping at `key` inside `map`, created (or replaced if it is not a mapping) as needed.
pub fn child_map<'a>(map: &'a mut Map, key: &str) -> &'a mut Map {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("slot was just made a mapping"),
    }
}

/// The sequence at `key` inside `map`, created (or replaced if it is null) as needed.
/// Returns `None` when the key holds something else than a sequence or null.
pub fn child_seq<'a>(map: &'a mut Map, key: &str) -> Option<&'a mut Vec<Value>> {
    let slot = map.entry(key.to_string()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
}

/// True when two items name the same object (apiVersion group, kind, namespace, name).
pub fn same_object(
    item: &Value,
    api_version_: &str,
    kind_: &str,
    namespace_: &str,
    name_: &str,
) -> bool {
    api_version(item) == api_version_
        && kind(item) == kind_
        && name(item) == name_
        && namespace(item) == namespace_
}
