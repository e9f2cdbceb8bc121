//! The pure core: one ResourceList in, one ResourceList out; no IO beyond [`Environment`].
//!
//! On any error result the output holds the input items unchanged, so a failing run can never
//! hand an orchestrator a half-transformed list.

use crate::check;
use crate::config::{self, CheckConfig, Config, Rollout};
use crate::environment::Environment;
use crate::interest::Needs;
use crate::references;
use crate::resource::{self, LEGACY_PATH_ANNOTATION, PATH_ANNOTATION};
use crate::resource_list::ResourceList;
use crate::result::{self, KrmResult, any_error};
use crate::secret::{self, Plan};
use crate::values;
use crate::workloads::{self, WiredFile, Wiring};
use serde_json::{Value, json};

/// How the function was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A KRM ResourceList (kpt, kustomize `--enable-exec`). Generator when every item is local config.
    Krm,
    /// kustomize legacy exec plugin with empty stdin: listed under `generators:`.
    LegacyGenerator,
    /// kustomize legacy exec plugin with resources on stdin: listed under `transformers:`.
    LegacyTransformer,
}

/// Runs the function.
pub fn process(mut list: ResourceList, mode: Mode, env: &dyn Environment) -> ResourceList {
    let Some(function_config) = list.function_config.clone() else {
        list.results.push(KrmResult::error(format!(
            "no functionConfig: pass an {} object (kpt: --fn-config or configPath; kustomize: \
             list it under generators or transformers)",
            config::KIND
        )));
        return list;
    };
    if resource::kind(&function_config) == config::CHECK_KIND {
        let (check_config, results) = config::load_check(&function_config);
        list.results.extend(results);
        if let Some(c) = check_config {
            if let Err(e) = read_whole(&mut list, Needs::for_check()) {
                list.results.push(KrmResult::error(e.to_string()));
                return list;
            }
            list.results.extend(check::run(&list.items, &c, None));
        }
        result::dedup(&mut list.results);
        return list;
    }
    let (config, mut results) = config::load(&function_config);
    let Some(config) = config else {
        list.results.extend(results);
        return list;
    };
    if let Err(e) = read_whole(&mut list, Needs::for_config(&config)) {
        list.results.extend(results);
        list.results.push(KrmResult::error(e.to_string()));
        return list;
    }
    let generator = match mode {
        Mode::LegacyGenerator => true,
        Mode::LegacyTransformer => false,
        Mode::Krm => list.items.iter().all(resource::is_local_config),
    };
    let written_back = mode == Mode::Krm;
    let changes = plan_changes(
        &list.items,
        &config,
        generator,
        written_back,
        env,
        &mut results,
    );
    results.extend(inexact_changes(&changes));
    if !any_error(&results) {
        apply(&mut list, changes);
    }
    result::dedup(&mut results);
    list.results.extend(results);
    list
}

/// Reads whole the slim items this run looks into (see [`crate::interest`]).
fn read_whole(list: &mut ResourceList, mut needs: Needs) -> Result<(), crate::Error> {
    list.materialize(|item| needs.wants(item))?;
    if needs.add_env_sources(&list.items, |i| list.is_slim(i)) {
        list.materialize(|item| needs.wants(item))?;
    }
    Ok(())
}

/// Errors for changed items holding a value that cannot be written back exactly.
fn inexact_changes(changes: &Changes) -> Vec<KrmResult> {
    changes
        .replace
        .iter()
        .map(|(_, v)| v)
        .chain(&changes.append)
        .filter_map(|item| {
            let (path, problem) = crate::yaml::inexact(item)?;
            Some(KrmResult::error(problem).on(item).at(path))
        })
        .collect()
}

/// Item replacements and additions, applied only when the run has no error.
#[derive(Default)]
struct Changes {
    replace: Vec<(usize, Value)>,
    append: Vec<Value>,
}

fn apply(list: &mut ResourceList, changes: Changes) {
    for (i, v) in changes.replace {
        list.replace_item(i, v);
    }
    list.items.extend(changes.append);
}

/// `written_back`: the orchestrator stores the output (KRM mode: kpt), see [`values::obtain`].
fn plan_changes(
    items: &[Value],
    config: &Config,
    generator: bool,
    written_back: bool,
    env: &dyn Environment,
    results: &mut Vec<KrmResult>,
) -> Changes {
    let mut changes = Changes::default();
    // Targets first: without spec.autheliaVersion their image tags decide the env var names.
    let (targets, selection) = workloads::select(items, config, generator);
    results.extend(selection);
    let (version, version_results) = workloads::resolve_version(items, &targets, config);
    results.extend(version_results);
    let resolved;
    let config = if version == config.version {
        config
    } else {
        resolved = config.with_version(version);
        for (field, message) in config::duplicate_env_vars(&resolved.secrets) {
            results.push(config_error(&resolved, field, message));
        }
        &resolved
    };

    let existing_index = secret::find_existing(items, config);
    let existing = existing_index.map(|i| &items[i]);
    let Some((values, rotations)) = values::obtain(config, existing, env, written_back, results)
    else {
        return changes;
    };

    let kpt_like = items.iter().any(|i| {
        resource::annotation(i, PATH_ANNOTATION).is_some()
            || resource::annotation(i, LEGACY_PATH_ANNOTATION).is_some()
    });
    let file_path = kpt_like
        .then(|| secret::new_file_path(resource::file_path(&config.origin), &config.secret_name));
    // With `hashSuffix`, kustomize appends the hash itself to a Secret we emitted as a generator
    // (and that a later transformer run finds marked); otherwise we name it ourselves.
    let kustomize_hashes = config.rollout == Rollout::HashSuffix
        && (generator || existing.is_some_and(secret::marked_for_kustomize_hash));
    let plan = Plan {
        config,
        values: &values,
        rotations: &rotations,
        file_path,
        needs_hash: generator && config.rollout == Rollout::HashSuffix,
    };
    let mut new_secret = secret::build(&plan, existing);
    if config.rollout == Rollout::HashSuffix && !kustomize_hashes {
        set_name(&mut new_secret, &config.secret_name);
        let hashed = format!(
            "{}-{}",
            config.secret_name,
            secret::kustomize_hash(&new_secret)
        );
        set_name(&mut new_secret, &hashed);
    }
    let wiring = Wiring {
        secret_name: resource::name(&new_secret).to_string(),
        secret_base_name: config.secret_name.clone(),
        volume_name: config.volume_name.clone(),
        mount_path: config.mount_path.clone(),
        files: config
            .secrets
            .iter()
            .map(|s| WiredFile {
                key: s.key.clone(),
                env_var: s.env_var.clone(),
                entry: s.entry,
            })
            .collect(),
        checksum: (config.rollout == Rollout::Checksum).then(|| secret::checksum(&new_secret)),
    };
    match existing_index {
        Some(i) => {
            if items[i] != new_secret {
                changes.replace.push((i, new_secret));
            }
        }
        None => changes.append.push(new_secret),
    }

    let mut patched_targets = Vec::new();
    for target in &targets {
        match workloads::patch(items, target, &wiring) {
            Ok(patched) => {
                patched_targets.push(patched.clone());
                if patched != items[target.index] {
                    changes.replace.push((target.index, patched));
                }
            }
            Err(conflicts) => results.extend(conflicts),
        }
    }
    if config.rollout == Rollout::HashSuffix && !kustomize_hashes {
        // We named the Secret ourselves, so nobody else renames what refers to it.
        let mut from = vec![config.secret_name.as_str()];
        from.extend(existing.map(resource::name));
        let rule = references::Rename {
            from,
            to: &wiring.secret_name,
            namespace: config.namespace.as_deref(),
        };
        for (i, item) in items.iter().enumerate() {
            if Some(i) == existing_index {
                continue;
            }
            let slot = changes.replace.iter_mut().find(|(j, _)| *j == i);
            let current = slot.as_ref().map_or(item, |(_, v)| v);
            if let Some(renamed) = references::rename(current, &rule) {
                match slot {
                    Some((_, v)) => *v = renamed,
                    None => changes.replace.push((i, renamed)),
                }
            }
        }
        for target in &mut patched_targets {
            if let Some(renamed) = references::rename(target, &rule) {
                *target = renamed;
            }
        }
    }
    if !any_error(results) {
        results.extend(self_check(items, config, &changes, patched_targets));
    }
    changes
}

/// Runs `AutheliaSecretsCheck` over what we are about to output: the patched workloads, the
/// Secret, and the Services, ConfigMaps and other Secrets (for service links and `envFrom`),
/// with the Authelia version the wiring was made for.
fn self_check(
    items: &[Value],
    config: &Config,
    changes: &Changes,
    patched: Vec<Value>,
) -> Vec<KrmResult> {
    let secret = changes
        .append
        .iter()
        .chain(changes.replace.iter().map(|(_, v)| v))
        .find(|v| resource::kind(v) == "Secret")
        .or_else(|| secret::find_existing(items, config).map(|i| &items[i]))
        .cloned();
    let secret_id = secret.as_ref().map(|s| {
        (
            resource::name(s).to_string(),
            resource::namespace(s).to_string(),
        )
    });
    let mut subset = patched;
    let count = subset.len();
    subset.extend(secret);
    subset.extend(
        items
            .iter()
            .filter(|i| ["Service", "ConfigMap", "Secret"].contains(&resource::kind(i)))
            .filter(|i| {
                secret_id.as_ref().is_none_or(|(n, ns)| {
                    !(resource::kind(i) == "Secret"
                        && resource::name(i) == n
                        && resource::namespace(i) == ns)
                })
            })
            .cloned(),
    );
    let check_config = CheckConfig {
        origin: config.origin.clone(),
        version: Some(config.version),
        allow_variables: config
            .secrets
            .iter()
            .filter(|s| s.entry.is_none())
            .filter_map(|s| s.env_var.clone())
            .collect(),
        own_variables: Some(
            config
                .secrets
                .iter()
                .filter_map(|s| s.env_var.clone())
                .collect(),
        ),
    };
    let only: Vec<usize> = (0..count).collect();
    check::run(&subset, &check_config, Some(&only))
}

fn set_name(item: &mut Value, name: &str) {
    if let Some(meta) = item.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("name".into(), json!(name));
    }
}

fn config_error(config: &Config, field: impl Into<String>, message: String) -> KrmResult {
    KrmResult::error(message).on(&config.origin).at(field)
}
