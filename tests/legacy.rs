//! Legacy kustomize exec plugin mode: `authelia-secrets <config file>`, resources on stdin.

mod common;

use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};

const CONFIG: &str = "\
apiVersion: authelia-secrets.dev/v1alpha1
kind: AutheliaSecrets
metadata:
  name: authelia
  namespace: auth
spec:
  autheliaVersion: \"4.39\"
  secrets:
    JWT_SECRET: {}
    SESSION_SECRET: {}
    STORAGE_ENCRYPTION_KEY: {}
";

/// Resources as kustomize hands them to a legacy transformer (with its id annotations).
const RESOURCES: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: authelia
  namespace: auth
  annotations:
    kustomize.config.k8s.io/id: |
      kind: Service
      name: authelia
      namespace: auth
      version: v1
spec:
  selector:
    app: authelia
  ports:
  - name: http
    port: 80
    targetPort: http
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: authelia
  namespace: auth
  annotations:
    kustomize.config.k8s.io/id: |
      group: apps
      kind: Deployment
      name: authelia
      namespace: auth
      version: v1
    config.kubernetes.io/index: \"1\"
spec:
  replicas: 1
  selector:
    matchLabels:
      app: authelia
  template:
    metadata:
      labels:
        app: authelia
    spec:
      containers:
      - name: authelia
        image: ghcr.io/authelia/authelia:4.39
        env:
        - name: TZ
          value: Etc/UTC
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: authelia-config
  namespace: auth
  annotations:
    kustomize.config.k8s.io/id: |
      kind: ConfigMap
      name: authelia-config
      namespace: auth
      version: v1
data:
  configuration.yml: |
    server:
      address: tcp://0.0.0.0:9091
    log:
      level: info
  enabled: \"yes\"
";

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("authelia-secrets.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn legacy(config: &Path, stdin: &[u8], envs: &[(&str, &str)], cwd: &Path) -> Output {
    let out = run(&[config.to_str().unwrap()], stdin, envs, cwd);
    out.assert_no_panic();
    out
}

fn assert_failed_cleanly(out: &Output, context: &str) {
    assert_eq!(out.code, 1, "{context}: exit code; stderr:\n{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "{context}: stdout must be empty on error, got:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.stderr.contains("authelia-secrets"),
        "{context}: stderr: {:?}",
        out.stderr
    );
    assert!(
        out.stderr.contains("error"),
        "{context}: stderr: {:?}",
        out.stderr
    );
}

#[test]
fn generator_mode_emits_only_the_secret() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    for stdin in [&b""[..], b"\n", b"---\n", b"---\n---\n"] {
        let out = legacy(
            &config,
            stdin,
            &[("AUTHELIA_SECRETS_SEED", SEED)],
            dir.path(),
        );
        assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
        let docs = parse_stream(&out.stdout);
        assert_eq!(docs.len(), 1, "{}", out.stdout_text());
        let secret = &docs[0];
        assert_eq!(secret["apiVersion"], json!("v1"));
        assert_eq!(secret["kind"], json!("Secret"));
        assert_eq!(secret["type"], json!("Opaque"));
        assert_eq!(secret["metadata"]["name"], json!("authelia"));
        assert_eq!(secret["metadata"]["namespace"], json!("auth"));
        let ann = secret["metadata"]["annotations"].as_object().unwrap();
        assert!(!ann.contains_key("config.kubernetes.io/path"));
        assert!(!ann.contains_key("internal.config.kubernetes.io/path"));
        let values = secret_values(secret);
        assert_eq!(
            values.keys().collect::<Vec<_>>(),
            ["JWT_SECRET", "SESSION_SECRET", "STORAGE_ENCRYPTION_KEY"]
        );
        assert!(
            !out.stdout_text().starts_with("---"),
            "no leading separator"
        );
    }
}

#[test]
fn generator_and_krm_modes_derive_the_same_values() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let out = legacy(&config, b"", &[("AUTHELIA_SECRETS_SEED", SEED)], dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let legacy_values = secret_values(&parse_stream(&out.stdout)[0]);

    let fc = parse(CONFIG.as_bytes());
    let krm = run_krm(
        &resource_list(&[], Some(&fc)),
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        dir.path(),
    );
    assert_eq!(krm.code, 0, "{}", krm.stderr);
    let list = parse(&krm.stdout);
    let krm_values = secret_values(find(&items(&list), "Secret", "authelia").unwrap());
    assert_eq!(legacy_values, krm_values);
}

#[test]
fn transformer_mode_patches_the_deployment_and_keeps_everything_else() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let out = legacy(
        &config,
        RESOURCES.as_bytes(),
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        dir.path(),
    );
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let input = parse_stream(RESOURCES.as_bytes());
    let output = parse_stream(&out.stdout);
    assert_eq!(output.len(), input.len() + 1, "{}", out.stdout_text());

    // Untouched items: identical, in place, key order included.
    for i in [0, 2] {
        assert_eq!(output[i], input[i]);
        assert_eq!(
            serde_json::to_string(&output[i]).unwrap(),
            serde_json::to_string(&input[i]).unwrap()
        );
    }
    // The ConfigMap's "yes" stays a quoted string in the text.
    assert!(
        out.stdout_text().contains("enabled: \"yes\"")
            || out.stdout_text().contains("enabled: 'yes'")
    );

    // The Deployment: every id annotation untouched, the wiring added.
    let dep = &output[1];
    assert_eq!(dep["metadata"], input[1]["metadata"]);
    let env = container_env(dep, "authelia");
    assert_eq!(env[0], ("TZ".into(), "Etc/UTC".into()));
    for (name, key) in [
        (
            "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE",
            "JWT_SECRET",
        ),
        ("AUTHELIA_SESSION_SECRET_FILE", "SESSION_SECRET"),
        (
            "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE",
            "STORAGE_ENCRYPTION_KEY",
        ),
    ] {
        assert!(
            env.contains(&(name.into(), format!("/app/secrets/{key}"))),
            "{name}: {env:?}"
        );
    }
    let pod = &dep["spec"]["template"];
    assert_eq!(pod["spec"]["enableServiceLinks"], json!(false));
    assert_eq!(pod["spec"]["volumes"][0]["name"], json!("authelia-secrets"));
    assert_eq!(
        pod["spec"]["volumes"][0]["secret"]["secretName"],
        json!("authelia")
    );
    assert!(
        pod["metadata"]["annotations"]["authelia-secrets.dev/secret-checksum"]
            .as_str()
            .is_some_and(|c| c.starts_with("sha256:"))
    );
    // Everything in the Deployment besides what we own is unchanged.
    let mut stripped = dep.clone();
    let spec = stripped["spec"]["template"]["spec"]
        .as_object_mut()
        .unwrap();
    spec.remove("volumes");
    spec.remove("enableServiceLinks");
    let c = spec["containers"][0].as_object_mut().unwrap();
    c.remove("volumeMounts");
    c["env"] = json!([{"name": "TZ", "value": "Etc/UTC"}]);
    stripped["spec"]["template"]["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    assert_eq!(stripped, input[1]);

    // The Secret, last, without path annotations (the input had none).
    let secret = &output[3];
    assert_eq!(secret["kind"], json!("Secret"));
    let ann = secret["metadata"]["annotations"].as_object().unwrap();
    assert!(!ann.contains_key("config.kubernetes.io/path"), "{ann:?}");
    assert!(
        !ann.contains_key("internal.config.kubernetes.io/path"),
        "{ann:?}"
    );
}

#[test]
fn transformer_output_fed_back_is_unchanged() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let envs = [("AUTHELIA_SECRETS_SEED", SEED)];
    let first = legacy(&config, RESOURCES.as_bytes(), &envs, dir.path());
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = legacy(&config, &first.stdout, &envs, dir.path());
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(first.stdout_text(), second.stdout_text());

    // Without a seed the Secret in the input keeps its values: nothing is made, no error.
    let again = legacy(&config, &second.stdout, &[], dir.path());
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout_text(), second.stdout_text());
}

#[test]
fn without_a_seed_making_a_value_is_an_error_that_kustomize_shows() {
    // kustomize keeps nothing between builds and hides a successful plugin's stderr: random
    // values would be new on every build, unseen. Exit 1, the reason on stderr, no output.
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    for stdin in [&b""[..], RESOURCES.as_bytes()] {
        let out = legacy(&config, stdin, &[], dir.path());
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr.contains("no seed is set") && out.stderr.contains("spec.seed"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn path_annotations_on_inputs_give_the_secret_a_path() {
    let dir = tempdir();
    let config = write_config(dir.path(), CONFIG);
    let resources = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: x
  annotations:
    config.kubernetes.io/path: base/x.yaml
    internal.config.kubernetes.io/path: base/x.yaml
data:
  a: b
";
    let out = legacy(
        &config,
        resources.as_bytes(),
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let docs = parse_stream(&out.stdout);
    assert_eq!(docs[0], parse_stream(resources.as_bytes())[0]);
    let ann = &docs[1]["metadata"]["annotations"];
    assert_eq!(
        ann["config.kubernetes.io/path"],
        json!("secret-authelia.yaml")
    );
    assert_eq!(
        ann["internal.config.kubernetes.io/path"],
        json!("secret-authelia.yaml")
    );
}

#[test]
fn errors_go_to_stderr_with_exit_1_and_nothing_on_stdout() {
    let dir = tempdir();
    let bad_field = CONFIG.replace("  secrets:", "  secret:");
    let seed_env = CONFIG.replace("spec:\n", "spec:\n  seed:\n    env: UNSET_TEST_SEED\n");
    let no_match = CONFIG.replace("spec:\n", "spec:\n  workloads:\n  - name: nobody\n");
    let missing_file = CONFIG.replace(
        "    JWT_SECRET: {}\n",
        "    JWT_SECRET: {}\n    LDAP_PASSWORD:\n      fromFile: missing.txt\n",
    );
    let config_cases: Vec<(&str, Vec<u8>, &[u8])> = vec![
        ("unknown field", bad_field.into_bytes(), b""),
        ("unset seed variable", seed_env.into_bytes(), b""),
        (
            "no matching workload",
            no_match.into_bytes(),
            RESOURCES.as_bytes(),
        ),
        ("missing fromFile", missing_file.into_bytes(), b""),
        ("config is not YAML", b"apiVersion: [\n".to_vec(), b""),
        ("config is a scalar", b"hello\n".to_vec(), b""),
        ("config is a list", b"- a\n- b\n".to_vec(), b""),
        ("config is empty", Vec::new(), b""),
        ("config is not UTF-8", b"kind: \xff\xfe\n".to_vec(), b""),
        ("config has a NUL", b"kind: a\0b\n".to_vec(), b""),
        (
            "stdin is not YAML",
            CONFIG.as_bytes().to_vec(),
            b"kind: [\n",
        ),
        (
            "stdin holds a scalar",
            CONFIG.as_bytes().to_vec(),
            b"hello\n",
        ),
        ("stdin holds a list", CONFIG.as_bytes().to_vec(), b"- a\n"),
        (
            "stdin is not UTF-8",
            CONFIG.as_bytes().to_vec(),
            b"kind: \xc3\x28\n",
        ),
        (
            "stdin holds a NUL",
            CONFIG.as_bytes().to_vec(),
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\0\n",
        ),
    ];
    for (name, config_bytes, stdin) in config_cases {
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, &config_bytes).unwrap();
        let out = legacy(&path, stdin, &[("AUTHELIA_SECRETS_SEED", SEED)], dir.path());
        assert_failed_cleanly(&out, name);
    }
}

#[test]
fn config_errors_name_the_field_on_stderr() {
    let dir = tempdir();
    let config = write_config(dir.path(), &CONFIG.replace("  secrets:", "  secret:"));
    let out = legacy(&config, b"", &[("AUTHELIA_SECRETS_SEED", SEED)], dir.path());
    assert_failed_cleanly(&out, "unknown field");
    assert!(out.stderr.contains("spec.secret"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean secrets?"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_config_file_fails() {
    let dir = tempdir();
    let missing = dir.path().join("does-not-exist.yaml");
    let out = legacy(
        &missing,
        b"",
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        dir.path(),
    );
    assert_failed_cleanly(&out, "missing config");
    assert!(out.stderr.contains("does-not-exist.yaml"), "{}", out.stderr);

    // A directory in its place fails the same way.
    let out = legacy(
        dir.path(),
        b"",
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        dir.path(),
    );
    assert_failed_cleanly(&out, "config is a directory");
}

#[test]
fn from_file_resolves_against_the_kustomize_plugin_config_root() {
    let root = tempdir();
    let cwd = tempdir();
    std::fs::write(root.path().join("ldap.txt"), "ldap-from-root\n").unwrap();
    std::fs::write(cwd.path().join("ldap.txt"), "ldap-from-cwd\n").unwrap();
    let config = write_config(
        root.path(),
        &CONFIG.replace(
            "    JWT_SECRET: {}\n",
            "    JWT_SECRET: {}\n    LDAP_PASSWORD:\n      fromFile: ldap.txt\n",
        ),
    );
    let root_str = root.path().to_str().unwrap();
    let out = legacy(
        &config,
        b"",
        &[
            ("AUTHELIA_SECRETS_SEED", SEED),
            ("KUSTOMIZE_PLUGIN_CONFIG_ROOT", root_str),
        ],
        cwd.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let values = secret_values(&parse_stream(&out.stdout)[0]);
    assert_eq!(values["LDAP_PASSWORD"], b"ldap-from-root");

    // Without the variable: the working directory.
    let out = legacy(&config, b"", &[("AUTHELIA_SECRETS_SEED", SEED)], cwd.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let values = secret_values(&parse_stream(&out.stdout)[0]);
    assert_eq!(values["LDAP_PASSWORD"], b"ldap-from-cwd");

    // `..` out of the root is refused.
    let escaping = write_config(
        root.path(),
        &CONFIG.replace(
            "    JWT_SECRET: {}\n",
            "    JWT_SECRET: {}\n    LDAP_PASSWORD:\n      fromFile: ../ldap.txt\n",
        ),
    );
    let out = legacy(
        &escaping,
        b"",
        &[
            ("AUTHELIA_SECRETS_SEED", SEED),
            ("KUSTOMIZE_PLUGIN_CONFIG_ROOT", root_str),
        ],
        cwd.path(),
    );
    assert_failed_cleanly(&out, "escaping fromFile");
    assert!(
        out.stderr.contains("spec.secrets.LDAP_PASSWORD.fromFile"),
        "{}",
        out.stderr
    );
}

#[test]
fn hash_suffix_rollout_marks_the_generated_secret_for_kustomize() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        &CONFIG.replace("spec:\n", "spec:\n  rollout: hashSuffix\n"),
    );
    let envs = [("AUTHELIA_SECRETS_SEED", SEED)];

    // Generator: kustomize appends the hash itself.
    let out = legacy(&config, b"", &envs, dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let secret = &parse_stream(&out.stdout)[0];
    assert_eq!(secret["metadata"]["name"], json!("authelia"));
    assert_eq!(
        secret["metadata"]["annotations"]["kustomize.config.k8s.io/needs-hash"],
        json!("true")
    );

    // Transformer: we name the Secret `<name>-<hash>` and point the volume at it.
    let out = legacy(&config, RESOURCES.as_bytes(), &envs, dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let docs = parse_stream(&out.stdout);
    let secret = docs.iter().find(|d| d["kind"] == json!("Secret")).unwrap();
    let name = secret["metadata"]["name"].as_str().unwrap();
    let suffix = name.strip_prefix("authelia-").expect("hash suffix");
    assert_eq!(suffix.len(), 10, "{name}");
    let dep = docs
        .iter()
        .find(|d| d["kind"] == json!("Deployment"))
        .unwrap();
    assert_eq!(
        dep["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
        json!(name)
    );
    assert!(
        dep["spec"]["template"]["metadata"]
            .get("annotations")
            .and_then(|a| a.get("authelia-secrets.dev/secret-checksum"))
            .is_none(),
        "no checksum with hashSuffix"
    );
    // Fed back, nothing changes.
    let again = legacy(&config, &out.stdout, &envs, dir.path());
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(out.stdout_text(), again.stdout_text());
}
