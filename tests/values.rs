//! Where values come from and what is refused: seed failures, kept values, rotation, provided
//! values and PEM material, the catalog's provided-only keys and configKey rules.

mod common;

use common::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};

fn seeded() -> [(&'static str, &'static str); 1] {
    [("AUTHELIA_SECRETS_SEED", SEED)]
}

fn krm(input: &[u8], envs: &[(&str, &str)]) -> (Output, Value) {
    let dir = tempdir();
    let out = run_krm(input, envs, dir.path());
    out.assert_no_panic();
    let list = parse(&out.stdout);
    (out, list)
}

fn assert_ok(out: &Output, list: &Value) {
    assert_eq!(out.code, 0, "{}\n{}", out.stderr, describe_results(list));
    assert!(errors(list).is_empty(), "{}", describe_results(list));
}

fn assert_failed(out: &Output, list: &Value) {
    assert_eq!(out.code, 1, "expected exit 1:\n{}", describe_results(list));
    assert!(!errors(list).is_empty());
}

fn secret(list: &Value) -> Value {
    item_of(list, "Secret", "authelia")
}

/// An RSA key of `bits` (PKCS#8 PEM), made here so no tool is needed.
fn rsa_pem(bits: usize) -> String {
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let key = rsa::PrivateKey::new(&mut rng, bits).unwrap();
    key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

/// A P-256 key (PKCS#8 PEM).
fn ec_pem() -> String {
    let key = p256::SecretKey::from_slice(&[9; 32]).unwrap();
    key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

/// A self-signed P-256 certificate (public; its key was thrown away).
const TEST_CERTIFICATE: &str = include_str!("data/test-certificate.pem");

// ---------------------------------------------------------------------------------------------
// Seed failures

#[test]
fn a_failing_seed_gives_only_the_seed_error_and_generates_nothing() {
    let spec = |seed: Value| {
        json!({"seed": seed, "secrets": {
            "JWT_SECRET": {},
            "OIDC_ISSUER_PRIVATE_KEY": {"bits": 4096},
        }})
    };
    let dir = tempdir();
    std::fs::write(dir.path().join("short.txt"), "too-short\n").unwrap();
    std::fs::write(dir.path().join("empty.txt"), "").unwrap();
    type Case<'a> = (Value, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 5] = [
        (json!({"env": "MY_SEED"}), &[], "spec.seed.env"),
        (
            json!({"env": "MY_SEED"}),
            &[("MY_SEED", "short")],
            "spec.seed.env",
        ),
        (json!({"file": "missing.txt"}), &[], "spec.seed.file"),
        (json!({"file": "short.txt"}), &[], "spec.seed.file"),
        (json!({"file": "empty.txt"}), &[], "spec.seed.file"),
    ];
    for (seed, envs, field) in cases {
        let input = resource_list(&[], Some(&config(spec(seed.clone()))));
        let out = run_krm(&input, envs, dir.path());
        let list = parse(&out.stdout);
        assert_failed(&out, &list);
        error_at(&list, field);
        // Only the seed error: no "no seed is set" warning, so nothing random was made either.
        assert_eq!(
            results(&list).len(),
            1,
            "{seed}: {}",
            describe_results(&list)
        );
        assert!(
            !out.stderr.contains("no seed is set"),
            "{seed}: {}",
            out.stderr
        );
    }
    // An empty AUTHELIA_SECRETS_SEED is configured too: the same.
    let input = resource_list(&[], Some(&config(json!({"secrets": {"JWT_SECRET": {}}}))));
    let (out, list) = krm(&input, &[("AUTHELIA_SECRETS_SEED", "")]);
    assert_failed(&out, &list);
    assert_eq!(results(&list).len(), 1, "{}", describe_results(&list));
}

// ---------------------------------------------------------------------------------------------
// Kept values

fn existing_secret(data: Value, rotations: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "authelia",
            "namespace": "auth",
            "annotations": {"authelia-secrets.dev/rotations": rotations},
        },
        "type": "Opaque",
        "data": data,
    })
}

#[test]
fn kept_values_are_checked_like_provided_ones() {
    let fc = config(json!({"secrets": {
        "STORAGE_ENCRYPTION_KEY": {},
        "OIDC_ISSUER_PRIVATE_KEY": {},
    }}));
    let weak = rsa_pem(1024);
    let existing = existing_secret(
        json!({
            "STORAGE_ENCRYPTION_KEY": b64(b"0123456789"),
            "OIDC_ISSUER_PRIVATE_KEY": b64(weak.as_bytes()),
        }),
        "OIDC_ISSUER_PRIVATE_KEY=0,STORAGE_ENCRYPTION_KEY=0",
    );
    let (out, list) = krm(&resource_list(&[existing], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    let storage = error_at(&list, "data.STORAGE_ENCRYPTION_KEY");
    assert_eq!(storage["resourceRef"]["kind"], json!("Secret"));
    for part in ["10 characters", "at least 20", "rotation", "change-key"] {
        assert!(message(&storage).contains(part), "{}", message(&storage));
    }
    let key = error_at(&list, "data.OIDC_ISSUER_PRIVATE_KEY");
    assert!(message(&key).contains("2048"), "{}", message(&key));
    assert!(message(&key).contains("remove data.OIDC_ISSUER_PRIVATE_KEY"));

    // The same in stringData, reported there.
    let mut in_string_data = existing_secret(json!({}), "STORAGE_ENCRYPTION_KEY=0");
    in_string_data["stringData"] = json!({"STORAGE_ENCRYPTION_KEY": "short-key"});
    let fc = config(json!({"secrets": {"STORAGE_ENCRYPTION_KEY": {}}}));
    let (out, list) = krm(&resource_list(&[in_string_data], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    error_at(&list, "stringData.STORAGE_ENCRYPTION_KEY");

    // A good kept value passes.
    let good = existing_secret(
        json!({"STORAGE_ENCRYPTION_KEY": b64(b"a-kept-storage-key-of-enough-length")}),
        "STORAGE_ENCRYPTION_KEY=0",
    );
    let (out, list) = krm(&resource_list(&[good], Some(&fc)), &seeded());
    assert_ok(&out, &list);
}

// ---------------------------------------------------------------------------------------------
// Rotation

#[test]
fn a_rotation_bump_replaces_exactly_that_key_and_updates_the_annotation() {
    let spec = |jwt_rotation: u64| {
        json!({"secrets": {
            "JWT_SECRET": {"rotation": jwt_rotation},
            "SESSION_SECRET": {},
            "STORAGE_ENCRYPTION_KEY": {},
        }})
    };
    let (out, first) = krm(&resource_list(&[], Some(&config(spec(0)))), &seeded());
    assert_ok(&out, &first);
    let before = secret(&first);
    assert_eq!(
        before["metadata"]["annotations"]["authelia-secrets.dev/rotations"],
        json!("JWT_SECRET=0,SESSION_SECRET=0,STORAGE_ENCRYPTION_KEY=0")
    );
    for envs in [&seeded()[..], &[]] {
        let (out, second) = krm(
            &resource_list(std::slice::from_ref(&before), Some(&config(spec(1)))),
            envs,
        );
        assert_ok(&out, &second);
        let after = secret(&second);
        let (old, new) = (secret_values(&before), secret_values(&after));
        assert_ne!(old["JWT_SECRET"], new["JWT_SECRET"]);
        assert_eq!(old["SESSION_SECRET"], new["SESSION_SECRET"]);
        assert_eq!(old["STORAGE_ENCRYPTION_KEY"], new["STORAGE_ENCRYPTION_KEY"]);
        assert_eq!(
            after["metadata"]["annotations"]["authelia-secrets.dev/rotations"],
            json!("JWT_SECRET=1,SESSION_SECRET=0,STORAGE_ENCRYPTION_KEY=0")
        );
        // Nothing about the storage key: only JWT_SECRET rotated.
        assert!(
            !describe_results(&second).contains("change-key"),
            "{}",
            describe_results(&second)
        );
    }
    // With a seed, the rotated value is the one rotation 1 derives from scratch.
    let (_, rotated) = krm(
        &resource_list(std::slice::from_ref(&before), Some(&config(spec(1)))),
        &seeded(),
    );
    let (_, fresh) = krm(&resource_list(&[], Some(&config(spec(1)))), &seeded());
    assert_eq!(
        secret_values(&secret(&rotated))["JWT_SECRET"],
        secret_values(&secret(&fresh))["JWT_SECRET"]
    );
}

#[test]
fn rotating_the_storage_key_over_an_existing_value_explains_change_key() {
    let existing = existing_secret(
        json!({"STORAGE_ENCRYPTION_KEY": b64(b"the-storage-key-the-database-uses")}),
        "STORAGE_ENCRYPTION_KEY=0",
    );
    let fc = config(json!({"secrets": {"STORAGE_ENCRYPTION_KEY": {"rotation": 1}}}));
    let (out, list) = krm(&resource_list(&[existing], Some(&fc)), &seeded());
    assert_ok(&out, &list);
    let w = warning_at(&list, "spec.secrets.STORAGE_ENCRYPTION_KEY.rotation");
    assert!(
        message(&w).contains("authelia storage encryption change-key"),
        "{}",
        message(&w)
    );
    assert!(message(&w).contains("0 → 1"), "{}", message(&w));
    // A first generation (nothing to replace) says nothing of the kind.
    let (_, fresh) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert!(warnings(&fresh).is_empty(), "{}", describe_results(&fresh));
}

// ---------------------------------------------------------------------------------------------
// Generator rules and provided values

#[test]
fn what_authelia_refuses_is_refused_with_the_rule() {
    let fc = config(json!({"secrets": {
        "OIDC_ISSUER_PRIVATE_KEY": {"bits": 1024},
        "STORAGE_ENCRYPTION_KEY": {"length": 10},
    }}));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    let rsa = error_at(&list, "spec.secrets.OIDC_ISSUER_PRIVATE_KEY.bits");
    assert!(
        message(&rsa).contains("Authelia refuses RSA keys under 2048 bits"),
        "{}",
        message(&rsa)
    );
    let storage = error_at(&list, "spec.secrets.STORAGE_ENCRYPTION_KEY.length");
    assert!(
        message(&storage).contains("storage.encryption_key to be at least 20 characters"),
        "{}",
        message(&storage)
    );
}

#[test]
fn a_literal_value_gets_a_warning_and_is_used() {
    let fc = config(json!({"secrets": {"SMTP_PASSWORD": {"value": "literal-smtp-password"}}}));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &[]);
    assert_ok(&out, &list);
    let w = warning_at(&list, "spec.secrets.SMTP_PASSWORD.value");
    assert!(message(&w).contains("stored in Git"), "{}", message(&w));
    assert_eq!(
        secret_values(&secret(&list))["SMTP_PASSWORD"],
        b"literal-smtp-password"
    );
}

#[test]
fn a_provided_key_without_a_source_says_who_issues_it() {
    let fc = config(json!({"secrets": {"LDAP_PASSWORD": {}, "DUO_SECRET_KEY": {}}}));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert_failed(&out, &list);
    let ldap = error_at(&list, "spec.secrets.LDAP_PASSWORD");
    assert!(
        message(&ldap).starts_with("LDAP_PASSWORD is issued by your LDAP server"),
        "{}",
        message(&ldap)
    );
    assert!(message(&ldap).contains("set fromFile or fromEnv"));
    let duo = error_at(&list, "spec.secrets.DUO_SECRET_KEY");
    assert!(
        message(&duo).contains("is issued by Duo"),
        "{}",
        message(&duo)
    );
}

#[test]
fn provided_pem_material_is_parsed_as_authelia_reads_it() {
    let ec = ec_pem();
    let two_blocks = format!("{ec}{ec}");
    let weak = rsa_pem(1024);
    let strong = rsa_pem(2048);
    let cases: [(&str, &str, &str); 4] = [
        ("LDAP_TLS_PRIVATE_KEY", two_blocks.as_str(), "2 PEM blocks"),
        ("LDAP_TLS_PRIVATE_KEY", weak.as_str(), "RSA 1024-bit key"),
        ("OIDC_ISSUER_PRIVATE_KEY", ec.as_str(), "RSA only"),
        ("SMTP_TLS_CERTIFICATE_CHAIN", ec.as_str(), "CERTIFICATE"),
    ];
    for (key, pem, expected) in cases {
        let fc = config(json!({"secrets": {key: {"fromEnv": "TEST_PEM"}}}));
        let (out, list) = krm(&resource_list(&[], Some(&fc)), &[("TEST_PEM", pem)]);
        assert_failed(&out, &list);
        let r = error_at(&list, &format!("spec.secrets.{key}"));
        assert!(message(&r).contains(expected), "{key}: {}", message(&r));
    }
    // Good material passes: an EC key for LDAP TLS, an RSA-2048 issuer key.
    for (key, pem) in [
        ("LDAP_TLS_PRIVATE_KEY", &ec),
        ("OIDC_ISSUER_PRIVATE_KEY", &strong),
    ] {
        let fc = config(json!({"secrets": {key: {"fromEnv": "TEST_PEM"}}}));
        let (out, list) = krm(&resource_list(&[], Some(&fc)), &[("TEST_PEM", pem)]);
        assert_ok(&out, &list);
    }
    // Certificate chains: each block must parse as an X.509 certificate.
    let fake = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let fc = config(json!({"secrets": {"SMTP_TLS_CERTIFICATE_CHAIN": {"fromEnv": "TEST_PEM"}}}));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &[("TEST_PEM", fake)]);
    assert_failed(&out, &list);
    let r = error_at(&list, "spec.secrets.SMTP_TLS_CERTIFICATE_CHAIN");
    assert!(message(&r).contains("X.509"), "{}", message(&r));
    let chain = format!("{TEST_CERTIFICATE}{TEST_CERTIFICATE}");
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &[("TEST_PEM", &chain)]);
    assert_ok(&out, &list);

    // A key block that is not a key reads as a sentence.
    let broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let fc = config(json!({"secrets": {"LDAP_TLS_PRIVATE_KEY": {"fromEnv": "TEST_PEM"}}}));
    let (_, list) = krm(&resource_list(&[], Some(&fc)), &[("TEST_PEM", broken)]);
    let r = error_at(&list, "spec.secrets.LDAP_TLS_PRIVATE_KEY");
    assert_eq!(
        message(&r),
        "the value of LDAP_TLS_PRIVATE_KEY has a \"PRIVATE KEY\" block that does not parse as an RSA or ECDSA (P-256/P-384/P-521) key"
    );
}

#[test]
fn the_postgres_ssl_key_is_a_path_and_never_generated() {
    let cases = [
        (
            json!({}),
            "spec.secrets.STORAGE_POSTGRES_SSL_KEY",
            "never generated",
        ),
        (
            json!({"type": "random"}),
            "spec.secrets.STORAGE_POSTGRES_SSL_KEY",
            "type asks for a generated value",
        ),
        (
            json!({"fromEnv": "TEST_PEM"}),
            "spec.secrets.STORAGE_POSTGRES_SSL_KEY",
            "STORAGE_POSTGRES_TLS_PRIVATE_KEY",
        ),
    ];
    let pem = ec_pem();
    for (settings, field, expected) in cases {
        let fc = config(json!({"secrets": {"STORAGE_POSTGRES_SSL_KEY": settings}}));
        let (out, list) = krm(&resource_list(&[], Some(&fc)), &[("TEST_PEM", &pem)]);
        assert_failed(&out, &list);
        let r = error_at(&list, field);
        assert!(
            message(&r).contains(expected),
            "{settings}: {}",
            message(&r)
        );
        assert!(find(&items(&list), "Secret", "authelia").is_none());
    }
    let fc = config(json!({"secrets": {"STORAGE_POSTGRES_SSL_KEY": {"fromEnv": "TEST_PATH"}}}));
    let (out, list) = krm(
        &resource_list(&[], Some(&fc)),
        &[("TEST_PATH", "/certs/postgres.key")],
    );
    assert_ok(&out, &list);
    assert_eq!(
        secret_values(&secret(&list))["STORAGE_POSTGRES_SSL_KEY"],
        b"/certs/postgres.key"
    );
}

// ---------------------------------------------------------------------------------------------
// configKey

#[test]
fn config_keys_authelia_would_not_read_from_a_file_are_refused() {
    let cases = [
        ("identity_providers.oidc.jwks.key", "mountOnly: true"),
        (
            "identity_providers.oidc.clients.client_secret",
            "template filter",
        ),
        ("identity_providers.oidc.jwks[].key", "lists or maps"),
        ("storage.postgres.servers.tls.private_key", "list or map"),
        (
            "session.name",
            "ends in key, secret, password, token, certificate_chain",
        ),
        ("server.tls.key", "holds a path"),
        (
            "authentication_backend.disable_reset_password",
            "never reads",
        ),
    ];
    for (config_key, expected) in cases {
        let fc = config(json!({"secrets": {"MY_KEY": {"configKey": config_key}}}));
        let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
        assert_failed(&out, &list);
        let r = error_at(&list, "spec.secrets.MY_KEY.configKey");
        assert!(
            message(&r).contains(expected),
            "{config_key}: {}",
            message(&r)
        );
    }
    let fc = config(json!({"secrets": {"MY_KEY": {"configKey": "notifier.smtp.password"}}}));
    let (out, list) = krm(&resource_list(&[], Some(&fc)), &seeded());
    assert_ok(&out, &list);
}

// ---------------------------------------------------------------------------------------------
// Malformed names are not echoed

#[test]
fn a_malformed_variable_name_is_not_repeated() {
    let pasted = "correct horse battery staple!";
    for spec in [
        json!({"secrets": {"LDAP_PASSWORD": {"fromEnv": pasted}}}),
        json!({"seed": {"env": pasted}, "secrets": {"JWT_SECRET": {}}}),
    ] {
        let (out, list) = krm(&resource_list(&[], Some(&config(spec.clone()))), &[]);
        assert_failed(&out, &list);
        assert!(
            describe_results(&list).contains("not a valid environment variable name"),
            "{}",
            describe_results(&list)
        );
        let text = serde_json::to_string(&results(&list)).unwrap();
        assert!(
            !text.contains(pasted),
            "{spec}: the results repeat the name"
        );
        assert!(
            !out.stderr.contains(pasted),
            "{spec}: stderr repeats the name"
        );
    }
}
