//! Every `examples/*/` folder with an `.expected/` is an end-to-end test through the real tools
//! it names: `kubectl kustomize --enable-alpha-plugins` (legacy plugin) and `kpt fn render`
//! (run twice; the second render must change nothing). `UPDATE_EXPECTED=1 cargo test --test
//! examples` rewrites the expectations on purpose.
//!
//! `.expected/config.yaml`:
//! ```yaml
//! seed: <AUTHELIA_SECRETS_SEED for the run>   # optional
//! kustomize: [{dir: ., exitCode: 0}]            # builds, compared with kustomize-<dir>.yaml / .txt
//! kpt: {exitCode: 0}                            # render, compared with kpt-diff.patch, kpt-results.yaml
//! ```

mod common;

use common::{copy_dir, examples_dir, in_ci, tempdir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_authelia-secrets"))
}

fn updating() -> bool {
    std::env::var("UPDATE_EXPECTED").is_ok_and(|v| v == "1")
}

/// True when `tool` runs; in CI a missing tool fails the test.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("version")
        .arg("--client")
        .output()
        .or_else(|_| Command::new(tool).arg("version").output())
        .is_ok();
    if !ok {
        assert!(!in_ci(), "{tool} is not on PATH, and CI=true requires it");
        eprintln!(
            "!!! SKIPPING: {tool} is not on PATH; the example tests through {tool} did not run"
        );
    }
    ok
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

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_remove("AUTHELIA_SECRETS_SEED")
            .env("PATH", path_with_binary())
            .env("KUSTOMIZE_PLUGIN_HOME", plugin_home());
        if let Some(seed) = self.seed() {
            cmd.env("AUTHELIA_SECRETS_SEED", seed);
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

    fn copy(&self) -> tempfile::TempDir {
        let tmp = tempdir();
        copy_dir(&self.dir, tmp.path());
        let _ = std::fs::remove_dir_all(tmp.path().join(".expected"));
        tmp
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

fn run_kustomize(example: &Example) {
    let Some(builds) = example.config.get("kustomize").and_then(Value::as_array) else {
        return;
    };
    if !have("kubectl") {
        return;
    }
    for build in builds {
        let dir = build.get("dir").and_then(Value::as_str).unwrap_or(".");
        let want = build.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        let tmp = example.copy();
        let run = || {
            example
                .command("kubectl")
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
        let tag = dir.trim_matches('.').trim_matches('/').replace('/', "_");
        let tag = if tag.is_empty() {
            "root".to_string()
        } else {
            tag
        };
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

fn run_kpt(example: &Example) {
    let Some(kpt) = example.config.get("kpt") else {
        return;
    };
    if !have("kpt") {
        return;
    }
    let want = kpt.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
    let tmp = example.copy();
    let pkg = tmp.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    copy_dir(&example.dir, &pkg);
    let _ = std::fs::remove_dir_all(pkg.join(".expected"));
    git(&pkg, &["init", "-q"]);
    git(&pkg, &["add", "-A"]);
    git(&pkg, &["commit", "-q", "-m", "example"]);
    let render = |results: &Path| {
        example
            .command("kpt")
            .args([
                "fn",
                "render",
                "--allow-exec",
                "--truncate-output=false",
                "--results-dir",
            ])
            .arg(results)
            .arg(&pkg)
            .output()
            .expect("kpt")
    };
    let mut diffs = Vec::new();
    let mut all_results = Vec::new();
    for round in 0..2 {
        let results = tmp.path().join(format!("results-{round}"));
        std::fs::create_dir(&results).unwrap();
        let out = render(&results);
        assert_eq!(
            status(&out),
            want,
            "{} render {round}: {}{}",
            example.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        git(&pkg, &["add", "-A"]);
        diffs.push(git(&pkg, &["diff", "--cached"]));
        all_results.push(std::fs::read_to_string(results.join("results.yaml")).unwrap_or_default());
    }
    assert_eq!(
        diffs[0], diffs[1],
        "{}: the second render changed files",
        example.name
    );
    example.expect("kpt-diff.patch", &diffs[0]);
    example.expect("kpt-results.yaml", &all_results[0]);
}

fn run_example(name: &str) {
    let example = Example::load(name);
    run_kustomize(&example);
    run_kpt(&example);
}

#[test]
fn every_example_has_a_test() {
    let this =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/examples.rs"))
            .unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let entry = entry.unwrap();
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        let tested = this.contains(&format!("run_example(\"{name}\")"))
            || this.contains(&format!("Example::load(\"{name}\")"));
        if !entry.path().join(".expected/config.yaml").is_file() || !tested {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "examples without .expected/config.yaml or a test: {missing:?}"
    );
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

/// Builds one overlay of examples/overlays through kubectl kustomize.
fn build_overlay(name: &str) -> Vec<Value> {
    let example = Example::load("overlays");
    let out = example
        .command("kubectl")
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
    if !have("kubectl") {
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

/// Adds the annotations kustomize (`kustomize.config.k8s.io/id`) and kyaml's reader and
/// function runner (index, ids) put on every item of a transformer's input.
fn as_kustomize_sends(mut item: Value, index: usize, id_yaml: &str) -> Value {
    let annotations = item["metadata"]
        .as_object_mut()
        .unwrap()
        .entry("annotations")
        .or_insert_with(|| serde_json::json!({}));
    let a = annotations.as_object_mut().unwrap();
    a.insert(
        "kustomize.config.k8s.io/id".into(),
        Value::String(id_yaml.into()),
    );
    for key in [
        "config.kubernetes.io/index",
        "internal.config.kubernetes.io/index",
    ] {
        a.insert(key.into(), Value::String("0".into()));
    }
    a.insert(
        "internal.config.kubernetes.io/annotations-migration-resource-id".into(),
        Value::String(index.to_string()),
    );
    for key in ["internal.config.kubernetes.io/id", "config.k8s.io/id"] {
        a.insert(key.into(), Value::String((index + 1).to_string()));
    }
    item
}

#[test]
fn kustomize_krm_exec() {
    let example = Example::load("kustomize-krm-exec");
    // Generator form: kustomize sends the config alone (kustomize-sends/generator.yaml).
    let generator_input =
        std::fs::read_to_string(example.dir.join("kustomize-sends/generator.yaml")).unwrap();
    let config_text = std::fs::read(example.dir.join("authelia-secrets.yaml")).unwrap();
    let config = authelia_secrets::yaml::parse_document("config", &config_text).unwrap();
    let sent = authelia_secrets::yaml::parse_document("generator.yaml", generator_input.as_bytes())
        .unwrap();
    let mut expected_fc = config.clone();
    expected_fc["metadata"]["annotations"]["config.kubernetes.io/local-config"] =
        Value::String("true".into());
    assert_eq!(
        sent["functionConfig"], expected_fc,
        "generator.yaml is out of date with authelia-secrets.yaml"
    );
    let generated = krm(&example, &generator_input);
    example.expect("generator-output.yaml", &generated);
    let generated = authelia_secrets::yaml::parse_document("out", generated.as_bytes()).unwrap();
    let secret = generated["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "Secret")
        .cloned()
        .expect("the generator emits the Secret");
    assert_eq!(
        secret["metadata"]["annotations"]["kustomize.config.k8s.io/needs-hash"],
        Value::String("true".into())
    );

    // Transformer form: every resource, the generated Secret as kustomize keeps it (needs-hash
    // turned into its internal markers), each with kustomize's and kyaml's annotations.
    let deployment_text = std::fs::read(example.dir.join("deployment.yaml")).unwrap();
    let deployment =
        authelia_secrets::yaml::parse_document("deployment", &deployment_text).unwrap();
    let mut kept = secret.clone();
    let a = kept["metadata"]["annotations"].as_object_mut().unwrap();
    a.remove("kustomize.config.k8s.io/needs-hash");
    a.insert(
        "internal.config.kubernetes.io/needsHashSuffix".into(),
        Value::String("enabled".into()),
    );
    a.insert(
        "internal.config.kubernetes.io/generatorBehavior".into(),
        Value::String("unspecified".into()),
    );
    let items = vec![
        as_kustomize_sends(
            deployment,
            0,
            "group: apps\nkind: Deployment\nname: authelia\nversion: v1\n",
        ),
        as_kustomize_sends(kept, 1, "kind: Secret\nname: authelia\nversion: v1\n"),
    ];
    let transformer_input = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
        "functionConfig": expected_fc,
    });
    let transformer_input = authelia_secrets::yaml::emit(&transformer_input).unwrap();
    example.expect("transformer-input.yaml", &transformer_input);
    let transformed = krm(&example, &transformer_input);
    example.expect("transformer-output.yaml", &transformed);
    let out = authelia_secrets::yaml::parse_document("out", transformed.as_bytes()).unwrap();
    let items = out["items"].as_array().unwrap();
    let secret = items.iter().find(|i| i["kind"] == "Secret").unwrap();
    // kustomize appends the hash itself: the name stays, the marker stays.
    assert_eq!(secret["metadata"]["name"], "authelia");
    let dep = items.iter().find(|i| i["kind"] == "Deployment").unwrap();
    assert_eq!(
        dep["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
        "authelia"
    );
}

#[test]
fn kpt_package() {
    run_example("kpt-package");
}
