//! Huge input through the real binary: a ResourceList of 100 MB ends in bounded time and
//! memory with correct output (every item back, untouched ones byte for byte).
//!
//! Peak memory is read with GNU time (`/usr/bin/time -f %M`, Debian package `time`; `.ci/run`
//! installs it). The bound here is loose (tests run the debug build beside other tests);
//! `benches/run.sh` measures the real figure on the release build (BENCHMARKS.md).

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Size of the generated list.
const TARGET_BYTES: usize = 100 * 1024 * 1024;

/// One block of items: a Deployment (every 25th with an `authelia` container), a ConfigMap with
/// a block scalar and a custom resource, as kpt hands them over.
fn block(i: usize) -> String {
    let container = if i.is_multiple_of(25) {
        "authelia"
    } else {
        "app"
    };
    let script: String = (0..40)
        .map(|l| format!("      echo \"step {l} of item {i}: no, on, 0755, 2024-01-01\"\n"))
        .collect();
    format!(
        "- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: app-{i}
    namespace: team-{ns}
    annotations:
      config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'apps/app-{i}.yaml'
  spec:
    replicas: 2
    template:
      metadata:
        labels: {{app: app-{i}}}
      spec:
        containers:
        - name: {container}
          image: ghcr.io/authelia/authelia:4.39.4
          env:
          - {{name: TZ, value: Europe/Berlin}}
          ports:
          - {{containerPort: 9091}}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: script-{i}
    namespace: team-{ns}
  data:
    run.sh: |
{script}- apiVersion: example.com/v1
  kind: Widget
  metadata:
    name: w-{i}
  spec:
    sizes: [[1, 2], [3, 4]]
    limits: {{max: 18446744073709551615, ratio: 0.25, flag: 'no'}}
",
        ns = i % 10
    )
}

#[test]
fn a_100_mb_list_ends_in_bounded_time_and_memory_with_every_item() {
    let time = std::path::Path::new("/usr/bin/time");
    let have_time = time.exists();
    if !have_time {
        assert!(
            !in_ci(),
            "GNU time (/usr/bin/time) is required when CI=true"
        );
        loud_skip("GNU time is not installed; the 100 MB test runs without its memory bound");
    }
    let mut input = String::with_capacity(TARGET_BYTES + 4096);
    input.push_str("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    let mut blocks = 0;
    while input.len() < TARGET_BYTES {
        input.push_str(&block(blocks));
        blocks += 1;
    }
    input.push_str(
        "functionConfig:\n  apiVersion: authelia-secrets.dev/v1alpha1\n  kind: AutheliaSecrets\n  \
         metadata: {name: authelia, namespace: team-0}\n  spec: {}\n",
    );
    let dir = tempdir();
    let input_path = dir.path().join("input.yaml");
    let output_path = dir.path().join("output.yaml");
    let rss_path = dir.path().join("rss.txt");
    std::fs::write(&input_path, &input).unwrap();

    let mut cmd = if have_time {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_path).arg(BIN);
        c
    } else {
        Command::new(BIN)
    };
    let start = Instant::now();
    let status = cmd
        .env("AUTHELIA_SECRETS_SEED", SEED)
        .current_dir(dir.path())
        .stdin(std::fs::File::open(&input_path).unwrap())
        .stdout(std::fs::File::create(&output_path).unwrap())
        .stderr(Stdio::piped())
        .output()
        .expect("run the binary");
    let elapsed = start.elapsed();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        elapsed < Duration::from_secs(300),
        "100 MB took {elapsed:?} (debug build)"
    );

    let output = std::fs::read_to_string(&output_path).unwrap();
    // Every item is back: each block's three items, plus the Secret.
    let dashes = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("- apiVersion:"))
            .count()
    };
    assert_eq!(dashes(&output), dashes(&input) + 1);
    // Untouched items are copied byte for byte (block 1 has no authelia container).
    let untouched = block(1);
    assert!(output.contains(&untouched), "block 1 changed");
    assert!(output.contains("        - name: AUTHELIA_SESSION_SECRET_FILE\n"));

    if have_time {
        let kib: u64 = std::fs::read_to_string(&rss_path)
            .unwrap()
            .split_whitespace()
            .last()
            .and_then(|v| v.parse().ok())
            .expect("GNU time wrote the peak RSS");
        let peak = kib * 1024;
        let limit = 8 * input.len() as u64;
        assert!(
            peak <= limit,
            "peak RSS {} MiB for {} MiB of input (limit {} MiB)",
            peak >> 20,
            input.len() >> 20,
            limit >> 20
        );
    }
}
