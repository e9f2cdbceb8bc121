//! The pure core: one ResourceList in, one ResourceList out; no IO beyond [`Environment`].
//!
//! On any error result the output holds the input items unchanged, so a failing run can never
//! hand an orchestrator a half-transformed list.

use crate::catalog::Generator;
use crate::check;
use crate::config::{
    self, CheckConfig, Config, DEFAULT_SEED_ENV, Rollout, SecretSpec, SeedSource, Source,
};
use crate::environment::{Environment, leaves_root};
use crate::generate::{self, Binding, MIN_SEED_CHARS};
use crate::references;
use crate::resource::{self, LEGACY_PATH_ANNOTATION, PATH_ANNOTATION};
use crate::resource_list::ResourceList;
use crate::result::{KrmResult, any_error};
use crate::secret::{self, Plan, Values};
use crate::workloads::{self, Wiring};
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
            list.results.extend(check::run(&list.items, &c, None));
        }
        return list;
    }
    let (config, mut results) = config::load(&function_config);
    let Some(config) = config else {
        list.results.extend(results);
        return list;
    };
    let generator = match mode {
        Mode::LegacyGenerator => true,
        Mode::LegacyTransformer => false,
        Mode::Krm => list.items.iter().all(resource::is_local_config),
    };
    let changes = plan_changes(&list.items, &config, generator, env, &mut results);
    if !any_error(&results) {
        apply(&mut list, changes);
    }
    list.results.extend(results);
    list
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
    let Some(files) = FilePolicy::resolve(config, env, results) else {
        return changes;
    };
    let seed = resolve_seed(config, files, env, results);
    let existing_index = secret::find_existing(items, config);
    let existing = existing_index.map(|i| &items[i]);
    let sources = Sources {
        config,
        existing,
        seed: &seed,
        files,
        env,
    };
    let Some((values, rotations)) = sources.obtain(results) else {
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
            .map(|s| (s.key.clone(), s.env_var.clone()))
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

    let (targets, selection) = workloads::select(items, config, generator);
    results.extend(selection);
    let mut patched_targets = Vec::new();
    for target in &targets {
        match workloads::patch(&items[target.index], target, &wiring) {
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
/// Secret and the Services (for the service-links check).
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
    let mut subset = patched;
    let count = subset.len();
    subset.extend(secret);
    subset.extend(
        items
            .iter()
            .filter(|i| resource::kind(i) == "Service")
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
    };
    let only: Vec<usize> = (0..count).collect();
    check::run(&subset, &check_config, Some(&only))
}

fn set_name(item: &mut Value, name: &str) {
    if let Some(meta) = item.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("name".into(), json!(name));
    }
}

/// Environment variable with which whoever runs the build restricts file reads, whatever the
/// (possibly remote, possibly hostile) config says: kustomize's `--load-restrictor`, runner-side.
pub const LOAD_RESTRICTOR_ENV: &str = "AUTHELIA_SECRETS_LOAD_RESTRICTOR";
/// The one value [`LOAD_RESTRICTOR_ENV`] accepts (kustomize's spelling).
pub const ROOT_ONLY: &str = "LoadRestrictionsRootOnly";

/// May `fromFile` and `seed.file` leave the root, and who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilePolicy {
    /// The config decides (`spec.allowFilesOutsideRoot`).
    Config { allow_outside: bool },
    /// The runner set [`LOAD_RESTRICTOR_ENV`] to [`ROOT_ONLY`].
    RunnerRootOnly,
}

impl FilePolicy {
    /// The policy, or `None` (with an error) when the runner's variable holds something else.
    fn resolve(
        config: &Config,
        env: &dyn Environment,
        results: &mut Vec<KrmResult>,
    ) -> Option<FilePolicy> {
        match env.var(LOAD_RESTRICTOR_ENV).as_deref() {
            None | Some("") => Some(FilePolicy::Config {
                allow_outside: config.allow_files_outside_root,
            }),
            Some(ROOT_ONLY) => Some(FilePolicy::RunnerRootOnly),
            Some(_) => {
                results.push(
                    KrmResult::error(format!(
                        "the variable {LOAD_RESTRICTOR_ENV} holds an unknown value; set it to {ROOT_ONLY} \
                         (files must stay inside the root whatever the config says) or unset it"
                    ))
                    .on(&config.origin),
                );
                None
            }
        }
    }

    fn allow_outside(self) -> bool {
        matches!(
            self,
            FilePolicy::Config {
                allow_outside: true
            }
        )
    }

    /// Refuses `path` when it leaves the root lexically; the message says what would allow it.
    fn check(self, path: &str) -> Result<(), String> {
        if self.allow_outside() || !leaves_root(path) {
            return Ok(());
        }
        Err(match self {
            FilePolicy::RunnerRootOnly => format!(
                "{path:?} leaves the kustomization root, which {LOAD_RESTRICTOR_ENV}={ROOT_ONLY} forbids \
                 whatever spec.allowFilesOutsideRoot says; use a relative path inside the root"
            ),
            FilePolicy::Config { .. } => format!(
                "{path:?} leaves the kustomization root; use a relative path inside it, or set \
                 spec.allowFilesOutsideRoot: true"
            ),
        })
    }

    /// Reads `path` under this policy (the lexical check, then the resolved path).
    fn read(self, env: &dyn Environment, path: &str) -> Result<Vec<u8>, String> {
        self.check(path)?;
        let mut bytes = env.read_file(path, !self.allow_outside())?;
        strip_one_newline(&mut bytes);
        Ok(bytes)
    }
}

/// The master seed as configured.
enum Seed {
    /// No seed: generated values are random.
    Absent,
    Present(Vec<u8>),
    /// A seed is configured but unusable (the error is reported): generate nothing.
    Failed,
}

/// The master seed. Configured but missing, empty or short is an error.
fn resolve_seed(
    config: &Config,
    files: FilePolicy,
    env: &dyn Environment,
    results: &mut Vec<KrmResult>,
) -> Seed {
    let mut fail = |field: &str, msg: String| {
        results.push(KrmResult::error(msg).on(&config.origin).at(field));
        Seed::Failed
    };
    let (seed, field, what) = match &config.seed {
        SeedSource::Default => match env.var(DEFAULT_SEED_ENV) {
            None => return Seed::Absent,
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
        SeedSource::File(path) => match files.read(env, path) {
            Ok(bytes) => (bytes, "spec.seed.file", format!("file {path:?}")),
            Err(e) => return fail("spec.seed.file", format!("cannot read the seed file: {e}")),
        },
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
    Seed::Present(seed)
}

fn strip_one_newline(bytes: &mut Vec<u8>) {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
}

type Rotations = BTreeMap<String, u64>;

/// Everything a value can come from.
struct Sources<'a> {
    config: &'a Config,
    existing: Option<&'a Value>,
    seed: &'a Seed,
    files: FilePolicy,
    env: &'a dyn Environment,
}

/// How a value was obtained, for checks and messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Made now (derived or random): right by construction.
    Made,
    /// Kept from the Secret in the input.
    Kept,
    /// Read from a file, a variable or the config.
    Provided,
}

impl Sources<'_> {
    /// Every value of the Secret, or `None` when one could not be obtained (errors are in
    /// `results`).
    fn obtain(&self, results: &mut Vec<KrmResult>) -> Option<(Values, Rotations)> {
        let config = self.config;
        let recorded = self
            .existing
            .map(secret::recorded_rotations)
            .unwrap_or_default();
        let mut values = Values::new();
        let mut rotations = Rotations::new();
        let mut made_random = false;
        let mut ok = true;
        for spec in &config.secrets {
            let key = spec.key.as_str();
            let obtained = match &spec.source {
                Source::Generate(generator) => {
                    rotations.insert(key.to_string(), spec.rotation);
                    if let Some(e) = self.existing
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
                    let kept = self.existing.and_then(|e| secret::existing_value(e, key));
                    let recorded_rotation = recorded.get(key).copied().unwrap_or(0);
                    match kept {
                        Some(v) if recorded_rotation == spec.rotation => Some((v, Origin::Kept)),
                        kept => self
                            .make(spec, generator, kept.is_some(), recorded_rotation, results)
                            .map(|(v, random)| {
                                made_random |= random;
                                (v, Origin::Made)
                            }),
                    }
                }
                Source::FromFile(path) => match self.files.read(self.env, path) {
                    Ok(bytes) => Some((bytes, Origin::Provided)),
                    Err(e) => {
                        results.push(config_error(
                            config,
                            format!("{}.fromFile", spec.field),
                            format!("cannot read {key}: {e}"),
                        ));
                        None
                    }
                },
                Source::FromEnv(name) => match self.env.var(name) {
                    Some(v) => Some((v.into_bytes(), Origin::Provided)),
                    None => {
                        results.push(config_error(
                            config,
                            format!("{}.fromEnv", spec.field),
                            format!("the variable {name} for {key} is not set"),
                        ));
                        None
                    }
                },
                Source::Literal(v) => Some((v.as_bytes().to_vec(), Origin::Provided)),
            };
            let Some((value, origin)) = obtained else {
                ok = false;
                continue;
            };
            if let Some(problem) = self.refusal(spec, &value, origin) {
                results.push(problem);
                ok = false;
                continue;
            }
            if let Some(entry) = spec.entry
                && entry.is_deprecated_in(config.version)
                && let Some((since, replacement)) = entry.deprecated
            {
                results.push(
                    KrmResult::warning(format!(
                        "{} is deprecated since Authelia {since}; use {replacement}",
                        entry.config_key
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

    /// A new value for `spec`, and whether it is random. `None` when the seed failed (already
    /// reported) or generation failed (reported here).
    fn make(
        &self,
        spec: &SecretSpec,
        generator: &Generator,
        replaces_existing: bool,
        recorded_rotation: u64,
        results: &mut Vec<KrmResult>,
    ) -> Option<(Vec<u8>, bool)> {
        let config = self.config;
        let key = spec.key.as_str();
        if matches!(self.seed, Seed::Failed) {
            return None;
        }
        if replaces_existing
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
        let fill = |buf: &mut [u8]| self.env.fill_random(buf);
        let (made, random) = match self.seed {
            Seed::Present(seed) => (generate::derive(seed, &binding, generator), false),
            _ => (generate::random(&fill, generator), true),
        };
        match made {
            Ok(v) => Some((v.into_bytes(), random)),
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

    /// Why Authelia would refuse `value`, as an error result at the place to fix it: the config
    /// for a provided value, the Secret for a kept one. Made values are right by construction.
    fn refusal(&self, spec: &SecretSpec, value: &[u8], origin: Origin) -> Option<KrmResult> {
        let config = self.config;
        let key = spec.key.as_str();
        let problem = if value.is_empty() {
            "is empty".to_string()
        } else if origin == Origin::Made {
            return None;
        } else if let Some(entry) = spec.entry
            && let Some(p) = entry.problem_with(value)
        {
            p
        } else if let Some(entry) = spec.entry
            && entry.min_length > 0
            && value.len() < entry.min_length
        {
            format!(
                "has {} characters; Authelia requires {} to be at least {}",
                value.len(),
                entry.config_key_for(config.version),
                entry.min_length
            )
        } else {
            return None;
        };
        match (origin, self.existing) {
            (Origin::Kept, Some(existing)) => {
                let field = if existing
                    .get("stringData")
                    .and_then(|d| d.get(key))
                    .is_some()
                {
                    format!("stringData.{key}")
                } else {
                    format!("data.{key}")
                };
                let caution = if key == "STORAGE_ENCRYPTION_KEY" {
                    " (a new storage key needs `authelia storage encryption change-key` on the database)"
                } else {
                    ""
                };
                Some(
                    KrmResult::error(format!(
                        "the value of {key} kept from the existing Secret {problem}, and Authelia would refuse it; \
                         remove {field} from the Secret, or bump {}.rotation, to generate a new one{caution}",
                        spec.field
                    ))
                    .on(existing)
                    .at(field),
                )
            }
            _ => Some(config_error(
                config,
                spec.field.clone(),
                format!("the value of {key} {problem}"),
            )),
        }
    }
}

fn config_error(config: &Config, field: impl Into<String>, message: String) -> KrmResult {
    KrmResult::error(message).on(&config.origin).at(field)
}
