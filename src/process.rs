//! The pure core: one ResourceList in, one ResourceList out; no IO beyond [`Environment`].
//!
//! On any error result the output holds the input items unchanged, so a failing run can never
//! hand an orchestrator a half-transformed list.

use crate::catalog;
use crate::check;
use crate::config::{self, CheckConfig, Config, DEFAULT_SEED_ENV, Rollout, SeedSource, Source};
use crate::environment::{Environment, leaves_root};
use crate::generate::{self, Binding, MIN_SEED_CHARS};
use crate::interest::Needs;
use crate::resource::{self, LEGACY_PATH_ANNOTATION, PATH_ANNOTATION};
use crate::resource_list::ResourceList;
use crate::result::{self, KrmResult, any_error};
use crate::secret::{self, Plan, Values};
use crate::workloads::{self, WiredFile, Wiring};
use serde_json::{Value, json};
use std::collections::BTreeMap;

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
            if let Err(e) = read_whole(&mut list, Needs::for_check(&c)) {
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
    let changes = plan_changes(&list.items, &config, generator, env, &mut results);
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

fn plan_changes(
    items: &[Value],
    config: &Config,
    generator: bool,
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

    let seed = resolve_seed(config, env, results);
    let existing_index = secret::find_existing(items, config);
    let existing = existing_index.map(|i| &items[i]);
    let Some((values, rotations)) = obtain_values(config, existing, seed.as_deref(), env, results)
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

/// The master seed, or `None` (random values). Configured but missing is an error.
fn resolve_seed(
    config: &Config,
    env: &dyn Environment,
    results: &mut Vec<KrmResult>,
) -> Option<Vec<u8>> {
    let mut fail = |field: &str, msg: String| {
        results.push(KrmResult::error(msg).on(&config.origin).at(field));
        None
    };
    let (seed, field, what) = match &config.seed {
        SeedSource::Default => match env.var(DEFAULT_SEED_ENV) {
            None => return None,
            Some(s) => (
                s.into_bytes(),
                "spec.seed",
                format!("variable {DEFAULT_SEED_ENV}"),
            ),
        },
        SeedSource::Env(name) => match env.var(name) {
            None => {
                return fail(
                    "spec.seed.env",
                    format!(
                        "the seed variable {name} is not set; export it, or remove spec.seed to use {DEFAULT_SEED_ENV}"
                    ),
                );
            }
            Some(s) => (s.into_bytes(), "spec.seed.env", format!("variable {name}")),
        },
        SeedSource::File(path) => {
            if !config.allow_files_outside_root && leaves_root(path) {
                return fail(
                    "spec.seed.file",
                    format!(
                        "{path:?} leaves the kustomization root; use a relative path inside it, or set spec.allowFilesOutsideRoot: true"
                    ),
                );
            }
            match env.read_file(path, !config.allow_files_outside_root) {
                Ok(mut bytes) => {
                    strip_one_newline(&mut bytes);
                    (bytes, "spec.seed.file", format!("file {path:?}"))
                }
                Err(e) => return fail("spec.seed.file", format!("cannot read the seed file: {e}")),
            }
        }
    };
    let chars = std::str::from_utf8(&seed).map_or(seed.len(), |s| s.chars().count());
    if seed.is_empty() {
        return fail(
            field,
            format!("the seed ({what}) is empty; `authelia-secrets seed` prints a new one"),
        );
    }
    if chars < MIN_SEED_CHARS {
        return fail(
            field,
            format!(
                "the seed ({what}) has {chars} characters; at least {MIN_SEED_CHARS} are required (`authelia-secrets seed` prints a new one)"
            ),
        );
    }
    Some(seed)
}

fn strip_one_newline(bytes: &mut Vec<u8>) {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
}

type Rotations = BTreeMap<String, u64>;

/// Every value of the Secret, or `None` when one could not be obtained (errors are in `results`).
fn obtain_values(
    config: &Config,
    existing: Option<&Value>,
    seed: Option<&[u8]>,
    env: &dyn Environment,
    results: &mut Vec<KrmResult>,
) -> Option<(Values, Rotations)> {
    let recorded = existing.map(secret::recorded_rotations).unwrap_or_default();
    let mut values = Values::new();
    let mut rotations = Rotations::new();
    let mut made_random = false;
    let mut ok = true;
    let fill = |buf: &mut [u8]| env.fill_random(buf);
    for spec in &config.secrets {
        let key = spec.key.as_str();
        let value: Option<Vec<u8>> = match &spec.source {
            Source::Generate(generator) => {
                rotations.insert(key.to_string(), spec.rotation);
                let kept = existing.and_then(|e| secret::existing_value(e, key));
                if let Some(e) = existing
                    && secret::has_undecodable(e, key)
                {
                    results.push(
                        KrmResult::error(format!("data.{key} is not valid base64; fix or remove it so it can be kept or regenerated"))
                            .on(e)
                            .at(format!("data.{key}")),
                    );
                    ok = false;
                    continue;
                }
                let recorded_rotation = recorded.get(key).copied().unwrap_or(0);
                match kept {
                    Some(v) if recorded_rotation == spec.rotation => Some(v),
                    kept => {
                        if kept.is_some()
                            && spec
                                .entry
                                .is_some_and(|e| e.key == "STORAGE_ENCRYPTION_KEY")
                        {
                            results.push(
                                KrmResult::warning(format!(
                                    "rotating STORAGE_ENCRYPTION_KEY (rotation {recorded_rotation} → {}) replaces the key \
                                     Authelia's database is encrypted with; run `authelia storage encryption change-key` \
                                     with the new key before Authelia restarts, or it will refuse to start",
                                    spec.rotation
                                ))
                                .on(&config.origin)
                                .at(format!("{}.rotation", spec.field)),
                            );
                        }
                        let binding = Binding {
                            namespace: config.namespace.as_deref().unwrap_or(""),
                            secret_name: &config.secret_name,
                            key,
                            rotation: spec.rotation,
                        };
                        let made = match seed {
                            Some(seed) => generate::derive(seed, &binding, generator),
                            None => {
                                made_random = true;
                                generate::random(&fill, generator)
                            }
                        };
                        match made {
                            Ok(v) => Some(v.into_bytes()),
                            Err(e) => {
                                results.push(config_error(
                                    config,
                                    spec.field.clone(),
                                    format!("cannot generate {key}: {e}"),
                                ));
                                None
                            }
                        }
                    }
                }
            }
            Source::FromFile(path) => {
                let field = format!("{}.fromFile", spec.field);
                if !config.allow_files_outside_root && leaves_root(path) {
                    results.push(config_error(config, field, format!("{path:?} leaves the kustomization root; use a path inside it, or set spec.allowFilesOutsideRoot: true")));
                    None
                } else {
                    match env.read_file(path, !config.allow_files_outside_root) {
                        Ok(mut bytes) => {
                            strip_one_newline(&mut bytes);
                            Some(bytes)
                        }
                        Err(e) => {
                            results.push(config_error(
                                config,
                                field,
                                format!("cannot read {key}: {e}"),
                            ));
                            None
                        }
                    }
                }
            }
            Source::FromEnv(name) => match env.var(name) {
                Some(v) => Some(v.into_bytes()),
                None => {
                    results.push(config_error(
                        config,
                        format!("{}.fromEnv", spec.field),
                        format!("the variable {name} for {key} is not set"),
                    ));
                    None
                }
            },
            Source::Literal(v) => Some(v.as_bytes().to_vec()),
        };
        let Some(value) = value else {
            ok = false;
            continue;
        };
        if value.is_empty() {
            results.push(config_error(
                config,
                spec.field.clone(),
                format!("the value of {key} is empty"),
            ));
            ok = false;
            continue;
        }
        if !matches!(spec.source, Source::Generate(_))
            && let Some(entry) = spec.entry
            && let Some(problem) = entry.problem_with(&value)
        {
            results.push(config_error(
                config,
                spec.field.clone(),
                format!("the value of {key} {problem}"),
            ));
            ok = false;
            continue;
        }
        let read = catalog::as_authelia_reads(&value).len();
        if let Some(entry) = spec.entry
            && entry.min_length > 0
            && read < entry.min_length
        {
            results.push(config_error(
                config,
                spec.field.clone(),
                format!(
                    "Authelia requires {} to be at least {} characters; this value has {read} (as Authelia reads \
                     it: without trailing newlines)",
                    entry.config_key_for(config.version),
                    entry.min_length,
                ),
            ));
            ok = false;
            continue;
        }
        if let Some(entry) = spec.entry
            && entry.is_deprecated_in(config.version)
            && let Some(d) = entry.deprecated
        {
            results.push(
                KrmResult::warning(format!(
                    "{} is deprecated since Authelia {}; use {}. In this config: {}",
                    entry.config_key, d.since, d.replacement, d.config_hint
                ))
                .on(&config.origin)
                .at(spec.field.clone()),
            );
        }
        values.insert(key.to_string(), value);
    }
    if made_random {
        results.push(
            KrmResult::warning(format!(
                "no seed is set, so generated values are random and every build makes new ones; \
                 set {DEFAULT_SEED_ENV} (`authelia-secrets seed` prints one) to make them stable"
            ))
            .on(&config.origin)
            .at("spec.seed"),
        );
    }
    ok.then_some((values, rotations))
}

fn config_error(config: &Config, field: impl Into<String>, message: String) -> KrmResult {
    KrmResult::error(message).on(&config.origin).at(field)
}
