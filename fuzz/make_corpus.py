#!/usr/bin/env python3
"""Builds the committed seed corpus under fuzz/corpus/<target>/ from examples/ plus hostile seeds.

Run from anywhere: `python3 fuzz/make_corpus.py`. Files are named by the SHA-1 of their content
(as libFuzzer names them), so re-running is idempotent. It never deletes files: what the fuzzer
adds with `-merge=1` stays.
"""

import hashlib
import pathlib
import re

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
EX = ROOT / "examples"
CORPUS = FUZZ / "corpus"


def read(rel):
    return (EX / rel).read_text()


def documents(text):
    """Splits a YAML stream on `---` lines, dropping `...` end markers and empty documents."""
    docs, cur = [], []
    for line in text.splitlines():
        if line.startswith("---"):
            docs.append("\n".join(cur))
            cur = []
        elif line.strip() == "...":
            continue
        else:
            cur.append(line)
    docs.append("\n".join(cur))
    out = []
    for d in docs:
        body = [l for l in d.splitlines() if l.strip() and not l.lstrip().startswith("#")]
        if body:
            out.append(d.strip("\n") + "\n")
    return out


def indent_item(doc):
    """`doc` as one block-sequence entry (`- ` then two-space indentation)."""
    lines = [l for l in doc.splitlines() if not l.lstrip().startswith("#")]
    lines = [l for l in lines if l.strip()]
    return "".join(("- " if i == 0 else "  ") + l + "\n" for i, l in enumerate(lines))


def indent_map(doc):
    lines = [l for l in doc.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    return "".join("  " + l + "\n" for l in lines)


def resource_list(items, function_config=None, api="config.kubernetes.io/v1"):
    out = f"apiVersion: {api}\nkind: ResourceList\n"
    if items:
        out += "items:\n" + "".join(indent_item(i) for i in items)
    else:
        out += "items: []\n"
    if function_config is not None:
        out += "functionConfig:\n" + indent_map(function_config)
    return out


def save(target, content):
    data = content.encode() if isinstance(content, str) else content
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def with_kpt_annotations(doc, path):
    if "\n  annotations:\n" in doc:
        return doc.replace(
            "\n  annotations:\n",
            "\n  annotations:\n    config.kubernetes.io/path: " + path + "\n",
            1,
        )
    return re.sub(
        r"^metadata:\n",
        "metadata:\n  annotations:\n    config.kubernetes.io/path: " + path + "\n"
        "    internal.config.kubernetes.io/path: " + path + "\n",
        doc,
        count=1,
        flags=re.M,
    )


quick_cfg = read("quickstart/authelia-secrets.yaml")
quick_dep = read("quickstart/deployment.yaml")
guide_secret = documents(read("seed-guide/secret.yaml"))[0]
guide_dep = read("seed-guide/deployment.yaml")
guide_check = read("seed-guide/check.yaml")
gen_cfg = documents(read("seed-guide-generated/authelia-secrets.yaml"))[0]
gen_check = read("seed-guide-generated/check.yaml")
gen_dep = read("seed-guide-generated/deployment.yaml")
# The generated guide's config with literals instead of files, so the run succeeds.
gen_cfg_literal = (
    gen_cfg.replace("{fromFile: ldap-password.txt}", "{value: ldap-password-literal}")
    .replace("{fromFile: smtp-password.txt}", "{value: smtp-password-literal}")
    .replace("{fromFile: duo-secret-key.txt}", "{value: duo-secret-key-literal-0123456789}")
    .replace("    OIDC_ISSUER_PRIVATE_KEY: {}\n", "")
)

# Everything the README documents in one config (ECDSA instead of the slow RSA generation).
full_cfg = """apiVersion: authelia-secrets.dev/v1alpha1
kind: AutheliaSecrets
metadata:
  name: authelia
  namespace: auth
  annotations:
    config.kubernetes.io/local-config: "true"
spec:
  autheliaVersion: "4.38.5"
  secretName: authelia-secrets
  mountPath: /app/secrets
  volumeName: secret-files
  workloads:
    - {kind: Deployment, name: authelia, container: authelia, initContainers: [init]}
    - {kind: StatefulSet, name: db, namespace: auth, container: main}
  rollout: checksum
  allowFilesOutsideRoot: false
  secrets:
    JWT_SECRET: {}
    SESSION_SECRET: {rotation: 3}
    STORAGE_ENCRYPTION_KEY: {type: random, length: 128, charset: rfc3986}
    REDIS_PASSWORD: {type: random, length: 1024, charset: ascii}
    OIDC_HMAC_SECRET: {type: random, length: 1, charset: hex}
    JWKS_P384: {type: ecdsa, curve: P-384, format: sec1, mountOnly: true}
    JWKS_P521: {type: ecdsa, curve: P-521, configKey: identity_providers.oidc.jwks.key}
    LDAP_PASSWORD: {value: "a literal"}
    SMTP_PASSWORD: {fromEnv: SMTP_PASSWORD}
"""
hash_cfg = quick_cfg.replace('  autheliaVersion: "4.39"\n', '  autheliaVersion: "4.37"\n  rollout: hashSuffix\n')
none_cfg = quick_cfg.replace('  autheliaVersion: "4.39"\n', '  rollout: none\n  seed: {env: OTHER_SEED}\n')
rsa_cfg = quick_cfg + "    OIDC_ISSUER_PRIVATE_KEY: {type: rsa, bits: 2048, format: pkcs1}\n"
configmap_cfg = """apiVersion: v1
kind: ConfigMap
metadata:
  name: function-input
data:
  name: authelia
  namespace: auth
  autheliaVersion: "4.39"
  rollout: hashSuffix
  secrets: JWT_SECRET,SESSION_SECRET,LDAP_PASSWORD=env:LDAP_PW,SMTP_PASSWORD=file:smtp.txt
  workloads: Deployment/authelia,worker:main
"""
configmap_ok = """apiVersion: v1
kind: ConfigMap
metadata:
  name: function-input
data:
  secrets: JWT_SECRET,SESSION_SECRET,STORAGE_ENCRYPTION_KEY
  workloads: authelia
"""
pem_cfg = """apiVersion: authelia-secrets.dev/v1alpha1
kind: AutheliaSecrets
metadata:
  name: authelia
spec:
  secrets:
    JWT_SECRET: {}
    TLS_KEY: {value: "-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIH1U\\n-----END PRIVATE KEY-----\\n", configKey: server.tls.key}
    OIDC_ISSUER_PRIVATE_KEY: {value: "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIA==\\n-----END EC PRIVATE KEY-----\\n"}
    SMTP_TLS_CERTIFICATE_CHAIN: {value: "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"}
"""
service = """apiVersion: v1
kind: Service
metadata:
  name: authelia
spec:
  selector:
    app.kubernetes.io/name: authelia
  ports:
    - port: 80
      targetPort: http
"""
cronjob = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: authelia
  namespace: auth
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
            - name: init
              image: busybox
          containers:
            - name: authelia
              image: ghcr.io/authelia/authelia:4.38
              env:
                - {name: AUTHELIA_JWT_SECRET_FILE, value: /app/secrets/JWT_SECRET}
              volumeMounts:
                - {name: authelia-secrets, mountPath: /app/secrets, readOnly: true}
          volumes:
            - name: authelia-secrets
              secret: {secretName: authelia, items: [{key: JWT_SECRET, path: JWT_SECRET}]}
"""
pod = """apiVersion: v1
kind: Pod
metadata:
  name: authelia
spec:
  enableServiceLinks: true
  containers:
    - name: authelia
      image: ghcr.io/authelia/authelia:4.37.5
"""
existing_secret = """apiVersion: v1
kind: Secret
metadata:
  name: authelia
  annotations:
    authelia-secrets.dev/rotations: '{"JWT_SECRET":1}'
type: Opaque
data:
  JWT_SECRET: and0LXNlY3JldC1rZXB0LWZyb20tbGFzdC1ydW4tMDEyMzQ1Njc4OQ==
  SESSION_SECRET: not base64!
stringData:
  STORAGE_ENCRYPTION_KEY: plain-text-storage-key-0123456789
"""
kptfile = read("quickstart/Kptfile")


# --- every example, found generically ------------------------------------------------------
CONFIG_KINDS = ("AutheliaSecrets", "AutheliaSecretsCheck")


def kind_of(doc_text):
    m = re.search(r"^kind:\s*(\S+)", doc_text, flags=re.M)
    return m.group(1).strip("'\"") if m else ""


example_files = sorted(
    p for p in EX.rglob("*") if p.is_file() and (p.suffix in (".yaml", ".yml") or p.name == "Kptfile")
)
by_dir = {}
for path in example_files:
    text = path.read_text()
    docs = documents(text)
    if any(kind_of(d) == "ResourceList" for d in docs):
        save("resource_list", text)  # already a ResourceList (what kustomize/kpt send)
        continue
    if path.parent.name == ".expected" or path.name == "kustomization.yaml":
        if path.parent.name == ".expected" and len(docs) > 1:
            save("legacy_stream", text)  # rendered output: a multi-document stream
        continue
    entry = by_dir.setdefault(path.parent, {"configs": [], "resources": []})
    for d in docs:
        if kind_of(d) in CONFIG_KINDS:
            entry["configs"].append(d)
            save("config", d)
        elif kind_of(d):
            entry["resources"].append(d)
    if len(docs) > 1:
        save("legacy_stream", text)
for folder, entry in sorted(by_dir.items()):
    resources = entry["resources"]
    # Overlays take their resources from the base.
    if not resources and (folder.parent.parent / "base") in by_dir:
        resources = by_dir[folder.parent.parent / "base"]["resources"]
    if resources:
        save("legacy_stream", "---\n".join(resources))
    for cfg in entry["configs"]:
        save("resource_list", resource_list(resources, cfg))

# --- resource_list -------------------------------------------------------------------------
rl = [
    resource_list([quick_dep], quick_cfg),
    resource_list([quick_dep, quick_cfg], quick_cfg, api="config.kubernetes.io/v1beta1"),
    resource_list([quick_cfg], quick_cfg),  # generator: only local config
    resource_list([guide_secret, guide_dep], guide_check),
    resource_list([gen_dep], gen_cfg),
    resource_list([gen_dep, service], gen_cfg_literal),
    resource_list([gen_dep], gen_check),
    resource_list([gen_dep, cronjob, pod, service], full_cfg),
    resource_list([quick_dep, existing_secret], hash_cfg, api="config.kubernetes.io/v1alpha1"),
    resource_list([quick_dep], none_cfg),
    resource_list([quick_dep], configmap_cfg),
    resource_list([quick_dep, cronjob], configmap_ok),
    resource_list([quick_dep], pem_cfg),
    resource_list(
        [
            with_kpt_annotations(kptfile, "Kptfile"),
            with_kpt_annotations(quick_dep, "deployment.yaml"),
            with_kpt_annotations(quick_cfg, "authelia-secrets.yaml"),
        ],
        with_kpt_annotations(quick_cfg, "authelia-secrets.yaml"),
    ),
    resource_list([quick_dep], None),
    resource_list([quick_dep], rsa_cfg),
    # The ResourceList as JSON (flow style).
    '{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1",'
    '"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"authelia"}]}}],'
    '"functionConfig":{"apiVersion":"authelia-secrets.dev/v1alpha1","kind":"AutheliaSecrets",'
    '"metadata":{"name":"authelia"},"spec":{"secrets":{"JWT_SECRET":{}}}}}\n',
]
for s in rl:
    save("resource_list", s)

# --- legacy_stream -------------------------------------------------------------------------
for s in [
    "",
    quick_dep,
    guide_dep,
    gen_dep,
    read("seed-guide/secret.yaml"),
    guide_secret + "---\n" + guide_dep,
    quick_dep + "---\n" + service + "---\n" + cronjob,
    pod + "---\n" + existing_secret,
    "---\n# only a comment\n---\n",
]:
    save("legacy_stream", s)

# --- config --------------------------------------------------------------------------------
for s in [
    quick_cfg,
    guide_check,
    gen_cfg,
    gen_check,
    gen_cfg_literal,
    full_cfg,
    hash_cfg,
    none_cfg,
    rsa_cfg,
    configmap_cfg,
    configmap_ok,
    pem_cfg,
    # Typos and wrong types: every problem reported at once.
    "apiVersion: authelia-secrets.dev/v1alpha1\nkind: AutheliaSecrets\nmetadata: {name: x}\n"
    "spec:\n  secret: {}\n  autheliaVersion: 4.39\n  rollout: hash\n  mountPath: relative\n"
    "  workloads: [{name: 1}]\n  seed: {env: a, file: b}\n",
    "apiVersion: authelia-secrets.dev/v1alpha1\nkind: AutheliaSecretsCheck\nmetadata: {name: c}\n"
    "spec:\n  allowVariables: [AUTHELIA_CUSTOM_FILE, not-a-name]\n",
]:
    save("config", s)

# --- hostile seeds, for every target -------------------------------------------------------
hostile = [
    "[" * 300 + "]" * 300,  # deeper than the depth limit
    "a:\n  " + "- " * 250 + "x\n",  # nested block sequences on one line
    "{a: " * 199 + "1" + "}" * 199,
    # Billion laughs: aliases expanding exponentially.
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
    # Aliases and merge keys inside a ResourceList.
    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- &dep\n  apiVersion: apps/v1\n"
    "  kind: Deployment\n  metadata: &m {name: authelia}\n  spec: {template: {spec: {containers: "
    "[{name: authelia}]}}}\n- *dep\n- <<: *dep\n  metadata: {name: other}\nfunctionConfig:\n"
    "  apiVersion: authelia-secrets.dev/v1alpha1\n  kind: AutheliaSecrets\n  metadata: *m\n",
    b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [{a: \"\xff\xfe\"}]\n",
    b"\xef\xbb\xbfapiVersion: v1\nkind: Pod\nmetadata: {name: \xc3\x28}\n",
    b"a: \x00\n",
    "apiVersion: v1\r\nkind: Secret\r\nmetadata:\r\n  name: authelia\r\ndata:\r\n  A: !!binary aGk=\r\n",
    "a: 123456789012345678901234\nb: 0755\nc: .nan\nd: -.inf\ne: 1e400\nf: 0x1F\ng: -0.0\n",
    "a: 1\na: 2\n",
    "? [complex, key]\n: value\n",
    "a: !custom tag\nb: !!str 12\nc: !!int \"7\"\n",
    "s: \"\\t lead tab\\nline\\r\\n\\u0085\\u2028 end \\x1b\"\n",
    "- |\n\t tab\n- >-\n  folded\n\n  text\n- '' \n",
    "%YAML 1.2\n%TAG ! tag:example.com,2000:\n--- !foo\na: b\n...\n--- |\n  text\n",
    "&a [*a]\n",
    "---\n- 1\n---\n{}\n---\nnull\n---\n~\n",
]
for h in hostile:
    for t in ("resource_list", "legacy_stream", "config"):
        save(t, h)
