//! Every value of the emitted Secret: derived from the seed, random, kept from the Secret in
//! the input, or provided (file, variable, literal), each checked as Authelia would check it.

use crate::catalog::{self, Generator};
use crate::config::{Config, DEFAULT_SEED_ENV, SecretSpec, SeedSource, Source};
use crate::environment::Environment;
use crate::file_policy::FilePolicy;
use crate::generate::{self, Binding, MIN_SEED_CHARS};
use crate::result::KrmResult;
use crate::secret::{self, Values};
use serde_json::Value;
use std::collections::BTreeMap;

/// Every value of the Secret and the rotation of each generated key, or `None` when one could
/// not be obtained (the errors are in `results`).
///
/// `written_back`: the orchestrator stores the output (kpt writes the Secret into the package),
/// so a random value made now is kept by the next run, and making one without a seed is only
/// a warning. Under kustomize nothing is stored and its warnings are not shown (a successful
/// plugin's stderr is discarded): every build would hand Authelia a new storage key, so there
/// it is an error.
pub(crate) fn obtain(
    config: &Config,
    existing: Option<&Value>,
    env: &dyn Environment,
    written_back: bool,
    results: &mut Vec<KrmResult>,
) -> Option<(Values, Rotations)> {
    let files = FilePolicy::resolve(config, env, results)?;
    let seed = resolve_seed(config, files, env, results);
    Sources {
        config,
        existing,
        seed: &seed,
        files,
        env,
        written_back,
    }
    .obtain(results)
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

pub(crate) type Rotations = BTreeMap<String, u64>;

/// Everything a value can come from.
struct Sources<'a> {
    config: &'a Config,
    existing: Option<&'a Value>,
    seed: &'a Seed,
    files: FilePolicy,
    env: &'a dyn Environment,
    /// See [`obtain`].
    written_back: bool,
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
        if let Some(existing) = self.existing {
            let malformed: Vec<&str> = ["data", "stringData"]
                .into_iter()
                .filter(|k| {
                    existing
                        .get(*k)
                        .is_some_and(|v| !v.is_object() && !v.is_null())
                })
                .collect();
            for key in &malformed {
                results.push(
                    KrmResult::error(format!(
                        "{key} is not a mapping, so the values in this Secret can be neither kept \
                         nor replaced safely; fix it, or remove the Secret from the input"
                    ))
                    .on(existing)
                    .at(*key),
                );
            }
            if !malformed.is_empty() {
                return None;
            }
        }
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
        if made_random && self.written_back {
            results.push(
                KrmResult::warning(format!(
                    "no seed is set, so generated values are random and every build makes new ones; \
                     set {DEFAULT_SEED_ENV} (`authelia-secrets seed` prints one) to make them stable"
                ))
                .on(&config.origin)
                .at("spec.seed"),
            );
        } else if made_random {
            results.push(
                KrmResult::error(format!(
                    "no seed is set: as a kustomize plugin every build would make new random values \
                     (nothing keeps them, and kustomize does not show warnings), so Authelia would \
                     find another storage encryption key on the next build; set {DEFAULT_SEED_ENV} \
                     (`authelia-secrets seed` prints one) or spec.seed, or list the live Secret as a \
                     resource so its values are kept"
                ))
                .on(&config.origin)
                .at("spec.seed"),
            );
            ok = false;
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
            && let read = catalog::as_authelia_reads(value).len()
            && read < entry.min_length
        {
            format!(
                "has {read} characters as Authelia reads it (without trailing newlines); Authelia \
                 requires {} to be at least {}",
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
