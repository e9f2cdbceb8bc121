//! `AutheliaSecretsCheck`: finds wiring mistakes in manifests; changes nothing.
//!
//! For every container that runs Authelia (named `authelia`, or an Authelia image from any
//! registry) it checks the `AUTHELIA_*` variables against the catalog ([`names`]), follows
//! each `_FILE` path to its mount, volume and Secret key ([`files`]), and checks the Secret's
//! values when the Secret is in the list.

mod files;
mod names;
mod permissions;

use crate::catalog::{AutheliaVersion, Entry};
use crate::config::{CheckConfig, DEFAULT_CONTAINER};
use crate::container_env::{self, Scope};
use crate::image::{self, TagVersion};
use crate::resource;
use crate::result::KrmResult;
use crate::workloads::{pod_spec, pod_spec_path};
use files::FileVar;
use names::{Form, Known, classify, suggestion};
use serde_json::Value;
use std::collections::BTreeSet;

/// True for containers that run Authelia.
pub fn runs_authelia(container: &Value) -> bool {
    container.get("name").and_then(Value::as_str) == Some(DEFAULT_CONTAINER)
        || is_authelia_image(container)
}

fn is_authelia_image(container: &Value) -> bool {
    container
        .get("image")
        .and_then(Value::as_str)
        .is_some_and(image::is_authelia)
}

/// Runs every check over the items; `only`: restrict to these item indexes (self-check).
pub fn run(items: &[Value], config: &CheckConfig, only: Option<&[usize]>) -> Vec<KrmResult> {
    let mut checker = Checker {
        items,
        config,
        results: Vec::new(),
        checked_values: BTreeSet::new(),
    };
    for (index, item) in items.iter().enumerate() {
        if only.is_some_and(|o| !o.contains(&index)) {
            continue;
        }
        checker.workload(item);
    }
    checker.results
}

struct Checker<'a> {
    items: &'a [Value],
    config: &'a CheckConfig,
    results: Vec<KrmResult>,
    /// (namespace, Secret, key) already checked.
    checked_values: BTreeSet<(String, String, String)>,
}

/// A variable a container gets, from `env` or `envFrom`, with where it is set.
struct SetVar {
    name: String,
    /// Field path of the `env` entry or `envFrom` entry.
    field: String,
    /// `Some("ConfigMap \"x\"")` for a variable from `envFrom`.
    from: Option<String>,
}

impl<'a> Checker<'a> {
    fn error(&mut self, item: &Value, path: String, message: String) {
        self.results
            .push(KrmResult::error(message).on(item).at(path));
    }

    fn warning(&mut self, item: &Value, path: String, message: String) {
        self.results
            .push(KrmResult::warning(message).on(item).at(path));
    }

    fn self_check(&self) -> bool {
        self.config.own_variables.is_some()
    }

    fn own(&self, name: &str) -> bool {
        self.config
            .own_variables
            .as_ref()
            .is_some_and(|o| o.iter().any(|n| n == name))
    }

    fn allowed(&self, name: &str) -> bool {
        self.config.allow_variables.iter().any(|a| a == name)
    }

    fn workload(&mut self, item: &'a Value) {
        let Some(spec) = pod_spec(item) else {
            return;
        };
        let prefix = pod_spec_path(resource::kind(item));
        let mut runs = false;
        for list in ["containers", "initContainers"] {
            let Some(containers) = spec.get(list).and_then(Value::as_array) else {
                continue;
            };
            for c in containers {
                let authelia = if list == "containers" {
                    runs_authelia(c)
                } else {
                    is_authelia_image(c)
                };
                if authelia {
                    runs = true;
                    let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                    let path = format!("{prefix}.{list}[name={name}]");
                    self.container(item, spec, c, &path);
                    self.file_permissions(item, spec, c, &path, &prefix);
                }
            }
        }
        if runs {
            self.service_links(item, spec, &prefix);
        }
    }

    /// The version to check a container against: declared, else its image tag, else the
    /// default. Warns when the two disagree or the tag names a version we do not know.
    fn version_for(&mut self, item: &Value, container: &Value, c_path: &str) -> AutheliaVersion {
        let tag = container
            .get("image")
            .and_then(Value::as_str)
            .map_or(TagVersion::Unknown, image::version);
        let used = match (&self.config.version, &tag) {
            (Some(v), _) => *v,
            (None, TagVersion::Known(w)) => *w,
            (None, _) => AutheliaVersion::DEFAULT,
        };
        // The self-check's version came from these very tags (or was compared with them).
        if self.self_check() {
            return used;
        }
        let field = format!("{c_path}.image");
        match tag {
            TagVersion::Known(w) if w != used => self.warning(
                item,
                field,
                format!(
                    "the image tag says Authelia {w}, but spec.autheliaVersion is {used}, so the names are checked \
                     against {used}; make the two agree"
                ),
            ),
            TagVersion::Unsupported(t) => self.warning(
                item,
                field,
                format!(
                    "the image tag {t:?} names an Authelia version this check does not know, so the names are checked \
                     against {used}; set spec.autheliaVersion to the closest one you have checked"
                ),
            ),
            _ => {}
        }
        used
    }

    fn container(&mut self, item: &'a Value, pod: &'a Value, container: &'a Value, c_path: &str) {
        let version = self.version_for(item, container, c_path);
        let env: Vec<&Value> = container
            .get("env")
            .and_then(Value::as_array)
            .map(|e| e.iter().collect())
            .unwrap_or_default();
        let mut set: Vec<SetVar> = env
            .iter()
            .filter_map(|e| e.get("name").and_then(Value::as_str))
            .map(|n| SetVar {
                name: n.to_string(),
                field: format!("{c_path}.env[name={n}]"),
                from: None,
            })
            .collect();
        for f in container_env::from_sources(container, resource::namespace(item), self.items) {
            set.push(SetVar {
                name: f.name,
                field: format!("{c_path}.envFrom[{}]", f.index),
                from: Some(f.source),
            });
        }

        let mut scope = Scope::default();
        for var in &env {
            if let Some(name) = var.get("name").and_then(Value::as_str)
                && name.starts_with("AUTHELIA_")
            {
                let field = format!("{c_path}.env[name={name}]");
                let known = classify(name, version);
                match Form::of(name) {
                    Form::File => {
                        let entry = self.file_name(item, &field, name, &known, version);
                        // valueFrom: the path is not in the manifest. An unexpandable $(VAR):
                        // the real path is unknown, so nothing can be said about it.
                        if let Some(raw) = var.get("value").and_then(Value::as_str)
                            && let Some(path) = container_env::expand(raw, &scope)
                        {
                            let v = FileVar {
                                item,
                                pod,
                                container,
                                c_path,
                                field: &field,
                                name,
                                path: &path,
                            };
                            self.file(&v, entry);
                        }
                    }
                    Form::Plain => self.plain_name(item, &field, var, name, &known, version),
                }
            }
            scope.push(var);
        }
        self.set_twice(item, &set, version);
    }

    /// Reports what the name of a `_FILE` variable means; returns its catalog entry.
    fn file_name(
        &mut self,
        item: &Value,
        field: &str,
        name: &str,
        known: &Known,
        version: AutheliaVersion,
    ) -> Option<&'static Entry> {
        self.name_status(item, field, name, known, version);
        if *known == Known::Unknown && !self.allowed(name) {
            let hint = suggestion(name, version)
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            self.error(
                item,
                field.to_string(),
                format!(
                    "Authelia {version} does not know {name}, so the secret it should set stays unset{hint}"
                ),
            );
        }
        known.entry()
    }

    /// Deprecated and other-version names, in either form.
    fn name_status(
        &mut self,
        item: &Value,
        field: &str,
        name: &str,
        known: &Known,
        version: AutheliaVersion,
    ) {
        match known {
            Known::DeprecatedSecret(_, d) if !self.own(name) => self.warning(
                item,
                field.to_string(),
                format!(
                    "{name} is deprecated since Authelia {}; use {}",
                    d.since, d.replacement
                ),
            ),
            Known::OldName(_, now) if !self.own(name) => self.warning(
                item,
                field.to_string(),
                format!("{name} is deprecated since Authelia 4.38; use {now}"),
            ),
            Known::OtherVersion(_, now) => self.error(
                item,
                field.to_string(),
                format!("Authelia {version} does not read {name}; use {now}"),
            ),
            _ => {}
        }
    }

    /// A plain `AUTHELIA_X`: near misses of secret names, and secrets written into the manifest.
    fn plain_name(
        &mut self,
        item: &Value,
        field: &str,
        var: &Value,
        name: &str,
        known: &Known,
        version: AutheliaVersion,
    ) {
        self.name_status(item, field, name, known, version);
        match known {
            Known::Unknown => {
                if !self.allowed(name)
                    && let Some(s) = suggestion(name, version)
                {
                    self.error(
                        item,
                        field.to_string(),
                        format!(
                            "Authelia {version} does not know {name}, so the secret it should set stays unset (did you \
                             mean {s}?)"
                        ),
                    );
                }
            }
            Known::OtherVersion(..) => {}
            Known::Current(e) | Known::DeprecatedSecret(e, _) | Known::OldName(e, _) => {
                if var
                    .get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.is_empty())
                {
                    self.warning(
                        item,
                        format!("{field}.value"),
                        format!(
                            "{name} carries the secret {} in the manifest, where everyone who can read this workload \
                             sees it; put it in a Secret, mount it and set {} to the file instead",
                            e.config_key_for(version),
                            e.env_var(version)
                        ),
                    );
                }
            }
        }
    }

    /// One secret set twice: `AUTHELIA_X` beside `AUTHELIA_X_FILE` (Authelia refuses to start),
    /// or an older name beside the current one (Authelia ignores the older one).
    fn set_twice(&mut self, item: &Value, set: &[SetVar], version: AutheliaVersion) {
        let mut reported: BTreeSet<String> = BTreeSet::new();
        for file in set.iter().filter(|v| v.name.starts_with("AUTHELIA_")) {
            let Some(plain) = file.name.strip_suffix("_FILE") else {
                continue;
            };
            for p in set.iter().filter(|v| v.name == plain) {
                let at = if p.from.is_some() || file.from.is_none() {
                    p
                } else {
                    file
                };
                if !reported.insert(format!("{}|{}", at.field, plain)) {
                    continue;
                }
                let via = |v: &SetVar| match &v.from {
                    Some(source) => format!("{} (from {source} through envFrom)", v.name),
                    None => v.name.clone(),
                };
                self.error(
                    item,
                    at.field.clone(),
                    format!(
                        "{} and {} are both set; Authelia refuses a value defined twice: keep one",
                        via(p),
                        via(file)
                    ),
                );
            }
        }
        for old in set {
            let Known::OldName(entry, _) = classify(&old.name, version) else {
                continue;
            };
            let current = set.iter().find(
                |v| matches!(classify(&v.name, version), Known::Current(e) if e.key == entry.key),
            );
            if let Some(current) = current {
                self.warning(
                    item,
                    old.field.clone(),
                    format!(
                        "{} and {} are both set: Authelia {version} ignores {} because its replacement is set (and \
                         warns that it did not map it); remove {}",
                        old.name, current.name, old.name, old.name
                    ),
                );
            }
        }
    }

    fn service_links(&mut self, item: &Value, pod: &Value, prefix: &str) {
        if pod.get("enableServiceLinks").and_then(Value::as_bool) == Some(false) {
            return;
        }
        let ns = resource::namespace(item);
        let service = self.items.iter().any(|i| {
            resource::kind(i) == "Service"
                && resource::name(i) == "authelia"
                && resource::namespace(i) == ns
        });
        if service {
            self.error(
                item,
                format!("{prefix}.enableServiceLinks"),
                "service links are enabled and a Service named authelia is in the same namespace: Kubernetes injects \
                 AUTHELIA_PORT and similar variables, which Authelia reads as configuration and fails; set enableServiceLinks: false"
                    .to_string(),
            );
        }
    }
}
