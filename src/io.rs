//! The only module that touches the process: stdin, stdout, stderr, files, environment, randomness.

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::process::{Mode, process};
use crate::resource_list::ResourceList;
use crate::result::{KrmResult, any_error};
use crate::yaml;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

mod root;

/// Largest file we read as a secret value or seed.
const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Name of the kustomize variable holding the kustomization root (legacy plugins).
const PLUGIN_ROOT_ENV: &str = "KUSTOMIZE_PLUGIN_CONFIG_ROOT";

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: at least one error result; the output (if any) says why.
    Failed,
}

/// The real process environment, with relative paths resolved against `root`.
pub struct OsEnvironment {
    /// The root, or why none can be trusted (reported when a file is read).
    root: Result<PathBuf, String>,
}

impl OsEnvironment {
    /// Files resolve against `root`.
    pub fn new(root: PathBuf) -> Self {
        OsEnvironment { root: Ok(root) }
    }
}

impl Environment for OsEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(&self, path: &str, restricted: bool) -> Result<Vec<u8>, String> {
        let root = self.root.as_ref().map_err(Clone::clone)?;
        let full = root.join(path);
        // Check and open the resolved path, so a link swapped in after the check is not followed.
        let target = if restricted {
            let root = root.canonicalize().map_err(|e| {
                format!("cannot resolve the root {}: {}", root.display(), plain(&e))
            })?;
            let real = full
                .canonicalize()
                .map_err(|e| format!("{}: {}", full.display(), plain(&e)))?;
            if !real.starts_with(&root) {
                return Err(format!(
                    "{path:?} resolves outside the root {} through a symbolic link; reading outside \
                     the root needs spec.allowFilesOutsideRoot: true (and no {}={})",
                    root.display(),
                    crate::file_policy::LOAD_RESTRICTOR_ENV,
                    crate::file_policy::ROOT_ONLY
                ));
            }
            real
        } else {
            full
        };
        let fail = |e: std::io::Error| format!("{}: {}", target.display(), plain(&e));
        let regular = |meta: &std::fs::Metadata| -> Result<(), String> {
            if !meta.is_file() {
                return Err(format!("{} is not a regular file", target.display()));
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err(format!(
                    "{} is larger than {} KiB; that is not a secret value",
                    target.display(),
                    MAX_FILE_BYTES / 1024
                ));
            }
            Ok(())
        };
        // Before opening (a FIFO would block the open) and on the opened file (what is read).
        regular(&std::fs::metadata(&target).map_err(fail)?)?;
        let file = std::fs::File::open(&target).map_err(fail)?;
        regular(&file.metadata().map_err(fail)?)?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            bytes.fill(0);
            return Err(format!(
                "{} grew past {} KiB while it was read",
                target.display(),
                MAX_FILE_BYTES / 1024
            ));
        }
        Ok(bytes)
    }

    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        getrandom::fill(buf).map_err(|e| e.to_string())
    }
}

/// An io::Error's message without the "(os error N)" tail.
fn plain(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn read_all(input: &mut dyn Read, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    input.read_to_end(&mut buf).map_err(|e| Error::Read {
        path: PathBuf::from(what),
        message: plain(&e),
    })?;
    Ok(buf)
}

fn write_all(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Write {
            path: PathBuf::from("stdout"),
            message: plain(&e),
        })
}

fn report(err: &mut dyn Write, results: &[KrmResult]) {
    for r in results {
        let _ = writeln!(err, "authelia-secrets: {r}");
    }
}

fn default_root() -> PathBuf {
    std::env::var_os(PLUGIN_ROOT_ENV)
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// KRM mode: a ResourceList on stdin, a ResourceList on stdout.
pub fn run_resource_list(
    input: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome> {
    let bytes = read_all(input, "stdin")?;
    let parsed = if bytes.iter().all(u8::is_ascii_whitespace) {
        Err(Error::shape(
            "stdin",
            "is empty: expected a ResourceList (run `authelia-secrets --help` for usage)",
        ))
    } else {
        ResourceList::parse("stdin", bytes)
    };
    let list = match parsed {
        // Not a ResourceList we accept: its items go back as they came, with the error.
        Ok(list) if any_error(&list.results) => {
            report(err, &list.results);
            emit_list(out, list)?;
            return Ok(Outcome::Failed);
        }
        Ok(list) => list,
        Err(e) => {
            // Nothing to echo back: answer with the error alone.
            let mut failed = ResourceList::new(Vec::new());
            failed.results.push(KrmResult::error(e.to_string()));
            report(err, &failed.results);
            write_all(out, &yaml::emit(&failed.into_value())?)?;
            return Ok(Outcome::Failed);
        }
    };
    // The kustomization root when kustomize says so, else the kpt package when that claim can be
    // trusted, else the cwd (see `root`).
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let env = OsEnvironment {
        root: root::krm_root(
            std::env::var_os(PLUGIN_ROOT_ENV).map(PathBuf::from),
            list.function_config.as_ref(),
            &cwd,
        ),
    };
    let result = process(list, Mode::Krm, &env);
    let failed = any_error(&result.results);
    if failed {
        report(err, &result.results);
    }
    emit_list(out, result)?;
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// Writes a ResourceList to `out` as it is produced, then flushes.
fn emit_list(out: &mut dyn Write, list: ResourceList) -> Result<()> {
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    list.emit(&mut buffered)?;
    buffered.flush().map_err(|e| Error::Write {
        path: PathBuf::from("stdout"),
        message: plain(&e),
    })
}

/// A config file's name (for messages) and its one YAML document.
fn read_config(config_path: &Path) -> Result<(String, serde_json::Value)> {
    let name = config_path.display().to_string();
    let bytes = std::fs::read(config_path).map_err(|e| Error::Read {
        path: config_path.to_path_buf(),
        message: plain(&e),
    })?;
    let config = yaml::parse_document(&name, &bytes)?;
    Ok((name, config))
}

/// Legacy exec plugin mode: the config file in argv[1], resources (or nothing) on stdin.
pub fn run_legacy(
    config_path: &Path,
    input: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome> {
    let (name, config) = read_config(config_path)?;
    if !config.is_object() {
        return Err(Error::shape(
            &name,
            "expected the config object (a mapping)",
        ));
    }
    let stdin = read_all(input, "stdin")?;
    let items = yaml::parse_stream("stdin", &stdin)?;
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(Error::shape(
                "stdin",
                format!("document {}: expected a resource mapping", i + 1),
            ));
        }
    }
    let mode = if items.is_empty() {
        Mode::LegacyGenerator
    } else {
        Mode::LegacyTransformer
    };
    let mut list = ResourceList::new(items);
    list.function_config = Some(config);
    let env = OsEnvironment::new(default_root());
    let result = process(list, mode, &env);
    report(err, &result.results);
    if any_error(&result.results) {
        return Ok(Outcome::Failed);
    }
    write_all(out, &yaml::emit_stream(&result.items)?)?;
    Ok(Outcome::Success)
}

/// A new random master seed: 32 bytes from the OS, base64url without padding (43 characters).
pub fn new_seed() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    let seed = URL_SAFE_NO_PAD.encode(bytes);
    bytes.fill(0);
    Ok(seed)
}

/// The legacy plugin home: `$KUSTOMIZE_PLUGIN_HOME`, else `$XDG_CONFIG_HOME/kustomize/plugin`,
/// else `~/.config/kustomize/plugin`.
pub fn plugin_home() -> Option<PathBuf> {
    let non_empty = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    non_empty("KUSTOMIZE_PLUGIN_HOME")
        .or_else(|| non_empty("XDG_CONFIG_HOME").map(|x| x.join("kustomize").join("plugin")))
        .or_else(|| non_empty("HOME").map(|h| h.join(".config").join("kustomize").join("plugin")))
}

/// Copies the running binary to `<dir>/authelia-secrets.dev/v1alpha1/<lowercase kind>/<Kind>`
/// for every kind we serve. Returns the paths written.
pub fn install_plugin(dir: Option<PathBuf>, kinds: &[&str]) -> Result<Vec<PathBuf>> {
    let home = dir.or_else(plugin_home).ok_or_else(|| Error::Write {
        path: PathBuf::from("$HOME"),
        message: "cannot tell the plugin home: set KUSTOMIZE_PLUGIN_HOME or pass --dir".into(),
    })?;
    let exe = std::env::current_exe().map_err(|e| Error::Read {
        path: PathBuf::from("the running executable"),
        message: plain(&e),
    })?;
    let (group, version) = crate::config::API_VERSION
        .split_once('/')
        .expect("API_VERSION is group/version");
    let mut written = Vec::new();
    for kind in kinds {
        let folder = home.join(group).join(version).join(kind.to_lowercase());
        std::fs::create_dir_all(&folder).map_err(|e| Error::Write {
            path: folder.clone(),
            message: plain(&e),
        })?;
        let target = folder.join(kind);
        // Write to a temporary name and rename, so a running kustomize never sees half a binary.
        let tmp = folder.join(format!(".{kind}.tmp"));
        std::fs::copy(&exe, &tmp).map_err(|e| Error::Write {
            path: tmp.clone(),
            message: plain(&e),
        })?;
        set_executable(&tmp)?;
        std::fs::rename(&tmp, &target).map_err(|e| Error::Write {
            path: target.clone(),
            message: plain(&e),
        })?;
        written.push(target);
    }
    Ok(written)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|e| {
        Error::Write {
            path: path.to_path_buf(),
            message: plain(&e),
        }
    })
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<()> {
    Ok(())
}

/// `export`: writes the Component (secretGenerator inputs, kustomization, patches) into `dir`.
///
/// Files whose content would change are left alone unless `force`; then nothing is written.
pub fn run_export(
    config_path: &Path,
    dir: &Path,
    force: bool,
    track_values: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome> {
    let (_, config) = read_config(config_path)?;
    let root = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let env = OsEnvironment::new(root);
    let (mut files, results) = match crate::export::plan(&config, &env) {
        Ok(planned) => planned,
        Err(results) => {
            report(err, &results);
            return Ok(Outcome::Failed);
        }
    };
    report(err, &results);
    if !track_values {
        files.push(crate::export::ExportFile {
            path: ".gitignore".into(),
            contents: format!(
                "# Written by authelia-secrets export: the secret values stay out of Git.\n/{}/\n",
                crate::export::VALUES_DIR
            )
            .into_bytes(),
            secret: false,
        });
    }
    let conflicts: Vec<String> = files
        .iter()
        .filter(|f| std::fs::read(dir.join(&f.path)).is_ok_and(|old| old != f.contents))
        .map(|f| f.path.clone())
        .collect();
    if !conflicts.is_empty() && !force {
        let _ = writeln!(
            err,
            "authelia-secrets: error: {} already holds other content in {}; nothing was written (use --force to replace)",
            dir.display(),
            conflicts.join(", ")
        );
        return Ok(Outcome::Failed);
    }
    for f in &files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::Write {
                path: parent.to_path_buf(),
                message: plain(&e),
            })?;
        }
        write_file(&path, &f.contents, f.secret)?;
    }
    let _ = writeln!(
        out,
        "wrote {} files to {}; list it under `components:` in your kustomization",
        files.len(),
        dir.display()
    );
    Ok(Outcome::Success)
}

/// Writes a file; secret values get mode 0600 before any byte is written.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<()> {
    let fail = |e: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        message: plain(&e),
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    file.write_all(contents).map_err(fail)
}
