//! Wiring workloads, through the real binary: every target kind, default and explicit
//! selection, namespaces, the Authelia version from image tags, every conflict, order of foreign
//! entries, and idempotency.

mod common;

use common::*;
use serde_json::{Value, json};

const JWT_437: &str = "AUTHELIA_JWT_SECRET_FILE";
const JWT_438: &str = "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE";
const SESSION: &str = "AUTHELIA_SESSION_SECRET_FILE";

fn seeded() -> [(&'static str, &'static str); 1] {
    [("AUTHELIA_SECRETS_SEED", SEED)]
}

/// Runs KRM mode with a seed in a fresh directory; returns the raw output and the parsed list.
fn krm(items: &[Value], fc: &Value) -> (Output, Value) {
    krm_bytes(&resource_list(items, Some(fc)))
}

fn krm_bytes(input: &[u8]) -> (Output, Value) {
    let dir = tempdir();
    let out = run_krm(input, &seeded(), dir.path());
    out.assert_no_panic();
    let list = parse(&out.stdout);
    (out, list)
}

fn assert_ok(out: &Output, list: &Value) {
    assert_eq!(out.code, 0, "results:\n{}", describe_results(list));
    assert!(errors(list).is_empty(), "{}", describe_results(list));
}

/// Exit 1, and the output items are the input items unchanged.
fn assert_refused(out: &Output, list: &Value, input: &[Value]) {
    assert_eq!(
        out.code,
        1,
        "expected exit 1; results:\n{}",
        describe_results(list)
    );
    assert_eq!(
        items(list),
        input,
        "a failed run must return the input unchanged"
    );
}

/// The standard config in namespace `auth` with SESSION_SECRET and JWT_SECRET, plus `extra`.
fn cfg(extra: Value) -> Value {
    let mut spec = json!({"secrets": {"SESSION_SECRET": {}, "JWT_SECRET": {}}});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    config(spec)
}

fn authelia(image: &str) -> Value {
    json!({"name": "authelia", "image": image})
}

/// The path from an object of `kind` to its pod template.
fn template_steps(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[],
        "CronJob" => &["spec", "jobTemplate", "spec", "template"],
        _ => &["spec", "template"],
    }
}

/// A workload of `kind` whose pod spec is `pod`.
fn workload(kind: &str, name: &str, namespace: &str, pod: Value) -> Value {
    let api_version = match kind {
        "Job" | "CronJob" => "batch/v1",
        "Pod" => "v1",
        _ => "apps/v1",
    };
    let mut node = json!({"spec": pod});
    for step in template_steps(kind).iter().rev() {
        node = json!({ *step: node });
    }
    let mut metadata = json!({"name": name});
    if !namespace.is_empty() {
        metadata["namespace"] = json!(namespace);
    }
    let mut out = json!({"apiVersion": api_version, "kind": kind, "metadata": metadata});
    for (k, v) in node.as_object().unwrap() {
        out[k] = v.clone();
    }
    if kind == "CronJob" {
        out["spec"]["schedule"] = json!("0 3 * * *");
    }
    out
}

fn pod(item: &Value) -> &Value {
    let mut node = item;
    for step in template_steps(item["kind"].as_str().unwrap()) {
        node = &node[*step];
    }
    &node["spec"]
}

fn find_container<'a>(item: &'a Value, list: &str, name: &str) -> &'a Value {
    pod(item)[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}"))
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {list} entry {name}"))
}

fn env_names(container: &Value) -> Vec<String> {
    container["env"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|v| v["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn is_wired(container: &Value) -> bool {
    let names = env_names(container);
    names.contains(&SESSION.to_string())
        && container["volumeMounts"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["name"] == "authelia-secrets"))
}

fn output_item(list: &Value, kind: &str, name: &str, namespace: &str) -> Value {
    items(list)
        .into_iter()
        .find(|i| {
            i["kind"] == kind
                && i["metadata"]["name"] == name
                && i["metadata"]["namespace"].as_str().unwrap_or("") == namespace
        })
        .unwrap_or_else(|| panic!("no {kind} {name} in {namespace:?}"))
}

const KINDS: [&str; 7] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
];

// ---------------------------------------------------------------------------------------------
// Targets and selection

#[test]
fn every_target_kind_is_patched_at_its_pod_template() {
    let inputs: Vec<Value> = KINDS
        .iter()
        .map(|k| {
            workload(
                k,
                &k.to_lowercase(),
                "auth",
                json!({"containers": [authelia("authelia/authelia:4.39")]}),
            )
        })
        .collect();
    let (out, list) = krm(&inputs, &cfg(json!({})));
    assert_ok(&out, &list);
    for kind in KINDS {
        let item = output_item(&list, kind, &kind.to_lowercase(), "auth");
        let spec = pod(&item);
        assert!(
            is_wired(find_container(&item, "containers", "authelia")),
            "{kind}: {item}"
        );
        assert_eq!(spec["enableServiceLinks"], json!(false), "{kind}");
        assert_eq!(
            spec["volumes"][0]["name"],
            json!("authelia-secrets"),
            "{kind}"
        );
        // The checksum annotation sits on the pod template (a Pod: on the Pod itself).
        let template = match kind {
            "Pod" => item.clone(),
            "CronJob" => item["spec"]["jobTemplate"]["spec"]["template"].clone(),
            _ => item["spec"]["template"].clone(),
        };
        assert!(
            template["metadata"]["annotations"]["authelia-secrets.dev/secret-checksum"].is_string(),
            "{kind}"
        );
    }
    // Nothing outside the pod template changed (the CronJob's schedule, for one).
    let cron = output_item(&list, "CronJob", "cronjob", "auth");
    assert_eq!(cron["spec"]["schedule"], json!("0 3 * * *"));
}

#[test]
fn default_selection_wires_every_workload_with_an_authelia_container_and_nothing_else() {
    let a = workload(
        "Deployment",
        "portal",
        "auth",
        json!({"containers": [{"name": "sidecar", "image": "nginx"}, authelia("authelia/authelia:4.39")]}),
    );
    let b = workload(
        "StatefulSet",
        "other",
        "auth",
        json!({"containers": [{"name": "app", "image": "authelia/authelia:4.39"}]}),
    );
    let (out, list) = krm(&[a, b.clone()], &cfg(json!({})));
    assert_ok(&out, &list);
    let a = output_item(&list, "Deployment", "portal", "auth");
    assert!(is_wired(find_container(&a, "containers", "authelia")));
    assert_eq!(
        find_container(&a, "containers", "sidecar"),
        &json!({"name": "sidecar", "image": "nginx"}),
        "the other container is untouched"
    );
    assert_eq!(
        output_item(&list, "StatefulSet", "other", "auth"),
        b,
        "a workload without a container named authelia is untouched"
    );
}

#[test]
fn explicit_selection_by_kind_name_namespace_and_container() {
    let pod_spec = json!({"containers": [{"name": "main", "image": "authelia/authelia:4.39"}]});
    let inputs = vec![
        workload("Deployment", "app", "auth", pod_spec.clone()),
        workload("StatefulSet", "app", "auth", pod_spec.clone()),
        workload("StatefulSet", "app", "", pod_spec.clone()),
        workload("StatefulSet", "other", "auth", pod_spec.clone()),
    ];
    let fc = cfg(json!({"workloads": [
        {"kind": "StatefulSet", "name": "app", "namespace": "auth", "container": "main"},
    ]}));
    let (out, list) = krm(&inputs, &fc);
    assert_ok(&out, &list);
    let sts = output_item(&list, "StatefulSet", "app", "auth");
    assert!(is_wired(find_container(&sts, "containers", "main")));
    assert_eq!(output_item(&list, "Deployment", "app", "auth"), inputs[0]);
    assert_eq!(output_item(&list, "StatefulSet", "app", ""), inputs[2]);
    assert_eq!(
        output_item(&list, "StatefulSet", "other", "auth"),
        inputs[3]
    );

    // Without kind and namespace: every kind of that name in the Secret's namespace (or in none).
    let fc = cfg(json!({"workloads": [{"name": "app", "container": "main"}]}));
    let (out, list) = krm(&inputs, &fc);
    assert_ok(&out, &list);
    for (kind, ns) in [
        ("Deployment", "auth"),
        ("StatefulSet", "auth"),
        ("StatefulSet", ""),
    ] {
        let item = output_item(&list, kind, "app", ns);
        assert!(
            is_wired(find_container(&item, "containers", "main")),
            "{kind} {ns:?}"
        );
    }
}

#[test]
fn init_containers_are_patched_only_when_listed() {
    let pod_spec = json!({
        "initContainers": [{"name": "migrate", "image": "authelia/authelia:4.39"}],
        "containers": [authelia("authelia/authelia:4.39")],
    });
    let input = workload("Deployment", "authelia", "auth", pod_spec);
    let (out, list) = krm(std::slice::from_ref(&input), &cfg(json!({})));
    assert_ok(&out, &list);
    let dep = output_item(&list, "Deployment", "authelia", "auth");
    assert_eq!(
        find_container(&dep, "initContainers", "migrate"),
        &json!({"name": "migrate", "image": "authelia/authelia:4.39"})
    );

    let fc = cfg(json!({"workloads": [{"name": "authelia", "initContainers": ["migrate"]}]}));
    let (out, list) = krm(&[input], &fc);
    assert_ok(&out, &list);
    let dep = output_item(&list, "Deployment", "authelia", "auth");
    assert!(is_wired(find_container(&dep, "initContainers", "migrate")));
    assert!(is_wired(find_container(&dep, "containers", "authelia")));
}

#[test]
fn a_listed_container_that_does_not_exist_is_an_error() {
    let input = workload(
        "Deployment",
        "authelia",
        "auth",
        json!({"containers": [authelia("authelia/authelia:4.39")]}),
    );
    let fc = cfg(json!({"workloads": [{"name": "authelia", "initContainers": ["nope"]}]}));
    let (out, list) = krm(std::slice::from_ref(&input), &fc);
    assert_refused(&out, &list, &[input]);
    error_at(&list, "spec.template.spec.initContainers[name=nope]");
}

#[test]
fn no_target_with_the_default_selection_is_a_warning_not_silence() {
    let input = workload(
        "Deployment",
        "web",
        "auth",
        json!({"containers": [{"name": "web", "image": "nginx"}]}),
    );
    let (out, list) = krm(std::slice::from_ref(&input), &cfg(json!({})));
    assert_ok(&out, &list);
    let w = warning_at(&list, "spec.workloads");
    assert!(
        message(&w).contains("no workload has a container named"),
        "{w}"
    );
    assert_eq!(output_item(&list, "Deployment", "web", "auth"), input);
    assert!(find(&items(&list), "Secret", "authelia").is_some());
}

#[test]
fn an_explicit_entry_that_matches_nothing_is_an_error() {
    let input = workload(
        "Deployment",
        "authelia",
        "auth",
        json!({"containers": [authelia("authelia/authelia:4.39")]}),
    );
    let fc = cfg(json!({"workloads": [{"kind": "StatefulSet", "name": "authelia"}]}));
    let (out, list) = krm(std::slice::from_ref(&input), &fc);
    assert_refused(&out, &list, &[input]);
    let e = error_at(&list, "spec.workloads[0]");
    assert!(
        message(&e).contains("no StatefulSet named \"authelia\""),
        "{e}"
    );
}

#[test]
fn generator_mode_exempts_unmatched_explicit_entries() {
    let fc = cfg(json!({"workloads": [{"kind": "StatefulSet", "name": "authelia"}]}));
    // kustomize's KRM generator form: the config alone, marked local-config.
    let mut local = fc.clone();
    local["metadata"]["annotations"] = json!({"config.kubernetes.io/local-config": "true"});
    let (out, list) = krm_bytes(&resource_list(std::slice::from_ref(&local), Some(&local)));
    assert_ok(&out, &list);
    assert!(find(&items(&list), "Secret", "authelia").is_some());
    assert!(
        warnings(&list)
            .iter()
            .all(|w| field_path(w) != "spec.workloads")
    );

    // The legacy plugin listed under generators: empty stdin.
    let dir = tempdir();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, serde_json::to_vec(&fc).unwrap()).unwrap();
    let out = run(&[path.to_str().unwrap()], b"", &seeded(), dir.path());
    out.assert_no_panic();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(parse_stream(&out.stdout).len(), 1);
}

#[test]
fn an_empty_workloads_list_wires_nothing_without_a_warning() {
    let input = workload(
        "Deployment",
        "authelia",
        "auth",
        json!({"containers": [authelia("authelia/authelia:4.39")]}),
    );
    let (out, list) = krm(std::slice::from_ref(&input), &cfg(json!({"workloads": []})));
    assert_ok(&out, &list);
    assert_eq!(output_item(&list, "Deployment", "authelia", "auth"), input);
    assert!(find(&items(&list), "Secret", "authelia").is_some());
    assert!(warnings(&list).is_empty(), "{}", describe_results(&list));
}

// ---------------------------------------------------------------------------------------------
// Namespaces

fn app(namespace: &str) -> Value {
    workload(
        "Deployment",
        "app",
        namespace,
        json!({"containers": [authelia("authelia/authelia:4.39")]}),
    )
}

#[test]
fn a_workload_in_another_namespace_than_the_secret_is_never_patched() {
    let inputs = [app("auth"), app("other")];
    for extra in [json!({"workloads": [{"name": "app"}]}), json!({})] {
        let (out, list) = krm(&inputs, &cfg(extra.clone()));
        assert_ok(&out, &list);
        assert!(
            is_wired(find_container(
                &output_item(&list, "Deployment", "app", "auth"),
                "containers",
                "authelia"
            )),
            "{extra}"
        );
        assert_eq!(
            output_item(&list, "Deployment", "app", "other"),
            inputs[1],
            "{extra}"
        );
    }
}

#[test]
fn an_explicit_entry_matching_only_another_namespace_is_an_error_naming_the_secrets() {
    let input = app("other");
    let (out, list) = krm(
        std::slice::from_ref(&input),
        &cfg(json!({"workloads": [{"name": "app"}]})),
    );
    assert_refused(&out, &list, std::slice::from_ref(&input));
    let e = error_at(&list, "spec.workloads[0]");
    assert!(
        message(&e).contains("the Secret lives in namespace \"auth\"")
            && message(&e).contains("Deployment/app in namespace \"other\""),
        "{e}"
    );

    let (out, list) = krm(
        std::slice::from_ref(&input),
        &cfg(json!({"workloads": [{"name": "app", "namespace": "other"}]})),
    );
    assert_refused(&out, &list, &[input]);
    let e = error_at(&list, "spec.workloads[0].namespace");
    assert!(message(&e).contains("lives in namespace \"auth\""), "{e}");
}

#[test]
fn default_selection_names_what_it_skipped_when_nothing_is_left() {
    let input = app("other");
    let (out, list) = krm(std::slice::from_ref(&input), &cfg(json!({})));
    assert_ok(&out, &list);
    let w = warning_at(&list, "spec.workloads");
    assert!(
        message(&w).contains("skipped Deployment/app in namespace \"other\""),
        "{w}"
    );
    assert_eq!(output_item(&list, "Deployment", "app", "other"), input);
}

#[test]
fn a_secret_without_namespace_beside_a_namespaced_target_warns() {
    let mut fc = cfg(json!({}));
    fc["metadata"].as_object_mut().unwrap().remove("namespace");
    let (out, list) = krm(&[app("prod")], &fc);
    assert_ok(&out, &list);
    let w = warning_at(&list, "metadata.namespace");
    assert!(
        message(&w).contains("Deployment/app is in namespace \"prod\"")
            && message(&w).contains("set metadata.namespace: prod"),
        "{w}"
    );
    // A target without a namespace is fine.
    let (out, list) = krm(&[app("")], &fc);
    assert_ok(&out, &list);
    assert!(warnings(&list).is_empty(), "{}", describe_results(&list));
}

// ---------------------------------------------------------------------------------------------
// The Authelia version

fn one(image: &str) -> Vec<Value> {
    vec![workload(
        "Deployment",
        "authelia",
        "auth",
        json!({"containers": [authelia(image)]}),
    )]
}

fn wired_names(list: &Value) -> Vec<String> {
    env_names(find_container(
        &output_item(list, "Deployment", "authelia", "auth"),
        "containers",
        "authelia",
    ))
}

/// Runs AutheliaSecretsCheck (no version declared) over a run's output items.
fn check_output(list: &Value) -> Value {
    let check = json!({
        "apiVersion": "authelia-secrets.dev/v1alpha1",
        "kind": "AutheliaSecretsCheck",
        "metadata": {"name": "check"},
    });
    let (out, checked) = krm(&items(list), &check);
    assert_ok(&out, &checked);
    checked
}

#[test]
fn without_a_declared_version_the_image_tag_decides_the_names() {
    for (image, jwt) in [
        ("authelia/authelia:4.37.5", JWT_437),
        ("ghcr.io/authelia/authelia:v4.38.0", JWT_438),
        ("docker.io/authelia/authelia:4.39", JWT_438),
        (
            "registry.example.com:5000/mirror/authelia/authelia:4.37.5@sha256:0123abcd",
            JWT_437,
        ),
        // Unknown tags: the default, 4.39.
        ("authelia/authelia:latest", JWT_438),
        ("authelia/authelia@sha256:0123abcd", JWT_438),
    ] {
        let (out, list) = krm(&one(image), &cfg(json!({})));
        assert_ok(&out, &list);
        let names = wired_names(&list);
        assert!(names.contains(&jwt.to_string()), "{image}: {names:?}");
        let other = if jwt == JWT_437 { JWT_438 } else { JWT_437 };
        assert!(!names.contains(&other.to_string()), "{image}: {names:?}");
        assert!(
            warnings(&list).is_empty(),
            "{image}: {}",
            describe_results(&list)
        );
        // What it wrote passes the check, which reads the same tag.
        check_output(&list);
    }
}

#[test]
fn targets_whose_tags_disagree_need_a_declared_version() {
    let mut inputs = one("authelia/authelia:4.37.5");
    inputs.push(workload(
        "StatefulSet",
        "other",
        "auth",
        json!({"containers": [authelia("authelia/authelia:4.39.2")]}),
    ));
    let (out, list) = krm(&inputs, &cfg(json!({})));
    assert_refused(&out, &list, &inputs);
    let e = error_at(&list, "spec.autheliaVersion");
    assert!(message(&e).contains("set spec.autheliaVersion"), "{e}");

    let (out, list) = krm(&inputs, &cfg(json!({"autheliaVersion": "4.39"})));
    assert_ok(&out, &list);
    let w = warning_at(&list, "spec.template.spec.containers[name=authelia].image");
    assert!(message(&w).contains("says Authelia 4.37"), "{w}");
}

#[test]
fn a_declared_version_wins_and_a_disagreeing_tag_warns_at_the_image() {
    let (out, list) = krm(
        &one("authelia/authelia:4.37.5"),
        &cfg(json!({"autheliaVersion": "4.39"})),
    );
    assert_ok(&out, &list);
    assert!(wired_names(&list).contains(&JWT_438.to_string()));
    let w = warning_at(&list, "spec.template.spec.containers[name=authelia].image");
    assert_eq!(w["resourceRef"]["kind"], json!("Deployment"));
    assert!(message(&w).contains("spec.autheliaVersion is 4.39"), "{w}");
    assert_eq!(
        warnings(&list).len(),
        1,
        "the self-check repeats nothing: {}",
        describe_results(&list)
    );
}

#[test]
fn an_image_of_an_unknown_version_warns_and_gets_the_default_names() {
    let (out, list) = krm(&one("authelia/authelia:4.36.9"), &cfg(json!({})));
    assert_ok(&out, &list);
    assert!(wired_names(&list).contains(&JWT_438.to_string()));
    let w = warning_at(&list, "spec.template.spec.containers[name=authelia].image");
    assert!(message(&w).contains("\"4.36.9\""), "{w}");
}

#[test]
fn upgrading_the_image_renames_the_variables_written_before() {
    let (out, first) = krm(&one("authelia/authelia:4.37.5"), &cfg(json!({})));
    assert_ok(&out, &first);
    let mut again = items(&first);
    for item in &mut again {
        if item["kind"] == "Deployment" {
            item["spec"]["template"]["spec"]["containers"][0]["image"] =
                json!("authelia/authelia:4.39.1");
        }
    }
    let (out, second) = krm(&again, &cfg(json!({})));
    assert_ok(&out, &second);
    let names = wired_names(&second);
    assert!(names.contains(&JWT_438.to_string()), "{names:?}");
    assert!(!names.contains(&JWT_437.to_string()), "{names:?}");
}

#[test]
fn a_deprecated_secret_is_reported_once() {
    let fc = cfg(json!({"autheliaVersion": "4.39", "secrets": {"OIDC_ISSUER_PRIVATE_KEY": {}}}));
    let (out, list) = krm(&one("authelia/authelia:4.39"), &fc);
    assert_ok(&out, &list);
    let deprecations: Vec<Value> = warnings(&list)
        .into_iter()
        .filter(|w| message(w).contains("deprecated"))
        .collect();
    assert_eq!(deprecations.len(), 1, "{}", describe_results(&list));
    assert_eq!(
        field_path(&deprecations[0]),
        "spec.secrets.OIDC_ISSUER_PRIVATE_KEY"
    );
    assert!(message(&deprecations[0]).contains("mountOnly"));
}

// ---------------------------------------------------------------------------------------------
// Conflicts: errors with the container and field path; the input comes back unchanged

const C: &str = "spec.template.spec.containers[name=authelia]";

fn with_container(container: Value, volumes: Value) -> Vec<Value> {
    vec![workload(
        "Deployment",
        "authelia",
        "auth",
        json!({"containers": [container], "volumes": volumes}),
    )]
}

fn refused_at(inputs: &[Value], fc: &Value, path: &str) -> String {
    let (out, list) = krm(inputs, fc);
    assert_refused(&out, &list, inputs);
    let e = error_at(&list, path);
    assert_eq!(e["resourceRef"]["kind"], json!("Deployment"), "{e}");
    message(&e).to_string()
}

#[test]
fn the_same_variable_set_to_another_value_is_a_conflict() {
    let inputs = with_container(
        json!({"name": "authelia", "image": "authelia/authelia:4.39",
               "env": [{"name": SESSION, "value": "/elsewhere/SESSION_SECRET"}]}),
        json!([]),
    );
    let m = refused_at(
        &inputs,
        &cfg(json!({})),
        &format!("{C}.env[name={SESSION}]"),
    );
    assert!(m.contains("already set to another value"), "{m}");

    let inputs = with_container(
        json!({"name": "authelia", "image": "authelia/authelia:4.39",
               "env": [{"name": SESSION, "valueFrom": {"configMapKeyRef": {"name": "x", "key": "y"}}}]}),
        json!([]),
    );
    let m = refused_at(
        &inputs,
        &cfg(json!({})),
        &format!("{C}.env[name={SESSION}]"),
    );
    assert!(m.contains("valueFrom"), "{m}");
}

#[test]
fn the_plain_variable_beside_our_file_variable_is_a_conflict() {
    let inputs = with_container(
        json!({"name": "authelia", "image": "authelia/authelia:4.39",
               "env": [{"name": "AUTHELIA_SESSION_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}),
        json!([]),
    );
    let m = refused_at(
        &inputs,
        &cfg(json!({})),
        &format!("{C}.env[name=AUTHELIA_SESSION_SECRET]"),
    );
    assert!(m.contains("Authelia refuses"), "{m}");
}

#[test]
fn a_plain_variable_from_env_from_beside_our_file_variable_is_a_conflict() {
    let mut inputs = with_container(
        json!({"name": "authelia", "image": "authelia/authelia:4.39",
               "envFrom": [{"configMapRef": {"name": "other"}},
                           {"prefix": "AUTHELIA_", "configMapRef": {"name": "settings"}}]}),
        json!([]),
    );
    inputs.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "auth"},
        "data": {"SESSION_SECRET": "in-a-configmap", "LOG_LEVEL": "debug"}}));
    let m = refused_at(&inputs, &cfg(json!({})), &format!("{C}.envFrom[1]"));
    assert!(
        m.contains("ConfigMap \"settings\" supplies AUTHELIA_SESSION_SECRET"),
        "{m}"
    );

    // Without the prefix the key is SESSION_SECRET, which Authelia does not read: no conflict.
    inputs[0]["spec"]["template"]["spec"]["containers"][0]["envFrom"][1]
        .as_object_mut()
        .unwrap()
        .remove("prefix");
    let (out, list) = krm(&inputs, &cfg(json!({})));
    assert_ok(&out, &list);
}

#[test]
fn an_old_name_of_a_wired_secret_is_a_conflict() {
    // Authelia 4.38+ ignores AUTHELIA_JWT_SECRET_FILE when the new name is set: wiring ours
    // beside the user's would silently replace the JWT secret they configured.
    let inputs = with_container(
        json!({"name": "authelia", "image": "authelia/authelia:4.39",
               "env": [{"name": JWT_437, "value": "/their/secrets/jwt"}]}),
        json!([]),
    );
    let m = refused_at(
        &inputs,
        &cfg(json!({})),
        &format!("{C}.env[name={JWT_437}]"),
    );
    assert!(m.contains("another name of the same secret"), "{m}");
}

#[test]
fn a_foreign_volume_under_our_name_is_a_conflict() {
    let inputs = with_container(
        authelia("authelia/authelia:4.39"),
        json!([{"name": "authelia-secrets", "emptyDir": {}}]),
    );
    let m = refused_at(
        &inputs,
        &cfg(json!({})),
        "spec.template.spec.volumes[name=authelia-secrets]",
    );
    assert!(m.contains("does not mount Secret"), "{m}");
}

#[test]
fn unknown_settings_in_our_volume_are_reported_not_dropped() {
    let inputs = with_container(
        authelia("authelia/authelia:4.39"),
        json!([{"name": "authelia-secrets", "secret": {"secretName": "authelia", "optinal": true}}]),
    );
    let m = refused_at(
        &inputs,
        &cfg(json!({})),
        "spec.template.spec.volumes[name=authelia-secrets].secret.optinal",
    );
    assert!(m.contains("optional"), "{m}");
}

#[test]
fn a_mount_under_our_name_with_other_settings_is_a_conflict() {
    let inputs = with_container(
        json!({"name": "authelia", "image": "authelia/authelia:4.39",
               "volumeMounts": [{"name": "authelia-secrets", "mountPath": "/app/secrets", "subPath": "x"}]}),
        json!([]),
    );
    let m = refused_at(
        &inputs,
        &cfg(json!({})),
        &format!("{C}.volumeMounts[name=authelia-secrets]"),
    );
    assert!(m.contains("other settings"), "{m}");
}

#[test]
fn another_volume_at_our_mount_path_is_a_conflict() {
    let inputs = with_container(
        json!({"name": "authelia", "image": "authelia/authelia:4.39",
               "volumeMounts": [{"name": "data", "mountPath": "/app/secrets/"}]}),
        json!([{"name": "data", "emptyDir": {}}]),
    );
    let m = refused_at(
        &inputs,
        &cfg(json!({})),
        &format!("{C}.volumeMounts[name=data]"),
    );
    assert!(m.contains("already mounted at /app/secrets"), "{m}");
}

// ---------------------------------------------------------------------------------------------
// Foreign entries, our own earlier output, idempotency

fn busy_deployment() -> Value {
    workload(
        "Deployment",
        "authelia",
        "auth",
        json!({
            "containers": [{
                "name": "authelia",
                "image": "authelia/authelia:4.39",
                "env": [{"name": "TZ", "value": "Etc/UTC"}, {"name": "X_AUTHELIA_CONFIG_FILTERS", "value": "template"}],
                "volumeMounts": [{"name": "config", "mountPath": "/config"}, {"name": "data", "mountPath": "/data"}],
            }],
            "volumes": [{"name": "config", "configMap": {"name": "authelia"}}, {"name": "data", "emptyDir": {}}],
        }),
    )
}

fn names_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn foreign_env_mounts_and_volumes_keep_their_order() {
    let (out, list) = krm(&[busy_deployment()], &cfg(json!({})));
    assert_ok(&out, &list);
    let dep = output_item(&list, "Deployment", "authelia", "auth");
    let c = find_container(&dep, "containers", "authelia");
    let env = env_names(c);
    assert_eq!(env[..2], ["TZ", "X_AUTHELIA_CONFIG_FILTERS"]);
    assert_eq!(
        names_of(&c["volumeMounts"]),
        ["config", "data", "authelia-secrets"]
    );
    assert_eq!(
        names_of(&pod(&dep)["volumes"]),
        ["config", "data", "authelia-secrets"]
    );

    // Foreign entries added after ours stay after ours on the next run.
    let mut next = items(&list);
    for item in &mut next {
        if item["kind"] == "Deployment" {
            let c = &mut item["spec"]["template"]["spec"]["containers"][0];
            c["env"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "LATE", "value": "1"}));
            c["volumeMounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "late", "mountPath": "/late"}));
            item["spec"]["template"]["spec"]["volumes"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "late", "emptyDir": {}}));
        }
    }
    let (out, again) = krm(&next, &cfg(json!({})));
    assert_ok(&out, &again);
    let before = next.iter().find(|i| i["kind"] == "Deployment").unwrap();
    assert_eq!(
        &output_item(&again, "Deployment", "authelia", "auth"),
        before,
        "a second run moves nothing"
    );
}

#[test]
fn a_second_run_on_its_own_output_is_byte_identical() {
    let mut inputs = vec![busy_deployment()];
    for kind in ["StatefulSet", "CronJob", "Pod"] {
        inputs.push(workload(
            kind,
            "authelia",
            "auth",
            json!({"initContainers": [{"name": "init", "image": "authelia/authelia:4.39"}],
                   "containers": [authelia("authelia/authelia:4.39")]}),
        ));
    }
    let fc = cfg(json!({
        "workloads": [
            {"kind": "Deployment", "name": "authelia"},
            {"kind": "StatefulSet", "name": "authelia", "initContainers": ["init"]},
            {"kind": "CronJob", "name": "authelia"},
            {"kind": "Pod", "name": "authelia"},
        ],
        "secrets": {"SESSION_SECRET": {}, "JWT_SECRET": {}, "STORAGE_ENCRYPTION_KEY": {},
                    "OIDC_HMAC_SECRET": {}, "TEMPLATE_KEY": {"mountOnly": true}},
    }));
    let (out, first) = krm(&inputs, &fc);
    assert_ok(&out, &first);
    assert!(results(&first).is_empty(), "{}", describe_results(&first));
    let (out2, second) = krm_bytes(&out.stdout);
    assert_ok(&out2, &second);
    assert!(
        out.stdout == out2.stdout,
        "the second run changed its own output:\n--- first\n{}\n--- second\n{}",
        out.stdout_text(),
        out2.stdout_text()
    );
}

#[test]
fn a_users_optional_in_our_volume_is_kept() {
    let (out, first) = krm(&one("authelia/authelia:4.39"), &cfg(json!({})));
    assert_ok(&out, &first);
    let mut next = items(&first);
    for item in &mut next {
        if item["kind"] == "Deployment" {
            item["spec"]["template"]["spec"]["volumes"][0]["secret"]["optional"] = json!(false);
        }
    }
    let (out, second) = krm(&next, &cfg(json!({})));
    assert_ok(&out, &second);
    let dep = output_item(&second, "Deployment", "authelia", "auth");
    assert_eq!(pod(&dep)["volumes"][0]["secret"]["optional"], json!(false));
    assert_eq!(
        &dep,
        next.iter().find(|i| i["kind"] == "Deployment").unwrap(),
        "nothing else moved"
    );
}

#[test]
fn wiring_a_pod_whose_user_cannot_read_the_files_is_refused_with_the_fix() {
    // Our volume has defaultMode 0400: root only, unless the pod sets an fsGroup.
    let pod_spec = json!({
        "securityContext": {"runAsUser": 8000, "runAsNonRoot": true},
        "containers": [authelia("ghcr.io/authelia/authelia:4.39.1")],
    });
    let input = [workload("Deployment", "authelia", "auth", pod_spec)];
    let (out, list) = krm(&input, &cfg(json!({})));
    assert_refused(&out, &list, &input);
    let e = error_at(
        &list,
        "spec.template.spec.containers[name=authelia].volumeMounts[name=authelia-secrets]",
    );
    assert!(message(&e).contains("fsGroup"), "{}", message(&e));

    let mut fixed = input[0].clone();
    fixed["spec"]["template"]["spec"]["securityContext"]["fsGroup"] = json!(8000);
    let (out, list) = krm(&[fixed], &cfg(json!({})));
    assert_ok(&out, &list);
}

#[test]
fn an_existing_secret_whose_data_is_not_a_mapping_is_refused() {
    let pod_spec = json!({"containers": [authelia("ghcr.io/authelia/authelia:4.39.1")]});
    let input = [
        workload("Deployment", "authelia", "auth", pod_spec),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "authelia", "namespace": "auth"}, "data": 5}),
    ];
    let (out, list) = krm(&input, &cfg(json!({})));
    assert_refused(&out, &list, &input);
    let e = error_at(&list, "data");
    assert_eq!(e["resourceRef"]["kind"], json!("Secret"));
}
