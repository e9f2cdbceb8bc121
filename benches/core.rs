//! In-process benchmarks of the core: parse + process + emit, against the parse + emit floor.
//!
//! Inputs come from `benches/gen_resource_list.py` (one generator for the criterion benches and
//! `benches/run.sh`), so `python3` must be on PATH. See BENCHMARKS.md for the figures.
//!
//! The binary doubles as a process-level floor for `benches/run.sh`: with
//! `AUTHELIA_BENCH_PIPE=floor` it reads a ResourceList on stdin and writes it back through the
//! same YAML library (parse + emit, nothing else); with `AUTHELIA_BENCH_PIPE=core` it runs the
//! function exactly as the release binary does (`io::run_resource_list`). The bench profile
//! inherits the release profile, so both are built like the shipped binary.

use authelia_secrets::environment::Environment;
use authelia_secrets::process::{Mode, process};
use authelia_secrets::resource_list::ResourceList;
use authelia_secrets::{io, yaml};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group};
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// The seed every benchmark derives from (≥ 32 characters, so values are derived, not random).
const SEED: &str = "benchmark-seed-0123456789abcdef-0123";

/// A seeded environment with no files.
struct BenchEnv;

impl Environment for BenchEnv {
    fn var(&self, name: &str) -> Option<String> {
        (name == "AUTHELIA_SECRETS_SEED").then(|| SEED.to_string())
    }
    fn read_file(&self, _path: &str, _restricted: bool) -> Result<Vec<u8>, String> {
        Err("no files in benchmarks".into())
    }
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        buf.fill(7);
        Ok(())
    }
}

const QUICKSTART: &str = r#"
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: authelia}
  spec:
    template:
      spec:
        containers:
        - name: authelia
          image: ghcr.io/authelia/authelia:4.39
functionConfig:
  apiVersion: authelia-secrets.dev/v1alpha1
  kind: AutheliaSecrets
  metadata: {name: authelia}
  spec: {}
"#;

/// A ResourceList of `items` items from the shared generator.
fn generated(items: usize) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/gen_resource_list.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args(["--items", &items.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The whole function minus IO, as the binary runs it: read (untouched items slim), process,
/// write (untouched items copied from the input text).
fn core(input: &[u8]) -> Vec<u8> {
    let list = ResourceList::parse("bench", input.to_vec()).unwrap();
    let out = process(list, Mode::Krm, &BenchEnv);
    assert!(
        out.results.is_empty(),
        "unexpected results: {:?}",
        out.results
    );
    let mut text = Vec::with_capacity(input.len() + 4096);
    out.emit(&mut text).unwrap();
    text
}

/// The floor: the same bytes through the same YAML library, nothing else.
fn floor(input: &[u8]) -> String {
    let doc = yaml::parse_document("bench", input).unwrap();
    yaml::emit(&doc).unwrap()
}

fn quickstart(c: &mut Criterion) {
    c.bench_function("quickstart: parse + process + emit", |b| {
        b.iter(|| core(black_box(QUICKSTART.as_bytes())))
    });
    c.bench_function("quickstart: parse + emit (floor)", |b| {
        b.iter(|| floor(black_box(QUICKSTART.as_bytes())))
    });
}

/// Core vs floor on generated lists, side by side in one group so their ratio is read off one
/// run; plus where the floor's time goes (parse, emit of whole trees) and the core's processing
/// alone.
fn lists(c: &mut Criterion) {
    let mut group = c.benchmark_group("list");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for items in [1000, 5000] {
        let input = generated(items);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::new("core", items), &input, |b, i| {
            b.iter(|| core(black_box(i)))
        });
        group.bench_with_input(BenchmarkId::new("floor", items), &input, |b, i| {
            b.iter(|| floor(black_box(i)))
        });
        group.bench_with_input(BenchmarkId::new("parse", items), &input, |b, i| {
            b.iter(|| yaml::parse_document("bench", black_box(i)).unwrap())
        });
        let doc = yaml::parse_document("bench", &input).unwrap();
        group.bench_with_input(BenchmarkId::new("emit", items), &doc, |b, d| {
            b.iter(|| yaml::emit(black_box(d)).unwrap())
        });
        // Processing alone, on the list as the binary reads it (untouched items slim).
        let list = ResourceList::parse("bench", input.clone()).unwrap();
        group.bench_with_input(BenchmarkId::new("process", items), &list, |b, l| {
            b.iter_batched(
                || l.clone(),
                |l| process(l, Mode::Krm, &BenchEnv),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, quickstart, lists);

/// `AUTHELIA_BENCH_PIPE=floor|core`: stdin to stdout, for process-level comparisons.
fn pipe(mode: &str) -> ExitCode {
    match mode {
        "floor" => {
            let mut input = Vec::new();
            std::io::stdin().lock().read_to_end(&mut input).unwrap();
            let out = floor(&input);
            std::io::stdout().lock().write_all(out.as_bytes()).unwrap();
            ExitCode::SUCCESS
        }
        "core" => match io::run_resource_list(
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
            &mut std::io::stderr(),
        ) {
            Ok(io::Outcome::Success) => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        },
        other => {
            eprintln!("AUTHELIA_BENCH_PIPE: expected floor or core, got {other:?}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    if let Ok(mode) = std::env::var("AUTHELIA_BENCH_PIPE") {
        return pipe(&mode);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    ExitCode::SUCCESS
}
