//! `authelia-secrets export`: plain kustomize (no plugins) must give the same Secret values and
//! workload wiring as the function, and the command must never clobber or leak.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{copy_dir, examples_dir, run, run_program, tempdir};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const SEED: &str = "overlays-example-seed-do-not-use-00001";

fn have_kubectl() -> bool {
    common::have_tool(
        "kubectl",
        &["version", "--client"],
        "the plain-kustomize export test",
    )
}

fn production_config() -> std::path::PathBuf {
    examples_dir().join("overlays/overlays/production/authelia-secrets.yaml")
}

fn export(dir: &Path, extra: &[&str], seed: &str) -> common::Output {
    let config = production_config();
    let mut args = vec![
        "export",
        "--config",
        config.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(
        &args,
        b"",
        &[("AUTHELIA_SECRETS_SEED", seed)],
        dir.parent().unwrap(),
    )
}

fn build(args: &[&str], envs: &[(&str, &str)], cwd: &Path) -> Vec<Value> {
    let out = run_program("kubectl", args, b"", envs, cwd);
    assert_eq!(out.code, 0, "kubectl {args:?}: {}", out.stderr);
    authelia_secrets::yaml::parse_stream("kubectl", &out.stdout).unwrap()
}

fn decoded_data(items: &[Value]) -> BTreeMap<String, Vec<u8>> {
    let secret = items
        .iter()
        .find(|i| i["kind"] == "Secret")
        .expect("a Secret");
    secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let text: String = v.as_str().unwrap().split_whitespace().collect();
            (k.clone(), STANDARD.decode(text).unwrap())
        })
        .collect()
}

#[test]
fn plain_kustomize_gives_the_functions_secret_and_wiring() {
    if !have_kubectl() {
        return;
    }
    let tmp = tempdir();
    copy_dir(
        &examples_dir().join("overlays/base"),
        &tmp.path().join("base"),
    );
    let component = tmp.path().join("component");
    let out = export(&component, &[], SEED);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(
        root.join("kustomization.yaml"),
        "namespace: auth\nresources: [../base]\ncomponents: [../component]\n",
    )
    .unwrap();
    let plain = build(&["kustomize", root.to_str().unwrap()], &[], tmp.path());

    let plugins = tmp.path().join("plugins");
    let installed = run(
        &["install-plugin", "--dir", plugins.to_str().unwrap()],
        b"",
        &[],
        tmp.path(),
    );
    assert_eq!(installed.code, 0, "{}", installed.stderr);
    let overlay = examples_dir().join("overlays/overlays/production");
    let with_plugin = build(
        &[
            "kustomize",
            "--enable-alpha-plugins",
            overlay.to_str().unwrap(),
        ],
        &[
            ("AUTHELIA_SECRETS_SEED", SEED),
            ("KUSTOMIZE_PLUGIN_HOME", plugins.to_str().unwrap()),
        ],
        tmp.path(),
    );
    assert_eq!(
        decoded_data(&plain),
        decoded_data(&with_plugin),
        "Secret values differ"
    );
    let deployment = |items: &[Value]| {
        items
            .iter()
            .find(|i| i["kind"] == "Deployment")
            .cloned()
            .unwrap()
    };
    assert_eq!(
        deployment(&plain),
        deployment(&with_plugin),
        "workload wiring differs"
    );
}

#[test]
fn value_files_are_private_ignored_by_git_and_never_printed() {
    let tmp = tempdir();
    let dir = tmp.path().join("out");
    let out = export(&dir, &[], SEED);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gitignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == "/secrets/"), "{gitignore}");
    let mut values = Vec::new();
    for entry in std::fs::read_dir(dir.join("secrets")).unwrap() {
        let entry = entry.unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", entry.path().display());
        }
        values.push(std::fs::read_to_string(entry.path()).unwrap());
    }
    assert_eq!(values.len(), 11);
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), out.stderr);
    for v in &values {
        let probe = v.lines().nth(1).unwrap_or(v).trim();
        assert!(!printed.contains(probe), "a value was printed");
    }

    let tracked = tmp.path().join("tracked");
    let out = export(&tracked, &["--track-values"], SEED);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!tracked.join(".gitignore").exists());
}

#[test]
fn differing_files_are_kept_unless_forced() {
    let tmp = tempdir();
    let dir = tmp.path().join("out");
    assert_eq!(export(&dir, &[], SEED).code, 0);
    let before = std::fs::read(dir.join("secrets/JWT_SECRET")).unwrap();
    // Same seed again: same content, nothing to refuse.
    let again = export(&dir, &[], SEED);
    assert_eq!(again.code, 0, "{}", again.stderr);
    // Another seed would change values: refused, nothing written.
    let other = export(&dir, &[], "another-seed-for-the-export-test-000001");
    assert_eq!(other.code, 1);
    assert!(other.stderr.contains("--force"), "{}", other.stderr);
    assert!(
        other.stderr.contains("secrets/JWT_SECRET"),
        "{}",
        other.stderr
    );
    assert_eq!(
        std::fs::read(dir.join("secrets/JWT_SECRET")).unwrap(),
        before
    );
    let forced = export(
        &dir,
        &["--force"],
        "another-seed-for-the-export-test-000001",
    );
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_ne!(
        std::fs::read(dir.join("secrets/JWT_SECRET")).unwrap(),
        before
    );
}

#[test]
fn config_errors_fail_without_writing() {
    let tmp = tempdir();
    let config = tmp.path().join("bad.yaml");
    std::fs::write(
        &config,
        "apiVersion: authelia-secrets.dev/v1alpha1\nkind: AutheliaSecrets\nmetadata: {name: a}\nspec: {secret: {}}\n",
    )
    .unwrap();
    let dir = tmp.path().join("out");
    let out = run(
        &[
            "export",
            "--config",
            config.to_str().unwrap(),
            "--dir",
            dir.to_str().unwrap(),
        ],
        b"",
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        tmp.path(),
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("did you mean secrets?"),
        "{}",
        out.stderr
    );
    assert!(!dir.exists());
}

#[test]
fn an_export_without_a_declared_version_warns_that_it_cannot_read_image_tags() {
    let tmp = tempdir();
    let config = tmp.path().join("authelia-secrets.yaml");
    let text = "apiVersion: authelia-secrets.dev/v1alpha1\nkind: AutheliaSecrets\nmetadata:\n  name: authelia\n";
    for (extra, warns) in [("", true), ("spec:\n  autheliaVersion: \"4.37\"\n", false)] {
        std::fs::write(&config, format!("{text}{extra}")).unwrap();
        let out_dir = tmp.path().join(format!("out-{warns}"));
        let out = run(
            &[
                "export",
                "--config",
                config.to_str().unwrap(),
                "--dir",
                out_dir.to_str().unwrap(),
            ],
            b"",
            &[("AUTHELIA_SECRETS_SEED", SEED)],
            tmp.path(),
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            out.stderr.contains("spec.autheliaVersion is not set"),
            warns,
            "{extra:?}: {}",
            out.stderr
        );
    }
}

/// kyaml's `encodeBase64`: standard base64 with a newline after every 70 characters once the
/// text is 70 characters or longer (what a secretGenerator puts into `data`).
fn wrapped_base64(bytes: &[u8]) -> String {
    let text = STANDARD.encode(bytes);
    if text.len() < 70 {
        return text;
    }
    text.as_bytes()
        .chunks(70)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect()
}

#[test]
fn with_hash_suffix_the_export_gets_the_secret_generator_name_and_consistent_references() {
    if !have_kubectl() {
        return;
    }
    let tmp = tempdir();
    let config = tmp.path().join("authelia-secrets.yaml");
    std::fs::write(
        &config,
        "apiVersion: authelia-secrets.dev/v1alpha1\nkind: AutheliaSecrets\nmetadata:\n  name: authelia\n  \
         namespace: auth\nspec:\n  rollout: hashSuffix\n  secrets:\n    JWT_SECRET: {}\n    \
         SESSION_SECRET: {}\n    STORAGE_ENCRYPTION_KEY: {}\n",
    )
    .unwrap();
    let component = tmp.path().join("component");
    let out = run(
        &[
            "export",
            "--config",
            config.to_str().unwrap(),
            "--dir",
            component.to_str().unwrap(),
        ],
        b"",
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        tmp.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::copy(
        examples_dir().join("kustomize-generator/deployment.yaml"),
        root.join("deployment.yaml"),
    )
    .unwrap();
    std::fs::write(
        root.join("kustomization.yaml"),
        "namespace: auth\nresources: [deployment.yaml]\ncomponents: [../component]\n",
    )
    .unwrap();
    let items = build(&["kustomize", root.to_str().unwrap()], &[], tmp.path());
    let secret = items.iter().find(|i| i["kind"] == "Secret").unwrap();
    let name = secret["metadata"]["name"].as_str().unwrap();
    let deployment = items.iter().find(|i| i["kind"] == "Deployment").unwrap();
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    assert!(
        volumes.iter().any(|v| v["secret"]["secretName"] == name),
        "the patch's reference was renamed to {name}: {volumes:?}"
    );

    // kustomize hashed the data it wrapped at 70 columns ...
    let values = decoded_data(&items);
    let wrapped: serde_json::Map<String, Value> = values
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(wrapped_base64(v))))
        .collect();
    let as_generated = serde_json::json!({"type": "Opaque", "data": wrapped});
    assert_eq!(
        name,
        format!(
            "authelia-{}",
            authelia_secrets::secret::kustomize_hash(&as_generated)
        )
    );
    // ... while the function names the same values by its unwrapped data: another suffix, each
    // consistent within its own build.
    let fc =
        authelia_secrets::yaml::parse_document("config", &std::fs::read(&config).unwrap()).unwrap();
    // With a workload in the items it runs as a transformer and names the Secret itself.
    let list = format!(
        "{{\"apiVersion\":\"config.kubernetes.io/v1\",\"kind\":\"ResourceList\",\"items\":[{deployment}],\"functionConfig\":{fc}}}"
    );
    let krm = run(
        &[],
        list.as_bytes(),
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        tmp.path(),
    );
    assert_eq!(krm.code, 0, "{}", krm.stderr);
    let out = authelia_secrets::yaml::parse_document("out", &krm.stdout).unwrap();
    let ours = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "Secret")
        .unwrap();
    assert_eq!(decoded_data(std::slice::from_ref(ours)), values);
    let our_name = ours["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        our_name,
        format!(
            "authelia-{}",
            authelia_secrets::secret::kustomize_hash(ours)
        )
    );
    assert_ne!(our_name, name);
}
