//! Property tests over generated ResourceLists and configs, through the real binary:
//!
//! - idempotency: the output fed back in comes out byte for byte the same;
//! - determinism: the same input and seed give the same bytes;
//! - nothing lost: every input item comes out, in order, equal to what went in once the paths
//!   the function owns are set aside;
//! - the output reads the same in a YAML 1.1 reader (PyYAML) as in ours;
//! - and, in-process, that reading untouched items as slim text ([`authelia_secrets::interest`])
//!   changes nothing: the same run on whole trees gives the same items and results.
//!
//! Case counts are bounded so `cargo test` stays fast; `PROPTEST_CASES=N` runs more.

mod common;

use authelia_secrets::environment::Environment;
use authelia_secrets::process::{Mode, process};
use authelia_secrets::resource_list::ResourceList;
use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Map, Value, json};

/// Default cases per property (override with `PROPTEST_CASES`).
const CASES: u32 = 40;

fn runner_config() -> RunnerConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CASES);
    RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Generators

const NAMESPACES: [&str; 3] = ["", "auth", "apps"];

/// Strings that YAML readers like to misread, and some that need care in block scalars.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("no".to_string()),
        Just("on".to_string()),
        Just("0755".to_string()),
        Just("1e3".to_string()),
        Just("2024-01-01".to_string()),
        Just("~".to_string()),
        Just("null".to_string()),
        Just("12:30".to_string()),
        Just("#!/bin/sh\necho \"$HOME\"\n".to_string()),
        Just("  leading\nspaces\n".to_string()),
        Just("\ttab first\nline\n".to_string()),
        Just("trailing space ".to_string()),
        Just("ünïcödé – ✓".to_string()),
        Just("a: b".to_string()),
        Just("- x".to_string()),
        "[a-zA-Z0-9 ._/-]{0,24}",
        "[a-z]{1,8}(\n[a-z ]{0,12}){1,4}\n?",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        tricky_string().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e9f64..1.0e9).prop_map(|f| json!(f)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

/// Nested maps and lists of scalars (lists of lists included), as CRDs carry them.
fn tree() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z][a-zA-Z0-9_.-]{0,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn metadata(name: String, ns: &str, annotations: bool) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if !ns.is_empty() {
        m.insert("namespace".into(), json!(ns));
    }
    m.insert("labels".into(), json!({"app.kubernetes.io/name": "x"}));
    if annotations {
        m.insert(
            "annotations".into(),
            json!({"note": "yes", "config.kubernetes.io/index": "0"}),
        );
    }
    Value::Object(m)
}

fn container() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("authelia"), Just("sidecar"), Just("app")],
        prop_oneof![
            Just("ghcr.io/authelia/authelia:4.39.4"),
            Just("authelia/authelia:4.38.0"),
            Just("nginx:1.27"),
            Just("busybox"),
        ],
        prop::collection::vec(
            (
                prop_oneof![Just("TZ"), Just("LOG_LEVEL"), Just("X_AUTHELIA_CONFIG_FILTERS")],
                tricky_string(),
            ),
            0..3,
        ),
        prop::option::of(0usize..2),
        any::<bool>(),
    )
        .prop_map(|(name, image, env, env_from, secret_ref)| {
            let mut seen = std::collections::BTreeSet::new();
            let mut env: Vec<Value> = env
                .into_iter()
                .filter(|(n, _)| seen.insert(*n))
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect();
            // References to the Secret by its base name (renamed under hashSuffix).
            if secret_ref {
                env.push(json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "authelia", "key": "STORAGE_PASSWORD"}}}));
            }
            let mut c = json!({"name": name, "image": image});
            if !env.is_empty() {
                c["env"] = Value::Array(env);
            }
            if let Some(i) = env_from {
                c["envFrom"] = json!([{"configMapRef": {"name": format!("cm-{i}")}}, {"secretRef": {"name": "authelia"}, "prefix": "S_"}]);
            }
            c
        })
}

/// A workload of one of the kinds the function patches, or a Pod.
fn workload(index: usize) -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("Deployment"),
            Just("StatefulSet"),
            Just("CronJob"),
            Just("Pod")
        ],
        prop_oneof![Just("authelia".to_string()), Just(format!("app-{index}"))],
        prop::sample::select(&NAMESPACES[..]),
        prop::collection::vec(container(), 1..3),
        any::<bool>(),
    )
        .prop_map(move |(kind, name, ns, containers, annotated)| {
            // Container names must be unique in a pod.
            let mut seen = std::collections::BTreeSet::new();
            let containers: Vec<Value> = containers
                .into_iter()
                .filter(|c| seen.insert(c["name"].as_str().unwrap_or("").to_string()))
                .collect();
            let pod_spec = json!({
                "containers": containers,
                "volumes": [{"name": "data", "emptyDir": {}}],
            });
            let template = json!({"metadata": {"labels": {"app": name}}, "spec": pod_spec});
            let api = match kind {
                "CronJob" => "batch/v1",
                "Pod" => "v1",
                _ => "apps/v1",
            };
            let mut item = json!({
                "apiVersion": api,
                "kind": kind,
                "metadata": metadata(name.clone(), ns, annotated),
            });
            match kind {
                "Pod" => item["spec"] = template["spec"].clone(),
                "CronJob" => {
                    item["spec"] = json!({"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}})
                }
                _ => item["spec"] = json!({"replicas": 1, "template": template}),
            }
            item
        })
}

fn config_map(index: usize) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&NAMESPACES[..]),
        prop::collection::btree_map(
            prop_oneof![
                6 => "[a-z][a-z0-9_.-]{0,8}",
                // Read by workloads through envFrom: a plain variable beside our _FILE one.
                3 => Just("AUTHELIA_SESSION_SECRET".to_string()),
            ],
            tricky_string(),
            0..5,
        ),
    )
        .prop_map(move |(ns, data)| {
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata(format!("cm-{index}"), ns, false),
                "data": Value::Object(data.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
            })
        })
}

fn service(index: usize) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&NAMESPACES[..]),
        prop_oneof![Just("authelia".to_string()), Just(format!("svc-{index}"))],
    )
        .prop_map(|(ns, name)| {
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": metadata(name, ns, false),
                "spec": {"ports": [{"port": 80, "targetPort": 9091}]},
            })
        })
}

fn custom_resource(index: usize) -> impl Strategy<Value = Value> {
    tree().prop_map(move |spec| {
        json!({
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": metadata(format!("w-{index}"), "", true),
            "spec": spec,
        })
    })
}

fn item(index: usize) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => workload(index),
        2 => config_map(index),
        1 => service(index),
        2 => custom_resource(index),
    ]
}

fn item_list() -> impl Strategy<Value = Vec<Value>> {
    (0usize..8).prop_flat_map(|n| (0..n).map(item).collect::<Vec<_>>())
}

/// One `spec.secrets` entry: a key the catalog can generate and how.
fn secret_entry() -> impl Strategy<Value = (String, Value)> {
    (
        prop_oneof![
            Just("JWT_SECRET"),
            Just("SESSION_SECRET"),
            Just("STORAGE_ENCRYPTION_KEY"),
            Just("STORAGE_PASSWORD"),
            Just("REDIS_PASSWORD"),
            Just("OIDC_HMAC_SECRET"),
        ],
        prop_oneof![
            Just(json!({})),
            (20u32..90, prop_oneof![Just("alphanumeric"), Just("hex"), Just("rfc3986"), Just("ascii")])
                .prop_map(|(length, charset)| json!({"type": "random", "length": length, "charset": charset})),
            Just(json!({"rotation": 2})),
        ],
    )
        .prop_map(|(k, v)| (k.to_string(), v))
}

/// An `AutheliaSecrets` config; `names` are the workloads it may select explicitly.
fn function_config() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(secret_entry(), 1..5),
        prop_oneof![
            Just(None),
            Just(Some("4.37")),
            Just(Some("4.38")),
            Just(Some("4.39"))
        ],
        prop_oneof![Just("checksum"), Just("none"), Just("hashSuffix")],
        prop_oneof![Just("/app/secrets"), Just("/secrets")],
        prop::sample::select(&NAMESPACES[..]),
        any::<bool>(),
    )
        .prop_map(|(secrets, version, rollout, mount, ns, with_jwks)| {
            let mut secrets: Map<String, Value> = secrets.into_iter().collect();
            if with_jwks {
                secrets.insert(
                    "JWKS_KEY".into(),
                    json!({"mountOnly": true, "type": "ecdsa", "curve": "P-256"}),
                );
            }
            let mut spec = json!({"rollout": rollout, "mountPath": mount, "secrets": secrets});
            if let Some(v) = version {
                spec["autheliaVersion"] = json!(v);
            }
            let mut metadata = json!({"name": "authelia"});
            if !ns.is_empty() {
                metadata["namespace"] = json!(ns);
            }
            json!({
                "apiVersion": "authelia-secrets.dev/v1alpha1",
                "kind": "AutheliaSecrets",
                "metadata": metadata,
                "spec": spec,
            })
        })
}

/// Either an `AutheliaSecrets` config (mostly) or an `AutheliaSecretsCheck`.
fn any_function_config() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => function_config(),
        1 => prop_oneof![Just(None), Just(Some("4.37")), Just(Some("4.39"))].prop_map(|version| {
            let mut spec = json!({});
            if let Some(v) = version {
                spec["autheliaVersion"] = json!(v);
            }
            json!({
                "apiVersion": "authelia-secrets.dev/v1alpha1",
                "kind": "AutheliaSecretsCheck",
                "metadata": {"name": "check"},
                "spec": spec,
            })
        }),
    ]
}

/// How an item is written in the input text.
#[derive(Debug, Clone, Copy)]
enum Style {
    Block,
    /// A flow mapping (JSON): the function re-emits it.
    Flow,
    /// Block, with a comment after the dash and one inside.
    Commented,
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        6 => Just(Style::Block),
        1 => Just(Style::Flow),
        1 => Just(Style::Commented),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    items: Vec<(Value, Style)>,
    function_config: Value,
}

fn case() -> impl Strategy<Value = Case> {
    (
        item_list().prop_flat_map(|items| {
            let n = items.len();
            (Just(items), prop::collection::vec(style(), n))
        }),
        any_function_config(),
    )
        .prop_map(|((items, styles), function_config)| Case {
            items: items.into_iter().zip(styles).collect(),
            function_config,
        })
}

/// `text` as a block sequence entry.
fn entry(text: &str, comment: bool) -> String {
    let mut out = String::new();
    if comment {
        out.push_str("- # a head comment\n");
    }
    for (i, line) in text.lines().enumerate() {
        if i == 0 && !comment {
            out.push_str("- ");
        } else if !line.is_empty() {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
        if i == 0 && comment {
            out.push_str("  # a comment inside\n");
        }
    }
    out
}

impl Case {
    fn text(&self) -> Vec<u8> {
        let mut out = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n");
        if self.items.is_empty() {
            out.push_str("items: []\n");
        } else {
            out.push_str("items:\n");
        }
        for (item, style) in &self.items {
            match style {
                Style::Flow => {
                    out.push_str("- ");
                    out.push_str(&serde_json::to_string(item).unwrap());
                    out.push('\n');
                }
                Style::Block | Style::Commented => {
                    let text = authelia_secrets::yaml::emit(item).unwrap();
                    out.push_str(&entry(&text, matches!(style, Style::Commented)));
                }
            }
        }
        out.push_str("functionConfig:\n");
        for line in authelia_secrets::yaml::emit(&self.function_config)
            .unwrap()
            .lines()
        {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        out.into_bytes()
    }
}

// ---------------------------------------------------------------------------------------------
// What the function owns

/// `item` without the paths the function owns (given the config's volume name and mount
/// path), and with empty lists and mappings dropped, so an input and its output compare
/// equal when nothing else changed.
fn without_ours(item: &Value, mount_path: &str) -> Value {
    let mut item = item.clone();
    strip_annotations(&mut item);
    let paths: &[&[&str]] = &[
        &["spec"],
        &["spec", "template", "spec"],
        &["spec", "jobTemplate", "spec", "template", "spec"],
    ];
    let kind = item["kind"].as_str().unwrap_or("").to_string();
    for path in paths {
        let is_pod_spec = match kind.as_str() {
            "Pod" => path.len() == 1,
            "CronJob" => path.len() == 5,
            "Deployment" | "StatefulSet" => path.len() == 3,
            _ => false,
        };
        if !is_pod_spec {
            continue;
        }
        let Some(pod) = path
            .iter()
            .try_fold(&mut item, |node, step| node.get_mut(*step))
        else {
            continue;
        };
        if let Some(m) = pod.as_object_mut() {
            m.remove("enableServiceLinks");
        }
        if let Some(vs) = pod.get_mut("volumes").and_then(Value::as_array_mut) {
            vs.retain(|v| v.get("secret").is_none());
        }
        for list in ["containers", "initContainers"] {
            let Some(cs) = pod.get_mut(list).and_then(Value::as_array_mut) else {
                continue;
            };
            for c in cs {
                if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
                    env.retain(|e| {
                        let name = e["name"].as_str().unwrap_or("");
                        let value = e["value"].as_str().unwrap_or("");
                        !(name.starts_with("AUTHELIA_")
                            && name.ends_with("_FILE")
                            && value.starts_with(mount_path))
                    });
                }
                for env in c
                    .get_mut("env")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if let Some(r) = env.pointer_mut("/valueFrom/secretKeyRef/name") {
                        *r = json!("authelia");
                    }
                }
                for source in c
                    .get_mut("envFrom")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if let Some(r) = source.pointer_mut("/secretRef/name") {
                        *r = json!("authelia");
                    }
                }
                if let Some(ms) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                    ms.retain(|m| m["mountPath"].as_str() != Some(mount_path));
                }
            }
        }
    }
    drop_empty(&mut item);
    item
}

fn strip_annotations(node: &mut Value) {
    match node {
        Value::Object(m) => {
            if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
                a.retain(|k, _| !k.starts_with("authelia-secrets.dev/"));
            }
            m.values_mut().for_each(strip_annotations);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_annotations),
        _ => {}
    }
}

fn drop_empty(node: &mut Value) {
    match node {
        Value::Object(m) => {
            m.values_mut().for_each(drop_empty);
            m.retain(|_, v| match v {
                Value::Object(x) => !x.is_empty(),
                Value::Array(x) => !x.is_empty(),
                _ => true,
            });
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Properties through the binary

fn run_case(input: &[u8], dir: &std::path::Path) -> Output {
    let out = run_krm(input, &[("AUTHELIA_SECRETS_SEED", SEED)], dir);
    out.assert_no_panic();
    assert!(
        out.code == 0 || out.code == 1,
        "exit code {}: {}",
        out.code,
        out.stderr
    );
    out
}

fn check_case(case: &Case, dir: &std::path::Path) -> Result<(), TestCaseError> {
    let input = case.text();
    let first = run_case(&input, dir);
    let again = run_case(&input, dir);
    prop_assert_eq!(&first.stdout, &again.stdout, "same input, other bytes");

    let out = parse(&first.stdout);
    let out_items = items(&out);
    let in_items: Vec<&Value> = case.items.iter().map(|(v, _)| v).collect();
    prop_assert!(out_items.len() >= in_items.len(), "items were lost");
    if first.code == 1 {
        // A failed run answers with the input items unchanged.
        prop_assert_eq!(out_items.len(), in_items.len());
        for (i, (o, i_)) in out_items.iter().zip(&in_items).enumerate() {
            prop_assert_eq!(o, *i_, "failed run changed item {}", i);
        }
        return Ok(());
    }
    let mount_path = case.function_config["spec"]["mountPath"]
        .as_str()
        .unwrap_or("/app/secrets");
    for (i, (o, i_)) in out_items.iter().zip(&in_items).enumerate() {
        prop_assert_eq!(
            without_ours(o, mount_path),
            without_ours(i_, mount_path),
            "item {} changed outside the paths the function owns",
            i
        );
    }
    // The only item added is the Secret.
    for extra in &out_items[in_items.len()..] {
        prop_assert_eq!(extra["kind"].as_str(), Some("Secret"));
    }
    // Its own output is a fixed point. Results may differ (a first run on no items is a
    // generator run; the second sees the Secret it made), items may not.
    let second = run_case(&first.stdout, dir);
    prop_assert_eq!(second.code, 0, "re-run failed: {}", second.stderr);
    prop_assert!(
        without_results(&second.stdout) == without_results(&first.stdout),
        "re-running on the output changed it:\n--- first\n{}\n--- second\n{}",
        first.stdout_text(),
        second.stdout_text()
    );
    Ok(())
}

/// The output text up to its `results:` (written last, at column 0).
fn without_results(text: &[u8]) -> &[u8] {
    let s = std::str::from_utf8(text).expect("UTF-8 output");
    match s.find("\nresults:\n") {
        Some(i) => &text[..=i],
        None => text,
    }
}

#[test]
fn runs_are_deterministic_idempotent_and_lose_nothing() {
    let dir = tempdir();
    let mut runner = TestRunner::new(runner_config());
    runner
        .run(&case(), |case| check_case(&case, dir.path()))
        .unwrap();
}

#[test]
fn output_reads_the_same_in_a_yaml_1_1_reader() {
    let dir = tempdir();
    let mut runner = TestRunner::new(runner_config());
    let mut outputs = Vec::new();
    for _ in 0..runner_config().cases {
        let case = case().new_tree(&mut runner).unwrap().current();
        let out = run_case(&case.text(), dir.path());
        outputs.push(out.stdout);
    }
    let Some(theirs) = pyyaml_load_all(&outputs) else {
        return;
    };
    for (i, (text, theirs)) in outputs.iter().zip(theirs).enumerate() {
        let ours = parse(text);
        assert_eq!(
            ours,
            theirs,
            "case {i}: PyYAML reads the output differently:\n{}",
            String::from_utf8_lossy(text)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Slim items, in-process

/// A seeded environment without files.
struct Seeded;

impl Environment for Seeded {
    fn var(&self, name: &str) -> Option<String> {
        (name == "AUTHELIA_SECRETS_SEED").then(|| SEED.to_string())
    }
    fn read_file(&self, path: &str, _restricted: bool) -> Result<Vec<u8>, String> {
        Err(format!("{path}: no files here"))
    }
    fn fill_random(&self, _buf: &mut [u8]) -> Result<(), String> {
        Err("no randomness here: every value must be derived".into())
    }
}

fn check_slim_equals_whole(case: &Case) -> Result<(), TestCaseError> {
    let input = case.text();
    let slim = ResourceList::parse("stdin", input.clone()).unwrap();
    let mut slim_out = Vec::new();
    process(slim, Mode::Krm, &Seeded)
        .emit(&mut slim_out)
        .unwrap();
    let slim_out = parse(&slim_out);

    let doc = authelia_secrets::yaml::parse_document("stdin", &input).unwrap();
    let whole = ResourceList::from_value("stdin", doc).unwrap();
    let whole_out = process(whole, Mode::Krm, &Seeded).into_value();
    prop_assert_eq!(items(&slim_out), items(&whole_out));
    prop_assert_eq!(results(&slim_out), results(&whole_out));
    Ok(())
}

#[test]
fn slim_items_change_nothing() {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: runner_config().cases * 3,
        ..runner_config()
    });
    runner
        .run(&case(), |case| check_slim_equals_whole(&case))
        .unwrap();
}
