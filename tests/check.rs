//! `AutheliaSecretsCheck` through the real binary: each check once where it must report and
//! once where it must stay quiet.

mod common;

use authelia_secrets::keys::{KeyFormat, rsa_pem};
use common::*;
use serde_json::{Value, json};

const JWT_437: &str = "AUTHELIA_JWT_SECRET_FILE";
const JWT_438: &str = "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE";
const C: &str = "spec.template.spec.containers[name=authelia]";
const VALUE64: &str = "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6kM9nP2qR5tU8wX1zA4cD7fG0hJ3";

fn check(items: &[Value], spec: Value) -> (Output, Value) {
    let fc = json!({
        "apiVersion": "authelia-secrets.dev/v1alpha1",
        "kind": "AutheliaSecretsCheck",
        "metadata": {"name": "check"},
        "spec": spec,
    });
    let dir = tempdir();
    let out = run_krm(&resource_list(items, Some(&fc)), &[], dir.path());
    out.assert_no_panic();
    let list = parse(&out.stdout);
    assert_eq!(items_of(&list), items, "the check must not change anything");
    let want = if errors(&list).is_empty() { 0 } else { 1 };
    assert_eq!(out.code, want, "{}", describe_results(&list));
    (out, list)
}

fn items_of(list: &Value) -> Vec<Value> {
    items(list)
}

/// Results at `path` with `severity`.
fn at(list: &Value, severity: &str, path: &str) -> Vec<Value> {
    with_severity(list, severity)
        .into_iter()
        .filter(|r| field_path(r) == path)
        .collect()
}

/// The one result at `path` with `severity`.
fn one_at(list: &Value, severity: &str, path: &str) -> String {
    let found = at(list, severity, path);
    assert_eq!(
        found.len(),
        1,
        "expected one {severity} at {path}; results:\n{}",
        describe_results(list)
    );
    message(&found[0]).to_string()
}

fn assert_clean(list: &Value) {
    assert!(results(list).is_empty(), "{}", describe_results(list));
}

fn file_env(name: &str, key: &str) -> Value {
    json!({"name": name, "value": format!("/app/secrets/{key}")})
}

fn secret_mount() -> Value {
    json!({"name": "secrets", "mountPath": "/app/secrets", "readOnly": true})
}

fn secret_volume() -> Value {
    json!({"name": "secrets", "secret": {"secretName": "authelia"}})
}

/// A Deployment `authelia` in `auth` whose container `authelia` has `env`, our usual mount
/// and volume, and `image`.
fn dep_with(image: &str, env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "authelia", "namespace": "auth"},
        "spec": {"template": {"spec": {
            "enableServiceLinks": false,
            "containers": [{
                "name": "authelia",
                "image": image,
                "env": env,
                "volumeMounts": [secret_mount()],
            }],
            "volumes": [secret_volume()],
        }}},
    })
}

fn dep(env: Value) -> Value {
    dep_with("ghcr.io/authelia/authelia:4.39.1", env)
}

fn pod_mut(item: &mut Value) -> &mut Value {
    &mut item["spec"]["template"]["spec"]
}

/// Secret `authelia` in `auth` with base64 `data`.
fn secret(data: &[(&str, &[u8])]) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in data {
        map.insert(k.to_string(), json!(b64(v)));
    }
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": "authelia", "namespace": "auth"}, "data": map})
}

fn session_only() -> Vec<Value> {
    vec![
        dep(json!([file_env(
            "AUTHELIA_SESSION_SECRET_FILE",
            "SESSION_SECRET"
        )])),
        secret(&[("SESSION_SECRET", VALUE64.as_bytes())]),
    ]
}

// ---------------------------------------------------------------------------------------------
// Names

#[test]
fn an_unknown_file_variable_is_an_error_with_the_closest_name() {
    let bad = "AUTHELIA_REDIS_HIGH_AVAILABILITY_SENTINEL_PASSWORD_FILE";
    let good = "AUTHELIA_SESSION_REDIS_HIGH_AVAILABILITY_SENTINEL_PASSWORD_FILE";
    let items = [dep(json!([file_env(bad, "REDIS_SENTINEL_PASSWORD")]))];
    let (_, list) = check(&items, json!({}));
    let m = one_at(&list, "error", &format!("{C}.env[name={bad}]"));
    assert!(m.contains(&format!("did you mean {good}?")), "{m}");

    let (_, list) = check(
        &[dep(json!([file_env(good, "REDIS_SENTINEL_PASSWORD")]))],
        json!({}),
    );
    assert_clean(&list);
}

#[test]
fn allow_variables_accepts_names_the_catalog_does_not_know() {
    let name = "AUTHELIA_IDENTITY_PROVIDERS_OIDC_CUSTOM_TOKEN_FILE";
    let items = [dep(json!([file_env(name, "CUSTOM")]))];
    let (_, list) = check(&items, json!({}));
    one_at(&list, "error", &format!("{C}.env[name={name}]"));
    let (_, list) = check(&items, json!({"allowVariables": [name]}));
    assert_clean(&list);
}

#[test]
fn a_plain_near_miss_of_a_secret_name_is_an_error_other_plain_options_are_not() {
    let items = [dep(json!([
        {"name": "AUTHELIA_SESION_SECRET", "valueFrom": {"secretKeyRef": {"name": "x", "key": "y"}}},
    ]))];
    let (_, list) = check(&items, json!({}));
    let m = one_at(
        &list,
        "error",
        &format!("{C}.env[name=AUTHELIA_SESION_SECRET]"),
    );
    assert!(m.contains("did you mean AUTHELIA_SESSION_SECRET?"), "{m}");

    let items = [dep(json!([
        {"name": "AUTHELIA_LOG_LEVEL", "value": "debug"},
        {"name": "AUTHELIA_SESSION_DOMAIN", "value": "example.com"},
        {"name": "AUTHELIA_NOTIFIER_SMTP_USERNAME", "value": "mailer"},
        {"name": "AUTHELIA_SERVER_ADDRESS", "value": "tcp://:9091"},
    ]))];
    let (_, list) = check(&items, json!({}));
    assert_clean(&list);
}

#[test]
fn a_plain_variable_carrying_a_secret_in_the_manifest_is_a_warning() {
    let items = [dep(
        json!([{"name": "AUTHELIA_SESSION_SECRET", "value": VALUE64}]),
    )];
    let (out, list) = check(&items, json!({}));
    let m = one_at(
        &list,
        "warning",
        &format!("{C}.env[name=AUTHELIA_SESSION_SECRET].value"),
    );
    assert!(m.contains("AUTHELIA_SESSION_SECRET_FILE"), "{m}");
    assert!(
        !out.stderr.contains(VALUE64),
        "the value is not repeated on stderr"
    );
    assert!(
        !results(&list).iter().any(|r| message(r).contains(VALUE64)),
        "no result repeats the value"
    );

    let items = [dep(json!([
        {"name": "AUTHELIA_SESSION_SECRET", "valueFrom": {"secretKeyRef": {"name": "authelia", "key": "SESSION_SECRET"}}},
    ]))];
    let (_, list) = check(&items, json!({}));
    assert_clean(&list);
}

#[test]
fn deprecated_names_follow_the_declared_version() {
    let items = [
        dep(json!([file_env(JWT_437, "JWT_SECRET")])),
        secret(&[("JWT_SECRET", VALUE64.as_bytes())]),
    ];
    let (_, list) = check(&items, json!({"autheliaVersion": "4.39"}));
    let m = one_at(&list, "warning", &format!("{C}.env[name={JWT_437}]"));
    assert!(
        m.contains(&format!("deprecated since Authelia 4.38; use {JWT_438}")),
        "{m}"
    );

    // Under 4.37 it is the current name (the image tag disagreeing is its own warning).
    let (_, list) = check(&items, json!({"autheliaVersion": "4.37"}));
    assert!(at(&list, "warning", &format!("{C}.env[name={JWT_437}]")).is_empty());
    assert!(errors(&list).is_empty(), "{}", describe_results(&list));

    // And 4.37 does not read the new name.
    let items = [dep(json!([file_env(JWT_438, "JWT_SECRET")]))];
    let (_, list) = check(&items, json!({"autheliaVersion": "4.37"}));
    let m = one_at(&list, "error", &format!("{C}.env[name={JWT_438}]"));
    assert!(m.contains("does not read"), "{m}");
}

#[test]
fn deprecated_names_follow_the_image_tag_when_no_version_is_declared() {
    let env = json!([file_env(JWT_437, "JWT_SECRET")]);
    let (_, list) = check(
        &[dep_with("authelia/authelia:4.39.2", env.clone())],
        json!({}),
    );
    one_at(&list, "warning", &format!("{C}.env[name={JWT_437}]"));

    let (_, list) = check(
        &[dep_with("authelia/authelia:4.37.5", env.clone())],
        json!({}),
    );
    assert_clean(&list);

    // Any registry or mirror, whatever the container is called.
    let mut mirrored = dep_with(
        "registry.example.com:5000/mirror/authelia/authelia:4.39@sha256:0123",
        env,
    );
    pod_mut(&mut mirrored)["containers"][0]["name"] = json!("server");
    let (_, list) = check(&[mirrored], json!({}));
    one_at(
        &list,
        "warning",
        &format!("spec.template.spec.containers[name=server].env[name={JWT_437}]"),
    );
}

#[test]
fn a_declared_version_the_image_tag_disagrees_with_is_a_warning_at_the_image() {
    let items = [dep_with(
        "authelia/authelia:4.37.5",
        json!([file_env("AUTHELIA_SESSION_SECRET_FILE", "SESSION_SECRET")]),
    )];
    let (_, list) = check(&items, json!({"autheliaVersion": "4.39"}));
    let m = one_at(&list, "warning", &format!("{C}.image"));
    assert!(m.contains("says Authelia 4.37"), "{m}");
    let (_, list) = check(&items, json!({"autheliaVersion": "4.37"}));
    assert_clean(&list);
}

#[test]
fn the_deprecated_issuer_key_points_check_users_at_authelia_not_at_our_options() {
    let name = "AUTHELIA_IDENTITY_PROVIDERS_OIDC_ISSUER_PRIVATE_KEY_FILE";
    let (_, list) = check(
        &[dep(json!([file_env(name, "OIDC_ISSUER_PRIVATE_KEY")]))],
        json!({}),
    );
    let m = one_at(&list, "warning", &format!("{C}.env[name={name}]"));
    assert!(m.contains("identity_providers.oidc.jwks"), "{m}");
    assert!(!m.contains("mountOnly"), "{m}");
}

// ---------------------------------------------------------------------------------------------
// Files

#[test]
fn a_file_no_mount_covers_is_an_error() {
    let mut d = dep(json!([file_env(
        "AUTHELIA_SESSION_SECRET_FILE",
        "SESSION_SECRET"
    )]));
    pod_mut(&mut d)["containers"][0]["volumeMounts"][0]["mountPath"] = json!("/secrets");
    let (_, list) = check(&[d], json!({}));
    let m = one_at(
        &list,
        "error",
        &format!("{C}.env[name=AUTHELIA_SESSION_SECRET_FILE].value"),
    );
    assert!(
        m.contains("no volumeMount of this container covers it"),
        "{m}"
    );

    let (_, list) = check(&session_only(), json!({}));
    assert_clean(&list);
}

#[test]
fn dependent_variables_are_expanded_like_kubernetes_does() {
    let field = format!("{C}.env[name=AUTHELIA_SESSION_SECRET_FILE].value");
    let with_dir = |dir: &str, value: &str| {
        vec![dep(json!([
            {"name": "SECRETS_DIR", "value": dir},
            {"name": "AUTHELIA_SESSION_SECRET_FILE", "value": value},
        ]))]
    };
    let (_, list) = check(
        &with_dir("/app/secrets", "$(SECRETS_DIR)/SESSION_SECRET"),
        json!({}),
    );
    assert_clean(&list);

    // It really expands: another directory is reported, with the expanded path.
    let (_, list) = check(
        &with_dir("/elsewhere", "$(SECRETS_DIR)/SESSION_SECRET"),
        json!({}),
    );
    let m = one_at(&list, "error", &field);
    assert!(m.contains("points at /elsewhere/SESSION_SECRET"), "{m}");

    // `$$` escapes: the kubelet passes "$(SECRETS_DIR)/SESSION_SECRET" literally.
    let (_, list) = check(
        &with_dir("/app/secrets", "$$(SECRETS_DIR)/SESSION_SECRET"),
        json!({}),
    );
    one_at(&list, "error", &field);

    // A reference whose value the manifest does not hold: the path checks are skipped.
    let items = [dep(json!([
        {"name": "SECRETS_DIR", "valueFrom": {"configMapKeyRef": {"name": "paths", "key": "dir"}}},
        {"name": "AUTHELIA_SESSION_SECRET_FILE", "value": "$(SECRETS_DIR)/SESSION_SECRET"},
        {"name": "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE", "value": "$(UNDEFINED)/STORAGE_ENCRYPTION_KEY"},
    ]))];
    let (_, list) = check(&items, json!({}));
    assert_clean(&list);
}

#[test]
fn a_file_the_secret_volume_items_omit_is_an_error() {
    let mut d = dep(json!([file_env(
        "AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE",
        "LDAP_PASSWORD"
    )]));
    pod_mut(&mut d)["volumes"][0]["secret"]["items"] =
        json!([{"key": "SESSION_SECRET", "path": "SESSION_SECRET"}]);
    let field = format!("{C}.env[name=AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE].value");
    let (_, list) = check(std::slice::from_ref(&d), json!({}));
    let m = one_at(&list, "error", &field);
    assert!(m.contains("do not include \"LDAP_PASSWORD\""), "{m}");

    pod_mut(&mut d)["volumes"][0]["secret"]["items"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "LDAP_PASSWORD", "path": "LDAP_PASSWORD"}));
    let (_, list) = check(&[d], json!({}));
    assert_clean(&list);
}

#[test]
fn a_key_missing_from_the_secret_in_the_list_is_an_error() {
    let items = [
        dep(json!([file_env(
            "AUTHELIA_SESSION_SECRET_FILE",
            "SESSION_SECRET"
        )])),
        secret(&[("JWT_SECRET", VALUE64.as_bytes())]),
    ];
    let (_, list) = check(&items, json!({}));
    let m = one_at(
        &list,
        "error",
        &format!("{C}.env[name=AUTHELIA_SESSION_SECRET_FILE].value"),
    );
    assert!(
        m.contains("Secret \"authelia\" has no key \"SESSION_SECRET\""),
        "{m}"
    );

    let (_, list) = check(&session_only(), json!({}));
    assert_clean(&list);
}

fn projected(sources: Value) -> Value {
    json!({"name": "secrets", "projected": {"sources": sources}})
}

#[test]
fn projected_volumes_are_followed_to_their_secret_sources() {
    let field = format!("{C}.env[name=AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE].value");
    let env = json!([file_env(
        "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE",
        "STORAGE_ENCRYPTION_KEY"
    )]);
    let with = |sources: Value, secret_data: Option<&[u8]>| {
        let mut d = dep(env.clone());
        pod_mut(&mut d)["volumes"] = json!([projected(sources)]);
        let mut items = vec![d];
        if let Some(v) = secret_data {
            items.push(secret(&[("STORAGE_ENCRYPTION_KEY", v)]));
        }
        items
    };
    let listed = json!([
        {"configMap": {"name": "cfg", "items": [{"key": "a", "path": "a.yml"}]}},
        {"secret": {"name": "authelia", "items": [{"key": "STORAGE_ENCRYPTION_KEY", "path": "STORAGE_ENCRYPTION_KEY"}]}},
    ]);
    let (_, list) = check(&with(listed.clone(), Some(VALUE64.as_bytes())), json!({}));
    assert_clean(&list);

    // Items that omit the file.
    let omitted = json!([
        {"secret": {"name": "authelia", "items": [{"key": "SESSION_SECRET", "path": "SESSION_SECRET"}]}},
    ]);
    let (_, list) = check(&with(omitted, None), json!({}));
    let m = one_at(&list, "error", &field);
    assert!(
        m.contains("no source of projected volume \"secrets\""),
        "{m}"
    );

    // No items: the Secret in the list decides.
    let all_keys = json!([{"secret": {"name": "authelia"}}]);
    let mut items = with(all_keys.clone(), None);
    items.push(secret(&[("SESSION_SECRET", VALUE64.as_bytes())]));
    let (_, list) = check(&items, json!({}));
    let m = one_at(&list, "error", &field);
    assert!(m.contains("Secret \"authelia\" has no key"), "{m}");
    // ... and a Secret that is not in the list cannot be judged.
    let (_, list) = check(&with(all_keys, None), json!({}));
    assert_clean(&list);

    // The value behind a projected source is checked like any other.
    let (_, list) = check(&with(listed, Some(b"too-short")), json!({}));
    one_at(&list, "error", "data.STORAGE_ENCRYPTION_KEY");
}

#[test]
fn a_file_holding_another_secret_is_an_error() {
    let items = [dep(json!([
        file_env(
            "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE",
            "STORAGE_ENCRYPTION_KEY"
        ),
        file_env(
            "AUTHELIA_STORAGE_POSTGRES_PASSWORD_FILE",
            "STORAGE_ENCRYPTION_KEY"
        ),
    ]))];
    let (_, list) = check(&items, json!({}));
    let m = one_at(
        &list,
        "error",
        &format!("{C}.env[name=AUTHELIA_STORAGE_POSTGRES_PASSWORD_FILE].value"),
    );
    assert!(m.contains("which holds STORAGE_ENCRYPTION_KEY"), "{m}");

    let items = [dep(json!([
        file_env(
            "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE",
            "STORAGE_ENCRYPTION_KEY"
        ),
        file_env(
            "AUTHELIA_STORAGE_POSTGRES_PASSWORD_FILE",
            "STORAGE_PASSWORD"
        ),
    ]))];
    let (_, list) = check(&items, json!({}));
    assert_clean(&list);
}

#[test]
fn a_value_set_both_plain_and_as_a_file_is_an_error() {
    let plain = json!({"name": "AUTHELIA_SESSION_SECRET", "valueFrom": {"secretKeyRef": {"name": "a", "key": "b"}}});
    let items = [dep(json!([
        plain,
        file_env("AUTHELIA_SESSION_SECRET_FILE", "SESSION_SECRET")
    ]))];
    let (_, list) = check(&items, json!({}));
    let m = one_at(
        &list,
        "error",
        &format!("{C}.env[name=AUTHELIA_SESSION_SECRET]"),
    );
    assert!(m.contains("Authelia refuses a value defined twice"), "{m}");

    // The plain one coming from a ConfigMap in the list through envFrom.
    let mut d = dep(json!([file_env(
        "AUTHELIA_SESSION_SECRET_FILE",
        "SESSION_SECRET"
    )]));
    pod_mut(&mut d)["containers"][0]["envFrom"] =
        json!([{"prefix": "AUTHELIA_", "configMapRef": {"name": "settings"}}]);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "settings", "namespace": "auth"},
                    "data": {"SESSION_SECRET": "x", "LOG_LEVEL": "info"}});
    let (_, list) = check(&[d.clone(), cm.clone()], json!({}));
    let m = one_at(&list, "error", &format!("{C}.envFrom[0]"));
    assert!(
        m.contains("from ConfigMap \"settings\" through envFrom"),
        "{m}"
    );

    let mut cm_ok = cm;
    cm_ok["data"]
        .as_object_mut()
        .unwrap()
        .remove("SESSION_SECRET");
    let (_, list) = check(&[d, cm_ok], json!({}));
    assert_clean(&list);
}

#[test]
fn an_old_name_beside_its_replacement_is_a_warning() {
    let items = [dep(json!([
        file_env(JWT_437, "JWT_SECRET"),
        file_env(JWT_438, "JWT_SECRET"),
    ]))];
    let (_, list) = check(&items, json!({"autheliaVersion": "4.39"}));
    let found = at(&list, "warning", &format!("{C}.env[name={JWT_437}]"));
    assert!(
        found.iter().any(|r| message(r).contains("ignores")),
        "{}",
        describe_results(&list)
    );
    let (_, list) = check(
        &[dep(json!([file_env(JWT_438, "JWT_SECRET")]))],
        json!({"autheliaVersion": "4.39"}),
    );
    assert_clean(&list);
}

#[test]
fn service_links_beside_a_service_named_authelia_are_an_error() {
    let service = |ns: &str| {
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "authelia", "namespace": ns},
               "spec": {"ports": [{"port": 9091}]}})
    };
    let mut linked = session_only();
    pod_mut(&mut linked[0])
        .as_object_mut()
        .unwrap()
        .remove("enableServiceLinks");
    let mut items = linked.clone();
    items.push(service("auth"));
    let (_, list) = check(&items, json!({}));
    let m = one_at(&list, "error", "spec.template.spec.enableServiceLinks");
    assert!(m.contains("AUTHELIA_PORT"), "{m}");

    // Another namespace's Service injects nothing here; nor does one with links disabled.
    let mut items = linked;
    items.push(service("other"));
    let (_, list) = check(&items, json!({}));
    assert_clean(&list);
    let mut items = session_only();
    items.push(service("auth"));
    let (_, list) = check(&items, json!({}));
    assert_clean(&list);
}

// ---------------------------------------------------------------------------------------------
// Values of the Secret in the list

fn storage(value: &[u8]) -> Vec<Value> {
    vec![
        dep(json!([file_env(
            "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE",
            "STORAGE_ENCRYPTION_KEY"
        )])),
        secret(&[("STORAGE_ENCRYPTION_KEY", value)]),
    ]
}

#[test]
fn a_storage_key_under_20_characters_as_authelia_reads_it_is_an_error() {
    // 19 characters and a newline: 20 bytes, but Authelia strips trailing newlines.
    let (out, list) = check(&storage(b"0123456789abcdefghi\n"), json!({}));
    let m = one_at(&list, "error", "data.STORAGE_ENCRYPTION_KEY");
    assert!(m.contains("has 19 characters"), "{m}");
    assert!(!out.stderr.contains("0123456789abcdefghi"));

    let (_, list) = check(&storage(b"0123456789abcdefghij\n\n"), json!({}));
    assert_clean(&list);
}

#[test]
fn a_private_key_that_does_not_parse_or_is_a_small_rsa_key_is_an_error() {
    let env = json!([file_env(
        "AUTHELIA_STORAGE_POSTGRES_TLS_PRIVATE_KEY_FILE",
        "STORAGE_POSTGRES_TLS_PRIVATE_KEY"
    )]);
    let with_key = |pem: &[u8]| {
        vec![
            dep(env.clone()),
            secret(&[("STORAGE_POSTGRES_TLS_PRIVATE_KEY", pem)]),
        ]
    };
    let good = rsa_pem([7; 32], 2048, KeyFormat::Pkcs8).unwrap();
    let flattened = good.replace('\n', " ");
    let (_, list) = check(&with_key(flattened.as_bytes()), json!({}));
    let m = one_at(&list, "error", "data.STORAGE_POSTGRES_TLS_PRIVATE_KEY");
    assert!(m.contains("PEM"), "{m}");

    let small = rsa_pem([7; 32], 1024, KeyFormat::Pkcs1).unwrap();
    let (_, list) = check(&with_key(small.as_bytes()), json!({}));
    let m = one_at(&list, "error", "data.STORAGE_POSTGRES_TLS_PRIVATE_KEY");
    assert!(m.contains("1024"), "{m}");

    let (_, list) = check(&with_key(good.as_bytes()), json!({}));
    assert_clean(&list);
}

#[test]
fn a_value_that_is_not_base64_is_an_error() {
    let mut items = session_only();
    items[1]["data"]["SESSION_SECRET"] = json!("this is not base64!");
    let (_, list) = check(&items, json!({}));
    let m = one_at(&list, "error", "data.SESSION_SECRET");
    assert!(m.contains("not valid base64"), "{m}");

    let (_, list) = check(&session_only(), json!({}));
    assert_clean(&list);
}

#[test]
fn string_data_values_are_checked_too() {
    let mut items = storage(b"unused");
    items[1].as_object_mut().unwrap().remove("data");
    items[1]["stringData"] = json!({"STORAGE_ENCRYPTION_KEY": "short"});
    let (_, list) = check(&items, json!({}));
    one_at(&list, "error", "stringData.STORAGE_ENCRYPTION_KEY");
    items[1]["stringData"] = json!({"STORAGE_ENCRYPTION_KEY": VALUE64});
    let (_, list) = check(&items, json!({}));
    assert_clean(&list);
}

// ---------------------------------------------------------------------------------------------
// Which containers are checked

#[test]
fn init_containers_are_checked_when_they_run_authelia() {
    let bad =
        json!([{"name": "AUTHELIA_SESION_SECRET_FILE", "value": "/app/secrets/SESSION_SECRET"}]);
    for (image, expected) in [("authelia/authelia:4.39", 1), ("busybox:1.36", 0)] {
        let mut d = dep(json!([]));
        pod_mut(&mut d)["initContainers"] = json!([{
            "name": "migrate", "image": image, "env": bad, "volumeMounts": [secret_mount()],
        }]);
        let (_, list) = check(&[d], json!({}));
        let found = at(
            &list,
            "error",
            "spec.template.spec.initContainers[name=migrate].env[name=AUTHELIA_SESION_SECRET_FILE]",
        );
        assert_eq!(
            found.len(),
            expected,
            "{image}: {}",
            describe_results(&list)
        );
    }
}

#[test]
fn secret_files_a_non_root_user_cannot_read_are_errors() {
    let env = json!([file_env("AUTHELIA_SESSION_SECRET_FILE", "SESSION_SECRET")]);
    let mut item = dep(env);
    pod_mut(&mut item)["volumes"][0]["secret"]["defaultMode"] = json!(0o400);
    pod_mut(&mut item)["securityContext"] = json!({"runAsUser": 8000});
    let (_, list) = check(&[item.clone()], json!({}));
    let msg = one_at(&list, "error", &format!("{C}.volumeMounts[name=secrets]"));
    assert!(
        msg.contains("user 8000") && msg.contains("spec.template.spec.securityContext.fsGroup"),
        "{msg}"
    );

    // Quiet: an fsGroup, root, a container-level root user, Kubernetes' default mode (0644),
    // and no runAsUser at all (the image decides; nothing can be said).
    let mut with_group = item.clone();
    pod_mut(&mut with_group)["securityContext"]["fsGroup"] = json!(8000);
    let mut root = item.clone();
    pod_mut(&mut root)["securityContext"]["runAsUser"] = json!(0);
    let mut container_root = item.clone();
    pod_mut(&mut container_root)["containers"][0]["securityContext"] = json!({"runAsUser": 0});
    let mut default_mode = item.clone();
    pod_mut(&mut default_mode)["volumes"][0]["secret"]
        .as_object_mut()
        .unwrap()
        .remove("defaultMode");
    let mut unknown_user = item.clone();
    pod_mut(&mut unknown_user)
        .as_object_mut()
        .unwrap()
        .remove("securityContext");
    for quiet in [with_group, root, container_root, default_mode, unknown_user] {
        let (_, list) = check(&[quiet], json!({}));
        assert!(
            at(&list, "error", &format!("{C}.volumeMounts[name=secrets]")).is_empty(),
            "{}",
            describe_results(&list)
        );
    }
}
