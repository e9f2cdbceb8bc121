//! End to end with the real orchestrators: kpt (fn eval, fn render) and kubectl kustomize.
//!
//! A missing tool skips the test loudly, except in CI (`CI=true`), where it fails.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// True when `tool` runs. Missing: a failure in CI, a loud skip elsewhere.
fn require(tool: &str) -> bool {
    let probe: &[&str] = if tool == "kubectl" {
        &["version", "--client"]
    } else {
        &["version"]
    };
    have_tool(tool, probe, "this end-to-end test")
}

/// A copy of `examples/<name>` as a user would have it (without the example test fixtures).
fn example_copy(name: &str, into: &Path) -> PathBuf {
    let target = into.join(name);
    copy_dir(&examples_dir().join(name), &target);
    let fixtures = target.join(".expected");
    if fixtures.exists() {
        std::fs::remove_dir_all(&fixtures).unwrap();
    }
    target
}

/// PATH with the binary's directory first, so `exec: authelia-secrets` resolves to it.
fn path_with_binary() -> String {
    let bin_dir = Path::new(BIN).parent().unwrap().to_path_buf();
    let mut dirs = vec![bin_dir];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs)
        .unwrap()
        .into_string()
        .expect("PATH is UTF-8")
}

fn kpt(args: &[&str], envs: &[(&str, &str)], cwd: &Path) -> Output {
    run_program("kpt", args, b"", envs, cwd)
}

fn assert_success(out: &Output, what: &str) {
    assert_eq!(
        out.code,
        0,
        "{what} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        out.stderr
    );
}

fn assert_same_files(
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
    what: &str,
) {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{what}: the set of files changed"
    );
    for (path, bytes) in before {
        assert!(
            after[path] == *bytes,
            "{what}: {} changed:\n--- before\n{}\n--- after\n{}",
            path.display(),
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&after[path])
        );
    }
}

/// The comment lines a file starts with.
fn leading_comment(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The Secret in a package file, parsed.
fn secret_file(pkg: &Path) -> serde_json::Value {
    let path = pkg.join("secret-authelia.yaml");
    let text =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{} was not created: {e}", path.display()));
    let doc = parse(&text);
    assert_eq!(
        doc["kind"],
        serde_json::json!("Secret"),
        "{}",
        path.display()
    );
    doc
}

// ---------------------------------------------------------------------------------------------
// kpt

#[test]
fn kpt_fn_eval_with_exec_creates_the_secret() {
    if !require("kpt") {
        return;
    }
    let tmp = tempdir();
    let pkg = example_copy("quickstart", tmp.path());
    let pkg_str = pkg.to_str().unwrap();
    let fn_config = pkg.join("authelia-secrets.yaml");
    let args = [
        "fn",
        "eval",
        pkg_str,
        "--exec",
        BIN,
        "--fn-config",
        fn_config.to_str().unwrap(),
    ];
    let envs = [("AUTHELIA_SECRETS_SEED", SEED)];
    let out = kpt(&args, &envs, tmp.path());
    assert_success(&out, "kpt fn eval");
    let secret = secret_file(&pkg);
    let values = secret_values(&secret);
    assert_eq!(
        values.keys().collect::<Vec<_>>(),
        ["JWT_SECRET", "SESSION_SECRET", "STORAGE_ENCRYPTION_KEY"]
    );
    let deployment = std::fs::read_to_string(pkg.join("deployment.yaml")).unwrap();
    assert!(
        deployment.contains("AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE"),
        "{deployment}"
    );

    // Again: nothing changes.
    let before = snapshot(&pkg);
    let out = kpt(&args, &envs, tmp.path());
    assert_success(&out, "second kpt fn eval");
    assert_same_files(&before, &snapshot(&pkg), "second kpt fn eval");
}

#[test]
fn kpt_fn_eval_refuses_a_package_path_forged_in_the_fn_config() {
    if !require("kpt") {
        return;
    }
    // `kpt fn eval --fn-config` passes the file's annotations as written (checked with kpt
    // 1.0.0-beta.56): this config claims "/" as its package to read a file outside the root.
    let tmp = tempdir();
    let pkg = example_copy("quickstart", tmp.path());
    let outside = tempdir();
    std::fs::write(
        outside.path().join("private.txt"),
        "never-leaves-this-file\n",
    )
    .unwrap();
    let rel = outside.path().join("private.txt");
    let rel = rel.strip_prefix("/").unwrap().display().to_string();
    let fn_config = tmp.path().join("hostile.yaml");
    std::fs::write(
        &fn_config,
        format!(
            "apiVersion: authelia-secrets.dev/v1alpha1\nkind: AutheliaSecrets\nmetadata:\n  name: authelia\n  \
             annotations:\n    internal.config.kubernetes.io/package-path: /\nspec:\n  secrets:\n    \
             LDAP_PASSWORD: {{fromFile: {rel}}}\n"
        ),
    )
    .unwrap();
    let before = snapshot(&pkg);
    let out = kpt(
        &[
            "fn",
            "eval",
            pkg.to_str().unwrap(),
            "--exec",
            BIN,
            "--fn-config",
            fn_config.to_str().unwrap(),
        ],
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        tmp.path(),
    );
    assert_ne!(out.code, 0, "the forged root must fail the run");
    let all = format!("{}{}", out.stdout_text(), out.stderr);
    assert!(all.contains("package-path"), "{all}");
    assert!(!all.contains("never-leaves-this-file"));
    assert_same_files(&before, &snapshot(&pkg), "a refused kpt fn eval");
}

#[test]
fn kpt_fn_render_is_idempotent_and_keeps_comments() {
    if !require("kpt") {
        return;
    }
    let tmp = tempdir();
    let pkg = example_copy("quickstart", tmp.path());
    let pkg_str = pkg.to_str().unwrap();
    let original_deployment = std::fs::read_to_string(pkg.join("deployment.yaml")).unwrap();
    let comment = leading_comment(&original_deployment);
    assert!(
        !comment.is_empty(),
        "the example deployment.yaml starts with a comment"
    );
    let original_config = std::fs::read(pkg.join("authelia-secrets.yaml")).unwrap();

    let path = path_with_binary();
    let envs = [("AUTHELIA_SECRETS_SEED", SEED), ("PATH", path.as_str())];
    let args = ["fn", "render", pkg_str, "--allow-exec"];
    let out = kpt(&args, &envs, tmp.path());
    assert_success(&out, "kpt fn render");
    let first = snapshot(&pkg);
    secret_file(&pkg);
    let deployment = String::from_utf8(first[Path::new("deployment.yaml")].clone()).unwrap();
    assert!(
        deployment.starts_with(&comment),
        "the leading comment is lost:\n{deployment}"
    );
    assert!(
        deployment.contains("AUTHELIA_SESSION_SECRET_FILE"),
        "{deployment}"
    );
    assert_eq!(
        first[Path::new("authelia-secrets.yaml")],
        original_config,
        "the config file is not rewritten"
    );

    let out = kpt(&args, &envs, tmp.path());
    assert_success(&out, "second kpt fn render");
    assert_same_files(&first, &snapshot(&pkg), "second kpt fn render");

    // A third run from a fresh copy gives the same files (the seed decides everything).
    let tmp2 = tempdir();
    let pkg2 = example_copy("quickstart", tmp2.path());
    let out = kpt(
        &["fn", "render", pkg2.to_str().unwrap(), "--allow-exec"],
        &envs,
        tmp2.path(),
    );
    assert_success(&out, "kpt fn render of a fresh copy");
    assert_same_files(&first, &snapshot(&pkg2), "a fresh copy");
}

#[test]
fn kpt_fn_render_without_a_seed_is_stable_after_the_first_run() {
    if !require("kpt") {
        return;
    }
    let tmp = tempdir();
    let pkg = example_copy("quickstart", tmp.path());
    let path = path_with_binary();
    let envs = [("PATH", path.as_str())];
    let args = ["fn", "render", pkg.to_str().unwrap(), "--allow-exec"];
    let out = kpt(&args, &envs, tmp.path());
    assert_success(&out, "kpt fn render without a seed");
    let combined = format!("{}{}", String::from_utf8_lossy(&out.stdout), out.stderr);
    assert!(
        combined.contains("AUTHELIA_SECRETS_SEED"),
        "the no-seed warning is shown:\n{combined}"
    );
    let first = snapshot(&pkg);
    let values = secret_values(&secret_file(&pkg));
    assert_eq!(values.len(), 3);

    let out = kpt(&args, &envs, tmp.path());
    assert_success(&out, "second kpt fn render without a seed");
    assert_same_files(&first, &snapshot(&pkg), "second render without a seed");
}

#[test]
fn kpt_fn_render_with_a_config_error_fails_and_changes_nothing() {
    if !require("kpt") {
        return;
    }
    let tmp = tempdir();
    let pkg = example_copy("quickstart", tmp.path());
    let config_path = pkg.join("authelia-secrets.yaml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, config.replace("  secrets:", "  secret:")).unwrap();
    let before = snapshot(&pkg);
    let path = path_with_binary();
    let out = kpt(
        &["fn", "render", pkg.to_str().unwrap(), "--allow-exec"],
        &[("AUTHELIA_SECRETS_SEED", SEED), ("PATH", path.as_str())],
        tmp.path(),
    );
    assert_ne!(out.code, 0, "kpt fn render should fail");
    let combined = format!("{}{}", String::from_utf8_lossy(&out.stdout), out.stderr);
    assert!(combined.contains("did you mean secrets?"), "{combined}");
    assert_same_files(&before, &snapshot(&pkg), "failed render");
}

#[test]
fn kpt_gets_untouched_items_back_with_their_exact_text() {
    // Items we do not own leave the function with exactly the text kpt gave it, so kpt writes
    // them back as it read them. (Once a package changes, kpt itself normalizes some styles on
    // reading, such as 0644 → 420 and flow lists → blocks; a `cat` function shows the same.)
    if !require("kpt") {
        return;
    }
    let service = "\
# The Service in front of Authelia.
apiVersion: v1
kind: Service
metadata:
  name: authelia # same name as the Deployment
  labels:
    app.kubernetes.io/name: authelia
spec:
  selector:
    app.kubernetes.io/name: authelia
  ports:
    - name: http
      port: 80
      targetPort: http
";
    let redis = "\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: redis
spec:
  serviceName: redis
  template:
    spec:
      containers:
        - name: redis
          image: redis:7
          args: [\"--appendonly\", \"yes\"]
      volumes:
        - name: conf
          configMap:
            name: redis-conf
            defaultMode: 0644
            items: [{key: a, path: \"1e3\"}]
      nodeSelector: {disk: ssd, tier: \"on\"}
";
    let tmp = tempdir();
    let pkg = example_copy("quickstart", tmp.path());
    std::fs::write(pkg.join("service.yaml"), service).unwrap();
    std::fs::write(pkg.join("redis.yaml"), redis).unwrap();
    // A wrapper records what kpt sends the function and what it answers.
    let wrapper = tmp.path().join("wrap.sh");
    let (sent, answered) = (tmp.path().join("in.yaml"), tmp.path().join("out.yaml"));
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ntee {} | {} | tee {}\n",
            sent.display(),
            env!("CARGO_BIN_EXE_authelia-secrets"),
            answered.display()
        ),
    )
    .unwrap();
    make_executable(&wrapper);
    let kptfile = std::fs::read_to_string(pkg.join("Kptfile")).unwrap();
    std::fs::write(
        pkg.join("Kptfile"),
        kptfile.replace(
            "exec: authelia-secrets",
            &format!("exec: {}", wrapper.display()),
        ),
    )
    .unwrap();
    let out = kpt(
        &["fn", "render", pkg.to_str().unwrap(), "--allow-exec"],
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        tmp.path(),
    );
    assert_success(&out, "kpt fn render");
    let sent = std::fs::read_to_string(&sent).unwrap();
    let answered = std::fs::read_to_string(&answered).unwrap();
    for kind in ["StatefulSet", "Service"] {
        let before = item_text(&sent, kind);
        let after = item_text(&answered, kind);
        assert!(!before.is_empty(), "no {kind} in what kpt sent:\n{sent}");
        assert_eq!(
            after, before,
            "the {kind}'s text changed on its way through the function"
        );
    }
}

/// The text of the first top-level item of `kind` in a ResourceList written by kpt or by us
/// (items are `- ` entries at column 0 under `items:`).
fn item_text(list: &str, kind: &str) -> String {
    let mut items: Vec<String> = Vec::new();
    let mut in_items = false;
    for line in list.lines() {
        if line == "items:" {
            in_items = true;
            continue;
        }
        if !in_items {
            continue;
        }
        if line.starts_with("- ") {
            items.push(format!("{line}\n"));
        } else if line.starts_with(' ') || line.is_empty() {
            if let Some(last) = items.last_mut() {
                last.push_str(line);
                last.push('\n');
            }
        } else {
            break;
        }
    }
    items
        .into_iter()
        .find(|i| i.lines().any(|l| l.trim() == format!("kind: {kind}")))
        .unwrap_or_default()
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) {}

// ---------------------------------------------------------------------------------------------
// kubectl kustomize with the legacy exec plugin

fn install_plugin(into: &Path) -> PathBuf {
    let home = into.join("plugins");
    let out = run(
        &["install-plugin", "--dir", home.to_str().unwrap()],
        b"",
        &[],
        into,
    );
    assert_success(&out, "install-plugin");
    home
}

fn kustomize(pkg: &Path, plugin_home: &Path, envs: &[(&str, &str)], cwd: &Path) -> Output {
    let mut all = vec![("KUSTOMIZE_PLUGIN_HOME", plugin_home.to_str().unwrap())];
    all.extend_from_slice(envs);
    run_program(
        "kubectl",
        &["kustomize", "--enable-alpha-plugins", pkg.to_str().unwrap()],
        b"",
        &all,
        cwd,
    )
}

#[test]
fn kubectl_kustomize_runs_the_legacy_plugin() {
    if !require("kubectl") {
        return;
    }
    let tmp = tempdir();
    let pkg = example_copy("quickstart", tmp.path());
    let home = install_plugin(tmp.path());
    let envs = [("AUTHELIA_SECRETS_SEED", SEED)];
    let first = kustomize(&pkg, &home, &envs, tmp.path());
    assert_success(&first, "kubectl kustomize");
    let text = first.stdout_text();
    assert!(text.contains("kind: Secret"), "{text}");
    assert!(text.contains("AUTHELIA_SESSION_SECRET_FILE"), "{text}");
    assert!(
        text.contains("AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE"),
        "{text}"
    );
    let docs = parse_stream(&first.stdout);
    let secret = docs
        .iter()
        .find(|d| d["kind"] == serde_json::json!("Secret"))
        .expect("a Secret");
    assert_eq!(secret_values(secret).len(), 3);

    let second = kustomize(&pkg, &home, &envs, tmp.path());
    assert_success(&second, "second kubectl kustomize");
    assert_eq!(first.stdout, second.stdout, "two builds differ");

    // The same seed gives the same values through kpt's KRM mode and kustomize's legacy mode.
    let krm_input = {
        let fc = parse(&std::fs::read(pkg.join("authelia-secrets.yaml")).unwrap());
        resource_list(&[], Some(&fc))
    };
    let krm = run_krm(&krm_input, &envs, tmp.path());
    assert_success(&krm, "KRM mode");
    let krm_secret = item_of(&parse(&krm.stdout), "Secret", "authelia");
    assert_eq!(secret_values(secret), secret_values(&krm_secret));
}

/// Every Secret name a pod spec refers to (volumes, projected sources, env, envFrom).
fn secret_references(item: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let spec = &item["spec"]["template"]["spec"];
    for v in spec["volumes"].as_array().into_iter().flatten() {
        out.extend(v["secret"]["secretName"].as_str().map(String::from));
        for s in v["projected"]["sources"].as_array().into_iter().flatten() {
            out.extend(s["secret"]["name"].as_str().map(String::from));
        }
    }
    for list in ["containers", "initContainers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            for e in c["env"].as_array().into_iter().flatten() {
                out.extend(
                    e["valueFrom"]["secretKeyRef"]["name"]
                        .as_str()
                        .map(String::from),
                );
            }
            for e in c["envFrom"].as_array().into_iter().flatten() {
                out.extend(e["secretRef"]["name"].as_str().map(String::from));
            }
        }
    }
    out
}

#[test]
fn hash_suffix_as_a_transformer_renames_every_reference_like_kustomize_does_for_the_generator() {
    if !require("kubectl") {
        return;
    }
    let tmp = tempdir();
    let pkg = example_copy("kustomize-generator", tmp.path());
    let home = install_plugin(tmp.path());
    // Other references to the Secret: a second container, and a worker that mounts and reads it.
    let deployment = std::fs::read_to_string(pkg.join("deployment.yaml")).unwrap();
    std::fs::write(
        pkg.join("deployment.yaml"),
        format!(
            "{deployment}        - name: sidecar\n          image: busybox\n          envFrom:\n            \
             - secretRef: {{name: authelia}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        pkg.join("worker.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: worker\nspec:\n  template:\n    spec:\n      \
         containers:\n        - name: worker\n          image: busybox\n          env:\n            \
         - name: JWT\n              valueFrom: {secretKeyRef: {name: authelia, key: JWT_SECRET}}\n      \
         volumes:\n        - name: plain\n          secret: {secretName: authelia}\n        \
         - name: both\n          projected:\n            sources:\n              \
         - secret: {name: authelia}\n              - configMap: {name: authelia}\n",
    )
    .unwrap();
    let envs = [("AUTHELIA_SECRETS_SEED", SEED)];
    let build = |kustomization: &str| {
        std::fs::write(pkg.join("kustomization.yaml"), kustomization).unwrap();
        let out = kustomize(&pkg, &home, &envs, tmp.path());
        assert_success(&out, "kubectl kustomize");
        parse_stream(&out.stdout)
    };
    let names = |docs: &[serde_json::Value]| {
        let secret = docs
            .iter()
            .find(|d| d["kind"] == serde_json::json!("Secret"))
            .expect("a Secret");
        let name = secret["metadata"]["name"].as_str().unwrap().to_string();
        let refs: Vec<String> = docs
            .iter()
            .filter(|d| d["kind"] == serde_json::json!("Deployment"))
            .flat_map(secret_references)
            .collect();
        (name, refs)
    };
    // kustomize names the generator's Secret and renames the references itself.
    let (by_kustomize, refs) = names(&build(
        "resources: [deployment.yaml, worker.yaml]\ngenerators: [authelia-secrets.yaml]\ntransformers: [authelia-secrets.yaml]\n",
    ));
    assert!(by_kustomize.starts_with("authelia-"), "{by_kustomize}");
    assert_eq!(refs.len(), 5, "{refs:?}");
    assert!(refs.iter().all(|r| *r == by_kustomize), "{refs:?}");
    // As a transformer only, the function names it: the same name, every reference renamed.
    let (by_us, refs) = names(&build(
        "resources: [deployment.yaml, worker.yaml]\ntransformers: [authelia-secrets.yaml]\n",
    ));
    assert_eq!(by_us, by_kustomize);
    assert_eq!(refs.len(), 5, "{refs:?}");
    assert!(refs.iter().all(|r| *r == by_us), "{refs:?}");
}

#[test]
fn kubectl_kustomize_resolves_files_against_the_kustomization_root() {
    if !require("kubectl") {
        return;
    }
    let tmp = tempdir();
    let pkg = example_copy("quickstart", tmp.path());
    let home = install_plugin(tmp.path());
    std::fs::write(pkg.join("ldap.txt"), "ldap-password-from-the-root\n").unwrap();
    let config_path = pkg.join("authelia-secrets.yaml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    assert!(config.contains("    JWT_SECRET: {}\n"), "{config}");
    std::fs::write(
        &config_path,
        config.replace(
            "    JWT_SECRET: {}\n",
            "    JWT_SECRET: {}\n    LDAP_PASSWORD:\n      fromFile: ldap.txt\n",
        ),
    )
    .unwrap();
    // Run from elsewhere: the file is found through the kustomization root, not the cwd.
    let elsewhere = tempdir();
    let out = kustomize(
        &pkg,
        &home,
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        elsewhere.path(),
    );
    assert_success(&out, "kubectl kustomize");
    let docs = parse_stream(&out.stdout);
    let secret = docs
        .iter()
        .find(|d| d["kind"] == serde_json::json!("Secret"))
        .expect("a Secret");
    assert_eq!(
        secret_values(secret)["LDAP_PASSWORD"],
        b"ldap-password-from-the-root"
    );
}

#[test]
fn kubectl_kustomize_reports_config_errors() {
    if !require("kubectl") {
        return;
    }
    let tmp = tempdir();
    let pkg = example_copy("quickstart", tmp.path());
    let home = install_plugin(tmp.path());
    let config_path = pkg.join("authelia-secrets.yaml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, config.replace("  secrets:", "  secret:")).unwrap();
    let out = kustomize(&pkg, &home, &[("AUTHELIA_SECRETS_SEED", SEED)], tmp.path());
    assert_ne!(out.code, 0, "kubectl kustomize should fail");
    assert!(out.stdout.is_empty(), "{}", out.stdout_text());
    assert!(
        out.stderr.contains("did you mean secrets?"),
        "{}",
        out.stderr
    );
}
