//! The KRM `ResourceList`: what the function reads and writes, and how it is checked on the way in.

use crate::error::{Error, Result};
use crate::interest;
use crate::result::KrmResult;
use crate::yaml::{self, ItemSpan};
use serde_json::{Value, json};
use std::fmt;
use std::io::Write;
use std::sync::Arc;

/// The ResourceList apiVersions we accept; the output echoes the input's.
pub const API_VERSIONS: [&str; 3] = [
    "config.kubernetes.io/v1",
    "config.kubernetes.io/v1beta1",
    "config.kubernetes.io/v1alpha1",
];

/// A ResourceList with generic items.
///
/// Read from text ([`ResourceList::parse`]), an item whose text can be copied back holds only
/// what [`interest::slim`] keeps of it until [`ResourceList::materialize`] reads it whole; an
/// item that is never looked into stays slim and is written back from its text.
#[derive(Clone, PartialEq)]
pub struct ResourceList {
    pub api_version: String,
    pub items: Vec<Value>,
    pub function_config: Option<Value>,
    pub results: Vec<KrmResult>,
    /// Per item, where its text sits in `source` (for verbatim output); `None`: re-emit.
    spans: Vec<Option<ItemSpan>>,
    /// Per item, true while `items[i]` holds only part of the item.
    slim: Vec<bool>,
    /// The text the list was read from ("" when built from a tree).
    source: Arc<String>,
}

impl fmt::Debug for ResourceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceList")
            .field("api_version", &self.api_version)
            .field("items", &self.items)
            .field("function_config", &self.function_config)
            .field("results", &self.results)
            .field("slim", &self.slim)
            .finish_non_exhaustive()
    }
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
            slim: Vec::new(),
            source: Arc::new(String::new()),
        }
    }

    /// Parses input text: one YAML document holding a ResourceList.
    ///
    /// `Err` when the text is not YAML or not a mapping. A mapping that is not a valid
    /// ResourceList comes back with its items as they were and an error result, so the answer
    /// can echo the input.
    pub fn parse(source_name: &str, bytes: Vec<u8>) -> Result<Self> {
        let text = Arc::new(yaml::text(source_name, bytes)?);
        let read = yaml::parse_resource_list(source_name, &text, interest::slim)?;
        let mut list = match shape_error(source_name, &read.doc) {
            None => {
                take_apart(read.doc).ok_or_else(|| Error::shape(source_name, "not a mapping"))?
            }
            // Not a ResourceList we accept, but one: echo its items with the error.
            Some(e) if read.doc.get("kind").and_then(Value::as_str) == Some("ResourceList") => {
                let Some(mut list) = take_apart(read.doc) else {
                    return Err(e);
                };
                list.function_config = None;
                list.results.push(KrmResult::error(e.to_string()));
                list
            }
            Some(e) => return Err(e),
        };
        if read.spans.len() == list.items.len() {
            list.spans = read.spans;
            list.slim = read.slim;
        } else if read.slim.iter().any(|s| *s) {
            return Err(Error::shape(
                source_name,
                "items could not be placed in the text; nothing was changed",
            ));
        }
        list.source = text;
        Ok(list)
    }

    /// True when item `index` holds only part of the item (read whole by [`Self::materialize`]).
    pub fn is_slim(&self, index: usize) -> bool {
        self.slim.get(index).copied().unwrap_or(false)
    }

    /// Reads whole, from the text, every slim item for which `wanted` (given its slim form) is
    /// true. Returns how many were read.
    pub fn materialize(&mut self, wanted: impl Fn(&Value) -> bool) -> Result<usize> {
        let mut count = 0;
        for i in 0..self.items.len() {
            if !self.is_slim(i) || !wanted(&self.items[i]) {
                continue;
            }
            let Some(span) = self.spans[i] else {
                continue;
            };
            self.items[i] = yaml::parse_item("stdin", &self.source, span)?;
            self.slim[i] = false;
            count += 1;
        }
        Ok(count)
    }

    /// Replaces item `index`; its original text no longer applies.
    pub fn replace_item(&mut self, index: usize, item: Value) {
        self.items[index] = item;
        if let Some(span) = self.spans.get_mut(index) {
            *span = None;
        }
        if let Some(slim) = self.slim.get_mut(index) {
            *slim = false;
        }
    }

    /// Writes the list; unchanged items are copied from the text it was parsed from.
    pub fn emit(self, out: &mut dyn Write) -> Result<()> {
        let spans = if self.source.is_empty() {
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
        yaml::emit_resource_list(
            out,
            &header,
            &self.items,
            &spans,
            &self.source,
            &Value::Object(rest),
        )
    }

    /// Checks the shape of a parsed document and takes it apart.
    pub fn from_value(source_name: &str, doc: Value) -> Result<Self> {
        if let Some(e) = shape_error(source_name, &doc) {
            return Err(e);
        }
        take_apart(doc).ok_or_else(|| Error::shape(source_name, "not a mapping"))
    }

    /// The document to write: apiVersion, kind, items, functionConfig, results. Slim items are
    /// read whole first.
    pub fn into_value(mut self) -> Value {
        // Cannot fail for text that was read once already; an item that did stays as it is.
        let _ = self.materialize(|_| true);
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

/// A ResourceList mapping in parts: its items (`None` when `items` is neither a list nor
/// absent), the apiVersion (the current one unless the input names a ResourceList version)
/// and the functionConfig when it is a mapping.
fn take_apart(doc: Value) -> Option<ResourceList> {
    let Value::Object(mut map) = doc else {
        return None;
    };
    let items = match map.remove("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => return None,
    };
    let mut list = ResourceList::new(items);
    if let Some(Value::String(v)) = map.remove("apiVersion")
        && v.starts_with("config.kubernetes.io/")
    {
        list.api_version = v;
    }
    list.function_config = map.remove("functionConfig").filter(Value::is_object);
    Some(list)
}

/// What makes `doc` not a ResourceList we accept, if anything.
fn shape_error(source_name: &str, doc: &Value) -> Option<Error> {
    let fail = |message: String| Some(Error::shape(source_name, message));
    let Value::Object(map) = doc else {
        return fail(format!(
            "expected a ResourceList mapping, found {}",
            describe_type(doc)
        ));
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "ResourceList" {
        let found = if kind.is_empty() {
            "no kind".to_string()
        } else {
            format!("kind {kind:?}")
        };
        return fail(format!(
            "expected kind ResourceList, found {found}; as a kustomize legacy plugin, \
             pass the config file as the first argument"
        ));
    }
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if !API_VERSIONS.contains(&api_version) {
        return fail(format!(
            "apiVersion: unsupported ResourceList version {api_version:?}; expected one of {}",
            API_VERSIONS.join(", ")
        ));
    }
    match map.get("items") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if let Some((i, item)) = items.iter().enumerate().find(|(_, i)| !i.is_object()) {
                return fail(format!(
                    "items[{i}]: expected a mapping, found {}",
                    describe_type(item)
                ));
            }
        }
        Some(other) => {
            return fail(format!(
                "items: expected a list, found {}",
                describe_type(other)
            ));
        }
    }
    match map.get("functionConfig") {
        None | Some(Value::Null) | Some(Value::Object(_)) => None,
        Some(other) => fail(format!(
            "functionConfig: expected a mapping, found {}",
            describe_type(other)
        )),
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
