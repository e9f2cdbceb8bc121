//! A container's environment as Kubernetes builds it: the names `envFrom` brings in from
//! ConfigMaps and Secrets in the list, and `$(VAR)` expansion of `env` values.

use crate::resource;
use serde_json::Value;

/// A variable a container receives through one of its `envFrom` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromSource {
    /// Index of the `envFrom` entry.
    pub index: usize,
    /// The variable name (prefix + key).
    pub name: String,
    /// `ConfigMap "name"` or `Secret "name"`, for messages.
    pub source: String,
}

/// The variables `container`'s `envFrom` supplies from ConfigMaps and Secrets present in
/// `items` (in `namespace`). Sources that are not in the list supply nothing we can know.
pub fn from_sources(container: &Value, namespace: &str, items: &[Value]) -> Vec<FromSource> {
    let mut out = Vec::new();
    let Some(list) = container.get("envFrom").and_then(Value::as_array) else {
        return out;
    };
    for (index, entry) in list.iter().enumerate() {
        let prefix = entry.get("prefix").and_then(Value::as_str).unwrap_or("");
        for (kind, field, data_fields) in [
            ("ConfigMap", "configMapRef", &["data", "binaryData"][..]),
            ("Secret", "secretRef", &["data", "stringData"][..]),
        ] {
            let Some(name) = entry
                .get(field)
                .and_then(|r| r.get("name"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let Some(object) = items.iter().find(|i| {
                resource::kind(i) == kind
                    && resource::api_version(i) == "v1"
                    && resource::name(i) == name
                    && resource::namespace(i) == namespace
            }) else {
                continue;
            };
            let mut keys: Vec<&str> = Vec::new();
            for data in data_fields {
                if let Some(map) = object.get(*data).and_then(Value::as_object) {
                    keys.extend(map.keys().map(String::as_str));
                }
            }
            for key in keys {
                let var = format!("{prefix}{key}");
                if !out
                    .iter()
                    .any(|f: &FromSource| f.index == index && f.name == var)
                {
                    out.push(FromSource {
                        index,
                        name: var,
                        source: format!("{kind} {name:?}"),
                    });
                }
            }
        }
    }
    out
}

/// What the kubelet knows about an earlier variable when it expands `$(NAME)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Earlier {
    /// A plain value (itself already expanded).
    Value(String),
    /// Set, but its value is not in the manifest (`valueFrom`) or could not be expanded.
    Opaque,
}

/// The variables defined so far in a container's `env`, in order, for [`expand`].
#[derive(Debug, Default)]
pub struct Scope {
    vars: Vec<(String, Earlier)>,
}

impl Scope {
    /// Records `env` entry `var` (after the ones before it).
    pub fn push(&mut self, var: &Value) {
        let Some(name) = var.get("name").and_then(Value::as_str) else {
            return;
        };
        let known = match var.get("value") {
            Some(Value::String(v)) => match expand(v, self) {
                Some(e) => Earlier::Value(e),
                None => Earlier::Opaque,
            },
            None | Some(Value::Null) if var.get("valueFrom").is_none() => {
                Earlier::Value(String::new())
            }
            _ => Earlier::Opaque,
        };
        // A later definition of the same name wins, as in the kubelet's map.
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_string(), known));
    }

    fn get(&self, name: &str) -> Option<&Earlier> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// Expands `$(NAME)` in `value` from the earlier variables, as the kubelet does (`$$` is a
/// literal `$`; `$` before anything else stays). `None` when a reference names a variable whose
/// value we cannot know (undefined here: it may come from `envFrom` or a Service; or set
/// through `valueFrom`): the real value is then unknown.
pub fn expand(value: &str, scope: &Scope) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.chars().next() {
            None => {
                out.push('$');
                rest = "";
            }
            Some('$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some('(') => match after.find(')') {
                Some(close) => {
                    let name = &after[1..close];
                    match scope.get(name) {
                        Some(Earlier::Value(v)) => out.push_str(v),
                        Some(Earlier::Opaque) | None => return None,
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            Some(c) => {
                out.push('$');
                out.push(c);
                rest = &after[c.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(vars: &[Value]) -> Scope {
        let mut s = Scope::default();
        for v in vars {
            s.push(v);
        }
        s
    }

    #[test]
    fn expands_like_the_kubelet() {
        let s = scope(&[
            json!({"name": "DIR", "value": "/app/secrets"}),
            json!({"name": "NESTED", "value": "$(DIR)/sub"}),
            json!({"name": "FROM", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}),
        ]);
        assert_eq!(
            expand("$(DIR)/KEY", &s).as_deref(),
            Some("/app/secrets/KEY")
        );
        assert_eq!(
            expand("$(NESTED)/K", &s).as_deref(),
            Some("/app/secrets/sub/K")
        );
        assert_eq!(expand("$$(DIR)/K", &s).as_deref(), Some("$(DIR)/K"));
        assert_eq!(expand("a$b$", &s).as_deref(), Some("a$b$"));
        assert_eq!(expand("$(DIR", &s).as_deref(), Some("$(DIR"));
        assert_eq!(expand("$(FROM)/K", &s), None);
        assert_eq!(expand("$(LATER)/K", &s), None);
        assert_eq!(expand("/plain/path", &s).as_deref(), Some("/plain/path"));
    }

    #[test]
    fn env_from_lists_prefixed_keys_of_sources_in_the_list() {
        let items = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "a"},
                   "data": {"SESSION_SECRET": "x"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"},
                   "stringData": {"AUTHELIA_JWT_SECRET": "x"}}),
        ];
        let container = json!({"envFrom": [
            {"prefix": "AUTHELIA_", "configMapRef": {"name": "cm"}},
            {"secretRef": {"name": "s"}},
            {"secretRef": {"name": "elsewhere"}},
        ]});
        let names: Vec<(usize, String)> = from_sources(&container, "a", &items)
            .into_iter()
            .map(|f| (f.index, f.name))
            .collect();
        assert_eq!(
            names,
            vec![
                (0, "AUTHELIA_SESSION_SECRET".to_string()),
                (1, "AUTHELIA_JWT_SECRET".to_string())
            ]
        );
        assert!(from_sources(&container, "b", &items).is_empty());
    }
}
