//! Shared helpers for the integration tests: run the real binary, parse its output, copy dirs.
//!
//! Every test binary includes this module with `mod common;` and uses a different subset of
//! it, hence the `dead_code` allowance.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_authelia-secrets");

/// A valid master seed (at least 32 characters).
pub const SEED: &str = "integration-test-seed-0123456789abcdefghij";
/// Another valid master seed.
pub const OTHER_SEED: &str = "another-integration-seed-9876543210zyxwvuts";

/// Variables the binary reads that the calling environment must not leak into a test.
const SCRUBBED_VARS: [&str; 4] = [
    "AUTHELIA_SECRETS_SEED",
    "AUTHELIA_SECRETS_LOAD_RESTRICTOR",
    "KUSTOMIZE_PLUGIN_CONFIG_ROOT",
    "KUSTOMIZE_PLUGIN_HOME",
];

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Output {
    /// stdout as text (panics when it is not UTF-8).
    pub fn stdout_text(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }

    /// Asserts that the process did not panic.
    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked:\n{}",
            self.stderr
        );
        assert_ne!(self.code, 101, "exit code 101 is a Rust panic");
    }
}

/// Runs the binary with `args`, feeding `stdin`, with `envs` set on top of a scrubbed
/// environment, in `cwd`.
pub fn run(args: &[&str], stdin: &[u8], envs: &[(&str, &str)], cwd: &Path) -> Output {
    run_program(BIN, args, stdin, envs, cwd)
}

/// Runs any program like [`run`] does (used for kpt and kubectl too).
pub fn run_program(
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    stdin: &[u8],
    envs: &[(&str, &str)],
    cwd: &Path,
) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in SCRUBBED_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the program");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.to_vec();
    // Write on a thread so a program that does not read all of stdin cannot deadlock us.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for the program");
    let _ = writer.join();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the binary with a stdout whose reading end is already closed (as after `| head -0`):
/// every write to stdout fails with a broken pipe. `stdout` of the result is empty.
pub fn run_with_closed_stdout(
    args: &[&str],
    stdin: &[u8],
    envs: &[(&str, &str)],
    cwd: &Path,
) -> Output {
    let (reader, writer) = std::io::pipe().expect("create a pipe");
    drop(reader);
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped());
    for var in SCRUBBED_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the binary");
    // The Command keeps its copy of the writing end until it is dropped.
    drop(cmd);
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for the binary");
    let _ = feeder.join();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: Vec::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs KRM mode (no arguments) in `cwd`.
pub fn run_krm(stdin: &[u8], envs: &[(&str, &str)], cwd: &Path) -> Output {
    run(&[], stdin, envs, cwd)
}

/// Parses a single YAML document with the crate's own parser.
pub fn parse(text: &[u8]) -> Value {
    authelia_secrets::yaml::parse_document("test output", text)
        .unwrap_or_else(|e| panic!("cannot parse {:?}: {e}", String::from_utf8_lossy(text)))
}

/// Parses a multi-document YAML stream with the crate's own parser.
pub fn parse_stream(text: &[u8]) -> Vec<Value> {
    authelia_secrets::yaml::parse_stream("test output", text)
        .unwrap_or_else(|e| panic!("cannot parse {:?}: {e}", String::from_utf8_lossy(text)))
}

/// A ResourceList as block YAML, as kpt and kustomize write it (the binary reads untouched
/// items of such text slim; see `authelia_secrets::interest`).
pub fn resource_list(items: &[Value], function_config: Option<&Value>) -> Vec<u8> {
    authelia_secrets::yaml::emit(&list_value(items, function_config))
        .expect("emit a ResourceList")
        .into_bytes()
}

/// A ResourceList as JSON text (which is valid YAML; every item is then re-emitted).
pub fn resource_list_json(items: &[Value], function_config: Option<&Value>) -> Vec<u8> {
    serde_json::to_vec_pretty(&list_value(items, function_config)).expect("JSON")
}

fn list_value(items: &[Value], function_config: Option<&Value>) -> Value {
    let mut list = serde_json::Map::new();
    list.insert("apiVersion".into(), json!("config.kubernetes.io/v1"));
    list.insert("kind".into(), json!("ResourceList"));
    list.insert("items".into(), Value::Array(items.to_vec()));
    if let Some(fc) = function_config {
        list.insert("functionConfig".into(), fc.clone());
    }
    Value::Object(list)
}

/// The standard config object: namespace `auth`, the given `spec`.
pub fn config(spec: Value) -> Value {
    json!({
        "apiVersion": "authelia-secrets.dev/v1alpha1",
        "kind": "AutheliaSecrets",
        "metadata": {"name": "authelia", "namespace": "auth"},
        "spec": spec,
    })
}

/// A Deployment with one container named `container`.
pub fn deployment(name: &str, namespace: &str, container: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{
                        "name": container,
                        "image": "ghcr.io/authelia/authelia:4.39",
                        "env": [{"name": "TZ", "value": "Etc/UTC"}],
                    }],
                },
            },
        },
    })
}

/// `items` of a parsed ResourceList.
pub fn items(list: &Value) -> Vec<Value> {
    list.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// `results` of a parsed ResourceList.
pub fn results(list: &Value) -> Vec<Value> {
    list.get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Results with the given severity.
pub fn with_severity(list: &Value, severity: &str) -> Vec<Value> {
    results(list)
        .into_iter()
        .filter(|r| r.get("severity").and_then(Value::as_str) == Some(severity))
        .collect()
}

/// Error results.
pub fn errors(list: &Value) -> Vec<Value> {
    with_severity(list, "error")
}

/// Warning results.
pub fn warnings(list: &Value) -> Vec<Value> {
    with_severity(list, "warning")
}

/// A result's `field.path`, or "".
/// The error at `path`, or a panic listing all results.
pub fn error_at(list: &Value, path: &str) -> Value {
    errors(list)
        .into_iter()
        .find(|r| field_path(r) == path)
        .unwrap_or_else(|| panic!("no error at {path}; results:\n{}", describe_results(list)))
}

/// The warning at `path`, or a panic listing all results.
pub fn warning_at(list: &Value, path: &str) -> Value {
    warnings(list)
        .into_iter()
        .find(|r| field_path(r) == path)
        .unwrap_or_else(|| panic!("no warning at {path}; results:\n{}", describe_results(list)))
}

pub fn field_path(result: &Value) -> &str {
    result
        .pointer("/field/path")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A result's message, or "".
pub fn message(result: &Value) -> &str {
    result.get("message").and_then(Value::as_str).unwrap_or("")
}

/// All results as one line each, for assertion messages.
pub fn describe_results(list: &Value) -> String {
    results(list)
        .iter()
        .map(|r| {
            format!(
                "[{}] {}: {}",
                r.get("severity").and_then(Value::as_str).unwrap_or("?"),
                field_path(r),
                message(r)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The items of `kind` named `name`.
pub fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    items.iter().find(|i| {
        i.get("kind").and_then(Value::as_str) == Some(kind)
            && i.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
    })
}

/// A copy of the item of `kind` named `name` in a parsed ResourceList's items.
pub fn item_of(list: &Value, kind: &str, name: &str) -> Value {
    find(&items(list), kind, name)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} {name} in the output items"))
}

/// The decoded `data` of a Secret.
pub fn secret_values(secret: &Value) -> BTreeMap<String, Vec<u8>> {
    secret
        .get("data")
        .and_then(Value::as_object)
        .map(|data| {
            data.iter()
                .map(|(k, v)| {
                    let text = v.as_str().expect("Secret data values are strings");
                    let bytes = STANDARD
                        .decode(text)
                        .unwrap_or_else(|e| panic!("data.{k} is not base64: {e}"));
                    (k.clone(), bytes)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Base64 (standard, padded) of `bytes`, as Secret data holds it.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The (name, value) env entries of `container` in a Deployment's pod template.
pub fn container_env(deployment: &Value, container: &str) -> Vec<(String, String)> {
    deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        })
        .and_then(|c| c.get("env"))
        .and_then(Value::as_array)
        .map(|env| {
            env.iter()
                .map(|e| {
                    (
                        e.get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        e.get("value")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::TempDir::new().expect("create a temporary directory")
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
    {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        let file_type = entry.file_type().expect("file type");
        if file_type.is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// Every file under `dir` (relative path → bytes).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if entry.file_type().expect("file type").is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                out.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The repository's examples directory.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Says loudly that a check is skipped. Written to the process's stderr directly, so the test
/// harness's output capture does not hide it.
pub fn loud_skip(message: &str) {
    let line = format!("\n!!!!!!!! SKIP: {message} !!!!!!!!\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// True when the environment says we run in CI (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Loads each text with PyYAML (`yaml.safe_load`, a YAML 1.1 reader) in one python3 process
/// and returns the documents as JSON, keeping key order. Values JSON cannot hold (dates, say)
/// come back as `<<type value>>` strings, so they compare unequal. `None` when PyYAML is
/// unavailable outside CI (the caller skips); in CI that is a failure.
pub fn pyyaml_load_all(texts: &[Vec<u8>]) -> Option<Vec<Value>> {
    const SCRIPT: &str = "\
import sys, json, os
try:
    import yaml
except ImportError:
    sys.exit(3)
loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
out = []
for name in sorted(os.listdir(sys.argv[1]), key=int):
    with open(os.path.join(sys.argv[1], name), 'rb') as f:
        out.append(yaml.load(f.read(), Loader=loader))
sys.stdout.write(json.dumps(out, default=lambda o: '<<%s %r>>' % (type(o).__name__, o)))
";
    let dir = tempdir();
    for (i, text) in texts.iter().enumerate() {
        std::fs::write(dir.path().join(i.to_string()), text).expect("write a YAML text");
    }
    let unavailable = |why: String| -> Option<Vec<Value>> {
        assert!(!in_ci(), "PyYAML is required in CI (CI=true): {why}");
        loud_skip(&format!(
            "the YAML 1.1 check needs python3 with PyYAML ({why}); pip install pyyaml"
        ));
        None
    };
    let out = match Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(dir.path())
        .output()
    {
        Ok(out) => out,
        Err(e) => return unavailable(format!("cannot run python3: {e}")),
    };
    if out.status.code() == Some(3) {
        return unavailable("`import yaml` failed".into());
    }
    assert!(
        out.status.success(),
        "PyYAML could not load our output: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("python printed JSON"))
}

/// True when `program probe...` runs and exits 0. When it does not: a test failure in CI
/// (`CI=true`), else a [`loud_skip`] naming `skipped` (what did not run). Every test binary
/// uses this one helper, so no skip is ever hidden by cargo test's output capture.
pub fn have_tool(program: &str, probe: &[&str], skipped: &str) -> bool {
    let ok = Command::new(program)
        .args(probe)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !in_ci(),
            "{program} is required when CI=true, but `{program} {}` did not run",
            probe.join(" ")
        );
        loud_skip(&format!(
            "{program} is not available; {skipped} did not run"
        ));
    }
    ok
}
