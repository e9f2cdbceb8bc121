//! Faithful pass-through: items we do not own come out as they went in, and the YAML we write
//! reads back the same in YAML 1.1 readers (PyYAML here; libyaml-based Go readers behave alike).

mod common;

use common::*;
use serde_json::{Value, json};
use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------------
// An independent YAML 1.1 reader

/// Loads YAML with PyYAML (`yaml.safe_load`) and returns it as JSON, keeping key order.
/// `None` when PyYAML is unavailable outside CI (the caller skips); in CI that is a failure.
fn pyyaml_load(yaml: &[u8]) -> Option<Value> {
    pyyaml_load_all(&[yaml.to_vec()]).map(|mut docs| docs.remove(0))
}

/// A ResourceList (YAML text) around already-indented item texts, with a seeded config.
fn list_text(items: &[String], with_config: bool) -> String {
    let mut s = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    for item in items {
        s.push_str(&as_list_entry(item));
    }
    if with_config {
        s.push_str(
            "functionConfig:\n  apiVersion: authelia-secrets.dev/v1alpha1\n  kind: AutheliaSecrets\n  \
             metadata:\n    name: authelia\n  spec:\n    secrets:\n      JWT_SECRET: {}\n",
        );
    }
    s
}

/// `text` (a top-level mapping) as a flow-style (JSON) entry, which the function re-emits rather
/// than copies: for tests of the emitter itself.
fn as_flow(text: &str) -> String {
    let value = authelia_secrets::yaml::parse_document("item", text.as_bytes()).unwrap();
    // JSON leaves DEL and C1 controls raw, which YAML text may not hold: escape them.
    serde_json::to_string(&value)
        .unwrap()
        .chars()
        .map(|c| match c as u32 {
            0x7f..=0x9f => format!("\\u{:04x}", c as u32),
            _ => c.to_string(),
        })
        .collect()
}

/// `text` (a top-level mapping) as an entry of the `items:` list.
fn as_list_entry(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str("- ");
        } else if !line.is_empty() {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn run_seeded(input: &str) -> (Output, Value) {
    let dir = tempdir();
    let out = run_krm(
        input.as_bytes(),
        &[("AUTHELIA_SECRETS_SEED", SEED)],
        dir.path(),
    );
    out.assert_no_panic();
    let list = parse(&out.stdout);
    (out, list)
}

// ---------------------------------------------------------------------------------------------
// Strings a YAML 1.1 reader would take for something else

const TRICKY: [&str; 17] = [
    "no",
    "yes",
    "on",
    "off",
    "y",
    "n",
    "0755",
    "1e3",
    "2024-01-01",
    "~",
    "null",
    "1_000",
    "12:30",
    "0x1F",
    ".inf",
    "true",
    "",
];

/// More of the same family, beyond the required list.
const MORE_TRICKY: [&str; 24] = [
    "Y",
    "N",
    "NO",
    "Yes",
    "ON",
    "Off",
    "TRUE",
    "False",
    "NULL",
    "Null",
    "0o17",
    "0b101",
    "+1",
    "-0",
    "-.inf",
    ".NaN",
    "1:20:30",
    "190:20:30",
    "1.0",
    "+.5",
    "6.8523015e+5",
    "685_230.15",
    "2001-12-14 21:59:43.10 -5",
    "<<",
];

fn yaml_double_quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn strings_that_yaml_11_misreads_come_out_quoted() {
    let all: Vec<&str> = TRICKY.iter().chain(MORE_TRICKY.iter()).copied().collect();
    let mut item = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tricky\n  namespace: auth\n  labels:\n",
    );
    for (i, v) in all.iter().enumerate() {
        if !v.is_empty() {
            writeln!(item, "    label{i:02}: {}", yaml_double_quoted(v)).unwrap();
        }
    }
    item.push_str("data:\n");
    for (i, v) in all.iter().enumerate() {
        writeln!(item, "  k{i:02}: {}", yaml_double_quoted(v)).unwrap();
    }
    // The same strings as keys and as list elements.
    item.push_str("keys:\n");
    for (i, v) in all.iter().enumerate() {
        writeln!(item, "  {}: {i}", yaml_double_quoted(v)).unwrap();
    }
    item.push_str("list:\n");
    for v in &all {
        writeln!(item, "- {}", yaml_double_quoted(v)).unwrap();
    }
    // Flow style, so the emitter (not the verbatim copy of untouched items) writes it.
    let input = list_text(&[as_flow(&item)], true);
    let (out, list) = run_seeded(&input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout_text();

    // The raw text: every value (and key, and list element) starts with a quote.
    for (i, v) in all.iter().enumerate() {
        let prefix = format!("    k{i:02}: ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no line for k{i:02} ({v:?}) in:\n{text}"));
        let value = &line[prefix.len()..];
        assert!(
            value.starts_with('"') || value.starts_with('\''),
            "{v:?} written unquoted: {line:?}"
        );
    }
    let keys_block = text
        .split("\n  keys:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n  list:\n").next())
        .expect("keys block");
    for line in keys_block.lines() {
        let key = line.trim_start();
        assert!(
            key.starts_with('"') || key.starts_with('\''),
            "a key written unquoted: {line:?}"
        );
    }
    let list_block = text
        .split("\n  list:\n")
        .nth(1)
        .expect("list block")
        .lines()
        .take_while(|l| l.starts_with("  - "));
    let mut n = 0;
    for line in list_block {
        let v = &line["  - ".len()..];
        assert!(
            v.starts_with('"') || v.starts_with('\''),
            "a list element written unquoted: {line:?}"
        );
        n += 1;
    }
    assert_eq!(n, all.len());

    // Our own reader agrees.
    let item = item_of(&list, "ConfigMap", "tricky");
    for (i, v) in all.iter().enumerate() {
        assert_eq!(item["data"][format!("k{i:02}")], json!(v));
    }

    // And a YAML 1.1 reader still sees strings equal to the input.
    let Some(py) = pyyaml_load(&out.stdout) else {
        return;
    };
    let py_item = py["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == json!("ConfigMap"))
        .expect("ConfigMap in PyYAML's view");
    for (i, v) in all.iter().enumerate() {
        assert_eq!(
            py_item["data"][format!("k{i:02}")],
            json!(v),
            "PyYAML reads k{i:02} differently"
        );
        if !v.is_empty() {
            assert_eq!(
                py_item["metadata"]["labels"][format!("label{i:02}")],
                json!(v)
            );
        }
        assert_eq!(py_item["list"][i], json!(v), "list element {i}");
        assert_eq!(py_item["keys"][*v], json!(i), "key {v:?}");
    }
    assert_eq!(py_item["keys"].as_object().unwrap().len(), all.len());
}

#[test]
fn big_integers_keep_every_digit() {
    let item = "\
apiVersion: example.com/v1
kind: Numbers
metadata:
  name: numbers
spec:
  u64max: 18446744073709551615
  i64min: -9223372036854775808
  i64max: 9223372036854775807
  beyondFloat: 9007199254740993
  zero: 0
  negative: -42
  float: 2.5
  tiny: 0.000001
  list: [18446744073709551615, -9223372036854775808]
";
    let (out, list) = run_seeded(&list_text(&[as_flow(item)], true));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout_text();
    for line in [
        "    u64max: 18446744073709551615",
        "    i64min: -9223372036854775808",
        "    i64max: 9223372036854775807",
        "    beyondFloat: 9007199254740993",
        "    - 18446744073709551615",
        "    - -9223372036854775808",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from:\n{text}"
        );
    }
    let spec = &item_of(&list, "Numbers", "numbers")["spec"];
    assert_eq!(spec["u64max"], json!(u64::MAX));
    assert_eq!(spec["i64min"], json!(i64::MIN));
    assert_eq!(spec["beyondFloat"], json!(9_007_199_254_740_993_u64));
    assert_eq!(spec["tiny"], json!(0.000001));

    if let Some(py) = pyyaml_load(&out.stdout) {
        let spec = &py["items"][0]["spec"];
        assert_eq!(spec["u64max"], json!(u64::MAX));
        assert_eq!(spec["i64min"], json!(i64::MIN));
        assert_eq!(spec["beyondFloat"], json!(9_007_199_254_740_993_u64));
        assert_eq!(spec["float"], json!(2.5));
    }
}

#[test]
fn multi_line_strings_come_out_as_literal_blocks() {
    let item = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: scripts
data:
  script: \"#!/bin/sh\\nset -eu\\necho \\\"hi: there\\\" # not a comment\\n  indented\\n\"
  nonl: \"first\\nsecond\"
  keep: \"keep\\n\\n\"
  trailingSpace: \"a  \\nb\\n\"
  leadingSpace: \"  indented first\\nsecond\\n\"
  midTab: \"a\\tb\\nc\\n\"
";
    let (out, list) = run_seeded(&list_text(&[as_flow(item)], true));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout_text();
    let header = |key: &str| -> String {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{key}:")))
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
            .trim_start()[key.len() + 1..]
            .trim()
            .to_string()
    };
    assert_eq!(header("script"), "|", "{text}");
    assert!(
        text.contains("    script: |\n      #!/bin/sh\n      set -eu\n"),
        "{text}"
    );
    assert_eq!(header("nonl"), "|-", "{text}");
    assert_eq!(header("keep"), "|+", "{text}");
    for key in ["trailingSpace", "leadingSpace", "midTab"] {
        assert!(header(key).starts_with('|'), "{key}: {text}");
    }

    let expected = json!({
        "script": "#!/bin/sh\nset -eu\necho \"hi: there\" # not a comment\n  indented\n",
        "nonl": "first\nsecond",
        "keep": "keep\n\n",
        "trailingSpace": "a  \nb\n",
        "leadingSpace": "  indented first\nsecond\n",
        "midTab": "a\tb\nc\n",
    });
    assert_eq!(item_of(&list, "ConfigMap", "scripts")["data"], expected);
    if let Some(py) = pyyaml_load(&out.stdout) {
        assert_eq!(py["items"][0]["data"], expected);
    }
}

#[test]
fn strings_block_scalars_cannot_carry_are_double_quoted() {
    let item = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: odd
data:
  tabFirst: \"\\tfirst\\nsecond\\n\"
  crlf: \"a\\r\\nb\\n\"
  bom: \"\\ufeffx\\ny\"
  del: \"a\\u007f\\nb\"
  lineSeparator: \"a\\u2028b\\nc\"
";
    let (out, list) = run_seeded(&list_text(&[as_flow(item)], true));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = json!({
        "tabFirst": "\tfirst\nsecond\n",
        "crlf": "a\r\nb\n",
        "bom": "\u{feff}x\ny",
        "del": "a\u{7f}\nb",
        "lineSeparator": "a\u{2028}b\nc",
    });
    assert_eq!(item_of(&list, "ConfigMap", "odd")["data"], expected);
    if let Some(py) = pyyaml_load(&out.stdout) {
        assert_eq!(py["items"][0]["data"], expected);
    }
}

// ---------------------------------------------------------------------------------------------
// A large, realistic pass-through

/// Items of a realistic package: (YAML text, the value it means).
fn realistic_item(i: usize) -> (String, Value) {
    let ns = format!("ns-{}", i % 5);
    let kind_name = |kind: &str, name: &str| (kind.to_string(), name.to_string());
    let (kind, name) = match i % 7 {
        0 => kind_name("ConfigMap", &format!("scripts-{i}")),
        1 => kind_name(
            "CustomResourceDefinition",
            &format!("widgets{i}.example.com"),
        ),
        2 => kind_name("Widget", &format!("widget-{i}")),
        3 => kind_name("Service", &format!("svc-{i}")),
        4 => kind_name("Deployment", &format!("web-{i}")),
        5 => kind_name("CronJob", &format!("backup-{i}")),
        _ => kind_name("ConfigMap", &format!("plain-{i}")),
    };
    // Annotations: every id, path and index spelling; some items have none.
    let (ann_text, ann) = if i % 11 == 10 {
        (String::new(), None)
    } else {
        let text = format!(
            "  annotations:\n    config.kubernetes.io/index: \"{idx}\"\n    \
             internal.config.kubernetes.io/index: \"{idx}\"\n    \
             internal.config.kubernetes.io/path: dir-{d}/{name}.yaml\n    \
             config.kubernetes.io/path: 'dir-{d}/{name}.yaml'\n    \
             config.k8s.io/id: \"{i}\"\n    \
             kustomize.config.k8s.io/id: |\n      kind: {kind}\n      name: {name}\n      \
             namespace: {ns}\n      version: v1\n",
            idx = i % 3,
            d = i % 4,
        );
        let value = json!({
            "config.kubernetes.io/index": (i % 3).to_string(),
            "internal.config.kubernetes.io/index": (i % 3).to_string(),
            "internal.config.kubernetes.io/path": format!("dir-{}/{name}.yaml", i % 4),
            "config.kubernetes.io/path": format!("dir-{}/{name}.yaml", i % 4),
            "config.k8s.io/id": i.to_string(),
            "kustomize.config.k8s.io/id":
                format!("kind: {kind}\nname: {name}\nnamespace: {ns}\nversion: v1\n"),
        });
        (text, Some(value))
    };
    let metadata = |extra: Value| -> Value {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), json!(name));
        if kind != "CustomResourceDefinition" {
            m.insert("namespace".into(), json!(ns));
        }
        if let Value::Object(extra) = extra {
            m.extend(extra);
        }
        if let Some(a) = &ann {
            m.insert("annotations".into(), a.clone());
        }
        Value::Object(m)
    };
    let ns_line = if kind == "CustomResourceDefinition" {
        String::new()
    } else {
        format!("  namespace: {ns}\n")
    };
    match i % 7 {
        0 => (
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns_line}  labels:\n    \
                 app.kubernetes.io/name: app-{i}\n    tier: \"{i}\"\n{ann_text}data:\n  \
                 entrypoint.sh: |\n    #!/bin/sh\n    set -eu\n    # comment line {i}\n    \
                 if [ \"$1\" = \"--check\" ]; then\n      echo \"ok: {i}\"   # not a comment\n    \
                 fi\n\n    exec \"$@\"\n  stripped: |-\n    no trailing newline\n    line {i}\n  \
                 kept: |+\n    keep two\n\n  folded: >\n    folded line one\n    folded line two\n  \
                 enabled: \"yes\"\n  port: \"8080\"\n  empty: \"\"\n  version: \"1.10\"\n"
            ),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata(json!({"labels": {
                    "app.kubernetes.io/name": format!("app-{i}"),
                    "tier": i.to_string(),
                }})),
                "data": {
                    "entrypoint.sh": format!(
                        "#!/bin/sh\nset -eu\n# comment line {i}\nif [ \"$1\" = \"--check\" ]; then\n  \
                         echo \"ok: {i}\"   # not a comment\nfi\n\nexec \"$@\"\n"
                    ),
                    "stripped": format!("no trailing newline\nline {i}"),
                    "kept": "keep two\n\n",
                    "folded": "folded line one folded line two\n",
                    "enabled": "yes",
                    "port": "8080",
                    "empty": "",
                    "version": "1.10",
                },
            }),
        ),
        1 => (
            format!(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
                 name: {name}\n{ann_text}spec:\n  group: example.com\n  names:\n    kind: Widget{i}\n    \
                 plural: widgets{i}\n    shortNames: [w{i}]\n  scope: Namespaced\n  versions:\n  \
                 - name: v1\n    served: true\n    storage: true\n    x-custom-unknown: {i}\n    \
                 schema:\n      openAPIV3Schema:\n        type: object\n        \
                 x-kubernetes-preserve-unknown-fields: true\n        properties:\n          spec:\n            \
                 type: object\n            required: [size]\n            properties:\n              \
                 size:\n                type: integer\n                minimum: 0\n                \
                 maximum: 9007199254740991\n                default: 3\n              mode:\n                \
                 type: string\n                enum: [\"on\", \"off\", \"auto\"]\n                \
                 pattern: '^[a-z]+$'\n              ratio:\n                type: number\n                \
                 multipleOf: 0.25\n              grid:\n                type: array\n                \
                 items:\n                  type: array\n                  items:\n                    \
                 type: integer\nstatus:\n  acceptedNames:\n    kind: \"\"\n    plural: \"\"\n  \
                 conditions: null\n  storedVersions: []\n"
            ),
            json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": metadata(json!({})),
                "spec": {
                    "group": "example.com",
                    "names": {"kind": format!("Widget{i}"), "plural": format!("widgets{i}"),
                              "shortNames": [format!("w{i}")]},
                    "scope": "Namespaced",
                    "versions": [{
                        "name": "v1",
                        "served": true,
                        "storage": true,
                        "x-custom-unknown": i,
                        "schema": {"openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": true,
                            "properties": {"spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 0,
                                             "maximum": 9_007_199_254_740_991_u64, "default": 3},
                                    "mode": {"type": "string", "enum": ["on", "off", "auto"],
                                             "pattern": "^[a-z]+$"},
                                    "ratio": {"type": "number", "multipleOf": 0.25},
                                    "grid": {"type": "array",
                                             "items": {"type": "array", "items": {"type": "integer"}}},
                                },
                            }},
                        }},
                    }],
                },
                "status": {
                    "acceptedNames": {"kind": "", "plural": ""},
                    "conditions": null,
                    "storedVersions": [],
                },
            }),
        ),
        2 => (
            format!(
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\n{ns_line}{ann_text}\
                 spec:\n  size: {i}\n  negative: -{i}\n  ratio: 2.5\n  big: 18446744073709551615\n  \
                 small: -9223372036854775808\n  enabled: true\n  disabled: false\n  nothing: null\n  \
                 tilde: ~\n  emptyMap: {{}}\n  emptyList: []\n  matrix:\n  - [1, 2, 3]\n  - [4, 5, 6]\n  \
                 - []\n  nested:\n  - - a\n    - b\n  - - - deep\n  \
                 mixed: [1, \"two\", 3.5, true, null, {{k: v}}, [x]]\n  \
                 unicode: \"h\u{e9}llo w\u{f6}rld \u{2713} \u{65e5}\u{672c}\"\n  \
                 url: https://example.com/path?q=1#frag\n  colon: \"a: b\"\n  hash: \"a #b\"\n  \
                 weird keys:\n    \"key with spaces\": 1\n    x.y/z: 2\n    \"-dash\": 3\n"
            ),
            json!({
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": metadata(json!({})),
                "spec": {
                    "size": i,
                    "negative": -(i as i64),
                    "ratio": 2.5,
                    "big": u64::MAX,
                    "small": i64::MIN,
                    "enabled": true,
                    "disabled": false,
                    "nothing": null,
                    "tilde": null,
                    "emptyMap": {},
                    "emptyList": [],
                    "matrix": [[1, 2, 3], [4, 5, 6], []],
                    "nested": [["a", "b"], [["deep"]]],
                    "mixed": [1, "two", 3.5, true, null, {"k": "v"}, ["x"]],
                    "unicode": "h\u{e9}llo w\u{f6}rld \u{2713} \u{65e5}\u{672c}",
                    "url": "https://example.com/path?q=1#frag",
                    "colon": "a: b",
                    "hash": "a #b",
                    "weird keys": {"key with spaces": 1, "x.y/z": 2, "-dash": 3},
                },
            }),
        ),
        3 => (
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n{ns_line}{ann_text}spec:\n  \
                 type: ClusterIP\n  selector:\n    app: app-{i}\n  ports:\n  - name: http\n    port: 80\n    \
                 targetPort: 8080\n    protocol: TCP\n  - name: \"https\"\n    port: 443\n    \
                 targetPort: https\n"
            ),
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": metadata(json!({})),
                "spec": {
                    "type": "ClusterIP",
                    "selector": {"app": format!("app-{i}")},
                    "ports": [
                        {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                        {"name": "https", "port": 443, "targetPort": "https"},
                    ],
                },
            }),
        ),
        4 => (
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n{ns_line}{ann_text}\
                 spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    \
                 metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      \
                 - name: web\n        image: nginx:1.27\n        args: [\"--port\", \"8080\", \"--verbose\"]\n        \
                 env:\n        - name: MODE\n          value: \"on\"\n        - name: COUNT\n          \
                 value: \"10\"\n        resources:\n          limits:\n            cpu: 500m\n            \
                 memory: 1Gi\n        readinessProbe:\n          httpGet:\n            path: /healthz\n            \
                 port: 8080\n      - name: authelia-sidecar\n        image: busybox\n      volumes:\n      \
                 - name: config\n        configMap:\n          name: scripts-{i}\n          defaultMode: 0644\n"
            ),
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": metadata(json!({})),
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "web",
                                    "image": "nginx:1.27",
                                    "args": ["--port", "8080", "--verbose"],
                                    "env": [{"name": "MODE", "value": "on"},
                                            {"name": "COUNT", "value": "10"}],
                                    "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}},
                                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                                },
                                {"name": "authelia-sidecar", "image": "busybox"},
                            ],
                            "volumes": [{"name": "config",
                                         "configMap": {"name": format!("scripts-{i}"),
                                                       "defaultMode": 420}}],
                        },
                    },
                },
            }),
        ),
        5 => (
            format!(
                "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {name}\n{ns_line}{ann_text}spec:\n  \
                 schedule: \"0 3 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          \
                 restartPolicy: OnFailure\n          initContainers:\n          - name: authelia\n            \
                 image: busybox\n          containers:\n          - name: backup\n            \
                 image: postgres:16\n            command:\n            - /bin/sh\n            - -c\n            \
                 - |\n              pg_dump \"$DB\" > /backup/dump.sql\n              echo done\n"
            ),
            json!({
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": metadata(json!({})),
                "spec": {
                    "schedule": "0 3 * * *",
                    "jobTemplate": {"spec": {"template": {"spec": {
                        "restartPolicy": "OnFailure",
                        "initContainers": [{"name": "authelia", "image": "busybox"}],
                        "containers": [{
                            "name": "backup",
                            "image": "postgres:16",
                            "command": ["/bin/sh", "-c",
                                        "pg_dump \"$DB\" > /backup/dump.sql\necho done\n"],
                        }],
                    }}}},
                },
            }),
        ),
        _ => (
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns_line}{ann_text}data:\n  \
                 a: \"1\"\n  b: \"true\"\n  c: \"~\"\n  d: \"0755\"\n"
            ),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata(json!({})),
                "data": {"a": "1", "b": "true", "c": "~", "d": "0755"},
            }),
        ),
    }
}

#[test]
fn a_large_realistic_package_passes_through_untouched() {
    const COUNT: usize = 300;
    const AUTHELIA_AT: usize = 150;
    let mut texts = Vec::new();
    let mut expected = Vec::new();
    for i in 0..COUNT {
        let (text, value) = if i == AUTHELIA_AT {
            let text = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: authelia
  namespace: auth
  annotations:
    config.kubernetes.io/index: \"0\"
    internal.config.kubernetes.io/path: auth/authelia.yaml
spec:
  template:
    spec:
      containers:
      - name: authelia
        image: ghcr.io/authelia/authelia:4.39
";
            (text.to_string(), parse(text.as_bytes()))
        } else {
            realistic_item(i)
        };
        texts.push(text);
        expected.push(value);
    }
    let input = list_text(&texts, true);

    // The templates mean what the expected values say (checks the test itself and the parser).
    let parsed_input = items(&parse(input.as_bytes()));
    assert_eq!(parsed_input.len(), COUNT);
    for (i, (got, want)) in parsed_input.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "input item {i} parses differently than intended");
        assert_eq!(
            serde_json::to_string(got).unwrap(),
            serde_json::to_string(want).unwrap(),
            "input item {i}: key order"
        );
    }

    let started = std::time::Instant::now();
    let (out, list) = run_seeded(&input);
    let elapsed = started.elapsed();
    assert_eq!(out.code, 0, "{}\n{}", out.stderr, describe_results(&list));
    assert!(elapsed.as_secs() < 10, "{COUNT} items took {elapsed:?}");
    let got = items(&list);
    assert_eq!(got.len(), COUNT + 1, "the Secret is appended");
    for (i, want) in expected.iter().enumerate() {
        if i == AUTHELIA_AT {
            assert_eq!(
                got[i]["metadata"], want["metadata"],
                "the patched item's metadata"
            );
            assert_ne!(&got[i], want, "the authelia Deployment is patched");
            continue;
        }
        assert_eq!(&got[i], want, "item {i} changed");
        assert_eq!(
            serde_json::to_string(&got[i]).unwrap(),
            serde_json::to_string(want).unwrap(),
            "item {i}: key order changed"
        );
    }
    let secret = &got[COUNT];
    assert_eq!(secret["kind"], json!("Secret"));
    assert_eq!(
        secret["metadata"]["annotations"]["internal.config.kubernetes.io/path"],
        json!("secret-authelia.yaml")
    );

    // A YAML 1.1 reader sees the same items, in the same key order.
    if let Some(py) = pyyaml_load(&out.stdout) {
        let py_items = py["items"].as_array().expect("items").clone();
        assert_eq!(py_items.len(), COUNT + 1);
        for (i, (py_item, ours)) in py_items.iter().zip(&got).enumerate() {
            assert_eq!(py_item, ours, "PyYAML reads item {i} differently");
            assert_eq!(
                serde_json::to_string(py_item).unwrap(),
                serde_json::to_string(ours).unwrap(),
                "PyYAML sees item {i} in another key order"
            );
        }
    }

    // Feeding the output back changes nothing.
    let (again, _) = run_seeded(out.stdout_text());
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(out.stdout_text(), again.stdout_text());
}
