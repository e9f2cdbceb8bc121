//! Inputs found by fuzzing (`fuzz/regressions/<target>/`) and hand-made hostile inputs, run
//! through the real binary: every run ends within a time bound, with exit code 0 or 1 and
//! without a panic.
//!
//! `fuzz/regressions/resource_list/*` are fed to KRM mode (stdin), `legacy_stream/*` to the
//! legacy plugin mode (stdin, with each of the configs the fuzz target uses), and `config/*`
//! are used as the legacy plugin's config file (with empty stdin and with a Deployment).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_authelia-secrets");

/// The seed the fuzz targets use (`fuzz/src/lib.rs`).
const SEED: &str = "fuzzing-seed-0123456789abcdefghijklmnop";

/// Longest a single run may take. Generous: tests run the unoptimised binary, maybe in
/// parallel with other test binaries.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// The configs `fuzz/src/lib.rs::legacy_configs` runs every stream through.
const LEGACY_CONFIGS: [&str; 3] = [
    include_str!("../fuzz/legacy-configs/quickstart.yaml"),
    include_str!("../fuzz/legacy-configs/hash-suffix.yaml"),
    include_str!("../fuzz/legacy-configs/check.yaml"),
];

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: authelia
spec:
  template:
    spec:
      containers:
        - name: authelia
          image: ghcr.io/authelia/authelia:4.39
";

/// What one run produced.
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

/// Runs the binary with `args` and `stdin` in `dir`, killing it after [`TIME_LIMIT`].
fn run(args: &[&Path], stdin: &[u8], dir: &Path) -> Run {
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("AUTHELIA_SECRETS_SEED", SEED)
        .env("KUSTOMIZE_PLUGIN_CONFIG_ROOT", dir)
        .env_remove("KUSTOMIZE_PLUGIN_HOME")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.to_vec();
    // Threads for every pipe: a program that stops reading or floods an output cannot block us.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let mut out = child.stdout.take().expect("stdout pipe");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let mut err = child.stderr.take().expect("stderr pipe");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break Some(status);
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let _ = writer.join();
    let stdout = reader.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Run {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
        elapsed,
    }
}

/// Asserts a run ended in time, with exit code 0 or 1 and no panic.
fn assert_clean(what: &str, r: &Run) {
    assert!(
        r.elapsed <= TIME_LIMIT,
        "{what}: still running after {TIME_LIMIT:?}; killed"
    );
    assert!(
        !r.stderr.contains("panicked"),
        "{what}: the binary panicked:\n{}",
        r.stderr
    );
    assert!(
        matches!(r.code, Some(0 | 1)),
        "{what}: exit code {:?} (want 0 or 1)\n{}",
        r.code,
        r.stderr
    );
}

/// KRM mode: also checks that stdout holds a ResourceList, as it must even on failure.
fn check_krm(what: &str, input: &[u8], dir: &Path) {
    let r = run(&[], input, dir);
    assert_clean(what, &r);
    let out = authelia_secrets::yaml::parse_document("stdout", &r.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not one YAML document: {e}\n{}",
            String::from_utf8_lossy(&r.stdout)
        )
    });
    assert_eq!(
        out.get("kind").and_then(|k| k.as_str()),
        Some("ResourceList"),
        "{what}: stdout is not a ResourceList"
    );
    if r.code == Some(1) {
        let has_error = out
            .get("results")
            .and_then(|r| r.as_array())
            .is_some_and(|rs| rs.iter().any(|r| r["severity"] == "error"));
        assert!(has_error, "{what}: exit code 1 without an error result");
    }
}

/// Legacy mode with each of the fuzz target's configs.
fn check_legacy(what: &str, input: &[u8], dir: &Path) {
    for (i, _) in LEGACY_CONFIGS.iter().enumerate() {
        let config = dir.join(format!("legacy-config-{i}.yaml"));
        let r = run(&[&config], input, dir);
        assert_clean(&format!("{what} (legacy config {i})"), &r);
    }
}

/// Legacy mode with `input` as the config file.
fn check_config(what: &str, input: &[u8], dir: &Path) {
    let config = dir.join("fuzzed-config.yaml");
    std::fs::write(&config, input).expect("write the config");
    for stdin in [&b""[..], DEPLOYMENT.as_bytes()] {
        let r = run(&[&config], stdin, dir);
        assert_clean(&format!("{what} (as the config file)"), &r);
    }
}

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, text) in LEGACY_CONFIGS.iter().enumerate() {
        std::fs::write(dir.path().join(format!("legacy-config-{i}.yaml")), text)
            .expect("write a legacy config");
    }
    dir
}

fn regressions(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("regressions")
        .join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn name(p: &Path) -> String {
    p.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(p)
        .display()
        .to_string()
}

#[test]
fn saved_resource_list_inputs() {
    let dir = workdir();
    for file in regressions("resource_list") {
        let input = std::fs::read(&file).expect("read a regression input");
        check_krm(&name(&file), &input, dir.path());
    }
}

#[test]
fn saved_legacy_stream_inputs() {
    let dir = workdir();
    for file in regressions("legacy_stream") {
        let input = std::fs::read(&file).expect("read a regression input");
        check_legacy(&name(&file), &input, dir.path());
    }
}

#[test]
fn saved_config_inputs() {
    let dir = workdir();
    for file in regressions("config") {
        let input = std::fs::read(&file).expect("read a regression input");
        check_config(&name(&file), &input, dir.path());
    }
}

/// A ResourceList around `items` (YAML block entries, already indented) and the quickstart
/// config.
fn resource_list(items: &str) -> Vec<u8> {
    format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{items}\
         functionConfig:\n  apiVersion: authelia-secrets.dev/v1alpha1\n  kind: AutheliaSecrets\n\
         \x20 metadata: {{name: authelia}}\n  spec:\n    secrets: {{JWT_SECRET: {{}}}}\n"
    )
    .into_bytes()
}

/// Hostile inputs made here, so the test never runs on nothing.
fn hostile_inputs() -> Vec<(&'static str, Vec<u8>)> {
    let laughs = |levels: usize| {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..levels {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        s.into_bytes()
    };
    let many_deployments: String = (0..500)
        .map(|i| {
            format!(
                "- {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: d{i}}}, spec: \
                 {{template: {{spec: {{containers: [{{name: authelia}}]}}}}}}}}\n"
            )
        })
        .collect();
    let long_string = format!(
        "- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: big}}, data: {{k: \"{}\"}}}}\n",
        "x".repeat(1 << 20)
    );
    vec![
        ("empty", Vec::new()),
        ("whitespace", b" \n\t\n".to_vec()),
        ("flow nesting 100k", {
            let mut v = vec![b'['; 100_000];
            v.extend(vec![b']'; 100_000]);
            v
        }),
        ("block nesting 5k", {
            let mut s = String::from("a:\n");
            for i in 1..5000 {
                s.push_str(&" ".repeat(i));
                s.push_str("b:\n");
            }
            s.into_bytes()
        }),
        ("sequence nesting on one line", format!("{}x\n", "- ".repeat(20_000)).into_bytes()),
        (
            "a 10,000-level nested mapping in an item",
            resource_list(&format!(
                "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: deep}}\n  data: {}x{}\n",
                "{a: ".repeat(10_000),
                "}".repeat(10_000)
            )),
        ),
        ("billion laughs, 6 levels", laughs(6)),
        ("billion laughs, 10 levels", laughs(10)),
        (
            "alias bomb in a ResourceList",
            resource_list(&format!(
                "- &d {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: a}}, spec: \
                 {{template: {{spec: {{containers: [{{name: authelia}}]}}}}}}}}\n{}",
                "- *d\n".repeat(9_000)
            )),
        ),
        ("self alias", b"&a [*a]\n".to_vec()),
        ("undefined alias", b"a: *nope\n".to_vec()),
        ("invalid UTF-8", b"apiVersion: v1\nkind: \xff\xfe\n".to_vec()),
        ("truncated UTF-8", b"a: \xe2\x82".to_vec()),
        ("NUL byte", b"kind: ResourceList\0\n".to_vec()),
        ("BOM", b"\xef\xbb\xbfkind: ResourceList\n".to_vec()),
        ("UTF-16", b"\xff\xfek\0i\0n\0d\0".to_vec()),
        ("huge integer", b"a: 99999999999999999999999999999999999999\n".to_vec()),
        ("exponent overflow", b"a: 1e999999999\n".to_vec()),
        ("duplicate keys", b"a: 1\na: 2\n".to_vec()),
        ("tags", b"!!binary a: !!set {x}\nb: !custom [1]\n".to_vec()),
        (
            "directives and many documents",
            "%YAML 1.2\n---\na: 1\n".repeat(3).into_bytes(),
        ),
        ("ten thousand empty documents", "---\n".repeat(10_000).into_bytes()),
        ("items not a list", b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: 5\n".to_vec()),
        (
            "functionConfig a string",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: x\n"
                .to_vec(),
        ),
        ("500 deployments", resource_list(&many_deployments)),
        ("1 MiB string", resource_list(&long_string)),
        (
            "control characters in keys and values",
            resource_list(
                "- {apiVersion: v1, kind: \"Secret\\u0085\", metadata: {name: \"a\\u2028b\\r\"}, \
                 data: {\"\\t\": \"\\x1b[0m\"}}\n",
            ),
        ),
        (
            "secret with broken base64 and every generated key",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n\
              - {apiVersion: v1, kind: Secret, metadata: {name: authelia}, data: {JWT_SECRET: '%%%', \
              SESSION_SECRET: ''}, stringData: {STORAGE_ENCRYPTION_KEY: 5}}\n\
              functionConfig:\n  apiVersion: authelia-secrets.dev/v1alpha1\n  kind: AutheliaSecrets\n\
              \x20 metadata: {name: authelia}\n  spec:\n    secrets: {JWT_SECRET: {}, SESSION_SECRET: {},\
              \x20STORAGE_ENCRYPTION_KEY: {}, OIDC_HMAC_SECRET: {type: ecdsa, curve: P-521}}\n"
                .to_vec(),
        ),
    ]
}

#[test]
fn hostile_inputs_in_every_mode() {
    let dir = workdir();
    let inputs = hostile_inputs();
    assert!(inputs.len() >= 10);
    for (what, input) in &inputs {
        check_krm(what, input, dir.path());
        check_legacy(what, input, dir.path());
        check_config(what, input, dir.path());
    }
}
