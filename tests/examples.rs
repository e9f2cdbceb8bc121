//! Every `examples/*/` folder is an end-to-end test through the real tools it names, with its
//! expected output in `.expected/`. `UPDATE_EXPECTED=1 cargo test --test examples` rewrites the
//! expectations on purpose; review the diff before committing it.
//!
//! `.expected/config.yaml` says what to run (every key is optional, at least one mode is not):
//! ```yaml
//! seed: <AUTHELIA_SECRETS_SEED for every run>
//! env: {NAME: value}             # more environment for every run (fromEnv sources)
//! kustomize:                     # kubectl kustomize --enable-alpha-plugins DIR, built twice
//!   - {dir: ., exitCode: 0}      #   → kustomize-<dir>.yaml (exit 0) or .txt (our stderr lines)
//! kpt:
//!   render: {exitCode: 0}        # kpt fn render --allow-exec, twice; the second changes nothing
//!                                #   → kpt-diff.patch, kpt-results.yaml, and kpt-results-2.yaml
//!                                #     when the second render's results differ from the first's
//!   eval:                        # kpt fn eval . --exec authelia-secrets, twice, on a fresh copy
//!     - {name: N, fnConfig: FILE}           # --fn-config FILE
//!     - {name: N, args: [key=value, ...]}   # -- key=value ... (a ConfigMap config)
//!                                #   → kpt-eval-N.patch, kpt-eval-N-results.yaml (-2 as above)
//! commands:                      # run in order in one copy, cwd = its root (kpt's exec.sh)
//!   - {name: N, run: [program, args...], exitCode: 0}   # → N.txt (stdout, then stderr)
//! ```
//! Copies keep `.expected/`, as a user's copy of the folder would: kpt examples carry a
//! `.krmignore` so kpt does not read it as part of the package.

mod common;

use common::{copy_dir, examples_dir, have_tool, tempdir};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_authelia-secrets"))
}

fn updating() -> bool {
    std::env::var("UPDATE_EXPECTED").is_ok_and(|v| v == "1")
}

fn have_kubectl() -> bool {
    have_tool(
        "kubectl",
        &["version", "--client"],
        "the example tests through kubectl kustomize",
    )
}

fn have_kpt() -> bool {
    have_tool("kpt", &["version"], "the example tests through kpt")
}

fn path_with_binary() -> String {
    let dir = binary().parent().expect("binary directory");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A plugin home holding the legacy plugins, made once per test process.
fn plugin_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempdir();
        let out = Command::new(binary())
            .args(["install-plugin", "--dir"])
            .arg(dir.path())
            .output()
            .expect("install-plugin");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

/// The keys `.expected/config.yaml` may hold.
const CONFIG_KEYS: [&str; 5] = ["seed", "env", "kustomize", "kpt", "commands"];

/// Examples whose test is written out below instead of driven by `config.yaml`, with the
/// expected files that test compares.
const CUSTOM: [(&str, &[&str]); 1] = [(
    "kustomize-krm-exec",
    &["generator-output.yaml", "transformer-output.yaml"],
)];

struct Example {
    name: String,
    dir: PathBuf,
    config: Value,
}

impl Example {
    fn load(name: &str) -> Example {
        let dir = examples_dir().join(name);
        let text = std::fs::read(dir.join(".expected/config.yaml"))
            .unwrap_or_else(|e| panic!("{name}/.expected/config.yaml: {e}"));
        let config =
            authelia_secrets::yaml::parse_document("config.yaml", &text).expect("config.yaml");
        Example {
            name: name.to_string(),
            dir,
            config,
        }
    }

    fn seed(&self) -> Option<&str> {
        self.config.get("seed").and_then(Value::as_str)
    }

    /// The seed and the `env:` map: the environment every tool run gets.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if let Some(seed) = self.seed() {
            env.push(("AUTHELIA_SECRETS_SEED".to_string(), seed.to_string()));
        }
        if let Some(map) = self.config.get("env").and_then(Value::as_object) {
            for (k, v) in map {
                let v = v
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: env.{k} must be a string", self.name));
                env.push((k.clone(), v.to_string()));
            }
        }
        env
    }

    /// `program` with a clean environment: no seed or plugin variables from the caller, the
    /// binary under test first on PATH, then the example's own environment.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_remove("AUTHELIA_SECRETS_SEED")
            .env_remove("KUSTOMIZE_PLUGIN_HOME")
            .env_remove("KUSTOMIZE_PLUGIN_CONFIG_ROOT")
            .env("PATH", path_with_binary());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// Compares `actual` with `.expected/<file>`, or writes it when updating.
    fn expect(&self, file: &str, actual: &str) {
        let path = self.dir.join(".expected").join(file);
        if updating() {
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with UPDATE_EXPECTED=1 to create it)",
                path.display()
            )
        });
        assert!(
            expected == actual,
            "{}: output differs from .expected/{file}\n--- expected\n{expected}\n--- actual\n{actual}",
            self.name
        );
    }

    /// A second run's results: equal to the first run's, or to `.expected/<file>` when that
    /// exists (a run that legitimately reports something only once, such as a rotation).
    fn expect_second(&self, file: &str, first: &str, second: &str) {
        let path = self.dir.join(".expected").join(file);
        if updating() {
            if first == second {
                let _ = std::fs::remove_file(&path);
            } else {
                std::fs::write(&path, second).unwrap();
            }
            return;
        }
        if path.is_file() {
            self.expect(file, second);
        } else {
            assert_eq!(
                first, second,
                "{}: the second run's results differ from the first's (add .expected/{file} if that is intended)",
                self.name
            );
        }
    }

    /// A copy of the whole folder, `.expected/` included, as a user would copy it.
    fn copy(&self) -> tempfile::TempDir {
        let tmp = tempdir();
        copy_dir(&self.dir, tmp.path());
        tmp
    }

    fn kpt(&self) -> Option<&Value> {
        self.config.get("kpt")
    }

    fn list(&self, key: &str) -> Vec<Value> {
        self.config
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// Every file of `.expected/` the modes in `config.yaml` compare: (required, optional).
    fn expected_files(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut required = BTreeSet::new();
        let mut optional = BTreeSet::new();
        for build in self.list("kustomize") {
            let dir = build.get("dir").and_then(Value::as_str).unwrap_or(".");
            let ext = if build.get("exitCode").and_then(Value::as_i64).unwrap_or(0) == 0 {
                "yaml"
            } else {
                "txt"
            };
            required.insert(format!("kustomize-{}.{ext}", dir_tag(dir)));
        }
        if let Some(kpt) = self.kpt() {
            if kpt.get("render").is_some() {
                required.insert("kpt-diff.patch".into());
                required.insert("kpt-results.yaml".into());
                optional.insert("kpt-results-2.yaml".into());
            }
            for run in kpt
                .get("eval")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = string(run, "name");
                required.insert(format!("kpt-eval-{name}.patch"));
                required.insert(format!("kpt-eval-{name}-results.yaml"));
                optional.insert(format!("kpt-eval-{name}-results-2.yaml"));
            }
        }
        for command in self.list("commands") {
            required.insert(format!("{}.txt", string(&command, "name")));
        }
        if let Some((_, files)) = CUSTOM.iter().find(|(n, _)| *n == self.name) {
            required.extend(files.iter().map(|f| f.to_string()));
        }
        (required, optional)
    }
}

fn string(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string {key} in {value}"))
        .to_string()
}

fn dir_tag(dir: &str) -> String {
    let tag = dir.trim_matches('.').trim_matches('/').replace('/', "_");
    if tag.is_empty() {
        "root".to_string()
    } else {
        tag
    }
}

fn status(out: &Output) -> i64 {
    i64::from(out.status.code().unwrap_or(-1))
}

/// Our own lines from a failing kustomize run (kustomize adds timestamps and temp paths).
fn our_lines(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("authelia-secrets:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Drops the `E1203 21:45:39.147114    2219 run.go:72] ` prefix of kubectl's log lines.
fn without_klog_prefix(line: &str) -> &str {
    let b = line.as_bytes();
    let klog = b.len() > 6
        && matches!(b[0], b'E' | b'W' | b'I' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' ';
    match line.find("] ") {
        Some(i) if klog => &line[i + 2..],
        _ => line,
    }
}

fn run_kustomize(example: &Example) {
    let builds = example.list("kustomize");
    if builds.is_empty() || !have_kubectl() {
        return;
    }
    for build in builds {
        let dir = build.get("dir").and_then(Value::as_str).unwrap_or(".");
        let want = build.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        let tmp = example.copy();
        let run = || {
            example
                .command("kubectl")
                .env("KUSTOMIZE_PLUGIN_HOME", plugin_home())
                .args(["kustomize", "--enable-alpha-plugins"])
                .arg(tmp.path().join(dir))
                .output()
                .expect("kubectl")
        };
        let out = run();
        assert_eq!(
            status(&out),
            want,
            "{}: kubectl kustomize {dir}: {}",
            example.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let tag = dir_tag(dir);
        if want == 0 {
            let text = String::from_utf8(out.stdout.clone()).unwrap();
            example.expect(&format!("kustomize-{tag}.yaml"), &text);
            let again = run();
            assert_eq!(
                out.stdout, again.stdout,
                "{}: two builds differ",
                example.name
            );
        } else {
            example.expect(&format!("kustomize-{tag}.txt"), &our_lines(&out.stderr));
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.email=test@example.com",
            "-c",
            "user.name=test",
            "-c",
            "core.autocrlf=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A copy of the example as a Git repository at `<tmp>/pkg`, so diffs show what kpt changed.
fn git_package(example: &Example, tmp: &Path) -> PathBuf {
    let pkg = tmp.join("pkg");
    copy_dir(&example.dir, &pkg);
    git(&pkg, &["init", "-q"]);
    git(&pkg, &["add", "-A"]);
    git(&pkg, &["commit", "-q", "-m", "example"]);
    pkg
}

/// Runs `kpt_run(results_dir)` twice on `pkg`; returns (diff, first results, second results).
/// The second run must leave every file as the first left it.
fn twice(
    example: &Example,
    what: &str,
    pkg: &Path,
    want: i64,
    kpt_run: impl Fn(&Path) -> Output,
) -> (String, String, String) {
    let mut diffs = Vec::new();
    let mut results = Vec::new();
    for round in 0..2 {
        let dir = pkg
            .parent()
            .unwrap()
            .join(format!("results-{what}-{round}"));
        std::fs::create_dir(&dir).unwrap();
        let out = kpt_run(&dir);
        assert_eq!(
            status(&out),
            want,
            "{} {what} run {round}: {}{}",
            example.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        git(pkg, &["add", "-A"]);
        diffs.push(git(pkg, &["diff", "--cached"]));
        results.push(std::fs::read_to_string(dir.join("results.yaml")).unwrap_or_default());
    }
    assert_eq!(
        diffs[0], diffs[1],
        "{}: the second {what} changed files",
        example.name
    );
    let second = results.pop().unwrap();
    let first = results.pop().unwrap();
    (diffs.swap_remove(0), first, second)
}

fn run_kpt(example: &Example) {
    let Some(kpt) = example.kpt() else {
        return;
    };
    if !have_kpt() {
        return;
    }
    if let Some(render) = kpt.get("render") {
        let want = render.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        let tmp = tempdir();
        let pkg = git_package(example, tmp.path());
        let (diff, first, second) = twice(example, "render", &pkg, want, |results| {
            example
                .command("kpt")
                .args(["fn", "render", "--allow-exec", "--truncate-output=false"])
                .arg("--results-dir")
                .arg(results)
                .arg(&pkg)
                .output()
                .expect("kpt")
        });
        example.expect("kpt-diff.patch", &diff);
        example.expect("kpt-results.yaml", &first);
        example.expect_second("kpt-results-2.yaml", &first, &second);
    }
    for run in kpt
        .get("eval")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = string(run, "name");
        let want = run.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        let tmp = tempdir();
        let pkg = git_package(example, tmp.path());
        let (diff, first, second) =
            twice(example, &format!("eval {name}"), &pkg, want, |results| {
                let mut cmd = example.command("kpt");
                cmd.current_dir(&pkg)
                    .args(["fn", "eval", ".", "--exec", "authelia-secrets"])
                    .arg("--truncate-output=false")
                    .arg("--results-dir")
                    .arg(results);
                if let Some(file) = run.get("fnConfig").and_then(Value::as_str) {
                    cmd.args(["--fn-config", file]);
                }
                if let Some(args) = run.get("args").and_then(Value::as_array) {
                    cmd.arg("--");
                    cmd.args(
                        args.iter()
                            .map(|a| a.as_str().expect("eval args are strings")),
                    );
                }
                cmd.output().expect("kpt")
            });
        example.expect(&format!("kpt-eval-{name}.patch"), &diff);
        example.expect(&format!("kpt-eval-{name}-results.yaml"), &first);
        example.expect_second(&format!("kpt-eval-{name}-results-2.yaml"), &first, &second);
    }
}

fn run_commands(example: &Example) {
    let commands = example.list("commands");
    if commands.is_empty() {
        return;
    }
    let programs: BTreeSet<String> = commands
        .iter()
        .filter_map(|c| c.get("run")?.get(0)?.as_str().map(String::from))
        .collect();
    if programs.contains("kubectl") && !have_kubectl() || programs.contains("kpt") && !have_kpt() {
        return;
    }
    let tmp = example.copy();
    let root = tmp.path().canonicalize().unwrap();
    for command in commands {
        let name = string(&command, "name");
        let argv: Vec<&str> = command["run"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: commands[{name}].run is a list", example.name))
            .iter()
            .map(|a| a.as_str().expect("run arguments are strings"))
            .collect();
        let want = command.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        let program = if argv[0] == "authelia-secrets" {
            binary().to_str().unwrap()
        } else {
            argv[0]
        };
        let out = example
            .command(program)
            .args(&argv[1..])
            .current_dir(&root)
            .output()
            .unwrap_or_else(|e| panic!("{}: cannot run {}: {e}", example.name, argv[0]));
        let mut text = String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !stderr.is_empty() {
            text.push_str("--- stderr\n");
            for line in stderr.lines() {
                text.push_str(without_klog_prefix(line));
                text.push('\n');
            }
        }
        assert_eq!(
            status(&out),
            want,
            "{}: {name} ({}): {text}",
            example.name,
            argv.join(" ")
        );
        let text = text.replace(root.to_str().unwrap(), "$EXAMPLE");
        example.expect(&format!("{name}.txt"), &text);
    }
}

fn run_example(name: &str) {
    let example = Example::load(name);
    run_kustomize(&example);
    run_kpt(&example);
    run_commands(&example);
}

#[test]
fn every_example_has_a_test() {
    let this =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/examples.rs"))
            .unwrap();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let entry = entry.unwrap();
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        let dir = entry.path();
        if !dir.join(".expected/config.yaml").is_file() {
            problems.push(format!("{name}: no .expected/config.yaml"));
            continue;
        }
        let custom = CUSTOM.iter().any(|(n, _)| *n == name);
        let tested = this.contains(&format!("run_example(\"{name}\")"))
            || custom && this.contains(&format!("Example::load(\"{name}\")"));
        if !tested {
            problems.push(format!("{name}: no test calls run_example(\"{name}\")"));
        }
        let example = Example::load(&name);
        let keys: Vec<&String> = example.config.as_object().unwrap().keys().collect();
        for key in &keys {
            if !CONFIG_KEYS.contains(&key.as_str()) {
                problems.push(format!("{name}: unknown key {key} in config.yaml"));
            }
        }
        let (required, optional) = example.expected_files();
        if required.is_empty() {
            problems.push(format!("{name}: config.yaml runs nothing"));
        }
        for entry in std::fs::read_dir(dir.join(".expected")).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().to_string();
            if file != "config.yaml" && !required.contains(&file) && !optional.contains(&file) {
                problems.push(format!(
                    "{name}: .expected/{file} is compared by nothing (stale?)"
                ));
            }
        }
        if dir.join("Kptfile").is_file() {
            let ignore = std::fs::read_to_string(dir.join(".krmignore")).unwrap_or_default();
            if !ignore.lines().any(|l| l.trim() == ".expected/") {
                problems.push(format!(
                    "{name}: a kpt package without `.expected/` in .krmignore: a copy of it does not render"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn quickstart() {
    run_example("quickstart");
}

#[test]
fn seed_guide() {
    run_example("seed-guide");
}

#[test]
fn seed_guide_generated() {
    run_example("seed-guide-generated");
}

#[test]
fn overlays() {
    run_example("overlays");
}

#[test]
fn kustomize_generator() {
    run_example("kustomize-generator");
}

#[test]
fn kpt_package() {
    run_example("kpt-package");
}

#[test]
fn kpt_eval() {
    run_example("kpt-eval");
    // The ConfigMap form (`-- key=value`) says the same as the typed config: same changes.
    let expected = examples_dir().join("kpt-eval/.expected");
    assert_eq!(
        std::fs::read_to_string(expected.join("kpt-eval-configmap.patch")).unwrap(),
        std::fs::read_to_string(expected.join("kpt-eval-fn-config.patch")).unwrap(),
        "kpt fn eval with the ConfigMap and with --fn-config differ"
    );
}

#[test]
fn export() {
    run_example("export");
}

#[test]
fn rollout_modes() {
    run_example("rollout-modes");
}

#[test]
fn provided_values() {
    run_example("provided-values");
}

#[test]
fn workloads() {
    run_example("workloads");
}

#[test]
fn rotation() {
    run_example("rotation");
}

#[test]
fn oidc_keys() {
    run_example("oidc-keys");
}

#[test]
fn catalog() {
    run_example("catalog");
}

/// Builds one overlay of examples/overlays through kubectl kustomize.
fn build_overlay(name: &str) -> Vec<Value> {
    let example = Example::load("overlays");
    let out = example
        .command("kubectl")
        .env("KUSTOMIZE_PLUGIN_HOME", plugin_home())
        .args(["kustomize", "--enable-alpha-plugins"])
        .arg(example.dir.join("overlays").join(name))
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    authelia_secrets::yaml::parse_stream("kustomize", &out.stdout).unwrap()
}

fn secret_data(items: &[Value]) -> serde_json::Map<String, Value> {
    items
        .iter()
        .find(|i| i["kind"] == "Secret")
        .and_then(|s| s["data"].as_object())
        .cloned()
        .expect("a Secret with data")
}

#[test]
fn production_overlay_is_complete_checks_clean_and_differs_from_staging() {
    if !have_kubectl() {
        return;
    }
    let production = build_overlay("production");
    let staging = build_overlay("staging");
    let prod = secret_data(&production);
    let stag = secret_data(&staging);
    let config_text =
        std::fs::read(examples_dir().join("overlays/overlays/production/authelia-secrets.yaml"))
            .unwrap();
    let config = authelia_secrets::yaml::parse_document("config", &config_text).unwrap();
    let declared: Vec<&String> = config["spec"]["secrets"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut have_keys: Vec<&String> = prod.keys().collect();
    have_keys.sort();
    let mut want = declared.clone();
    want.sort();
    assert_eq!(have_keys, want, "production Secret keys");
    for key in stag.keys() {
        assert_ne!(
            stag[key], prod[key],
            "{key}: staging and production share a value"
        );
    }
    // AutheliaSecretsCheck over the production output: no error, no warning.
    let list = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": production,
        "functionConfig": {
            "apiVersion": "authelia-secrets.dev/v1alpha1",
            "kind": "AutheliaSecretsCheck",
            "metadata": {"name": "check"},
            "spec": {"autheliaVersion": "4.39"},
        },
    });
    let mut child = Command::new(binary())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(list.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let result = authelia_secrets::yaml::parse_document("out", &out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        result.get("results").is_none(),
        "check findings: {:?}",
        result.get("results")
    );
}

/// Runs the binary in KRM mode on `input` with the example's seed; returns stdout.
fn krm(example: &Example, input: &str) -> String {
    use std::io::Write as _;
    let mut cmd = Command::new(binary());
    cmd.env_remove("AUTHELIA_SECRETS_SEED")
        .env_remove("KUSTOMIZE_PLUGIN_CONFIG_ROOT")
        .current_dir(&example.dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(seed) = example.seed() {
        cmd.env("AUTHELIA_SECRETS_SEED", seed);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The annotations kyaml's reader, pipeline and function runner append to the `index`-th item
/// (0-based) of a ResourceList, in the order they are added (see kustomize-sends/*.yaml).
fn runner_annotations(index: usize) -> Vec<(&'static str, String)> {
    vec![
        ("config.kubernetes.io/index", index.to_string()),
        ("internal.config.kubernetes.io/index", index.to_string()),
        (
            "internal.config.kubernetes.io/annotations-migration-resource-id",
            index.to_string(),
        ),
        ("internal.config.kubernetes.io/id", (index + 1).to_string()),
        ("config.k8s.io/id", (index + 1).to_string()),
    ]
}

fn annotations_mut(item: &mut Value) -> &mut serde_json::Map<String, Value> {
    item["metadata"]
        .as_object_mut()
        .expect("metadata")
        .entry("annotations")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .expect("annotations")
}

/// Sets (or, with `None`, removes) annotations.
fn annotate(mut item: Value, changes: &[(&str, Option<&str>)]) -> Value {
    let a = annotations_mut(&mut item);
    for (key, value) in changes {
        match value {
            Some(v) => {
                a.insert((*key).to_string(), Value::String((*v).to_string()));
            }
            None => {
                a.shift_remove(*key);
            }
        }
    }
    item
}

fn with_runner_annotations(item: Value, index: usize) -> Value {
    let owned = runner_annotations(index);
    let changes: Vec<(&str, Option<&str>)> =
        owned.iter().map(|(k, v)| (*k, Some(v.as_str()))).collect();
    annotate(item, &changes)
}

fn without_runner_annotations(item: Value) -> Value {
    let changes: Vec<(&str, Option<&str>)> = runner_annotations(0)
        .iter()
        .map(|(k, _)| (*k, None))
        .collect();
    annotate(item, &changes)
}

/// kustomize sends what `res.AsYAML()` makes, which goes through JSON: every mapping sorted by
/// key. Only the annotations kyaml adds afterwards (the runner's) follow, in the order added.
fn assert_sorted_as_kustomize_writes(value: &Value, path: &str) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
            if path.ends_with("metadata.annotations") {
                let runner: Vec<&str> = runner_annotations(0).iter().map(|(k, _)| *k).collect();
                let first_runner = keys.iter().position(|k| runner.contains(k));
                let tail = keys.split_off(first_runner.unwrap_or(keys.len()));
                let in_order: Vec<&str> = runner
                    .iter()
                    .copied()
                    .filter(|k| tail.contains(k))
                    .collect();
                assert_eq!(
                    tail, in_order,
                    "{path}: the runner's annotations come last, in order"
                );
            }
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            assert_eq!(keys, sorted, "{path}: kustomize sends sorted keys");
            for (k, v) in map {
                assert_sorted_as_kustomize_writes(v, &format!("{path}.{k}"));
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                assert_sorted_as_kustomize_writes(v, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

fn read_example_yaml(example: &Example, file: &str) -> (String, Value) {
    let text = std::fs::read_to_string(example.dir.join(file)).unwrap();
    let value = authelia_secrets::yaml::parse_document(file, text.as_bytes())
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    (text, value)
}

fn items_of(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

/// Standalone kustomize (`--enable-exec`) is not installable on these machines, so this test
/// feeds the function the exact ResourceLists kustomize sends (kustomize-sends/, each file
/// citing the kustomize source it is derived from), checks that those files still agree with
/// the example's own files and with what the function generated, and compares the outputs.
#[test]
fn kustomize_krm_exec() {
    let example = Example::load("kustomize-krm-exec");
    let (_, config) = read_example_yaml(&example, "authelia-secrets.yaml");
    let (_, deployment) = read_example_yaml(&example, "deployment.yaml");
    let function_config = annotate(
        config.clone(),
        &[("config.kubernetes.io/local-config", Some("true"))],
    );

    // Generator form: the config, marked local-config, is both the only item and the config.
    let (generator_text, sent) = read_example_yaml(&example, "kustomize-sends/generator.yaml");
    assert_eq!(
        sent["functionConfig"], function_config,
        "kustomize-sends/generator.yaml is out of date with authelia-secrets.yaml"
    );
    assert_eq!(
        items_of(&sent),
        vec![with_runner_annotations(function_config.clone(), 0)],
        "generator.yaml: the one item is the config with the runner's annotations"
    );
    assert_sorted_as_kustomize_writes(&sent["items"], "items");
    assert_sorted_as_kustomize_writes(&sent["functionConfig"], "functionConfig");
    let generated_text = krm(&example, &generator_text);
    example.expect("generator-output.yaml", &generated_text);
    let generated =
        authelia_secrets::yaml::parse_document("out", generated_text.as_bytes()).unwrap();
    let generated_items = items_of(&generated);
    assert_eq!(
        generated_items.len(),
        2,
        "the config item echoed and the Secret"
    );
    let echoed = generated_items
        .iter()
        .find(|i| i["kind"] == "AutheliaSecrets")
        .cloned()
        .expect("the generator echoes the config item");
    let secret = generated_items
        .iter()
        .find(|i| i["kind"] == "Secret")
        .cloned()
        .expect("the generator emits the Secret");
    assert_eq!(
        secret["metadata"]["annotations"]["kustomize.config.k8s.io/needs-hash"],
        "true"
    );

    // Transformer form: the resource map after the generator ran, in kustomize's order, each
    // item as kustomize keeps it (see the comments in transformer.yaml).
    let (transformer_text, sent) = read_example_yaml(&example, "kustomize-sends/transformer.yaml");
    let id = |yaml: &str| Some(yaml.to_string());
    let deployment_id = id("group: apps\nkind: Deployment\nname: authelia\nversion: v1\n");
    let config_id = id(
        "group: authelia-secrets.dev\nkind: AutheliaSecrets\nname: authelia\nversion: v1alpha1\n",
    );
    let secret_id = id("kind: Secret\nname: authelia\nversion: v1\n");
    let expected = vec![
        with_runner_annotations(
            annotate(
                deployment,
                &[("kustomize.config.k8s.io/id", deployment_id.as_deref())],
            ),
            0,
        ),
        with_runner_annotations(
            annotate(
                without_runner_annotations(echoed.clone()),
                &[
                    (
                        "config.kubernetes.io/path",
                        Some("autheliasecrets_authelia.yaml"),
                    ),
                    (
                        "internal.config.kubernetes.io/generatorBehavior",
                        Some("unspecified"),
                    ),
                    (
                        "internal.config.kubernetes.io/path",
                        Some("autheliasecrets_authelia.yaml"),
                    ),
                    ("kustomize.config.k8s.io/id", config_id.as_deref()),
                ],
            ),
            1,
        ),
        with_runner_annotations(
            annotate(
                secret.clone(),
                &[
                    ("kustomize.config.k8s.io/needs-hash", None),
                    ("config.kubernetes.io/path", Some("secret_authelia.yaml")),
                    (
                        "internal.config.kubernetes.io/generatorBehavior",
                        Some("unspecified"),
                    ),
                    (
                        "internal.config.kubernetes.io/needsHashSuffix",
                        Some("enabled"),
                    ),
                    (
                        "internal.config.kubernetes.io/path",
                        Some("secret_authelia.yaml"),
                    ),
                    ("kustomize.config.k8s.io/id", secret_id.as_deref()),
                ],
            ),
            2,
        ),
    ];
    assert_eq!(
        items_of(&sent),
        expected,
        "kustomize-sends/transformer.yaml is out of date with the example or the generator output"
    );
    assert_eq!(sent["functionConfig"], function_config);
    assert_sorted_as_kustomize_writes(&sent["items"], "items");
    let transformed_text = krm(&example, &transformer_text);
    example.expect("transformer-output.yaml", &transformed_text);
    let out = authelia_secrets::yaml::parse_document("out", transformed_text.as_bytes()).unwrap();
    let items = items_of(&out);
    // Every item comes back with its kustomize id, or kustomize would delete it.
    assert_eq!(items.len(), 3);
    for item in &items {
        assert!(
            item["metadata"]["annotations"]["kustomize.config.k8s.io/id"].is_string(),
            "{item}"
        );
    }
    assert_eq!(
        items.iter().find(|i| i["kind"] == "AutheliaSecrets"),
        Some(&expected[1]),
        "the config item is handed back untouched"
    );
    let secret = items.iter().find(|i| i["kind"] == "Secret").unwrap();
    // kustomize appends the hash itself, later: the name stays, the marker stays.
    assert_eq!(secret["metadata"]["name"], "authelia");
    assert_eq!(
        secret["metadata"]["annotations"]["internal.config.kubernetes.io/needsHashSuffix"],
        "enabled"
    );
    assert_eq!(secret["data"], expected[2]["data"]);
    let dep = items.iter().find(|i| i["kind"] == "Deployment").unwrap();
    assert_eq!(
        dep["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
        "authelia"
    );
}

/// Every YAML document under `dir`, with its path.
fn yaml_documents(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for (rel, bytes) in common::snapshot(dir) {
        if rel.starts_with(".expected")
            || !rel.extension().is_some_and(|e| e == "yaml" || e == "yml")
        {
            continue;
        }
        let docs = authelia_secrets::yaml::parse_stream(&rel.display().to_string(), &bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        assert!(!docs.is_empty(), "{}: no YAML document", rel.display());
        out.extend(docs.into_iter().map(|d| (rel.clone(), d)));
    }
    out
}

fn document<'a>(docs: &'a [(PathBuf, Value)], path: &str) -> &'a Value {
    &docs
        .iter()
        .find(|(p, _)| p == Path::new(path))
        .unwrap_or_else(|| panic!("{path} missing"))
        .1
}

/// The GitOps recipes: what can run here runs (the component over stand-ins, the application
/// with the legacy plugin, the Flux CI script); the rest (Argo CD itself, the KRM exec variant,
/// the workflow, the Flux object) must at least parse and agree with what runs.
#[test]
fn gitops() {
    run_example("gitops");
    let dir = examples_dir().join("gitops");
    let docs = yaml_documents(&dir);

    let cm = document(&docs, "argocd/authelia-secrets-plugin/argocd-cm.yaml");
    let flags: Vec<&str> = cm["data"]["kustomize.buildOptions"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect();
    assert!(flags.contains(&"--enable-alpha-plugins") && flags.contains(&"--enable-exec"));

    let repo_server = document(
        &docs,
        "argocd/authelia-secrets-plugin/argocd-repo-server.yaml",
    );
    let pod = &repo_server["spec"]["template"]["spec"];
    let env = pod["containers"][0]["env"].as_array().unwrap();
    let plugin_home = env
        .iter()
        .find(|e| e["name"] == "KUSTOMIZE_PLUGIN_HOME")
        .and_then(|e| e["value"].as_str())
        .expect("KUSTOMIZE_PLUGIN_HOME on the repo-server");
    assert!(
        env.iter()
            .any(|e| e["name"] == "AUTHELIA_SECRETS_SEED"
                && e["valueFrom"]["secretKeyRef"].is_object()),
        "the seed comes from a Secret"
    );
    let init = &pod["initContainers"][0];
    assert_eq!(
        init["args"],
        serde_json::json!(["install-plugin", "--dir", plugin_home]),
        "the init container installs where KUSTOMIZE_PLUGIN_HOME points"
    );
    let mount = |c: &Value| {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "custom-tools")
            .and_then(|m| m["mountPath"].as_str())
            .map(String::from)
            .expect("the shared volume is mounted")
    };
    assert_eq!(mount(init), mount(&pod["containers"][0]));
    assert!(plugin_home.starts_with(&mount(init)));

    // The KRM exec variant names, as an absolute path, the very file install-plugin writes.
    let krm = document(&docs, "argocd/app-krm/authelia-secrets.yaml");
    let spec = authelia_secrets::yaml::parse_document(
        "function",
        krm["metadata"]["annotations"]["config.kubernetes.io/function"]
            .as_str()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let exec_path = spec["exec"]["path"].as_str().unwrap();
    let relative = Path::new(exec_path)
        .strip_prefix(plugin_home)
        .unwrap_or_else(|_| panic!("{exec_path} is not under {plugin_home}"));
    assert!(
        plugin_home_file_exists(relative),
        "install-plugin writes no {}",
        relative.display()
    );
    // Apart from that annotation, both applications are the same.
    let legacy = document(&docs, "argocd/app/authelia-secrets.yaml");
    let mut krm_config = krm.clone();
    krm_config["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    assert_eq!(&krm_config, legacy);
    for file in ["kustomization.yaml", "deployment.yaml"] {
        assert_eq!(
            document(&docs, &format!("argocd/app/{file}")),
            document(&docs, &format!("argocd/app-krm/{file}"))
        );
    }

    // The Flux CI script renders exactly what kustomize with the plugin builds.
    let expected = dir.join(".expected");
    assert_eq!(
        std::fs::read_to_string(expected.join("flux-rendered.txt")).unwrap(),
        std::fs::read_to_string(expected.join("kustomize-argocd_app.yaml")).unwrap()
    );
    let flux = document(&docs, "flux-ci/flux-kustomization.yaml");
    assert_eq!(flux["spec"]["decryption"]["provider"], "sops");
    let workflow = document(&docs, "flux-ci/github-workflow.yaml");
    assert!(workflow["jobs"]["render"]["steps"].is_array());
}

/// True when `install-plugin` writes a file at `relative` below its plugin home.
fn plugin_home_file_exists(relative: &Path) -> bool {
    plugin_home().join(relative).is_file()
}

/// The README's "Where warnings show": a successful kubectl kustomize shows none of the
/// plugin's warnings, the binary run by hand as the README says prints them. If a kubectl
/// release starts passing the plugin's stderr through, this fails and the docs must change.
#[test]
fn warnings_show_where_the_readme_says() {
    if !have_kubectl() {
        return;
    }
    let example = Example::load("quickstart");
    let tmp = example.copy();
    let build = |seed: Option<&str>| {
        let mut cmd = Command::new("kubectl");
        cmd.env_remove("AUTHELIA_SECRETS_SEED")
            .env("KUSTOMIZE_PLUGIN_HOME", plugin_home())
            .args(["kustomize", "--enable-alpha-plugins"])
            .arg(tmp.path());
        if let Some(seed) = seed {
            cmd.env("AUTHELIA_SECRETS_SEED", seed);
        }
        cmd.output().expect("kubectl")
    };
    // No seed: under kustomize that is an error, so it shows.
    let built = build(None);
    assert!(!built.status.success(), "a build without a seed succeeded");
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(stderr.contains("no seed is set"), "{stderr}");

    // A literal value is a warning: a successful build does not show it, the binary does.
    let config = tmp.path().join("authelia-secrets.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "    STORAGE_ENCRYPTION_KEY: {}\n",
            "    STORAGE_ENCRYPTION_KEY: {}\n    SMTP_PASSWORD: {value: a-demo-literal}\n",
        ),
    )
    .unwrap();
    let built = build(Some(common::SEED));
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(
        !stderr.contains("warning"),
        "kubectl kustomize now shows the plugin's warnings; update the README: {stderr}"
    );
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let by_hand = "cd DIR && authelia-secrets authelia-secrets.yaml </dev/null >/dev/null";
    assert!(
        readme.contains(by_hand),
        "the README's command changed: {by_hand}"
    );
    let out = Command::new(binary())
        .env("AUTHELIA_SECRETS_SEED", common::SEED)
        .env_remove("KUSTOMIZE_PLUGIN_CONFIG_ROOT")
        .current_dir(tmp.path())
        .arg("authelia-secrets.yaml")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("authelia-secrets: warning:") && stderr.contains("literal"),
        "{stderr}"
    );
}
