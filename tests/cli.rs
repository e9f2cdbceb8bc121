//! Subcommands and flags: --help, --version, seed, install-plugin, catalog.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::json;
use std::path::Path;

fn cli(args: &[&str], envs: &[(&str, &str)], cwd: &Path) -> Output {
    let out = run(args, b"", envs, cwd);
    out.assert_no_panic();
    out
}

#[test]
fn help_describes_the_modes_and_the_subcommands() {
    let dir = tempdir();
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let out = cli(args, &[], dir.path());
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let text = out.stdout_text();
        for word in ["Usage:", "seed", "install-plugin", "catalog", "CONFIG"] {
            assert!(
                text.contains(word),
                "{args:?}: {word} missing from:\n{text}"
            );
        }
    }
    let long = cli(&["--help"], &[], dir.path());
    assert!(
        long.stdout_text().contains("ResourceList"),
        "{}",
        long.stdout_text()
    );
    assert!(
        long.stdout_text().contains("legacy"),
        "{}",
        long.stdout_text()
    );

    let sub = cli(&["install-plugin", "--help"], &[], dir.path());
    assert_eq!(sub.code, 0);
    assert!(sub.stdout_text().contains("--dir"), "{}", sub.stdout_text());
    let sub = cli(&["catalog", "--help"], &[], dir.path());
    assert_eq!(sub.code, 0);
    assert!(
        sub.stdout_text().contains("--authelia-version"),
        "{}",
        sub.stdout_text()
    );
}

#[test]
fn version_prints_the_crate_version() {
    let dir = tempdir();
    for flag in ["--version", "-V"] {
        let out = cli(&[flag], &[], dir.path());
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            out.stdout_text(),
            format!("authelia-secrets {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn seed_prints_32_random_bytes_in_base64url() {
    let dir = tempdir();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let out = cli(&["seed"], &[], dir.path());
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.is_empty(), "{}", out.stderr);
        let text = out.stdout_text();
        let seed = text.strip_suffix('\n').expect("one line");
        assert!(!seed.contains('\n'));
        assert_eq!(seed.len(), 43, "{seed}");
        assert!(
            seed.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{seed}"
        );
        let bytes = URL_SAFE_NO_PAD.decode(seed).expect("base64url");
        assert_eq!(bytes.len(), 32);
        assert!(!seen.contains(&seed.to_string()), "two seeds are equal");
        seen.push(seed.to_string());
    }
}

#[test]
fn a_printed_seed_is_accepted_by_the_function() {
    let dir = tempdir();
    let seed_out = cli(&["seed"], &[], dir.path());
    let seed = seed_out.stdout_text().trim().to_string();
    let fc = config(json!({"secrets": {"JWT_SECRET": {}}}));
    let input = resource_list(&[], Some(&fc));
    let a = run_krm(&input, &[("AUTHELIA_SECRETS_SEED", &seed)], dir.path());
    assert_eq!(a.code, 0, "{}", a.stderr);
    let b = run_krm(&input, &[("AUTHELIA_SECRETS_SEED", &seed)], dir.path());
    assert_eq!(a.stdout, b.stdout);
    assert!(!a.stdout_text().contains(&seed));
}

const PLUGIN_PATH: &str = "authelia-secrets.dev/v1alpha1/autheliasecrets/AutheliaSecrets";

fn assert_installed(plugin: &Path, dir: &Path) {
    assert!(plugin.is_file(), "{} missing", plugin.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(plugin).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "not executable: {mode:o}");
    }
    assert_eq!(
        std::fs::read(plugin).unwrap(),
        std::fs::read(BIN).unwrap(),
        "the plugin is a copy of the binary"
    );
    // No temporary file is left behind.
    let leftovers: Vec<String> = std::fs::read_dir(plugin.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "AutheliaSecrets")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The installed copy runs.
    let out = run_program(plugin, &["--version"], b"", &[], dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout_text().starts_with("authelia-secrets "));
}

#[test]
fn install_plugin_writes_an_executable_into_the_given_dir() {
    let dir = tempdir();
    let home = dir.path().join("plugins");
    let home_str = home.to_str().unwrap();
    let out = cli(&["install-plugin", "--dir", home_str], &[], dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plugin = home.join(PLUGIN_PATH);
    assert_installed(&plugin, dir.path());
    // The report goes to stderr, so `install-plugin && kubectl kustomize ...` prints only YAML.
    assert!(out.stdout.is_empty(), "{}", out.stdout_text());
    assert!(
        out.stderr
            .contains(&format!("authelia-secrets: installed {}", plugin.display())),
        "{}",
        out.stderr
    );

    // Installing again replaces the file in place.
    let again = cli(&["install-plugin", "--dir", home_str], &[], dir.path());
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_installed(&plugin, dir.path());
}

#[test]
fn install_plugin_defaults_to_the_kustomize_plugin_home() {
    let dir = tempdir();
    let home = dir.path().join("kustomize-home");
    let out = cli(
        &["install-plugin"],
        &[("KUSTOMIZE_PLUGIN_HOME", home.to_str().unwrap())],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_installed(&home.join(PLUGIN_PATH), dir.path());

    let xdg = dir.path().join("xdg");
    let out = cli(
        &["install-plugin"],
        &[("XDG_CONFIG_HOME", xdg.to_str().unwrap())],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_installed(&xdg.join("kustomize/plugin").join(PLUGIN_PATH), dir.path());
}

#[test]
fn install_plugin_into_an_unwritable_place_fails_cleanly() {
    let dir = tempdir();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let out = cli(
        &["install-plugin", "--dir", blocker.to_str().unwrap()],
        &[],
        dir.path(),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("error"), "{}", out.stderr);
}

fn catalog_line<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no {key} line in:\n{text}"))
}

#[test]
fn catalog_lists_the_env_vars_of_each_version() {
    let dir = tempdir();
    let default = cli(&["catalog"], &[], dir.path());
    assert_eq!(default.code, 0, "{}", default.stderr);
    let v439 = cli(&["catalog", "--authelia-version", "4.39"], &[], dir.path());
    assert_eq!(default.stdout, v439.stdout, "4.39 is the default");
    let v437 = cli(&["catalog", "--authelia-version", "4.37"], &[], dir.path());
    assert_eq!(v437.code, 0, "{}", v437.stderr);

    let new = v439.stdout_text();
    let old = v437.stdout_text();
    assert!(new.lines().next().unwrap().contains("4.39"), "{new}");
    assert!(old.lines().next().unwrap().contains("4.37"), "{old}");

    let jwt_new = catalog_line(new, "JWT_SECRET");
    let jwt_old = catalog_line(old, "JWT_SECRET");
    assert!(
        jwt_new.contains("AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE"),
        "{jwt_new}"
    );
    assert!(jwt_old.contains("AUTHELIA_JWT_SECRET_FILE"), "{jwt_old}");
    assert!(!jwt_old.contains("IDENTITY_VALIDATION"), "{jwt_old}");

    for (key, env) in [
        ("SESSION_SECRET", "AUTHELIA_SESSION_SECRET_FILE"),
        (
            "STORAGE_ENCRYPTION_KEY",
            "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE",
        ),
        (
            "STORAGE_PASSWORD",
            "AUTHELIA_STORAGE_POSTGRES_PASSWORD_FILE",
        ),
        ("REDIS_PASSWORD", "AUTHELIA_SESSION_REDIS_PASSWORD_FILE"),
        (
            "REDIS_SENTINEL_PASSWORD",
            "AUTHELIA_SESSION_REDIS_HIGH_AVAILABILITY_SENTINEL_PASSWORD_FILE",
        ),
        (
            "OIDC_HMAC_SECRET",
            "AUTHELIA_IDENTITY_PROVIDERS_OIDC_HMAC_SECRET_FILE",
        ),
    ] {
        for text in [new, old] {
            assert!(catalog_line(text, key).contains(env), "{key}: {env}");
        }
    }
    // The value column says how each value is obtained.
    assert!(catalog_line(new, "JWT_SECRET").contains("generated"));
    assert!(catalog_line(new, "LDAP_PASSWORD").contains("provided"));
}

#[test]
fn catalog_accepts_full_releases_and_refuses_unknown_versions() {
    let dir = tempdir();
    let full = cli(
        &["catalog", "--authelia-version", "v4.38.1"],
        &[],
        dir.path(),
    );
    assert_eq!(full.code, 0, "{}", full.stderr);
    assert!(full.stdout_text().lines().next().unwrap().contains("4.38"));

    for bad in ["5.0", "4.36", "latest", ""] {
        let out = cli(&["catalog", "--authelia-version", bad], &[], dir.path());
        assert_eq!(out.code, 2, "{bad:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{bad:?}");
        assert!(out.stderr.contains("4.39"), "{bad:?}: {}", out.stderr);
    }
}

#[test]
fn unknown_flags_and_extra_arguments_are_usage_errors() {
    let dir = tempdir();
    for args in [
        &["--frobnicate"][..],
        &["seed", "extra"],
        &["a.yaml", "b.yaml"],
        &["install-plugin", "--dir"],
    ] {
        let out = cli(args, &[], dir.path());
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(out.stderr.contains("error"), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn a_closed_stdout_never_makes_the_binary_panic() {
    // `authelia-secrets catalog | head -0`, `authelia-secrets seed | true`: the reader is gone
    // before we write. Every mode must end with an exit code, not a panic (exit 101).
    let dir = tempdir();
    let config_path = dir.path().join("config.yaml");
    std::fs::write(
        &config_path,
        "apiVersion: authelia-secrets.dev/v1alpha1\nkind: AutheliaSecrets\nmetadata:\n  name: authelia\n",
    )
    .unwrap();
    let fc = config(json!({"secrets": {"JWT_SECRET": {}}}));
    let krm_input = resource_list(&[], Some(&fc));
    let plugins = dir.path().join("plugins");
    let cases: Vec<(&str, Vec<&str>, &[u8])> = vec![
        ("seed", vec!["seed"], b""),
        ("catalog", vec!["catalog"], b""),
        (
            "install-plugin",
            vec!["install-plugin", "--dir", plugins.to_str().unwrap()],
            b"",
        ),
        ("KRM mode", vec![], &krm_input),
        ("legacy mode", vec![config_path.to_str().unwrap()], b""),
    ];
    let mut panicked = Vec::new();
    for (name, args, stdin) in cases {
        let envs = [("AUTHELIA_SECRETS_SEED", SEED), ("RUST_BACKTRACE", "0")];
        let out = run_with_closed_stdout(&args, stdin, &envs, dir.path());
        if out.code == 101 || out.stderr.contains("panicked") {
            let first = out.stderr.lines().find(|l| !l.trim().is_empty());
            panicked.push(format!(
                "{name}: exit {}: {}",
                out.code,
                first.unwrap_or("")
            ));
        }
    }
    assert!(
        panicked.is_empty(),
        "panics on a closed stdout:\n{}",
        panicked.join("\n")
    );
}
