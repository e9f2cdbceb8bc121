//! Which files `fromFile` and `seed.file` may read: inside the root, unless the config allows
//! leaving it and the runner does not forbid it (`AUTHELIA_SECRETS_LOAD_RESTRICTOR`).

use crate::config::Config;
use crate::environment::{Environment, leaves_root};
use crate::result::KrmResult;

/// Environment variable with which whoever runs the build restricts file reads, whatever the
/// (possibly remote, possibly hostile) config says: kustomize's `--load-restrictor`, runner-side.
pub const LOAD_RESTRICTOR_ENV: &str = "AUTHELIA_SECRETS_LOAD_RESTRICTOR";
/// The one value [`LOAD_RESTRICTOR_ENV`] accepts (kustomize's spelling).
pub const ROOT_ONLY: &str = "LoadRestrictionsRootOnly";

/// May `fromFile` and `seed.file` leave the root, and who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilePolicy {
    /// The config decides (`spec.allowFilesOutsideRoot`).
    Config { allow_outside: bool },
    /// The runner set [`LOAD_RESTRICTOR_ENV`] to [`ROOT_ONLY`].
    RunnerRootOnly,
}

impl FilePolicy {
    /// The policy, or `None` (with an error) when the runner's variable holds something else.
    pub(crate) fn resolve(
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
    pub(crate) fn read(self, env: &dyn Environment, path: &str) -> Result<Vec<u8>, String> {
        self.check(path)?;
        let mut bytes = env.read_file(path, !self.allow_outside())?;
        strip_one_newline(&mut bytes);
        Ok(bytes)
    }
}

fn strip_one_newline(bytes: &mut Vec<u8>) {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
}
