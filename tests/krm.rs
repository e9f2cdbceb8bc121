//! KRM mode: a ResourceList on stdin, a ResourceList on stdout (kpt fn eval/render).

mod common;

use common::*;
use serde_json::{Value, json};

const JWT_ENV_439: &str = "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE";

fn seeded() -> [(&'static str, &'static str); 1] {
    [("AUTHELIA_SECRETS_SEED", SEED)]
}

/// Runs KRM mode on `input` in a fresh directory and parses stdout.
fn krm(input: &[u8], envs: &[(&str, &str)]) -> (Output, Value) {
    let dir = tempdir();
    krm_in(input, envs, dir.path())
}

fn krm_in(input: &[u8], envs: &[(&str, &str)], cwd: &std::path::Path) -> (Output, Value) {
    let out = run_krm(input, envs, cwd);
    out.assert_no_panic();
    let list = parse(&out.stdout);
    (out, list)
}

fn assert_ok(out: &Output, list: &Value) {
    assert_eq!(
        out.code,
        0,
        "expected success; stderr:\n{}\nresults:\n{}",
        out.stderr,
        describe_results(list)
    );
    assert!(errors(list).is_empty(), "{}", describe_results(list));
}

fn assert_failed(out: &Output, list: &Value) {
    assert_eq!(
        out.code,
        1,
        "expected exit 1; results:\n{}",
        describe_results(list)
    );
    assert!(!errors(list).is_empty(), "expected an error result");
    assert!(
        !out.stderr.trim().is_empty(),
        "expected a message on stderr"
    );
}

/// The error result at `path`, or a panic listing all results.
fn secret_of(list: &Value, name: &str) -> Value {
    find(&items(list), "Secret", name)
        .cloned()
        .unwrap_or_else(|| panic!("no Secret {name} in the output items"))
}

// ---------------------------------------------------------------------------------------------
// ResourceList envelope

#[test]
fn each_resource_list_api_version_is_echoed() {
    for version in [
        "config.kubernetes.io/v1",
        "config.kubernetes.io/v1beta1",
        "config.kubernetes.io/v1alpha1",
    ] {
        let input = format!(
            "apiVersion: {version}\nkind: ResourceList\nitems: []\nfunctionConfig:\n  \
             apiVersion: authelia-secrets.dev/v1alpha1\n  kind: AutheliaSecrets\n  \
             metadata:\n    name: authelia\n"
        );
        let (out, list) = krm(input.as_bytes(), &seeded());
        assert_ok(&out, &list);
        assert_eq!(list["apiVersion"], json!(version), "{}", out.stdout_text());
        assert_eq!(list["kind"], json!("ResourceList"));
        assert!(
            out.stdout_text()
                .starts_with(&format!("apiVersion: {version}\n")),
            "{}",
            out.stdout_text()
        );
    }
}

#[test]
fn items_absent_or_empty_generate_only_the_secret() {
    let fc = "functionConfig:\n  apiVersion: authelia-secrets.dev/v1alpha1\n  \
              kind: AutheliaSecrets\n  metadata:\n    name: authelia\n    namespace: auth\n";
    for items_line in ["", "items: []\n", "items:\n"] {
        let input =
            format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n{items_line}{fc}");
        let (out, list) = krm(input.as_bytes(), &seeded());
        assert_ok(&out, &list);
        let out_items = items(&list);
        assert_eq!(out_items.len(), 1, "{items_line:?}: {}", out.stdout_text());
        let secret = &out_items[0];
        assert_eq!(secret["kind"], json!("Secret"));
        assert_eq!(secret["metadata"]["name"], json!("authelia"));
        assert_eq!(secret["metadata"]["namespace"], json!("auth"));
        // The default keys when spec.secrets is omitted.
        let keys: Vec<String> = secret_values(secret).into_keys().collect();
        assert_eq!(
            keys,
            ["JWT_SECRET", "SESSION_SECRET", "STORAGE_ENCRYPTION_KEY"],
            "{items_line:?}"
        );
    }
}

#[test]
fn missing_function_config_is_an_error_result() {
    let dep = deployment("authelia", "auth", "authelia");
    let input = resource_list(std::slice::from_ref(&dep), None);
    let (out, list) = krm(&input, &seeded());
    assert_failed(&out, &list);
    assert!(
        errors(&list)
            .iter()
            .any(|r| message(r).contains("functionConfig")),
        "{}",
        describe_results(&list)
    );
    assert_eq!(items(&list), vec![dep]);
}

// ---------------------------------------------------------------------------------------------
// Inputs that are not a ResourceList

fn deeply_nested(depth: usize) -> Vec<u8> {
    let mut s =
        String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- x: ");
    s.push_str(&"[".repeat(depth));
    s.push_str(&"]".repeat(depth));
    s.push('\n');
    s.into_bytes()
}

#[test]
fn bad_inputs_fail_with_an_error_result_and_no_panic() {
    let mut garbage: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    garbage[0] = 0xff;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed YAML", b"apiVersion: [config\nkind: {ResourceList\n".to_vec()),
        ("unclosed quote", b"apiVersion: \"config.kubernetes.io/v1\nkind: ResourceList\n".to_vec()),
        ("bad indentation", b"apiVersion: config.kubernetes.io/v1\n kind: ResourceList\n  items: x\n".to_vec()),
        ("empty stdin", Vec::new()),
        ("whitespace only", b"  \n\n\t\n".to_vec()),
        ("binary garbage", garbage),
        (
            "invalid UTF-8",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nx: \xc3\x28\n"
                .to_vec(),
        ),
        (
            "NUL byte",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nx: a\0b\n"
                .to_vec(),
        ),
        ("a scalar document", b"hello\n".to_vec()),
        ("a list document", b"- apiVersion: config.kubernetes.io/v1\n".to_vec()),
        (
            "items is a scalar",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: hello\n".to_vec(),
        ),
        (
            "an item is a scalar",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- hello\n".to_vec(),
        ),
        (
            "functionConfig is a scalar",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: hello\n"
                .to_vec(),
        ),
        (
            "functionConfig is a list",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: [a]\n"
                .to_vec(),
        ),
        (
            "not a ResourceList kind",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n".to_vec(),
        ),
        (
            "no kind",
            b"apiVersion: config.kubernetes.io/v1\nitems: []\n".to_vec(),
        ),
        (
            "unsupported apiVersion",
            b"apiVersion: config.kubernetes.io/v2\nkind: ResourceList\nitems:\n- {a: 1}\n- b: [2]\n".to_vec(),
        ),
        (
            "missing apiVersion",
            b"kind: ResourceList\nitems: []\n".to_vec(),
        ),
        (
            "duplicate keys",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nkind: ResourceList\n".to_vec(),
        ),
        (
            "integer beyond 64 bits in an item that would be re-written",
            b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {n: 123456789012345678901234567890}\n"
                .to_vec(),
        ),
        ("nesting beyond the depth limit", deeply_nested(100_000)),
    ];
    let dir = tempdir();
    for (name, input) in cases {
        let out = run_krm(&input, &seeded(), dir.path());
        assert!(
            !out.stderr.contains("panicked"),
            "{name}: the binary panicked:\n{}",
            out.stderr
        );
        assert_eq!(out.code, 1, "{name}: exit code; stderr:\n{}", out.stderr);
        assert!(!out.stderr.trim().is_empty(), "{name}: nothing on stderr");
        let list =
            authelia_secrets::yaml::parse_document("stdout", &out.stdout).unwrap_or_else(|e| {
                panic!("{name}: stdout is not YAML ({e}): {:?}", out.stdout_text())
            });
        assert_eq!(list["kind"], json!("ResourceList"), "{name}");
        assert!(
            list["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("config.kubernetes.io/")),
            "{name}: {}",
            out.stdout_text()
        );
        let errs = errors(&list);
        assert!(
            !errs.is_empty(),
            "{name}: no error result: {}",
            out.stdout_text()
        );
        assert!(
            errs.iter().all(|r| !message(r).is_empty()),
            "{name}: an error result has no message"
        );
        // The input's items come back as they were when there were any to echo.
        match authelia_secrets::yaml::parse_document("input", &input) {
            Ok(doc) if doc.get("items").is_some_and(Value::is_array) => {
                assert_eq!(
                    items(&list),
                    doc["items"].as_array().unwrap().as_slice(),
                    "{name}: the input items are not echoed"
                );
            }
            _ => assert!(items(&list).is_empty(), "{name}: items should be empty"),
        }
    }
}

#[test]
fn numbers_without_an_exact_tree_form_pass_through_untouched_items() {
    // A 30-digit integer, an overflowing float and `.inf` in an item the function does not
    // change: copied as written. The same in the workload it patches: an error at the field.
    let foreign = "- apiVersion: example.com/v1\n  kind: Limits\n  metadata: {name: l}\n  spec:\n    maxBytes: 123456789012345678901234567890\n    scale: 1e400\n    ceiling: .inf\n";
    let mut text =
        String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    text.push_str(foreign);
    text.push_str(
        "functionConfig:\n  apiVersion: authelia-secrets.dev/v1alpha1\n  kind: AutheliaSecrets\n  metadata: {name: authelia}\n  spec: {}\n",
    );
    let dir = tempdir();
    let out = run_krm(text.as_bytes(), &seeded(), dir.path());
    out.assert_no_panic();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout_text().contains(foreign), "{}", out.stdout_text());

    let patched = "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: authelia}\n  spec:\n    replicas: 1e400\n    template:\n      spec:\n        containers:\n        - name: authelia\n";
    let text = text.replace(foreign, patched);
    let out = run_krm(text.as_bytes(), &seeded(), dir.path());
    out.assert_no_panic();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout_text().contains(patched), "{}", out.stdout_text());
    assert!(
        out.stderr.contains("spec.replicas") && out.stderr.contains("cannot be written back"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_alias_bomb_is_refused() {
    // Ten aliases per level, eight levels: 10^8 nodes once expanded. The parser's budget stops it.
    let mut input = String::from(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\na: &a [x, x, x, x, x, x, x, x, x, x]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 10].join(", ");
        input.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    let dir = tempdir();
    let started = std::time::Instant::now();
    let out = run_krm(input.as_bytes(), &seeded(), dir.path());
    out.assert_no_panic();
    assert_eq!(out.code, 1, "stderr: {}", out.stderr);
    let list = parse(&out.stdout);
    assert!(!errors(&list).is_empty());
    assert!(items(&list).is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "refusing the alias bomb took {:?}",
        started.elapsed()
    );
}

#[test]
fn stderr_lines_for_input_errors_have_a_single_colon_after_the_severity() {
    // The stderr line for a result without resource or field reads
    // "authelia-secrets: error:: stdin: ..." (doubled colon).
    let dir = tempdir();
    let out = run_krm(b"foo: [\n", &[], dir.path());
    out.assert_no_panic();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("authelia-secrets: error: stdin:"),
        "stderr: {:?}",
        out.stderr
    );
    assert!(!out.stderr.contains("error::"), "stderr: {:?}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// Config problems

#[test]
fn all_problems_are_reported_at_once() {
    let fc = config(json!({
        "secret": {},                 // unknown field
        "rollout": "bogus",           // unknown rollout
        "autheliaVersion": "5.0",     // unsupported version
    }));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    let errs = errors(&list);
    assert_eq!(errs.len(), 3, "{}", describe_results(&list));
    let mut paths: Vec<&str> = errs.iter().map(field_path).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["spec.autheliaVersion", "spec.rollout", "spec.secret"]
    );
    for r in &errs {
        assert_eq!(r["resourceRef"]["kind"], json!("AutheliaSecrets"));
        assert_eq!(r["resourceRef"]["name"], json!("authelia"));
        assert_eq!(r["resourceRef"]["namespace"], json!("auth"));
        assert_eq!(
            r["resourceRef"]["apiVersion"],
            json!("authelia-secrets.dev/v1alpha1")
        );
    }
    // Each one has its own stderr line too.
    assert_eq!(
        out.stderr.lines().filter(|l| l.contains("error")).count(),
        3,
        "{}",
        out.stderr
    );
}

#[test]
fn unknown_field_suggests_the_closest_name() {
    let fc = config(json!({"secret": {"JWT_SECRET": {}}}));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    let r = error_at(&list, "spec.secret");
    assert!(
        message(&r).contains("did you mean secrets?"),
        "{}",
        message(&r)
    );

    let fc = config(json!({"secrets": {"JWT_SECRET": {"lenght": 64}}}));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    let r = error_at(&list, "spec.secrets.JWT_SECRET.lenght");
    assert!(
        message(&r).contains("did you mean length?"),
        "{}",
        message(&r)
    );
}

#[test]
fn results_carry_the_file_of_the_config() {
    let mut fc = config(json!({"rollout": "bogus"}));
    fc["metadata"]["annotations"] = json!({
        "internal.config.kubernetes.io/path": "dir/authelia-secrets.yaml",
        "internal.config.kubernetes.io/index": "2",
    });
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    let r = error_at(&list, "spec.rollout");
    assert_eq!(
        r["file"],
        json!({"path": "dir/authelia-secrets.yaml", "index": 2})
    );
}

#[test]
fn a_failed_run_returns_the_input_items_unchanged() {
    let dep = deployment("authelia", "auth", "authelia");
    let svc = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "authelia", "namespace": "auth",
                     "annotations": {"config.kubernetes.io/index": "1"}},
        "spec": {"ports": [{"port": 80, "targetPort": "http"}]},
    });
    let existing = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "authelia", "namespace": "auth"},
        "type": "Opaque",
        "data": {"JWT_SECRET": b64(b"kept-jwt-secret-value-0123456789")},
    });
    let input_items = vec![dep, svc, existing];
    let fc = config(json!({"secrets": {"JWT_SECRET": {}}, "mountPth": "/x"}));
    let (out, list) = krm(&resource_list(&input_items, Some(&fc)), &seeded());
    assert_failed(&out, &list);
    error_at(&list, "spec.mountPth");
    let got = items(&list);
    assert_eq!(got, input_items);
    assert_eq!(
        serde_json::to_string(&got).unwrap(),
        serde_json::to_string(&input_items).unwrap(),
        "key order changed"
    );
}

#[test]
fn a_failure_found_late_still_returns_the_input_items_unchanged() {
    // The config is valid; the problem (a missing variable) is only found while obtaining values,
    // after the workloads were planned.
    let dep = deployment("authelia", "auth", "authelia");
    let fc = config(json!({"secrets": {
        "JWT_SECRET": {},
        "LDAP_PASSWORD": {"fromEnv": "AUTHELIA_TEST_UNSET_VARIABLE"},
    }}));
    let (out, list) = krm(
        &resource_list(std::slice::from_ref(&dep), Some(&fc)),
        &seeded(),
    );
    assert_failed(&out, &list);
    error_at(&list, "spec.secrets.LDAP_PASSWORD.fromEnv");
    assert_eq!(items(&list), vec![dep]);
}

// ---------------------------------------------------------------------------------------------
// The ConfigMap form of the config

fn configmap_config(data: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "function-input"},
        "data": data,
    })
}

#[test]
fn configmap_function_config_works() {
    let dir = tempdir();
    std::fs::write(dir.path().join("smtp.txt"), "smtp-password-from-file\n").unwrap();
    let fc = configmap_config(json!({
        "namespace": "auth",
        "secretName": "authelia-secrets",
        "autheliaVersion": "4.39",
        "secrets": "JWT_SECRET, LDAP_PASSWORD=env:LDAP_PW,SMTP_PASSWORD=file:smtp.txt",
        "workloads": "Deployment/authelia:authelia",
    }));
    let dep = deployment("authelia", "auth", "authelia");
    let (out, list) = krm_in(
        &resource_list(&[dep], Some(&fc)),
        &[
            ("AUTHELIA_SECRETS_SEED", SEED),
            ("LDAP_PW", "ldap-password-from-env"),
        ],
        dir.path(),
    );
    assert_ok(&out, &list);
    let secret = secret_of(&list, "authelia-secrets");
    assert_eq!(secret["metadata"]["namespace"], json!("auth"));
    let values = secret_values(&secret);
    assert_eq!(
        values.keys().collect::<Vec<_>>(),
        ["JWT_SECRET", "LDAP_PASSWORD", "SMTP_PASSWORD"]
    );
    assert_eq!(values["LDAP_PASSWORD"], b"ldap-password-from-env");
    assert_eq!(values["SMTP_PASSWORD"], b"smtp-password-from-file");
    assert_eq!(values["JWT_SECRET"].len(), 64);
    let dep = find(&items(&list), "Deployment", "authelia")
        .unwrap()
        .clone();
    let env = container_env(&dep, "authelia");
    for (name, file) in [
        (JWT_ENV_439, "JWT_SECRET"),
        (
            "AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE",
            "LDAP_PASSWORD",
        ),
        ("AUTHELIA_NOTIFIER_SMTP_PASSWORD_FILE", "SMTP_PASSWORD"),
    ] {
        assert!(
            env.contains(&(name.to_string(), format!("/app/secrets/{file}"))),
            "{name} missing: {env:?}"
        );
    }
}

#[test]
fn configmap_unknown_key_is_reported_at_its_data_path() {
    let fc = configmap_config(json!({"secret": "JWT_SECRET", "namespace": "auth"}));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    let r = error_at(&list, "data.secret");
    assert!(
        message(&r).contains("did you mean secrets?"),
        "{}",
        message(&r)
    );
    assert_eq!(r["resourceRef"]["kind"], json!("ConfigMap"));
    assert_eq!(r["resourceRef"]["name"], json!("function-input"));
}

#[test]
fn configmap_value_errors_map_back_to_data_keys() {
    let fc = configmap_config(json!({
        "rollout": "bogus",
        "autheliaVersion": "3.0",
        "secrets": "JWT_SECRET,LDAP_PASSWORD=nope",
        "workloads": "Deployment/:x",
    }));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    for path in [
        "data.rollout",
        "data.autheliaVersion",
        "data.secrets",
        "data.workloads",
    ] {
        error_at(&list, path);
    }
    assert!(
        errors(&list)
            .iter()
            .all(|r| field_path(r).starts_with("data")),
        "{}",
        describe_results(&list)
    );
}

// ---------------------------------------------------------------------------------------------
// The emitted Secret and the patched workload

#[test]
fn secret_and_workload_have_the_documented_shape() {
    let dep = deployment("authelia", "auth", "authelia");
    let fc = config(json!({
        "autheliaVersion": "4.39",
        "secrets": {
            "SESSION_SECRET": {},
            "JWT_SECRET": {},
            "STORAGE_PASSWORD": {},
            "STORAGE_ENCRYPTION_KEY": {},
            "REDIS_SENTINEL_PASSWORD": {},
            "REDIS_PASSWORD": {},
            "OIDC_HMAC_SECRET": {},
        },
    }));
    let (out, list) = krm(&resource_list(&[dep], Some(&fc)), &seeded());
    assert_ok(&out, &list);
    let out_items = items(&list);
    assert_eq!(out_items.len(), 2);

    let secret = secret_of(&list, "authelia");
    assert_eq!(secret["apiVersion"], json!("v1"));
    assert_eq!(secret["type"], json!("Opaque"));
    let keys: Vec<&String> = secret["data"].as_object().unwrap().keys().collect();
    let expected_keys = [
        "JWT_SECRET",
        "OIDC_HMAC_SECRET",
        "REDIS_PASSWORD",
        "REDIS_SENTINEL_PASSWORD",
        "SESSION_SECRET",
        "STORAGE_ENCRYPTION_KEY",
        "STORAGE_PASSWORD",
    ];
    assert_eq!(keys, expected_keys, "data keys are sorted");
    let ann = &secret["metadata"]["annotations"];
    assert_eq!(
        ann["authelia-secrets.dev/keys"],
        json!(expected_keys.join(","))
    );
    assert_eq!(
        ann["authelia-secrets.dev/rotations"],
        json!(expected_keys.map(|k| format!("{k}=0")).join(","))
    );
    for (k, v) in secret_values(&secret) {
        assert_eq!(v.len(), 64, "{k}");
        assert!(v.iter().all(u8::is_ascii_alphanumeric), "{k}");
    }

    let dep = find(&out_items, "Deployment", "authelia").unwrap();
    let pod = &dep["spec"]["template"];
    let checksum = pod["metadata"]["annotations"]["authelia-secrets.dev/secret-checksum"]
        .as_str()
        .expect("checksum annotation");
    assert!(
        checksum.starts_with("sha256:") && checksum.len() == 7 + 64,
        "{checksum}"
    );
    let spec = &pod["spec"];
    assert_eq!(spec["enableServiceLinks"], json!(false));
    let volumes = spec["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), 1);
    assert_eq!(volumes[0]["name"], json!("authelia-secrets"));
    assert_eq!(volumes[0]["secret"]["secretName"], json!("authelia"));
    assert_eq!(volumes[0]["secret"]["defaultMode"], json!(256));
    let item_keys: Vec<(&str, &str)> = volumes[0]["secret"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap(), i["path"].as_str().unwrap()))
        .collect();
    assert_eq!(item_keys, expected_keys.map(|k| (k, k)));
    let container = &spec["containers"][0];
    assert_eq!(
        container["volumeMounts"],
        json!([{"name": "authelia-secrets", "mountPath": "/app/secrets", "readOnly": true}])
    );
    let env = container_env(dep, "authelia");
    assert_eq!(
        env[0],
        ("TZ".to_string(), "Etc/UTC".to_string()),
        "foreign env first"
    );
    for (name, key) in [
        (JWT_ENV_439, "JWT_SECRET"),
        ("AUTHELIA_SESSION_SECRET_FILE", "SESSION_SECRET"),
        (
            "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE",
            "STORAGE_ENCRYPTION_KEY",
        ),
        (
            "AUTHELIA_STORAGE_POSTGRES_PASSWORD_FILE",
            "STORAGE_PASSWORD",
        ),
        ("AUTHELIA_SESSION_REDIS_PASSWORD_FILE", "REDIS_PASSWORD"),
        (
            "AUTHELIA_SESSION_REDIS_HIGH_AVAILABILITY_SENTINEL_PASSWORD_FILE",
            "REDIS_SENTINEL_PASSWORD",
        ),
        (
            "AUTHELIA_IDENTITY_PROVIDERS_OIDC_HMAC_SECRET_FILE",
            "OIDC_HMAC_SECRET",
        ),
    ] {
        assert!(
            env.contains(&(name.to_string(), format!("/app/secrets/{key}"))),
            "{name} missing: {env:?}"
        );
    }
    assert_eq!(env.len(), 1 + expected_keys.len(), "{env:?}");
}

#[test]
fn authelia_437_uses_the_old_jwt_variable() {
    let dep = deployment("authelia", "auth", "authelia");
    let fc = config(json!({"autheliaVersion": "4.37", "secrets": {"JWT_SECRET": {}}}));
    let (out, list) = krm(&resource_list(&[dep], Some(&fc)), &seeded());
    assert_ok(&out, &list);
    let dep = find(&items(&list), "Deployment", "authelia")
        .unwrap()
        .clone();
    let names: Vec<String> = container_env(&dep, "authelia")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        names.contains(&"AUTHELIA_JWT_SECRET_FILE".to_string()),
        "{names:?}"
    );
    assert!(!names.contains(&JWT_ENV_439.to_string()), "{names:?}");
}

#[test]
fn the_secret_gets_path_annotations_only_when_inputs_have_them() {
    let fc = config(json!({"secrets": {"JWT_SECRET": {}}}));

    let plain = deployment("authelia", "auth", "authelia");
    let (out, list) = krm(
        &resource_list(std::slice::from_ref(&plain), Some(&fc)),
        &seeded(),
    );
    assert_ok(&out, &list);
    let ann = secret_of(&list, "authelia")["metadata"]["annotations"].clone();
    assert!(
        ann.get("internal.config.kubernetes.io/path").is_none(),
        "{ann}"
    );
    assert!(ann.get("config.kubernetes.io/path").is_none(), "{ann}");

    for key in [
        "internal.config.kubernetes.io/path",
        "config.kubernetes.io/path",
    ] {
        let mut annotated = plain.clone();
        annotated["metadata"]["annotations"] = json!({ key: "deployment.yaml" });
        let (out, list) = krm(&resource_list(&[annotated], Some(&fc)), &seeded());
        assert_ok(&out, &list);
        let ann = secret_of(&list, "authelia")["metadata"]["annotations"].clone();
        assert_eq!(
            ann["internal.config.kubernetes.io/path"],
            json!("secret-authelia.yaml"),
            "{key}"
        );
        assert_eq!(
            ann["config.kubernetes.io/path"],
            json!("secret-authelia.yaml"),
            "{key}"
        );
    }
}

#[test]
fn the_new_secret_file_sits_next_to_the_config() {
    let mut fc = config(json!({"secrets": {"JWT_SECRET": {}}}));
    fc["metadata"]["annotations"] = json!({
        "internal.config.kubernetes.io/path": "auth/authelia-secrets.yaml",
        "config.kubernetes.io/path": "auth/authelia-secrets.yaml",
    });
    let mut dep = deployment("authelia", "auth", "authelia");
    dep["metadata"]["annotations"] =
        json!({"internal.config.kubernetes.io/path": "auth/deployment.yaml"});
    let (out, list) = krm(&resource_list(&[dep], Some(&fc)), &seeded());
    assert_ok(&out, &list);
    let ann = secret_of(&list, "authelia")["metadata"]["annotations"].clone();
    assert_eq!(
        ann["internal.config.kubernetes.io/path"],
        json!("auth/secret-authelia.yaml")
    );
    assert_eq!(
        ann["config.kubernetes.io/path"],
        json!("auth/secret-authelia.yaml")
    );
}

#[test]
fn config_changes_are_applied_on_the_next_run() {
    let fc = config(json!({
        "autheliaVersion": "4.37",
        "secrets": {"JWT_SECRET": {}, "SESSION_SECRET": {}},
    }));
    let input = resource_list(&[deployment("authelia", "auth", "authelia")], Some(&fc));
    let (out, first) = krm(&input, &seeded());
    assert_ok(&out, &first);
    let first_jwt = secret_values(&secret_of(&first, "authelia"))["JWT_SECRET"].clone();

    // Newer Authelia, one key fewer, another mount path: from the previous output.
    let changed = config(json!({
        "autheliaVersion": "4.39",
        "mountPath": "/run/secrets",
        "secrets": {"JWT_SECRET": {}},
    }));
    let (out, second) = krm(&resource_list(&items(&first), Some(&changed)), &[]);
    assert_ok(&out, &second);
    let secret = secret_of(&second, "authelia");
    let values = secret_values(&secret);
    assert_eq!(values.keys().collect::<Vec<_>>(), ["JWT_SECRET"]);
    assert_eq!(values["JWT_SECRET"], first_jwt, "the kept value survives");
    assert_eq!(
        secret["metadata"]["annotations"]["authelia-secrets.dev/keys"],
        json!("JWT_SECRET")
    );

    let dep = item_of(&second, "Deployment", "authelia");
    assert_eq!(
        container_env(&dep, "authelia"),
        vec![
            ("TZ".to_string(), "Etc/UTC".to_string()),
            (
                JWT_ENV_439.to_string(),
                "/run/secrets/JWT_SECRET".to_string()
            ),
        ]
    );
    let pod = &dep["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["volumeMounts"],
        json!([{"name": "authelia-secrets", "mountPath": "/run/secrets", "readOnly": true}])
    );
    assert_eq!(
        pod["volumes"][0]["secret"]["items"],
        json!([{"key": "JWT_SECRET", "path": "JWT_SECRET"}])
    );
    let old_sum = item_of(&first, "Deployment", "authelia")["spec"]["template"]["metadata"]
        ["annotations"]["authelia-secrets.dev/secret-checksum"]
        .clone();
    assert_ne!(
        dep["spec"]["template"]["metadata"]["annotations"]["authelia-secrets.dev/secret-checksum"],
        old_sum,
        "the checksum follows the Secret's data"
    );
}

// ---------------------------------------------------------------------------------------------
// Seeds, determinism and idempotency

#[test]
fn the_same_seed_gives_byte_identical_output() {
    let dep = deployment("authelia", "auth", "authelia");
    let fc = config(json!({"secrets": {"JWT_SECRET": {}, "SESSION_SECRET": {}}}));
    let input = resource_list(&[dep], Some(&fc));
    let (a, list) = krm(&input, &seeded());
    assert_ok(&a, &list);
    let (b, _) = krm(&input, &seeded());
    assert_eq!(a.stdout_text(), b.stdout_text());
    assert!(warnings(&list).is_empty(), "{}", describe_results(&list));

    let (c, other) = krm(&input, &[("AUTHELIA_SECRETS_SEED", OTHER_SEED)]);
    assert_ok(&c, &other);
    let va = secret_values(&secret_of(&list, "authelia"));
    let vc = secret_values(&secret_of(&other, "authelia"));
    for key in ["JWT_SECRET", "SESSION_SECRET"] {
        assert_ne!(va[key], vc[key], "{key}: another seed, another value");
    }
    assert_ne!(
        va["JWT_SECRET"], va["SESSION_SECRET"],
        "keys are independent"
    );
}

#[test]
fn the_namespace_and_secret_name_are_bound_into_derived_values() {
    let values = |namespace: &str, secret_name: &str| {
        let fc = json!({
            "apiVersion": "authelia-secrets.dev/v1alpha1",
            "kind": "AutheliaSecrets",
            "metadata": {"name": "authelia", "namespace": namespace},
            "spec": {"secretName": secret_name, "secrets": {"JWT_SECRET": {}}},
        });
        let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
        assert_ok(&out, &list);
        secret_values(&secret_of(&list, secret_name))["JWT_SECRET"].clone()
    };
    let base = values("auth", "authelia");
    assert_eq!(base, values("auth", "authelia"));
    assert_ne!(base, values("staging", "authelia"));
    assert_ne!(base, values("auth", "authelia-two"));
}

#[test]
fn json_input_gives_the_same_items_and_results_as_yaml() {
    // JSON is YAML in flow style: every item is then re-emitted instead of copied, which must
    // not change what the function does.
    let items_in = [
        deployment("authelia", "auth", "authelia"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "auth"},
               "data": {"mode": "0755", "flag": "no"}}),
    ];
    let fc = config(json!({"secrets": {"JWT_SECRET": {}, "SESSION_SECRET": {}}}));
    let (yaml_out, yaml_list) = krm(&resource_list(&items_in, Some(&fc)), &seeded());
    let (json_out, json_list) = krm(&resource_list_json(&items_in, Some(&fc)), &seeded());
    assert_ok(&yaml_out, &yaml_list);
    assert_ok(&json_out, &json_list);
    assert_eq!(items(&yaml_list), items(&json_list));
    assert_eq!(results(&yaml_list), results(&json_list));
}

#[test]
fn running_on_its_own_output_changes_nothing() {
    let mut dep = deployment("authelia", "auth", "authelia");
    dep["metadata"]["annotations"] = json!({
        "config.kubernetes.io/index": "0",
        "internal.config.kubernetes.io/index": "0",
        "internal.config.kubernetes.io/path": "deployment.yaml",
        "config.kubernetes.io/path": "deployment.yaml",
    });
    let fc = config(json!({"secrets": {
        "JWT_SECRET": {},
        "SESSION_SECRET": {},
        "STORAGE_ENCRYPTION_KEY": {},
    }}));
    let input = resource_list(&[dep], Some(&fc));
    let (first, list) = krm(&input, &seeded());
    assert_ok(&first, &list);
    let (second, list2) = krm(&first.stdout, &seeded());
    assert_ok(&second, &list2);
    assert_eq!(first.stdout_text(), second.stdout_text());
    let (third, _) = krm(&second.stdout, &seeded());
    assert_eq!(second.stdout_text(), third.stdout_text());

    // Without a seed the existing values are kept, so the items do not change either.
    let (first, list) = krm(&input, &[]);
    assert_ok(&first, &list);
    let (second, list2) = krm(&first.stdout, &[]);
    assert_ok(&second, &list2);
    assert_eq!(
        serde_json::to_string(&items(&list)).unwrap(),
        serde_json::to_string(&items(&list2)).unwrap()
    );
}

#[test]
fn existing_secret_values_are_kept() {
    let existing = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "authelia", "namespace": "auth"},
        "type": "Opaque",
        "data": {
            "JWT_SECRET": b64(b"an-existing-jwt-secret-that-must-survive"),
            "FOREIGN": b64(b"not-ours"),
        },
    });
    let fc = config(json!({"secrets": {"JWT_SECRET": {}, "SESSION_SECRET": {}}}));
    let input = resource_list(
        &[deployment("authelia", "auth", "authelia"), existing],
        Some(&fc),
    );
    for envs in [&seeded()[..], &[]] {
        let (out, list) = krm(&input, envs);
        assert_ok(&out, &list);
        let secret_count = items(&list)
            .iter()
            .filter(|i| i["kind"] == json!("Secret"))
            .count();
        assert_eq!(secret_count, 1, "no second Secret is added");
        let values = secret_values(&secret_of(&list, "authelia"));
        assert_eq!(
            values["JWT_SECRET"],
            b"an-existing-jwt-secret-that-must-survive"
        );
        assert_eq!(values["FOREIGN"], b"not-ours", "foreign keys are kept");
        assert_eq!(values["SESSION_SECRET"].len(), 64);
    }
    // With a seed, a new key gets its derived value (the same as without an existing Secret).
    let (_, list) = krm(&input, &seeded());
    let fresh_input = resource_list(&[deployment("authelia", "auth", "authelia")], Some(&fc));
    let (_, fresh) = krm(&fresh_input, &seeded());
    assert_eq!(
        secret_values(&secret_of(&list, "authelia"))["SESSION_SECRET"],
        secret_values(&secret_of(&fresh, "authelia"))["SESSION_SECRET"]
    );
}

#[test]
fn without_a_seed_values_are_random_and_a_warning_says_so() {
    let fc = config(json!({"secrets": {"JWT_SECRET": {}}}));
    let input = resource_list(&[], Some(&fc));
    let (a, la) = krm(&input, &[]);
    assert_ok(&a, &la);
    let w = warnings(&la);
    assert!(
        w.iter()
            .any(|r| field_path(r) == "spec.seed" && message(r).contains("AUTHELIA_SECRETS_SEED")),
        "{}",
        describe_results(&la)
    );
    let (b, lb) = krm(&input, &[]);
    assert_ok(&b, &lb);
    let va = secret_values(&secret_of(&la, "authelia"));
    let vb = secret_values(&secret_of(&lb, "authelia"));
    assert_eq!(va["JWT_SECRET"].len(), 64);
    assert!(va["JWT_SECRET"].iter().all(u8::is_ascii_alphanumeric));
    assert_ne!(va["JWT_SECRET"], vb["JWT_SECRET"]);
}

#[test]
fn an_explicit_seed_variable_must_be_set() {
    let fc = config(json!({"seed": {"env": "MY_SEED"}, "secrets": {"JWT_SECRET": {}}}));
    let input = resource_list(&[], Some(&fc));
    // AUTHELIA_SECRETS_SEED does not stand in for the named variable.
    let (out, list) = krm(&input, &seeded());
    assert_failed(&out, &list);
    let r = error_at(&list, "spec.seed.env");
    assert!(message(&r).contains("MY_SEED"), "{}", message(&r));
    assert!(find(&items(&list), "Secret", "authelia").is_none());

    // Set, it derives the same values as the default variable holding the same seed.
    let (out, with_named) = krm(&input, &[("MY_SEED", SEED)]);
    assert_ok(&out, &with_named);
    let (_, with_default) = krm(
        &resource_list(&[], Some(&config(json!({"secrets": {"JWT_SECRET": {}}})))),
        &seeded(),
    );
    assert_eq!(
        secret_values(&secret_of(&with_named, "authelia")),
        secret_values(&secret_of(&with_default, "authelia"))
    );
}

#[test]
fn a_seed_shorter_than_32_characters_is_refused() {
    let fc = config(json!({"secrets": {"JWT_SECRET": {}}}));
    let input = resource_list(&[], Some(&fc));
    let short = "0123456789abcdefghijklmnopqrstu"; // 31
    let (out, list) = krm(&input, &[("AUTHELIA_SECRETS_SEED", short)]);
    assert_failed(&out, &list);
    let r = error_at(&list, "spec.seed");
    assert!(message(&r).contains("32"), "{}", message(&r));
    assert!(!out.stderr.contains(short), "the seed leaked to stderr");
    assert!(
        !out.stdout_text().contains(short),
        "the seed leaked to stdout"
    );

    let (out, list) = krm(&input, &[("AUTHELIA_SECRETS_SEED", "")]);
    assert_failed(&out, &list);
    error_at(&list, "spec.seed");

    let exact = "0123456789abcdefghijklmnopqrstuv"; // 32
    let (out, list) = krm(&input, &[("AUTHELIA_SECRETS_SEED", exact)]);
    assert_ok(&out, &list);

    let fc = config(json!({"seed": {"env": "MY_SEED"}, "secrets": {"JWT_SECRET": {}}}));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &[("MY_SEED", short)]);
    assert_failed(&out, &list);
    error_at(&list, "spec.seed.env");
}

#[test]
fn a_seed_file_works_and_loses_one_trailing_newline() {
    let dir = tempdir();
    std::fs::write(dir.path().join("seed.txt"), format!("{SEED}\n")).unwrap();
    let fc = config(json!({"seed": {"file": "seed.txt"}, "secrets": {"JWT_SECRET": {}}}));
    let (out, from_file) = krm_in(&resource_list(&[], Some(&fc)), &[], dir.path());
    assert_ok(&out, &from_file);
    let (_, from_env) = krm(
        &resource_list(&[], Some(&config(json!({"secrets": {"JWT_SECRET": {}}})))),
        &seeded(),
    );
    assert_eq!(
        secret_values(&secret_of(&from_file, "authelia")),
        secret_values(&secret_of(&from_env, "authelia"))
    );

    let fc = config(json!({"seed": {"file": "missing.txt"}, "secrets": {"JWT_SECRET": {}}}));
    let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &[], dir.path());
    assert_failed(&out, &list);
    error_at(&list, "spec.seed.file");

    let fc = config(json!({"seed": {"file": "../seed.txt"}, "secrets": {"JWT_SECRET": {}}}));
    let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &[], dir.path());
    assert_failed(&out, &list);
    error_at(&list, "spec.seed.file");
}

// ---------------------------------------------------------------------------------------------
// Provided values

#[test]
fn from_file_outside_the_root_is_refused() {
    let outer = tempdir();
    let root = outer.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(outer.path().join("x"), "outside-value").unwrap();
    let absolute = outer.path().join("x").display().to_string();
    for path in ["../x", "sub/../../x", absolute.as_str()] {
        let fc = config(json!({"secrets": {"LDAP_PASSWORD": {"fromFile": path}}}));
        let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &seeded(), &root);
        assert_failed(&out, &list);
        let r = error_at(&list, "spec.secrets.LDAP_PASSWORD.fromFile");
        assert!(
            message(&r).contains("allowFilesOutsideRoot"),
            "{path}: {}",
            message(&r)
        );
        assert!(!out.stdout_text().contains("outside-value"), "{path}");
        assert!(!out.stderr.contains("outside-value"), "{path}");
    }

    // A symbolic link inside the root that points outside is refused too.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outer.path().join("x"), root.join("link")).unwrap();
        let fc = config(json!({"secrets": {"LDAP_PASSWORD": {"fromFile": "link"}}}));
        let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &seeded(), &root);
        assert_failed(&out, &list);
        error_at(&list, "spec.secrets.LDAP_PASSWORD.fromFile");
    }

    // Allowed explicitly, both work.
    for path in ["../x", absolute.as_str()] {
        let fc = config(json!({
            "allowFilesOutsideRoot": true,
            "secrets": {"LDAP_PASSWORD": {"fromFile": path}},
        }));
        let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &seeded(), &root);
        assert_ok(&out, &list);
        assert_eq!(
            secret_values(&secret_of(&list, "authelia"))["LDAP_PASSWORD"],
            b"outside-value"
        );
    }
}

#[test]
fn the_runner_can_forbid_leaving_the_root_whatever_the_config_says() {
    let outer = tempdir();
    let root = outer.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(outer.path().join("x"), "outside-value").unwrap();
    std::fs::write(outer.path().join("seed"), SEED).unwrap();
    std::fs::write(root.join("inside.txt"), "inside-value").unwrap();
    let absolute = outer.path().join("x").display().to_string();
    let root_only = [(
        "AUTHELIA_SECRETS_LOAD_RESTRICTOR",
        "LoadRestrictionsRootOnly",
    )];
    for path in ["../x", absolute.as_str()] {
        let fc = config(json!({
            "allowFilesOutsideRoot": true,
            "secrets": {"LDAP_PASSWORD": {"fromFile": path}},
        }));
        let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &root_only, &root);
        assert_failed(&out, &list);
        let r = error_at(&list, "spec.secrets.LDAP_PASSWORD.fromFile");
        assert!(
            message(&r).contains("AUTHELIA_SECRETS_LOAD_RESTRICTOR=LoadRestrictionsRootOnly"),
            "{path}: {}",
            message(&r)
        );
        assert!(!out.stdout_text().contains("outside-value"), "{path}");
    }
    let fc = config(json!({
        "allowFilesOutsideRoot": true,
        "seed": {"file": "../seed"},
        "secrets": {"JWT_SECRET": {}},
    }));
    let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &root_only, &root);
    assert_failed(&out, &list);
    error_at(&list, "spec.seed.file");

    // A symbolic link out of the root is refused too, although the config allows leaving it.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outer.path().join("x"), root.join("link")).unwrap();
        let fc = config(json!({
            "allowFilesOutsideRoot": true,
            "secrets": {"LDAP_PASSWORD": {"fromFile": "link"}},
        }));
        let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &root_only, &root);
        assert_failed(&out, &list);
        let r = error_at(&list, "spec.secrets.LDAP_PASSWORD.fromFile");
        assert!(message(&r).contains("symbolic link"), "{}", message(&r));
    }

    // Files inside the root still work; an unknown value of the variable is an error.
    let fc = config(json!({"secrets": {"LDAP_PASSWORD": {"fromFile": "inside.txt"}}}));
    let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &root_only, &root);
    assert_ok(&out, &list);
    let (out, list) = krm_in(
        &resource_list(&[], Some(&fc)),
        &[("AUTHELIA_SECRETS_LOAD_RESTRICTOR", "rootonly")],
        &root,
    );
    assert_failed(&out, &list);
    assert!(
        describe_results(&list).contains("LoadRestrictionsRootOnly"),
        "{}",
        describe_results(&list)
    );
}

#[test]
fn from_file_reads_the_file_and_strips_exactly_one_trailing_newline() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    let files = [
        ("secrets/ldap.txt", "ldap-password\n\n", "ldap-password\n"),
        ("smtp.txt", "smtp-password\n", "smtp-password"),
        (
            "redis.txt",
            "redis-password-no-newline",
            "redis-password-no-newline",
        ),
        ("pg.txt", "pg password\r\n", "pg password\r"),
    ];
    for (name, content, _) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let fc = config(json!({"secrets": {
        "LDAP_PASSWORD": {"fromFile": "secrets/ldap.txt"},
        "SMTP_PASSWORD": {"fromFile": "./smtp.txt"},
        "REDIS_PASSWORD": {"fromFile": "redis.txt"},
        "STORAGE_PASSWORD": {"fromFile": "pg.txt"},
    }}));
    let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &[], dir.path());
    assert_ok(&out, &list);
    let values = secret_values(&secret_of(&list, "authelia"));
    for (key, (_, _, expected)) in [
        "LDAP_PASSWORD",
        "SMTP_PASSWORD",
        "REDIS_PASSWORD",
        "STORAGE_PASSWORD",
    ]
    .iter()
    .zip(files)
    {
        assert_eq!(values[*key], expected.as_bytes(), "{key}");
    }
    // Nothing was generated, so there is no seed warning.
    assert!(
        !results(&list).iter().any(|r| field_path(r) == "spec.seed"),
        "{}",
        describe_results(&list)
    );
}

#[test]
fn from_file_problems_are_errors_at_the_from_file_field() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("a-directory")).unwrap();
    std::fs::write(dir.path().join("empty.txt"), "").unwrap();
    for (path, field) in [
        ("missing.txt", "spec.secrets.LDAP_PASSWORD.fromFile"),
        ("a-directory", "spec.secrets.LDAP_PASSWORD.fromFile"),
        ("empty.txt", "spec.secrets.LDAP_PASSWORD"),
    ] {
        let fc = config(json!({"secrets": {"LDAP_PASSWORD": {"fromFile": path}}}));
        let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &[], dir.path());
        assert_failed(&out, &list);
        error_at(&list, field);
    }
}

/// The config as kpt fn render sends it: the package path and the config's own file annotated.
fn as_rendered(mut fc: Value, package: &std::path::Path, file: &str) -> Value {
    fc["metadata"]["annotations"] = json!({
        "internal.config.kubernetes.io/package-path": package.display().to_string(),
        "internal.config.kubernetes.io/path": file,
        "config.kubernetes.io/path": file,
    });
    fc
}

#[test]
fn from_file_resolves_against_a_kpt_package_that_holds_the_config() {
    let package = tempdir();
    let elsewhere = tempdir();
    std::fs::write(package.path().join("ldap.txt"), "from-the-package\n").unwrap();
    std::fs::write(elsewhere.path().join("ldap.txt"), "from-the-cwd\n").unwrap();
    let fc = config(json!({"secrets": {"LDAP_PASSWORD": {"fromFile": "ldap.txt"}}}));
    std::fs::write(
        package.path().join("fn.yaml"),
        serde_json::to_string(&fc).unwrap(),
    )
    .unwrap();
    std::fs::write(
        package.path().join("Kptfile"),
        "apiVersion: kpt.dev/v1\nkind: Kptfile\n",
    )
    .unwrap();
    let rendered = as_rendered(fc.clone(), package.path(), "fn.yaml");
    let (out, list) = krm_in(&resource_list(&[], Some(&rendered)), &[], elsewhere.path());
    assert_ok(&out, &list);
    assert_eq!(
        secret_values(&secret_of(&list, "authelia"))["LDAP_PASSWORD"],
        b"from-the-package"
    );

    // Without the annotation: the working directory.
    let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &[], elsewhere.path());
    assert_ok(&out, &list);
    assert_eq!(
        secret_values(&secret_of(&list, "authelia"))["LDAP_PASSWORD"],
        b"from-the-cwd"
    );

    // A package path inside the working directory narrows it: trusted as it is.
    let (out, list) = krm_in(
        &resource_list(
            &[],
            Some(&as_rendered(
                fc.clone(),
                std::path::Path::new("sub"),
                "x.yaml",
            )),
        ),
        &[],
        &{
            std::fs::create_dir_all(elsewhere.path().join("sub")).unwrap();
            std::fs::write(elsewhere.path().join("sub/ldap.txt"), "from-sub\n").unwrap();
            elsewhere.path().to_path_buf()
        },
    );
    assert_ok(&out, &list);
    assert_eq!(
        secret_values(&secret_of(&list, "authelia"))["LDAP_PASSWORD"],
        b"from-sub"
    );
}

#[test]
fn a_package_path_written_into_the_config_cannot_move_the_root() {
    // kpt fn eval --fn-config passes the file's annotations as written: a hostile config claims
    // "/" as its package and reads a file the user never meant to hand out.
    let cwd = tempdir();
    let outside = tempdir();
    std::fs::write(
        outside.path().join("private.txt"),
        "outside-the-root-value\n",
    )
    .unwrap();
    let rel = outside
        .path()
        .strip_prefix("/")
        .unwrap()
        .join("private.txt")
        .display()
        .to_string();
    let mut fc = config(json!({"secrets": {"LDAP_PASSWORD": {"fromFile": rel}}}));
    fc["metadata"]["annotations"] = json!({"internal.config.kubernetes.io/package-path": "/"});
    let (out, list) = krm_in(&resource_list(&[], Some(&fc)), &[], cwd.path());
    assert_failed(&out, &list);
    let r = error_at(&list, "spec.secrets.LDAP_PASSWORD.fromFile");
    assert!(
        message(&r).contains("package-path")
            && message(&r).contains("outside the working directory"),
        "{}",
        message(&r)
    );
    assert!(!out.stdout_text().contains("outside-the-root-value"));
    assert!(!out.stderr.contains("outside-the-root-value"));

    // Claiming the config's file too does not help: "/" is no kpt package holding this config.
    let forged = as_rendered(
        config(fc["spec"].clone()),
        std::path::Path::new("/"),
        "fn.yaml",
    );
    let (out, list) = krm_in(&resource_list(&[], Some(&forged)), &[], cwd.path());
    assert_failed(&out, &list);
    error_at(&list, "spec.secrets.LDAP_PASSWORD.fromFile");
}

#[test]
fn from_env_reads_the_variable() {
    let fc = config(json!({"secrets": {
        "LDAP_PASSWORD": {"fromEnv": "TEST_LDAP_PASSWORD"},
        "JWT_SECRET": {},
    }}));
    let input = resource_list(&[], Some(&fc));
    let (out, list) = krm(
        &input,
        &[
            ("AUTHELIA_SECRETS_SEED", SEED),
            ("TEST_LDAP_PASSWORD", "ldap pw with spaces\n"),
        ],
    );
    assert_ok(&out, &list);
    let values = secret_values(&secret_of(&list, "authelia"));
    assert_eq!(values["LDAP_PASSWORD"], b"ldap pw with spaces\n");

    let (out, list) = krm(&input, &seeded());
    assert_failed(&out, &list);
    let r = error_at(&list, "spec.secrets.LDAP_PASSWORD.fromEnv");
    assert!(
        message(&r).contains("TEST_LDAP_PASSWORD"),
        "{}",
        message(&r)
    );
}

// ---------------------------------------------------------------------------------------------
// Secrecy

/// Asserts that no value (nor its base64 form) appears on stderr or in the results.
fn assert_values_hidden(out: &Output, list: &Value, values: &[Vec<u8>], context: &str) {
    let stdout = out.stdout_text();
    let results_text = stdout
        .find("\nresults:\n")
        .map(|i| &stdout[i..])
        .unwrap_or("");
    let results_json = serde_json::to_string(&results(list)).unwrap();
    for value in values {
        let text = String::from_utf8_lossy(value);
        let core = text.trim();
        assert!(
            core.len() >= 8,
            "{context}: test values must be long enough to search for"
        );
        let encoded = b64(value);
        for (what, hay) in [
            ("stderr", out.stderr.as_str()),
            ("results (text)", results_text),
            ("results (parsed)", results_json.as_str()),
        ] {
            assert!(!hay.contains(core), "{context}: a value appears in {what}");
            assert!(
                !hay.contains(&encoded),
                "{context}: a base64 value appears in {what}"
            );
        }
    }
}

#[test]
fn secret_values_never_appear_on_stderr_or_in_results() {
    let dir = tempdir();
    std::fs::write(dir.path().join("smtp.txt"), "smtp-file-secret-value-xyz\n").unwrap();
    let provided: Vec<Vec<u8>> = vec![
        b"ldap-env-secret-value-abc".to_vec(),
        b"smtp-file-secret-value-xyz".to_vec(),
        SEED.as_bytes().to_vec(),
    ];
    let envs = [
        ("AUTHELIA_SECRETS_SEED", SEED),
        ("TEST_LDAP", "ldap-env-secret-value-abc"),
    ];
    let fc = config(json!({
        "autheliaVersion": "4.37",  // deprecations and other warnings are welcome here
        "secrets": {
            "JWT_SECRET": {},
            "SESSION_SECRET": {},
            "STORAGE_ENCRYPTION_KEY": {},
            "LDAP_PASSWORD": {"fromEnv": "TEST_LDAP"},
            "SMTP_PASSWORD": {"fromFile": "smtp.txt"},
        },
    }));
    // A workload selector that matches nothing adds an error; a Service without authelia a
    // warning. Successful run first.
    let dep = deployment("authelia", "auth", "authelia");
    let (out, list) = krm_in(
        &resource_list(std::slice::from_ref(&dep), Some(&fc)),
        &envs,
        dir.path(),
    );
    assert_ok(&out, &list);
    let generated: Vec<Vec<u8>> = secret_values(&secret_of(&list, "authelia"))
        .into_values()
        .collect();
    assert_eq!(generated.len(), 5);
    let mut all = generated.clone();
    all.extend(provided.iter().cloned());
    assert_values_hidden(&out, &list, &all, "successful run");

    // A failing run (one value cannot be obtained): the others still must not leak.
    let mut failing = fc.clone();
    failing["spec"]["secrets"]["SMTP_PASSWORD"] = json!({"fromFile": "missing.txt"});
    failing["spec"]["workloads"] = json!([{"name": "nope"}]);
    let (out, list) = krm_in(
        &resource_list(std::slice::from_ref(&dep), Some(&failing)),
        &envs,
        dir.path(),
    );
    assert_failed(&out, &list);
    assert_values_hidden(&out, &list, &all, "failing run");

    // A run without a seed: the random values stay out of the warnings.
    let (out, list) = krm_in(
        &resource_list(&[dep], Some(&fc)),
        &[("TEST_LDAP", "ldap-env-secret-value-abc")],
        dir.path(),
    );
    assert_ok(&out, &list);
    assert!(!warnings(&list).is_empty());
    let random: Vec<Vec<u8>> = secret_values(&secret_of(&list, "authelia"))
        .into_values()
        .collect();
    assert_values_hidden(&out, &list, &random, "run without a seed");
}

#[test]
fn a_too_short_provided_value_is_reported_without_the_value() {
    let fc = config(json!({"secrets": {"STORAGE_ENCRYPTION_KEY": {"fromEnv": "TEST_KEY"}}}));
    let value = "short-key-123";
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &[("TEST_KEY", value)]);
    assert_failed(&out, &list);
    error_at(&list, "spec.secrets.STORAGE_ENCRYPTION_KEY");
    assert_values_hidden(&out, &list, &[value.as_bytes().to_vec()], "too short");
    assert!(!out.stdout_text().contains(value));
}

// ---------------------------------------------------------------------------------------------
// rollout: hashSuffix outside kustomize's generator path

/// A Deployment named `name` in `ns` whose container `worker` reads Secret `secret`.
fn reader(name: &str, ns: &str, secret: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"template": {"spec": {
            "containers": [{"name": "worker", "image": "busybox",
                "envFrom": [{"secretRef": {"name": secret}}],
                "env": [{"name": "JWT", "valueFrom": {"secretKeyRef": {"name": secret, "key": "JWT_SECRET"}}}],
            }],
            "volumes": [
                {"name": "plain", "secret": {"secretName": secret}},
                {"name": "both", "projected": {"sources": [{"secret": {"name": secret}}]}},
            ],
        }}},
    })
}

fn refs_of(item: &Value) -> Vec<String> {
    let spec = &item["spec"]["template"]["spec"];
    let c = &spec["containers"][0];
    [
        &c["envFrom"][0]["secretRef"]["name"],
        &c["env"][0]["valueFrom"]["secretKeyRef"]["name"],
        &spec["volumes"][0]["secret"]["secretName"],
        &spec["volumes"][1]["projected"]["sources"][0]["secret"]["name"],
    ]
    .iter()
    .map(|v| v.as_str().unwrap_or("").to_string())
    .collect()
}

#[test]
fn hash_suffix_renames_references_in_the_namespace_and_follows_value_changes() {
    let spec = |rotation: u64| {
        json!({"rollout": "hashSuffix", "secrets": {
            "JWT_SECRET": {"rotation": rotation},
            "SESSION_SECRET": {},
            "STORAGE_ENCRYPTION_KEY": {},
        }})
    };
    let input = resource_list(
        &[
            deployment("authelia", "auth", "authelia"),
            reader("worker", "auth", "authelia"),
            reader("elsewhere", "other", "authelia"),
        ],
        Some(&config(spec(0))),
    );
    let (out, first) = krm(&input, &seeded());
    assert_ok(&out, &first);
    let secret = items(&first)
        .into_iter()
        .find(|i| i["kind"] == json!("Secret"))
        .expect("a Secret");
    let hashed = secret["metadata"]["name"].as_str().unwrap().to_string();
    assert!(
        hashed.starts_with("authelia-") && hashed.len() == "authelia-".len() + 10,
        "{hashed}"
    );
    assert_eq!(
        refs_of(&item_of(&first, "Deployment", "worker")),
        [hashed.as_str(); 4]
    );
    assert_eq!(
        refs_of(&item_of(&first, "Deployment", "elsewhere")),
        ["authelia"; 4],
        "another namespace's Secret of the same name is not ours"
    );

    // Idempotent: a second run on the output changes nothing.
    let (second, list2) = krm(&out.stdout, &seeded());
    assert_ok(&second, &list2);
    assert_eq!(out.stdout_text(), second.stdout_text());

    // A changed value gives a new name, and references to the previous one follow.
    let mut next = parse(&out.stdout);
    next["functionConfig"] = config(spec(1));
    let next = serde_json::to_vec(&next).unwrap();
    let (third, list3) = krm(&next, &seeded());
    assert_ok(&third, &list3);
    let secrets: Vec<Value> = items(&list3)
        .into_iter()
        .filter(|i| i["kind"] == json!("Secret"))
        .collect();
    assert_eq!(secrets.len(), 1, "the Secret is renamed, not duplicated");
    let renamed = secrets[0]["metadata"]["name"].as_str().unwrap().to_string();
    assert_ne!(renamed, hashed);
    assert_eq!(
        refs_of(&item_of(&list3, "Deployment", "worker")),
        [renamed.as_str(); 4]
    );
    let own = item_of(&list3, "Deployment", "authelia");
    let volumes = own["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v["secret"]["secretName"] == json!(renamed)),
        "{volumes:?}"
    );
}
