//! No value, seed or derived byte in any result, error or log line: every output stream but the
//! items themselves is searched for every value a run handled, PEM keys line by line, through
//! KRM mode, the legacy plugin mode and real kpt, on success and on each error path.

mod common;

use common::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use std::path::Path;

/// Probes for one value: the text itself, its base64 form, and each line of a PEM body.
fn probes(value: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(value).into_owned();
    let mut out = vec![text.trim().to_string(), b64(value)];
    if text.contains("-----BEGIN") {
        out.extend(
            text.lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                .map(String::from),
        );
    }
    for p in &out {
        assert!(
            p.len() >= 8,
            "test values must be long enough to search for"
        );
    }
    out
}

/// Asserts that no probe of any value occurs in any of the named texts.
fn assert_hidden(texts: &[(&str, &str)], values: &[Vec<u8>], context: &str) {
    for value in values {
        for probe in probes(value) {
            for (what, text) in texts {
                assert!(
                    !text.contains(&probe),
                    "{context}: a value (or a line of it) appears in {what}"
                );
            }
        }
    }
}

/// stderr and the results of a KRM run (the items may hold values: they are the output).
fn krm_streams(out: &Output) -> Vec<(&'static str, String)> {
    let list = parse(&out.stdout);
    vec![
        ("stderr", out.stderr.clone()),
        (
            "results",
            serde_json::to_string(&results(&list)).unwrap_or_default(),
        ),
    ]
}

fn check_krm(out: &Output, values: &[Vec<u8>], context: &str) {
    out.assert_no_panic();
    let streams = krm_streams(out);
    let texts: Vec<(&str, &str)> = streams.iter().map(|(w, t)| (*w, t.as_str())).collect();
    assert_hidden(&texts, values, context);
}

fn rsa_pem(bits: usize, seed: u8) -> String {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let key = rsa::PrivateKey::new(&mut rng, bits).unwrap();
    key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

fn ec_pem(byte: u8) -> String {
    let key = p256::SecretKey::from_slice(&[byte; 32]).unwrap();
    key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

fn secret_in(list: &Value) -> Value {
    items(list)
        .into_iter()
        .find(|i| i["kind"] == json!("Secret"))
        .expect("a Secret")
}

#[test]
fn krm_mode_hides_generated_provided_and_pem_values_on_success_and_every_failure() {
    let dir = tempdir();
    std::fs::write(dir.path().join("smtp.txt"), "smtp-file-secret-value-xyz\n").unwrap();
    let ldap_key = ec_pem(3);
    let envs = [
        ("AUTHELIA_SECRETS_SEED", SEED),
        ("TEST_LDAP", "ldap-env-secret-value-abc"),
        ("TEST_LDAP_KEY", ldap_key.as_str()),
    ];
    let fc = config(json!({
        "autheliaVersion": "4.37",
        "secrets": {
            "JWT_SECRET": {},
            "STORAGE_ENCRYPTION_KEY": {},
            "OIDC_ISSUER_PRIVATE_KEY": {},
            "OIDC_JWKS_EC": {"mountOnly": true, "type": "ecdsa"},
            "LDAP_PASSWORD": {"fromEnv": "TEST_LDAP"},
            "LDAP_TLS_PRIVATE_KEY": {"fromEnv": "TEST_LDAP_KEY"},
            "SMTP_PASSWORD": {"fromFile": "smtp.txt"},
            "DUO_SECRET_KEY": {"value": "literal-duo-secret-value"},
        },
    }));
    let dep = deployment("authelia", "auth", "authelia");
    let out = run_krm(
        &resource_list(std::slice::from_ref(&dep), Some(&fc)),
        &envs,
        dir.path(),
    );
    let list = parse(&out.stdout);
    assert_eq!(out.code, 0, "{}", describe_results(&list));
    assert!(!warnings(&list).is_empty(), "the run should have warnings");
    let mut values: Vec<Vec<u8>> = secret_values(&secret_in(&list)).into_values().collect();
    assert_eq!(values.len(), 8);
    values.push(SEED.as_bytes().to_vec());
    check_krm(&out, &values, "successful run");

    // Each failure path, with the values it handles.
    let short_kept = b"short-kept-storage".to_vec();
    let weak_key = rsa_pem(1024, 5);
    let ec_issuer = ec_pem(4);
    let two_keys = format!("{}{}", ec_pem(6), ec_pem(7));
    let pasted = "pasted-password-in-the-name-field!";
    let short_seed = "short-seed-value-1234";
    let existing = |key: &str, value: &[u8]| {
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "authelia", "namespace": "auth",
                "annotations": {"authelia-secrets.dev/rotations": format!("{key}=0")}},
            "data": {key: b64(value)},
        })
    };
    let gen_cfg = |key: &str| config(json!({"secrets": {key: {}}}));
    let env_cfg = |key: &str| config(json!({"secrets": {key: {"fromEnv": "TEST_VALUE"}}}));
    /// (what, input items, config, variables, the value that must stay hidden)
    type Case<'a> = (&'a str, Vec<Value>, Value, Vec<(&'a str, &'a str)>, Vec<u8>);
    let cases: Vec<Case> = vec![
        (
            "kept value too short",
            vec![existing("STORAGE_ENCRYPTION_KEY", &short_kept)],
            gen_cfg("STORAGE_ENCRYPTION_KEY"),
            vec![("AUTHELIA_SECRETS_SEED", SEED)],
            short_kept.clone(),
        ),
        (
            "kept weak RSA key",
            vec![existing("OIDC_ISSUER_PRIVATE_KEY", weak_key.as_bytes())],
            gen_cfg("OIDC_ISSUER_PRIVATE_KEY"),
            vec![("AUTHELIA_SECRETS_SEED", SEED)],
            weak_key.clone().into_bytes(),
        ),
        (
            "provided RSA-1024",
            vec![],
            env_cfg("LDAP_TLS_PRIVATE_KEY"),
            vec![("TEST_VALUE", &weak_key)],
            weak_key.clone().into_bytes(),
        ),
        (
            "provided EC issuer key",
            vec![],
            env_cfg("OIDC_ISSUER_PRIVATE_KEY"),
            vec![("TEST_VALUE", &ec_issuer)],
            ec_issuer.clone().into_bytes(),
        ),
        (
            "two PEM blocks",
            vec![],
            env_cfg("SMTP_TLS_PRIVATE_KEY"),
            vec![("TEST_VALUE", &two_keys)],
            two_keys.clone().into_bytes(),
        ),
        (
            "a key where a certificate chain belongs",
            vec![],
            env_cfg("SMTP_TLS_CERTIFICATE_CHAIN"),
            vec![("TEST_VALUE", &ec_issuer)],
            ec_issuer.clone().into_bytes(),
        ),
        (
            "PEM as the postgres ssl key path",
            vec![],
            env_cfg("STORAGE_POSTGRES_SSL_KEY"),
            vec![("TEST_VALUE", &ec_issuer)],
            ec_issuer.clone().into_bytes(),
        ),
        (
            "provided storage key too short",
            vec![],
            env_cfg("STORAGE_ENCRYPTION_KEY"),
            vec![("TEST_VALUE", "provided-short-key")],
            b"provided-short-key".to_vec(),
        ),
        (
            "malformed variable name",
            vec![],
            config(json!({"secrets": {"LDAP_PASSWORD": {"fromEnv": pasted}}})),
            vec![],
            pasted.as_bytes().to_vec(),
        ),
        (
            "seed too short",
            vec![],
            gen_cfg("JWT_SECRET"),
            vec![("AUTHELIA_SECRETS_SEED", short_seed)],
            short_seed.as_bytes().to_vec(),
        ),
    ];
    for (context, items, fc, envs, value) in cases {
        let out = run_krm(&resource_list(&items, Some(&fc)), &envs, dir.path());
        let list = parse(&out.stdout);
        assert_eq!(out.code, 1, "{context}: {}", describe_results(&list));
        let mut all = values.clone();
        all.push(value);
        check_krm(&out, &all, context);
    }
}

#[test]
fn refused_files_are_never_read_into_the_output() {
    let cwd = tempdir();
    let outside = tempdir();
    std::fs::write(
        outside.path().join("private.txt"),
        "a-file-outside-the-root-value\n",
    )
    .unwrap();
    let rel = outside
        .path()
        .join("private.txt")
        .strip_prefix("/")
        .unwrap()
        .display()
        .to_string();
    let value = b"a-file-outside-the-root-value".to_vec();
    // A package path forged in the config.
    let mut forged = config(json!({"secrets": {"LDAP_PASSWORD": {"fromFile": rel}}}));
    forged["metadata"]["annotations"] = json!({"internal.config.kubernetes.io/package-path": "/"});
    // Leaving the root, allowed by the config but forbidden by the runner.
    let absolute = outside.path().join("private.txt").display().to_string();
    let allowed = config(json!({
        "allowFilesOutsideRoot": true,
        "secrets": {"LDAP_PASSWORD": {"fromFile": absolute}},
    }));
    for (fc, envs) in [
        (forged, vec![]),
        (
            allowed,
            vec![(
                "AUTHELIA_SECRETS_LOAD_RESTRICTOR",
                "LoadRestrictionsRootOnly",
            )],
        ),
    ] {
        let out = run_krm(&resource_list(&[], Some(&fc)), &envs, cwd.path());
        assert_eq!(out.code, 1);
        assert_hidden(
            &[("stdout", out.stdout_text()), ("stderr", &out.stderr)],
            std::slice::from_ref(&value),
            "refused file",
        );
    }
}

const LEGACY_CONFIG: &str = "\
apiVersion: authelia-secrets.dev/v1alpha1
kind: AutheliaSecrets
metadata:
  name: authelia
  namespace: auth
spec:
  autheliaVersion: \"4.37\"
  secrets:
    JWT_SECRET: {}
    STORAGE_ENCRYPTION_KEY: {}
    OIDC_ISSUER_PRIVATE_KEY: {}
    SMTP_PASSWORD: {value: literal-smtp-secret-value}
    LDAP_PASSWORD: {fromEnv: TEST_LDAP}
";

const LEGACY_DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: authelia
  namespace: auth
spec:
  template:
    spec:
      containers:
      - name: authelia
        image: ghcr.io/authelia/authelia:4.37
";

fn legacy(dir: &Path, stdin: &str, envs: &[(&str, &str)]) -> Output {
    let config = dir.join("authelia-secrets.yaml");
    std::fs::write(&config, LEGACY_CONFIG).unwrap();
    let out = run(&[config.to_str().unwrap()], stdin.as_bytes(), envs, dir);
    out.assert_no_panic();
    out
}

#[test]
fn legacy_mode_stderr_never_shows_a_value() {
    let dir = tempdir();
    let envs = [
        ("AUTHELIA_SECRETS_SEED", SEED),
        ("TEST_LDAP", "ldap-legacy-secret-value"),
    ];
    // Transformer and generator runs, with warnings (deprecated names, a literal) on stderr.
    for stdin in [LEGACY_DEPLOYMENT, ""] {
        let out = legacy(dir.path(), stdin, &envs);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.contains("warning"), "{}", out.stderr);
        let docs = parse_stream(&out.stdout);
        let secret = docs.iter().find(|d| d["kind"] == json!("Secret")).unwrap();
        let mut values: Vec<Vec<u8>> = secret_values(secret).into_values().collect();
        assert_eq!(values.len(), 5);
        values.push(SEED.as_bytes().to_vec());
        assert_hidden(&[("stderr", &out.stderr)], &values, "legacy run");
    }
    // A failing run: a kept weak key and a short storage key; stdout stays empty.
    let weak = rsa_pem(1024, 8);
    let existing = format!(
        "{LEGACY_DEPLOYMENT}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: authelia\n  namespace: auth\n\
         data:\n  OIDC_ISSUER_PRIVATE_KEY: {}\n  STORAGE_ENCRYPTION_KEY: {}\n",
        b64(weak.as_bytes()),
        b64(b"legacy-short-key")
    );
    let out = legacy(dir.path(), &existing, &envs);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert_hidden(
        &[("stderr", &out.stderr)],
        &[
            weak.into_bytes(),
            b"legacy-short-key".to_vec(),
            b"ldap-legacy-secret-value".to_vec(),
            b"literal-smtp-secret-value".to_vec(),
            SEED.as_bytes().to_vec(),
        ],
        "failing legacy run",
    );
}

fn have_kpt() -> bool {
    let found = std::process::Command::new("kpt")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(!in_ci(), "kpt is required when CI=true");
        loud_skip("kpt is not on PATH; the kpt secrecy test did not run");
    }
    found
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    snapshot(dir)
        .into_values()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

#[test]
fn kpt_output_and_results_never_show_a_value() {
    if !have_kpt() {
        return;
    }
    let tmp = tempdir();
    let pkg = tmp.path().join("pkg");
    copy_dir(&examples_dir().join("quickstart"), &pkg);
    let _ = std::fs::remove_dir_all(pkg.join(".expected"));
    let config_path = pkg.join("authelia-secrets.yaml");
    let base = std::fs::read_to_string(&config_path).unwrap();
    let with = |extra: &str| {
        base.replace(
            "    JWT_SECRET: {}\n",
            &format!("    JWT_SECRET: {{}}\n{extra}"),
        )
    };
    std::fs::write(
        &config_path,
        with(
            "    OIDC_ISSUER_PRIVATE_KEY: {}\n    SMTP_PASSWORD: {value: kpt-literal-smtp-value}\n    \
             LDAP_PASSWORD: {fromEnv: TEST_LDAP}\n",
        ),
    )
    .unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let render = |results: &Path, envs: &[(&str, &str)]| {
        std::fs::create_dir_all(results).unwrap();
        let mut all = vec![("PATH", path.as_str())];
        all.extend_from_slice(envs);
        run_program(
            "kpt",
            &[
                "fn",
                "render",
                pkg.to_str().unwrap(),
                "--allow-exec",
                "--truncate-output=false",
                "--results-dir",
                results.to_str().unwrap(),
            ],
            b"",
            &all,
            tmp.path(),
        )
    };
    let envs = [
        ("AUTHELIA_SECRETS_SEED", SEED),
        ("TEST_LDAP", "kpt-ldap-env-value"),
    ];
    let ok_results = tmp.path().join("results-ok");
    let out = render(&ok_results, &envs);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let secret = parse(&std::fs::read(pkg.join("secret-authelia.yaml")).unwrap());
    let mut values: Vec<Vec<u8>> = secret_values(&secret).into_values().collect();
    assert_eq!(values.len(), 6);
    values.push(SEED.as_bytes().to_vec());
    let results_text = all_text(&ok_results);
    assert!(
        results_text.contains("literal"),
        "the literal warning is in the results: {results_text}"
    );
    assert_hidden(
        &[
            ("kpt stdout", out.stdout_text()),
            ("kpt stderr", &out.stderr),
            ("kpt results", &results_text),
        ],
        &values,
        "kpt fn render",
    );

    // A failing render: a provided storage key that is too short.
    std::fs::write(
        &config_path,
        with("").replace(
            "    STORAGE_ENCRYPTION_KEY: {}\n",
            "    STORAGE_ENCRYPTION_KEY: {fromEnv: TEST_SHORT}\n",
        ),
    )
    .unwrap();
    std::fs::remove_file(pkg.join("secret-authelia.yaml")).unwrap();
    let failed_results = tmp.path().join("results-failed");
    let out = render(
        &failed_results,
        &[
            ("AUTHELIA_SECRETS_SEED", SEED),
            ("TEST_SHORT", "kpt-short-key"),
        ],
    );
    assert_ne!(out.code, 0);
    let results_text = all_text(&failed_results);
    assert!(results_text.contains("at least 20"), "{results_text}");
    values.push(b"kpt-short-key".to_vec());
    assert_hidden(
        &[
            ("kpt stdout", out.stdout_text()),
            ("kpt stderr", &out.stderr),
            ("kpt results", &results_text),
        ],
        &values,
        "failing kpt fn render",
    );
}
