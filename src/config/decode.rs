//! Decode → default → validate an `AutheliaSecrets` object, collecting every problem with its path.

use super::configmap;
use super::{
    API_VERSION, Config, DEFAULT_CONTAINER, DEFAULT_MOUNT_PATH, DEFAULT_VOLUME_NAME, KIND, Rollout,
    SecretSpec, SeedSource, Source, WORKLOAD_KINDS, WorkloadSelector, duplicate_env_vars,
};
use crate::catalog::{self, AutheliaVersion, Charset, Entry, Format, Generator, Obtain};
use crate::keys::{Curve, KeyFormat};
use crate::resource;
use crate::resource_list::describe_type;
use crate::result::KrmResult;
use crate::suggest::did_you_mean;
use crate::yaml::Map;
use serde_json::Value;

const TOP_FIELDS: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];
pub(crate) const SPEC_FIELDS: [&str; 10] = [
    "autheliaVersion",
    "secretName",
    "mountPath",
    "volumeName",
    "seed",
    "workloads",
    "rollout",
    "secrets",
    "allowFilesOutsideRoot",
    "namespace",
];
pub(crate) const SECRET_FIELDS: [&str; 12] = [
    "type",
    "length",
    "charset",
    "bits",
    "curve",
    "format",
    "rotation",
    "fromFile",
    "fromEnv",
    "value",
    "configKey",
    "mountOnly",
];
const GENERATOR_FIELDS: [&str; 6] = ["type", "length", "charset", "bits", "curve", "format"];
pub(crate) const WORKLOAD_FIELDS: [&str; 5] =
    ["kind", "name", "namespace", "container", "initContainers"];
pub(crate) const MAX_LENGTH: u64 = 1024;
/// The error for a malformed variable name. It never repeats the name: a value pasted into the
/// field by mistake must not end up in the output.
const BAD_ENV_NAME: &str = "is not a valid environment variable name (letters, digits and '_', \
     not starting with a digit); the text is not repeated here in case a value was pasted by mistake";

/// Loads the function config (an `AutheliaSecrets` or a `ConfigMap`).
///
/// Returns the config when it is valid, and every finding (errors make the config `None`;
/// warnings can come with a valid config).
pub fn load(function_config: &Value) -> (Option<Config>, Vec<KrmResult>) {
    if resource::kind(function_config) == "ConfigMap" {
        return configmap::load(function_config);
    }
    let mut d = Decoder::new(function_config);
    let config = d.config(function_config, KIND);
    let results = d.finish();
    if results.iter().any(KrmResult::is_error) {
        (None, results)
    } else {
        (config, results)
    }
}

/// Collects findings about one config object.
pub(super) struct Decoder {
    origin: Value,
    pub(super) results: Vec<KrmResult>,
}

impl Decoder {
    pub(super) fn new(origin: &Value) -> Self {
        // Keep only what results need, so secrets written as literals are not copied around.
        let mut slim = Map::new();
        for key in ["apiVersion", "kind", "metadata"] {
            if let Some(v) = origin.get(key) {
                slim.insert(key.to_string(), v.clone());
            }
        }
        Decoder {
            origin: Value::Object(slim),
            results: Vec::new(),
        }
    }

    pub(super) fn finish(self) -> Vec<KrmResult> {
        self.results
    }

    pub(super) fn error(&mut self, path: &str, message: impl Into<String>) {
        let r = KrmResult::error(message).on(&self.origin).at(path);
        self.results.push(r);
    }

    fn warning(&mut self, path: &str, message: impl Into<String>) {
        let r = KrmResult::warning(message).on(&self.origin).at(path);
        self.results.push(r);
    }

    /// Reports keys of `map` not in `known`, with the closest known key.
    fn unknown_fields(&mut self, map: &Map, path: &str, known: &[&str]) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                let field = join(path, key);
                let hint = did_you_mean(key, known.iter().copied());
                let hint = if hint.is_empty() {
                    format!(" (known fields: {})", known.join(", "))
                } else {
                    hint
                };
                self.error(&field, format!("unknown field {key:?}{hint}"));
            }
        }
    }

    fn map<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a Map> {
        match value {
            Value::Object(m) => Some(m),
            other => {
                self.error(
                    path,
                    format!("expected a mapping, found {}", describe_type(other)),
                );
                None
            }
        }
    }

    fn string(&mut self, map: &Map, key: &str, path: &str) -> Option<String> {
        match map.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => {
                self.error(
                    &join(path, key),
                    format!("expected a string, found {}", describe_type(other)),
                );
                None
            }
        }
    }

    fn boolean(&mut self, map: &Map, key: &str, path: &str) -> Option<bool> {
        match map.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::Null => None,
            other => {
                self.error(
                    &join(path, key),
                    format!("expected true or false, found {}", describe_type(other)),
                );
                None
            }
        }
    }

    fn unsigned(&mut self, map: &Map, key: &str, path: &str) -> Option<u64> {
        match map.get(key)? {
            Value::Number(n) if n.as_u64().is_some() => n.as_u64(),
            Value::Null => None,
            other => {
                self.error(
                    &join(path, key),
                    format!(
                        "expected a whole number ≥ 0, found {}",
                        describe_type(other)
                    ),
                );
                None
            }
        }
    }

    /// Checks apiVersion, kind and unknown top-level fields; returns metadata and spec.
    pub(super) fn top(
        &mut self,
        obj: &Value,
        expected_kind: &str,
        spec_fields: &[&str],
    ) -> Option<(Map, Map)> {
        let top = self.map(obj, "")?;
        self.unknown_fields(top, "", &TOP_FIELDS);
        let api_version = resource::api_version(obj);
        if api_version != API_VERSION {
            self.error(
                "apiVersion",
                format!("expected {API_VERSION}, found {api_version:?}"),
            );
        }
        let kind = resource::kind(obj);
        if kind != expected_kind {
            self.error("kind", format!("expected {expected_kind}, found {kind:?}"));
        }
        let meta = match top.get("metadata") {
            Some(v) => self.map(v, "metadata").cloned().unwrap_or_default(),
            None => Map::new(),
        };
        let empty = Value::Object(Map::new());
        let spec_value = match top.get("spec") {
            Some(Value::Null) | None => &empty,
            Some(v) => v,
        };
        let spec = self.map(spec_value, "spec")?.clone();
        self.unknown_fields(&spec, "spec", spec_fields);
        Some((meta, spec))
    }

    /// Decodes, defaults and validates the whole object.
    pub(super) fn config(&mut self, obj: &Value, expected_kind: &str) -> Option<Config> {
        let (meta, spec) = self.top(obj, expected_kind, &SPEC_FIELDS)?;
        let name = self.string(&meta, "name", "metadata");
        let meta_namespace = self.string(&meta, "namespace", "metadata");
        self.spec(&spec, name, meta_namespace)
    }

    /// `spec.autheliaVersion`: `None` when absent.
    pub(super) fn version(&mut self, spec: &Map) -> Result<Option<AutheliaVersion>, ()> {
        match spec.get("autheliaVersion") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => match AutheliaVersion::parse(s) {
                Some(v) => Ok(Some(v)),
                None => {
                    self.error(
                        "spec.autheliaVersion",
                        format!(
                            "unsupported Authelia version {s:?}; supported: {}",
                            versions_list()
                        ),
                    );
                    Err(())
                }
            },
            Some(Value::Number(n)) => {
                self.error(
                    "spec.autheliaVersion",
                    format!(
                        "write the version as a string, e.g. autheliaVersion: \"4.39\" (a bare \
                         number loses trailing zeros: this one reads as {n}); supported: {}",
                        versions_list()
                    ),
                );
                Err(())
            }
            Some(other) => {
                self.error(
                    "spec.autheliaVersion",
                    format!(
                        "expected a string such as \"4.39\", found {}",
                        describe_type(other)
                    ),
                );
                Err(())
            }
        }
    }

    /// A list of strings at `key` (public to the check config).
    pub(super) fn names(&mut self, map: &Map, key: &str, path: &str) -> Vec<String> {
        self.string_list(map, key, path)
    }

    fn spec(
        &mut self,
        spec: &Map,
        name: Option<String>,
        meta_ns: Option<String>,
    ) -> Option<Config> {
        let declared = self.version(spec);
        let version = declared.map(|v| v.unwrap_or(AutheliaVersion::DEFAULT)).ok();

        let spec_ns = self.string(spec, "namespace", "spec");
        if spec_ns.is_some() && meta_ns.is_some() && spec_ns != meta_ns {
            self.error(
                "spec.namespace",
                "conflicts with metadata.namespace; set the Secret's namespace in one place",
            );
        }
        let namespace = spec_ns.or(meta_ns);
        if let Some(ns) = &namespace
            && !is_dns_label(ns)
        {
            self.error(
                "metadata.namespace",
                format!("{ns:?} is not a valid namespace (lower-case letters, digits and '-', at most 63)"),
            );
        }

        let secret_name = match self.string(spec, "secretName", "spec").or(name) {
            Some(n) => {
                if !is_dns_subdomain(&n) {
                    self.error(
                        "spec.secretName",
                        format!("{n:?} is not a valid Secret name (lower-case letters, digits, '-' and '.', at most 253)"),
                    );
                }
                n
            }
            None => {
                self.error(
                    "metadata.name",
                    "missing: set metadata.name (it is also the default Secret name)",
                );
                String::new()
            }
        };

        let mount_path = self
            .string(spec, "mountPath", "spec")
            .unwrap_or_else(|| DEFAULT_MOUNT_PATH.to_string());
        let mount_path = self.mount_path(&mount_path);

        let volume_name = self
            .string(spec, "volumeName", "spec")
            .unwrap_or_else(|| DEFAULT_VOLUME_NAME.to_string());
        if !is_dns_label(&volume_name) {
            self.error(
                "spec.volumeName",
                format!("{volume_name:?} is not a valid volume name (lower-case letters, digits and '-', at most 63)"),
            );
        }

        let seed = self.seed(spec);
        let workloads = self.workloads(spec);

        let rollout = match self.string(spec, "rollout", "spec") {
            None => Rollout::Checksum,
            Some(r) => match Rollout::ALL.iter().find(|(_, s)| *s == r) {
                Some((v, _)) => *v,
                None => {
                    let names: Vec<&str> = Rollout::ALL.iter().map(|(_, s)| *s).collect();
                    self.error(
                        "spec.rollout",
                        format!(
                            "unknown rollout {r:?}{}; expected one of {}",
                            did_you_mean(&r, names.iter().copied()),
                            names.join(", ")
                        ),
                    );
                    Rollout::Checksum
                }
            },
        };

        let allow_outside = self
            .boolean(spec, "allowFilesOutsideRoot", "spec")
            .unwrap_or(false);

        let version_for_env = version.unwrap_or(AutheliaVersion::DEFAULT);
        let secrets = self.secrets(spec, version_for_env);

        Some(Config {
            origin: self.origin.clone(),
            namespace,
            version: version?,
            version_declared: declared.ok().flatten(),
            secret_name,
            mount_path,
            volume_name,
            seed,
            workloads,
            rollout,
            secrets,
            allow_files_outside_root: allow_outside,
        })
    }

    fn mount_path(&mut self, raw: &str) -> String {
        let trimmed = if raw.len() > 1 {
            raw.trim_end_matches('/')
        } else {
            raw
        };
        if !trimmed.starts_with('/') || trimmed == "/" {
            self.error(
                "spec.mountPath",
                format!("{raw:?} must be an absolute directory other than /, e.g. /app/secrets"),
            );
        } else if trimmed.split('/').any(|seg| seg == ".." || seg == ".")
            || trimmed.contains("//")
            || trimmed.contains(':')
        {
            self.error(
                "spec.mountPath",
                format!("{raw:?} must be a plain absolute path without '.', '..', '//' or ':'"),
            );
        }
        trimmed.to_string()
    }

    fn seed(&mut self, spec: &Map) -> SeedSource {
        let Some(value) = spec.get("seed") else {
            return SeedSource::Default;
        };
        if value.is_null() {
            return SeedSource::Default;
        }
        let Some(map) = self.map(value, "spec.seed").cloned() else {
            return SeedSource::Default;
        };
        self.unknown_fields(&map, "spec.seed", &["env", "file"]);
        let env = self.string(&map, "env", "spec.seed");
        let file = self.string(&map, "file", "spec.seed");
        match (env, file) {
            (Some(e), None) => {
                if !is_env_name(&e) {
                    self.error("spec.seed.env", BAD_ENV_NAME);
                }
                SeedSource::Env(e)
            }
            (None, Some(f)) => {
                if f.is_empty() {
                    self.error("spec.seed.file", "must not be empty");
                }
                SeedSource::File(f)
            }
            (Some(_), Some(_)) => {
                self.error("spec.seed", "set either env or file, not both");
                SeedSource::Default
            }
            (None, None) => {
                self.error("spec.seed", "set env: NAME or file: path");
                SeedSource::Default
            }
        }
    }

    fn workloads(&mut self, spec: &Map) -> Option<Vec<WorkloadSelector>> {
        let value = spec.get("workloads")?;
        if value.is_null() {
            return None;
        }
        let Value::Array(list) = value else {
            self.error(
                "spec.workloads",
                format!("expected a list, found {}", describe_type(value)),
            );
            return None;
        };
        let mut out = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            let path = format!("spec.workloads[{i}]");
            let Some(map) = self.map(entry, &path).cloned() else {
                continue;
            };
            self.unknown_fields(&map, &path, &WORKLOAD_FIELDS);
            let kind = self.string(&map, "kind", &path);
            if let Some(k) = &kind
                && !WORKLOAD_KINDS.iter().any(|(wk, _)| wk == k)
            {
                let kinds: Vec<&str> = WORKLOAD_KINDS.iter().map(|(k, _)| *k).collect();
                self.error(
                    &join(&path, "kind"),
                    format!(
                        "unsupported kind {k:?}{}; expected one of {}",
                        did_you_mean(k, kinds.iter().copied()),
                        kinds.join(", ")
                    ),
                );
            }
            let name = self.string(&map, "name", &path);
            if name.is_none() {
                self.error(&join(&path, "name"), "missing: name the workload to patch");
            }
            let namespace = self.string(&map, "namespace", &path);
            let container = self
                .string(&map, "container", &path)
                .unwrap_or_else(|| DEFAULT_CONTAINER.to_string());
            let init_containers = self.string_list(&map, "initContainers", &path);
            out.push(WorkloadSelector {
                kind,
                name: name.unwrap_or_default(),
                namespace,
                container,
                init_containers,
                field: path,
            });
        }
        Some(out)
    }

    fn string_list(&mut self, map: &Map, key: &str, path: &str) -> Vec<String> {
        let field = join(path, key);
        match map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => self.error(
                            &format!("{field}[{i}]"),
                            format!("expected a string, found {}", describe_type(other)),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.error(
                    &field,
                    format!("expected a list of names, found {}", describe_type(other)),
                );
                Vec::new()
            }
        }
    }

    fn secrets(&mut self, spec: &Map, version: AutheliaVersion) -> Vec<SecretSpec> {
        let entries: Vec<(String, Value)> = match spec.get("secrets") {
            None | Some(Value::Null) => catalog::MINIMAL
                .iter()
                .map(|k| (k.to_string(), Value::Object(Map::new())))
                .collect(),
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(other) => {
                self.error(
                    "spec.secrets",
                    format!(
                        "expected a mapping of Secret key to settings (e.g. JWT_SECRET: {{}}), found {}",
                        describe_type(other)
                    ),
                );
                return Vec::new();
            }
        };
        if entries.is_empty() {
            self.error(
                "spec.secrets",
                "is empty; list at least one key, or omit it for JWT_SECRET, SESSION_SECRET and STORAGE_ENCRYPTION_KEY",
            );
        }
        let mut out: Vec<SecretSpec> = Vec::new();
        for (key, value) in entries {
            if let Some(s) = self.secret(&key, &value, version) {
                out.push(s);
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        for (field, msg) in duplicate_env_vars(&out) {
            self.error(&field, msg);
        }
        out
    }

    fn secret(&mut self, key: &str, value: &Value, version: AutheliaVersion) -> Option<SecretSpec> {
        let path = format!("spec.secrets.{key}");
        if !is_secret_key(key) {
            self.error(
                &path,
                format!("{key:?} is not a valid Secret key (letters, digits, '-', '_' and '.', at most 253)"),
            );
            return None;
        }
        let empty = Map::new();
        let map = match value {
            Value::Null => &empty,
            other => self.map(other, &path)?,
        };
        self.unknown_fields(map, &path, &SECRET_FIELDS);
        let entry = catalog::find(key);

        let from_file = self.string(map, "fromFile", &path);
        let from_env = self.string(map, "fromEnv", &path);
        let literal = self.string(map, "value", &path);
        let rotation = self.unsigned(map, "rotation", &path);
        let config_key = self.string(map, "configKey", &path);
        let mount_only = self.boolean(map, "mountOnly", &path).unwrap_or(false);
        let gen_fields: Vec<&str> = GENERATOR_FIELDS
            .iter()
            .copied()
            .filter(|f| map.contains_key(*f))
            .collect();

        let sources = [from_file.is_some(), from_env.is_some(), literal.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if sources > 1 {
            self.error(&path, "set only one of fromFile, fromEnv and value");
            return None;
        }
        if sources == 1 && (!gen_fields.is_empty() || rotation.is_some()) {
            let mut fields = gen_fields.clone();
            if rotation.is_some() {
                fields.push("rotation");
            }
            self.error(
                &join(&path, fields[0]),
                format!(
                    "{} appl{} to generated values only; this key's value is provided",
                    fields.join(", "),
                    if fields.len() == 1 { "ies" } else { "y" }
                ),
            );
        }

        // The env var.
        let env_var = match (entry, config_key, mount_only) {
            (_, Some(_), true) => {
                self.error(&path, "set configKey or mountOnly, not both");
                None
            }
            (Some(_), Some(_), false) => {
                self.error(
                    &join(&path, "configKey"),
                    format!("{key} is a known Authelia secret; remove configKey (see `authelia-secrets catalog`)"),
                );
                None
            }
            (Some(e), None, false) => Some(e.env_var(version)),
            (_, None, true) => None,
            (None, Some(ck), false) => match catalog::config_key_problem(&ck) {
                Some(problem) => {
                    self.error(&join(&path, "configKey"), format!("{ck:?}: {problem}"));
                    None
                }
                None => Some(catalog::env_var_for_config_key(&ck)),
            },
            (None, None, false) => {
                self.error(
                    &path,
                    format!(
                        "{key} is not an Authelia secret this tool knows{}; set configKey: <authelia.config.key> \
                         to wire it, or mountOnly: true to only mount the file",
                        did_you_mean(key, catalog::keys())
                    ),
                );
                None
            }
        };

        let source = if let Some(f) = from_file {
            if f.is_empty() {
                self.error(&join(&path, "fromFile"), "must not be empty");
            }
            Source::FromFile(f)
        } else if let Some(e) = from_env {
            if !is_env_name(&e) {
                self.error(&join(&path, "fromEnv"), BAD_ENV_NAME);
            }
            Source::FromEnv(e)
        } else if let Some(v) = literal {
            self.warning(
                &join(&path, "value"),
                "a literal value is stored in Git with the config; prefer fromFile or fromEnv",
            );
            Source::Literal(v)
        } else {
            let default = match entry.map(|e| e.obtain) {
                Some(Obtain::Generate(g)) => Some(g),
                Some(Obtain::Provide(who)) if gen_fields.is_empty() => {
                    self.error(
                        &path,
                        format!("{key} {who}: set fromFile or fromEnv (or value)"),
                    );
                    return None;
                }
                Some(Obtain::ProvideOnly(what)) => {
                    let asked = if gen_fields.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} asks for a generated value)", gen_fields.join(", "))
                    };
                    self.error(
                        &path,
                        format!(
                            "{key} {what}, so it is never generated{asked}: set fromFile, fromEnv or value to the path"
                        ),
                    );
                    return None;
                }
                Some(Obtain::Provide(_)) | None => None,
            };
            Source::Generate(self.generator(map, &path, default, entry))
        };

        Some(SecretSpec {
            key: key.to_string(),
            source,
            rotation: rotation.unwrap_or(0),
            env_var,
            entry,
            field: path,
        })
    }

    fn generator(
        &mut self,
        map: &Map,
        path: &str,
        default: Option<Generator>,
        entry: Option<&'static Entry>,
    ) -> Generator {
        let default = default.unwrap_or(Generator::RANDOM_64);
        let default_type = generator_type(&default);
        let kind = self
            .string(map, "type", path)
            .unwrap_or_else(|| default_type.to_string());
        let key_name = entry.map_or("this key", |e| e.key);
        let type_field = join(path, "type");
        // Fields that belong to another type are mistakes.
        let own: &[&str] = match kind.as_str() {
            "random" => &["length", "charset"],
            "rsa" => &["bits", "format"],
            "ecdsa" => &["curve", "format"],
            other => {
                self.error(
                    &type_field,
                    format!(
                        "unknown generator type {other:?}{}; expected random, rsa or ecdsa",
                        did_you_mean(other, ["random", "rsa", "ecdsa"])
                    ),
                );
                return default;
            }
        };
        for field in ["length", "charset", "bits", "curve", "format"] {
            if map.contains_key(field) && !own.contains(&field) {
                self.error(
                    &join(path, field),
                    format!("{field} does not apply to type {kind}"),
                );
            }
        }
        if let Some(e) = entry {
            let wants_key = e.format == Format::PrivateKey;
            if wants_key && kind == "random" {
                self.error(
                    &type_field,
                    format!("{key_name} is a private key: use type rsa or ecdsa"),
                );
            } else if !wants_key && kind != "random" {
                self.error(
                    &type_field,
                    format!("{key_name} is a text secret: use type random"),
                );
            } else if e.key == "OIDC_ISSUER_PRIVATE_KEY" && kind == "ecdsa" {
                self.error(
                    &type_field,
                    "Authelia reads identity_providers.oidc.issuer_private_key as an RSA key only: use type rsa",
                );
            }
        }
        match kind.as_str() {
            "random" => self.random_generator(map, path, default, entry),
            "rsa" => {
                let bits = match self.unsigned(map, "bits", path) {
                    None => match default {
                        Generator::Rsa { bits, .. } => bits,
                        _ => 2048,
                    },
                    Some(b) if b < 2048 => {
                        self.error(
                            &join(path, "bits"),
                            format!("Authelia refuses RSA keys under 2048 bits (got {b}); use 2048, 3072 or 4096"),
                        );
                        2048
                    }
                    Some(b) if ![2048, 3072, 4096].contains(&b) => {
                        self.error(
                            &join(path, "bits"),
                            format!("{b} is not supported; use 2048, 3072 or 4096"),
                        );
                        2048
                    }
                    Some(b) => b as usize,
                };
                let format = self.key_format(map, path, &[KeyFormat::Pkcs8, KeyFormat::Pkcs1]);
                Generator::Rsa { bits, format }
            }
            _ => {
                let curve = match self.string(map, "curve", path) {
                    None => match default {
                        Generator::Ecdsa { curve, .. } => curve,
                        _ => Curve::P256,
                    },
                    Some(c) => Curve::parse(&c).unwrap_or_else(|| {
                        self.error(
                            &join(path, "curve"),
                            format!(
                                "unsupported curve {c:?}; Authelia accepts P-256, P-384 and P-521"
                            ),
                        );
                        Curve::P256
                    }),
                };
                let format = self.key_format(map, path, &[KeyFormat::Pkcs8, KeyFormat::Sec1]);
                Generator::Ecdsa { curve, format }
            }
        }
    }

    fn key_format(&mut self, map: &Map, path: &str, allowed: &[KeyFormat]) -> KeyFormat {
        match self.string(map, "format", path) {
            None => KeyFormat::Pkcs8,
            Some(f) => match KeyFormat::parse(&f).filter(|k| allowed.contains(k)) {
                Some(k) => k,
                None => {
                    let names: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
                    self.error(
                        &join(path, "format"),
                        format!("unsupported format {f:?}; expected {}", names.join(" or ")),
                    );
                    KeyFormat::Pkcs8
                }
            },
        }
    }

    fn random_generator(
        &mut self,
        map: &Map,
        path: &str,
        default: Generator,
        entry: Option<&'static Entry>,
    ) -> Generator {
        let (default_length, default_charset) = match default {
            Generator::Random { length, charset } => (length, charset),
            _ => (64, Charset::Alphanumeric),
        };
        let length = match self.unsigned(map, "length", path) {
            None => default_length,
            Some(l) if l == 0 || l > MAX_LENGTH => {
                self.error(
                    &join(path, "length"),
                    format!("must be between 1 and {MAX_LENGTH}"),
                );
                default_length
            }
            Some(l) => l as usize,
        };
        let min_length = entry.map_or(0, |e| e.min_length);
        if length < min_length {
            self.error(
                &join(path, "length"),
                format!(
                    "Authelia requires {} to be at least {min_length} characters (64 recommended)",
                    entry.map_or("this value", |e| e.config_key)
                ),
            );
        }
        let charset = match self.string(map, "charset", path) {
            None => default_charset,
            Some(c) => Charset::parse(&c).unwrap_or_else(|| {
                let names: Vec<&str> = Charset::ALL.iter().map(|c| c.as_str()).collect();
                self.error(
                    &join(path, "charset"),
                    format!(
                        "unknown charset {c:?}{}; expected one of {}",
                        did_you_mean(&c, names.iter().copied()),
                        names.join(", ")
                    ),
                );
                default_charset
            }),
        };
        Generator::Random { length, charset }
    }
}

fn generator_type(g: &Generator) -> &'static str {
    match g {
        Generator::Random { .. } => "random",
        Generator::Rsa { .. } => "rsa",
        Generator::Ecdsa { .. } => "ecdsa",
    }
}

/// `a.b` from `a` and `b`.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn versions_list() -> String {
    AutheliaVersion::ALL
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

fn is_secret_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

pub(super) fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
