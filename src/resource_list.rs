//! The KRM `ResourceList`: what the function reads and writes, and how it is checked on the way in.

use crate::error::{Error, Result};
use crate::result::KrmResult;
use crate::yaml::{self, ItemSpan};
use serde_json::{Value, json};

/// The ResourceList apiVersions we accept; the output echoes the input's.
pub const API_VERSIONS: [&str; 3] = [
    "config.kubernetes.io/v1",
    "config.kubernetes.io/v1beta1",
    "config.kubernetes.io/v1alpha1",
];

/// A ResourceList with generic items.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceList {
    pub api_version: String,
    pub items: Vec<Value>,
    pub function_config: Option<Value>,
    pub results: Vec<KrmResult>,
    /// Per item, where its text sits in the input (for verbatim output); `None`: re-emit.
    spans: Vec<Option<ItemSpan>>,
}

impl ResourceList {
    /// A list of items with the current apiVersion and no config.
    pub fn new(items: Vec<Value>) -> Self {
        ResourceList {
            api_version: API_VERSIONS[0].to_string(),
            items,
            function_config: None,
            results: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// Parses input text: one YAML document holding a ResourceList.
    pub fn parse(source_name: &str, bytes: &[u8]) -> Result<Self> {
        let (doc, spans) = yaml::parse_resource_list(source_name, bytes)?;
        let mut list = Self::from_value(source_name, doc)?;
        if spans.len() == list.items.len() {
            list.spans = spans;
        }
        Ok(list)
    }

    /// Replaces item `index`; its original text no longer applies.
    pub fn replace_item(&mut self, index: usize, item: Value) {
        self.items[index] = item;
        if let Some(span) = self.spans.get_mut(index) {
            *span = None;
        }
    }

    /// Writes the list; unchanged items are copied from `source`, the text it was parsed from.
    pub fn emit(self, source: &[u8]) -> Result<String> {
        let source = std::str::from_utf8(source).unwrap_or("");
        let spans = if source.is_empty() {
            Vec::new()
        } else {
            self.spans
        };
        let header = json!({"apiVersion": self.api_version, "kind": "ResourceList"});
        let mut rest = serde_json::Map::new();
        if let Some(fc) = self.function_config {
            rest.insert("functionConfig".into(), fc);
        }
        if !self.results.is_empty() {
            rest.insert(
                "results".into(),
                Value::Array(self.results.iter().map(KrmResult::to_value).collect()),
            );
        }
        yaml::emit_resource_list(&header, &self.items, &spans, source, &Value::Object(rest))
    }

    /// Checks the shape of a parsed document and takes it apart.
    pub fn from_value(source_name: &str, doc: Value) -> Result<Self> {
        let Value::Object(mut map) = doc else {
            return Err(Error::shape(
                source_name,
                format!(
                    "expected a ResourceList mapping, found {}",
                    describe_type(&doc)
                ),
            ));
        };
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "ResourceList" {
            let found = if kind.is_empty() {
                "no kind".to_string()
            } else {
                format!("kind {kind:?}")
            };
            return Err(Error::shape(
                source_name,
                format!(
                    "expected kind ResourceList, found {found}; as a kustomize legacy plugin, \
                     pass the config file as the first argument"
                ),
            ));
        }
        let api_version = map
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !API_VERSIONS.contains(&api_version.as_str()) {
            return Err(Error::shape(
                source_name,
                format!(
                    "apiVersion: unsupported ResourceList version {api_version:?}; expected one of {}",
                    API_VERSIONS.join(", ")
                ),
            ));
        }
        let items = match map.remove("items") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(Error::shape(
                    source_name,
                    format!("items: expected a list, found {}", describe_type(&other)),
                ));
            }
        };
        for (i, item) in items.iter().enumerate() {
            if !item.is_object() {
                return Err(Error::shape(
                    source_name,
                    format!(
                        "items[{i}]: expected a mapping, found {}",
                        describe_type(item)
                    ),
                ));
            }
        }
        let function_config = match map.remove("functionConfig") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v),
            Some(other) => {
                return Err(Error::shape(
                    source_name,
                    format!(
                        "functionConfig: expected a mapping, found {}",
                        describe_type(&other)
                    ),
                ));
            }
        };
        Ok(ResourceList {
            api_version,
            items,
            function_config,
            results: Vec::new(),
            spans: Vec::new(),
        })
    }

    /// The document to write: apiVersion, kind, items, functionConfig, results.
    pub fn into_value(self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("apiVersion".into(), json!(self.api_version));
        out.insert("kind".into(), json!("ResourceList"));
        out.insert("items".into(), Value::Array(self.items));
        if let Some(fc) = self.function_config {
            out.insert("functionConfig".into(), fc);
        }
        if !self.results.is_empty() {
            out.insert(
                "results".into(),
                Value::Array(self.results.iter().map(KrmResult::to_value).collect()),
            );
        }
        Value::Object(out)
    }
}

/// Names a value's YAML type for messages ("a string", "a list").
pub fn describe_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
