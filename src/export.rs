//! `authelia-secrets export`: the same Secret and wiring as plain kustomize inputs, for pipelines
//! that cannot run plugins (Flux, `kubectl apply -k`).
//!
//! The output folder is a kustomize Component: a `secretGenerator` reading one file per key and
//! a strategic-merge patch per workload. It is computed by the core itself, run on stub
//! workloads, so the values and wiring are exactly what the function would produce.

use crate::config::{self, Config, Rollout, WorkloadSelector};
use crate::environment::Environment;
use crate::process::{Mode, process};
use crate::resource;
use crate::resource_list::ResourceList;
use crate::result::{KrmResult, any_error};
use crate::workloads::template_path;
use crate::yaml::{self, Map};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// Folder (inside the export) holding one file per Secret key.
pub const VALUES_DIR: &str = "secrets";

/// One file to write, relative to the export folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    pub path: String,
    pub contents: Vec<u8>,
    /// A secret value: written with mode 0600 and kept out of Git.
    pub secret: bool,
}

/// Builds the export from a config object. Errors come back as results, like the function's.
pub fn plan(
    config_object: &Value,
    env: &dyn Environment,
) -> Result<(Vec<ExportFile>, Vec<KrmResult>), Vec<KrmResult>> {
    let (config, mut results) = config::load(config_object);
    let Some(config) = config else {
        return Err(results);
    };
    if config.version_declared.is_none() {
        // The function reads the version from the workloads' image tags; the export never sees
        // the workloads, so it would silently wire for the default.
        results.push(
            KrmResult::warning(format!(
                "spec.autheliaVersion is not set, and the export cannot read your workloads' image tags: the \
                 patches use the names of Authelia {}; set spec.autheliaVersion to the version you run",
                config.version
            ))
            .on(config_object)
            .at("spec.autheliaVersion"),
        );
    }
    let stubs = stub_workloads(&config);
    let mut list = ResourceList::new(stubs.clone());
    list.function_config = Some(config_object.clone());
    let out = process(list, Mode::LegacyTransformer, env);
    results.extend(out.results);
    if any_error(&results) {
        return Err(results);
    }
    let secret = out
        .items
        .iter()
        .find(|i| resource::kind(i) == "Secret")
        .cloned()
        .expect("a successful run emits the Secret");
    let mut files = Vec::new();
    let mut entries = Vec::new();
    if let Some(data) = secret.get("data").and_then(Value::as_object) {
        for (key, encoded) in data {
            let value = STANDARD
                .decode(encoded.as_str().unwrap_or(""))
                .expect("the function writes valid base64");
            files.push(ExportFile {
                path: format!("{VALUES_DIR}/{key}"),
                contents: value,
                secret: true,
            });
            entries.push(json!(format!("{key}={VALUES_DIR}/{key}")));
        }
    }
    let mut generator = Map::new();
    generator.insert("name".into(), json!(config.secret_name));
    if let Some(ns) = &config.namespace {
        generator.insert("namespace".into(), json!(ns));
    }
    generator.insert("type".into(), json!("Opaque"));
    generator.insert("files".into(), Value::Array(entries));
    if config.rollout != Rollout::HashSuffix {
        generator.insert("options".into(), json!({"disableNameSuffixHash": true}));
    }
    let mut patches = Vec::new();
    for item in out.items.iter().filter(|i| resource::kind(i) != "Secret") {
        let mut patch = item.clone();
        if config.rollout == Rollout::HashSuffix {
            // kustomize appends the hash and renames this reference itself.
            rename_volume_secret(&mut patch, &config);
        }
        let path = format!(
            "patch-{}-{}.yaml",
            resource::kind(item).to_lowercase(),
            resource::name(item)
        );
        files.push(ExportFile {
            path: path.clone(),
            contents: yaml::emit(&patch)
                .map_err(|e| vec![KrmResult::error(e.to_string())])?
                .into_bytes(),
            secret: false,
        });
        patches.push(json!({"path": path}));
    }
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "secretGenerator": [Value::Object(generator)],
        "patches": patches,
    });
    let mut text = String::from(
        "# Written by `authelia-secrets export`: list this folder under `components:` in the\n\
         # kustomization that holds your Authelia workloads. Regenerate it; do not edit it.\n",
    );
    text.push_str(&yaml::emit(&kustomization).map_err(|e| vec![KrmResult::error(e.to_string())])?);
    files.push(ExportFile {
        path: "kustomization.yaml".into(),
        contents: text.into_bytes(),
        secret: false,
    });
    Ok((files, results))
}

/// The workloads to patch: those the config names, else a Deployment named like the config.
fn stub_workloads(config: &Config) -> Vec<Value> {
    // A namespace in a patch must match the resource as the Component sees it, before the
    // parent's `namespace:`; name one only when the config does.
    let selectors: Vec<WorkloadSelector> = config.workloads.clone().unwrap_or_else(|| {
        vec![WorkloadSelector {
            kind: None,
            name: resource::name(&config.origin).to_string(),
            namespace: None,
            container: config::DEFAULT_CONTAINER.into(),
            init_containers: Vec::new(),
            field: String::new(),
        }]
    });
    selectors
        .into_iter()
        .map(|w| {
            let kind = w.kind.unwrap_or_else(|| "Deployment".into());
            let (name, namespace, container, inits) =
                (w.name, w.namespace, w.container, w.init_containers);
            let api_version = match kind.as_str() {
                "Job" | "CronJob" => "batch/v1",
                "Pod" => "v1",
                _ => "apps/v1",
            };
            let mut pod_spec = Map::new();
            pod_spec.insert("containers".into(), json!([{"name": container}]));
            if !inits.is_empty() {
                let list: Vec<Value> = inits.iter().map(|n| json!({"name": n})).collect();
                pod_spec.insert("initContainers".into(), Value::Array(list));
            }
            let mut node = json!({"spec": Value::Object(pod_spec)});
            for step in template_path(&kind).unwrap_or(&[]).iter().rev() {
                node = json!({ *step: node });
            }
            let mut item = Map::new();
            item.insert("apiVersion".into(), json!(api_version));
            item.insert("kind".into(), json!(kind));
            let mut meta = Map::new();
            meta.insert("name".into(), json!(name));
            if let Some(ns) = namespace {
                meta.insert("namespace".into(), json!(ns));
            }
            item.insert("metadata".into(), Value::Object(meta));
            if let Value::Object(rest) = node {
                item.extend(rest);
            }
            Value::Object(item)
        })
        .collect()
}

fn rename_volume_secret(patch: &mut Value, config: &Config) {
    let steps = template_path(resource::kind(patch)).unwrap_or(&[]);
    let mut node = patch;
    for step in steps {
        match node.get_mut(*step) {
            Some(n) => node = n,
            None => return,
        }
    }
    if let Some(volumes) = node
        .pointer_mut("/spec/volumes")
        .and_then(Value::as_array_mut)
    {
        for v in volumes {
            if v.get("name").and_then(Value::as_str) == Some(config.volume_name.as_str())
                && let Some(secret) = v.get_mut("secret").and_then(Value::as_object_mut)
            {
                secret.insert("secretName".into(), json!(config.secret_name));
            }
        }
    }
}
