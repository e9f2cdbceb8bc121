//! KRM function results: structured findings with severity, resource, field and file.

use crate::resource;
use serde_json::{Value, json};
use std::fmt;

/// How bad a finding is. Any `Error` makes the run fail (exit code 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The object a result is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl ResourceRef {
    /// The reference of a generic item.
    pub fn of(item: &Value) -> Self {
        ResourceRef {
            api_version: resource::api_version(item).to_string(),
            kind: resource::kind(item).to_string(),
            name: resource::name(item).to_string(),
            namespace: resource::namespace(item).to_string(),
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)?;
        if !self.namespace.is_empty() {
            write!(f, " (namespace {})", self.namespace)?;
        }
        Ok(())
    }
}

/// The file an object came from, as the orchestrator annotated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub path: String,
    pub index: Option<u64>,
}

/// One finding. Messages never contain secret values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrmResult {
    pub severity: Severity,
    pub message: String,
    pub resource_ref: Option<ResourceRef>,
    /// A field path in the object, e.g. `spec.secrets.JWT_SECRET.length`.
    pub field: Option<String>,
    pub file: Option<FileRef>,
}

impl KrmResult {
    /// A finding with no location yet.
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        KrmResult {
            severity,
            message: message.into(),
            resource_ref: None,
            field: None,
            file: None,
        }
    }

    /// An error finding.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    /// A warning finding.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    /// An informational finding.
    pub fn info(message: impl Into<String>) -> Self {
        Self::new(Severity::Info, message)
    }

    /// Attaches the object (and its file, when annotated) the finding is about.
    pub fn on(mut self, item: &Value) -> Self {
        self.resource_ref = Some(ResourceRef::of(item));
        self.file = resource::file_path(item).map(|p| FileRef {
            path: p.to_string(),
            index: resource::file_index(item),
        });
        self
    }

    /// Attaches a field path.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        if !path.is_empty() {
            self.field = Some(path);
        }
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The result as it goes into a ResourceList's `results`.
    pub fn to_value(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("message".into(), json!(self.message));
        out.insert("severity".into(), json!(self.severity.as_str()));
        if let Some(r) = &self.resource_ref {
            let mut rr = serde_json::Map::new();
            rr.insert("apiVersion".into(), json!(r.api_version));
            rr.insert("kind".into(), json!(r.kind));
            rr.insert("name".into(), json!(r.name));
            if !r.namespace.is_empty() {
                rr.insert("namespace".into(), json!(r.namespace));
            }
            out.insert("resourceRef".into(), Value::Object(rr));
        }
        if let Some(f) = &self.field {
            out.insert("field".into(), json!({ "path": f }));
        }
        if let Some(f) = &self.file {
            let mut file = serde_json::Map::new();
            file.insert("path".into(), json!(f.path));
            if let Some(i) = f.index {
                file.insert("index".into(), json!(i));
            }
            out.insert("file".into(), Value::Object(file));
        }
        Value::Object(out)
    }
}

impl fmt::Display for KrmResult {
    /// One line for humans: `error: Deployment/authelia spec.x: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut location = String::new();
        if let Some(r) = &self.resource_ref {
            location.push_str(&format!(" {r}"));
        }
        if let Some(p) = &self.field {
            location.push_str(&format!(" {p}"));
        }
        if let Some(file) = &self.file {
            location.push_str(&format!(" [{}]", file.path));
        }
        if location.is_empty() {
            write!(f, "{}: {}", self.severity.as_str(), self.message)
        } else {
            write!(f, "{}:{location}: {}", self.severity.as_str(), self.message)
        }
    }
}

/// Drops repeated results (same severity, message, resource and field), keeping the first.
pub fn dedup(results: &mut Vec<KrmResult>) {
    let mut seen: Vec<KrmResult> = Vec::new();
    results.retain(|r| {
        if seen.contains(r) {
            false
        } else {
            seen.push(r.clone());
            true
        }
    });
}

/// True when any result is an error.
pub fn any_error(results: &[KrmResult]) -> bool {
    results.iter().any(KrmResult::is_error)
}
