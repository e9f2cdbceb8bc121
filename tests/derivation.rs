//! Derivation contract v1: golden vectors for every generator type, checked against an
//! independent Python implementation and openssl.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::process::{Command, Stdio};

mod common;

const SEED: &str = "authelia-secrets-golden-vector-seed-v1";

const CONFIG: &str = r#"
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items: []
functionConfig:
  apiVersion: authelia-secrets.dev/v1alpha1
  kind: AutheliaSecrets
  metadata: {name: authelia, namespace: NAMESPACE}
  spec:
    seed: {env: GOLDEN_SEED}
    secrets:
      JWT_SECRET: {}
      R_HEX: {mountOnly: true, charset: hex, length: 40}
      R_RFC: {mountOnly: true, charset: rfc3986, length: 50}
      R_ASCII: {mountOnly: true, charset: ascii, length: 70, rotation: 3}
      EC256: {mountOnly: true, type: ecdsa}
      EC384: {mountOnly: true, type: ecdsa, curve: P-384}
      EC521: {mountOnly: true, type: ecdsa, curve: P-521}
      RSA2048: {mountOnly: true, type: rsa}
      RSA2048_PKCS1: {mountOnly: true, type: rsa, format: pkcs1}
      RSA3072: {mountOnly: true, type: rsa, bits: 3072}
      RSA4096: {mountOnly: true, type: rsa, bits: 4096}
"#;

/// (key, rotation, descriptor, expected value) for text generators.
const TEXT_VECTORS: [(&str, &str, &str, &str); 4] = [
    (
        "JWT_SECRET",
        "0",
        "random;charset=alphanumeric;length=64",
        "9NBtw22Iq6y15oBAyF1zh5P2RZoG5g7v3sMs8qkOBDkJglxw1K3260wFQOIDqNuh",
    ),
    (
        "R_HEX",
        "0",
        "random;charset=hex;length=40",
        "065a27e8d6e02e08fe51062c485f1a078fbf137e",
    ),
    (
        "R_RFC",
        "0",
        "random;charset=rfc3986;length=50",
        "-IH48wRtdQrP.a5hZ5IrV-XCgCbMnrKh0RGKx9wL1hQl__0H7T",
    ),
    (
        "R_ASCII",
        "3",
        "random;charset=ascii;length=70",
        r#"Z"m/H91}Cts|]KI+p5Y<r5XYvje\V2M+xpgK$&4/=EJx7oAU4BK@%!#9RUD7rfS`j-JL?6"#,
    ),
];

/// (key, descriptor, SHA-256 of the PEM text, SHA-256 of the public key DER).
///
/// The RSA keys depend on the exact versions of rsa, rand_chacha, rand_core, ppv-lite86,
/// crypto-bigint and crypto-primes (pinned in Cargo.toml): an upgrade that changes them fails here.
const KEY_VECTORS: [(&str, &str, &str, &str); 7] = [
    (
        "EC256",
        "ecdsa;curve=P-256",
        "e7a6e55191b84051066dcbb79bec0401ddf062f5dd6100c5662c97cb00d9f297",
        "3ebcc8437a2c3f1487ac3697c5c2d50d252f900b3314a7c2c36fba388a80d746",
    ),
    (
        "EC384",
        "ecdsa;curve=P-384",
        "c8a1f3e9cd6b151df5b799325536c034bb94ba6c2164cc7d234f3d2c09e1c0c5",
        "55f66dbd091fe0742f99d704504e39e44dbb7c2d3609dcfff3d7ae0686cbc4ff",
    ),
    (
        "EC521",
        "ecdsa;curve=P-521",
        "060f18dbc6df886431d1ae78bd1b56e7d53a9c7d0544d04fb1aa2dda049b6e69",
        "d303e45864c296a8787140edf53c997c6a3eb49792cc5c2d7ebef59146b14efe",
    ),
    (
        "RSA2048",
        "rsa;bits=2048",
        "a6d14512ae4da17addef56e0c170cef392467d4cd27b6f2f688c708de4fe7a3e",
        "2188801e0d46618ff7e1aea232118a45b2249922d47fc0d1834d856925696d35",
    ),
    (
        "RSA2048_PKCS1",
        "rsa;bits=2048",
        "30f83a6e02726ef4fbe415a4c1a33f08bb8201f8715d65ff43141b2a93d44956",
        "5ed6ba92dd9533fed31d079b0c0099b200a3cf49129fb0da54019d70085ea40f",
    ),
    (
        "RSA3072",
        "rsa;bits=3072",
        "1694d666bc710d20246cc9c535141aeffbebe81a00567bce8caba9fa8affaf2f",
        "f8e535ddd2234be5cca862b3bde42f482ee60973ed043ee9c10988f597622efb",
    ),
    (
        "RSA4096",
        "rsa;bits=4096",
        "52529159004e942c120addeed988fee657a08d8329a090e5000d8182238d343f",
        "ae8479adee6236215e45d74c9be084702b0972140f1a544c9454ac57627392ee",
    ),
];

/// Runs the function on the golden config; returns stdout.
fn render(namespace: &str) -> String {
    render_config(CONFIG, namespace)
}

/// Runs the function on `config` (a ResourceList with NAMESPACE to fill in); returns stdout.
fn render_config(config: &str, namespace: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authelia-secrets"))
        .env_remove("AUTHELIA_SECRETS_SEED")
        .env("GOLDEN_SEED", SEED)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run authelia-secrets");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(config.replace("NAMESPACE", namespace).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn values(stdout: &str) -> serde_json::Map<String, Value> {
    let list = authelia_secrets::yaml::parse_document("out", stdout.as_bytes()).unwrap();
    let data = list["items"][0]["data"].as_object().unwrap().clone();
    data.into_iter()
        .map(|(k, v)| {
            let bytes = STANDARD.decode(v.as_str().unwrap()).unwrap();
            (k, Value::String(String::from_utf8(bytes).unwrap()))
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn have(tool: &str, probe: &[&str]) -> bool {
    common::have_tool(tool, probe, "part of the derivation test")
}

#[test]
fn golden_vectors_for_every_generator_type() {
    let v = values(&render("auth"));
    for (key, _, _, expected) in TEXT_VECTORS {
        assert_eq!(v[key].as_str().unwrap(), expected, "{key}");
    }
    for (key, _, pem_sha, _) in KEY_VECTORS {
        assert_eq!(
            sha256_hex(v[key].as_str().unwrap().as_bytes()),
            pem_sha,
            "{key} PEM changed: a derivation change is a breaking change"
        );
    }
}

#[test]
fn rsa_formats_encode_the_same_key_and_pkcs1_is_labelled_so() {
    let v = values(&render("auth"));
    assert!(
        v["RSA2048_PKCS1"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
    );
    assert!(
        v["RSA2048"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    // The format is not part of the descriptor: RSA2048 as PKCS#1 is the same key.
    let pkcs1 = CONFIG.replace(
        "RSA2048: {mountOnly: true, type: rsa}",
        "RSA2048: {mountOnly: true, type: rsa, format: pkcs1}",
    );
    let v1 = values(&render_config(&pkcs1, "auth"));
    let text = v1["RSA2048"].as_str().unwrap();
    assert!(text.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert_eq!(
        authelia_secrets::keys::public_fingerprint(text).unwrap(),
        KEY_VECTORS[3].3
    );
}

#[test]
fn two_processes_give_the_same_bytes_and_namespaces_separate() {
    let a = render("auth");
    let b = render("auth");
    assert_eq!(a, b);
    let staging = values(&render("staging"));
    let auth = values(&a);
    for (key, value) in &auth {
        assert_ne!(value, &staging[key], "{key} must differ between namespaces");
    }
}

#[test]
fn independent_python_implementation_agrees() {
    if !have("python3", &["--version"]) {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/derive_v1.py");
    for (key, rotation, descriptor, expected) in TEXT_VECTORS {
        let out = Command::new("python3")
            .args([script, SEED, "auth", "authelia", key, rotation, descriptor])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), expected);
    }
    if !have("openssl", &["version"]) {
        return;
    }
    let v = values(&render("auth"));
    let dir = tempfile::tempdir().unwrap();
    for (key, descriptor, _, _) in KEY_VECTORS.iter().filter(|k| k.1.starts_with("ecdsa")) {
        let out = Command::new("python3")
            .args([script, SEED, "auth", "authelia", key, "0", descriptor])
            .output()
            .unwrap();
        let expected = String::from_utf8(out.stdout).unwrap();
        let pem = dir.path().join(format!("{key}.pem"));
        std::fs::write(&pem, v[*key].as_str().unwrap()).unwrap();
        let text = Command::new("openssl")
            .args(["pkey", "-noout", "-text", "-in"])
            .arg(&pem)
            .output()
            .unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        let priv_hex: String = text
            .split("priv:")
            .nth(1)
            .and_then(|r| r.split("pub:").next())
            .unwrap()
            .chars()
            .filter(char::is_ascii_hexdigit)
            .collect();
        assert_eq!(
            priv_hex.trim_start_matches('0'),
            expected.trim().trim_start_matches('0'),
            "{key}"
        );
    }
}

#[test]
fn generated_keys_pass_openssl_check_with_requested_size() {
    if !have("openssl", &["version"]) {
        return;
    }
    let v = values(&render("auth"));
    let dir = tempfile::tempdir().unwrap();
    let expect = [
        ("EC256", "256 bit"),
        ("EC384", "384 bit"),
        ("EC521", "521 bit"),
        ("RSA2048", "2048 bit"),
        ("RSA2048_PKCS1", "2048 bit"),
        ("RSA3072", "3072 bit"),
        ("RSA4096", "4096 bit"),
    ];
    for (key, size) in expect {
        let pem = dir.path().join(format!("{key}.pem"));
        std::fs::write(&pem, v[key].as_str().unwrap()).unwrap();
        let check = Command::new("openssl")
            .args(["pkey", "-check", "-noout", "-in"])
            .arg(&pem)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{key}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let text = Command::new("openssl")
            .args(["pkey", "-noout", "-text", "-in"])
            .arg(&pem)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&text.stdout).contains(size),
            "{key} is not {size}"
        );
        let der = Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&pem)
            .output()
            .unwrap();
        let fingerprint = KEY_VECTORS.iter().find(|k| k.0 == key).unwrap().3;
        assert_eq!(sha256_hex(&der.stdout), fingerprint, "{key} public key");
    }
}
