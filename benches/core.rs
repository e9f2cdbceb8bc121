//! In-process benchmarks of the core: parse + process + emit, against the parse + emit floor.

use authelia_secrets::environment::Environment;
use authelia_secrets::process::{Mode, process};
use authelia_secrets::resource_list::ResourceList;
use authelia_secrets::yaml;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// A seeded environment with no files.
struct BenchEnv;

impl Environment for BenchEnv {
    fn var(&self, name: &str) -> Option<String> {
        (name == "AUTHELIA_SECRETS_SEED")
            .then(|| "benchmark-seed-0123456789abcdef-0123".to_string())
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

fn quickstart(c: &mut Criterion) {
    c.bench_function("quickstart: parse + process + emit", |b| {
        b.iter(|| {
            let doc = yaml::parse_document("bench", black_box(QUICKSTART.as_bytes())).unwrap();
            let list = ResourceList::from_value("bench", doc).unwrap();
            let out = process(list, Mode::Krm, &BenchEnv);
            black_box(yaml::emit(&out.into_value()).unwrap())
        })
    });
    c.bench_function("quickstart: parse + emit (floor)", |b| {
        b.iter(|| {
            let doc = yaml::parse_document("bench", black_box(QUICKSTART.as_bytes())).unwrap();
            black_box(yaml::emit(&doc).unwrap())
        })
    });
}

criterion_group!(benches, quickstart);
criterion_main!(benches);
