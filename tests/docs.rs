//! The documentation is checked against the program: schemas, field reference, catalog, examples.

mod common;

use common::run;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn committed_schemas_equal_the_programs() {
    for (kind, file) in [
        (
            "AutheliaSecrets",
            "functions/authelia-secrets/autheliasecrets.schema.json",
        ),
        (
            "AutheliaSecretsCheck",
            "functions/authelia-secrets/autheliasecretscheck.schema.json",
        ),
    ] {
        let out = run(&["schema", "--kind", kind], b"", &[], root());
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            read(file),
            "{file} is stale: regenerate it with `authelia-secrets schema --kind {kind} > {file}`"
        );
    }
}

/// Every `spec` field and every per-secret setting the schema knows appears in the reference.
#[test]
fn the_function_reference_lists_every_field() {
    let readme = read("functions/authelia-secrets/README.md");
    let schema: Value = serde_json::from_str(&read(
        "functions/authelia-secrets/autheliasecrets.schema.json",
    ))
    .unwrap();
    let spec = schema["properties"]["spec"]["properties"]
        .as_object()
        .unwrap();
    for field in spec.keys() {
        assert!(
            readme.contains(&format!("`spec.{field}")),
            "spec.{field} is missing from the reference"
        );
        assert!(
            read("README.md").contains(&format!("spec.{field}")),
            "spec.{field} is missing from README.md"
        );
    }
    let settings = spec["secrets"]["additionalProperties"]["properties"]
        .as_object()
        .unwrap();
    for field in settings.keys() {
        assert!(
            readme.contains(&format!("| `{field}` |")),
            "secret setting {field} is missing"
        );
    }
    let check: Value = serde_json::from_str(&read(
        "functions/authelia-secrets/autheliasecretscheck.schema.json",
    ))
    .unwrap();
    for field in check["properties"]["spec"]["properties"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            readme.contains(&format!("`spec.{field}`")),
            "check spec.{field} is missing"
        );
    }
}

/// The keys the kpt catalog's schema allows in metadata.yaml (kptdev/krm-functions-catalog
/// functions/go/metadata-schema.json, additionalProperties: false) and the ones it requires.
const CATALOG_KEYS: [&str; 7] = [
    "image",
    "description",
    "tags",
    "sourceURL",
    "examplePackageURLs",
    "license",
    "hidden",
];
const CATALOG_REQUIRED: [&str; 3] = ["image", "description", "tags"];
const CATALOG_TAGS: [&str; 12] = [
    "mutator",
    "validator",
    "viewer",
    "generator",
    "test",
    "testing",
    "timing",
    "Config Sync",
    "GCP",
    "blueprints",
    "name prefix",
    "name suffix",
];

/// True when some file below `dir` is named `name`.
fn contains_file(dir: &Path, name: &str) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let e = e.unwrap();
        let path = e.path();
        if path.is_dir() {
            e.file_name() != ".expected" && contains_file(&path, name)
        } else {
            e.file_name() == name
        }
    })
}

#[test]
fn metadata_follows_the_catalog_schema_and_lists_every_example_package() {
    let dir = root().join("functions/authelia-secrets");
    let metadata = authelia_secrets::yaml::parse_document(
        "metadata.yaml",
        read("functions/authelia-secrets/metadata.yaml").as_bytes(),
    )
    .unwrap();
    let map = metadata.as_object().unwrap();
    for key in map.keys() {
        assert!(
            CATALOG_KEYS.contains(&key.as_str()),
            "metadata.yaml: {key} is not a key of the catalog's schema"
        );
    }
    for key in CATALOG_REQUIRED {
        assert!(map.contains_key(key), "metadata.yaml: {key} is required");
    }
    // No image is published; the documented stand-in is the Dockerfile's local tag.
    assert_eq!(metadata["image"], "authelia-secrets");
    assert!(read("functions/authelia-secrets/README.md").contains("image: authelia-secrets"));
    let tags: Vec<&str> = metadata["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for tag in &tags {
        assert!(
            CATALOG_TAGS.contains(tag),
            "tag {tag:?} is not in the catalog's enum"
        );
    }
    assert!(tags.contains(&"mutator") && tags.contains(&"validator"));
    let source = metadata["sourceURL"].as_str().unwrap();
    assert!(
        dir.join(source).join("main.rs").is_file(),
        "sourceURL {source}"
    );

    let listed: Vec<&str> = metadata["examplePackageURLs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for url in &listed {
        assert!(
            dir.join(url).join(".expected/config.yaml").is_file(),
            "{url} is not an example folder"
        );
    }
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        let package = contains_file(&entry.path(), "Kptfile")
            || contains_file(&entry.path(), "kustomization.yaml");
        let url = format!("../../examples/{name}");
        assert_eq!(
            listed.contains(&url.as_str()),
            package,
            "{url}: every example holding a package is listed, and only those"
        );
    }
}

/// The markdown tables under `heading` (up to the next heading of the same or a higher level):
/// tables → rows (header and separator dropped) → trimmed cells.
fn tables(text: &str, heading: &str) -> Vec<Vec<Vec<String>>> {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading:?}"));
    let mut out: Vec<Vec<Vec<String>>> = Vec::new();
    let mut current: Vec<Vec<String>> = Vec::new();
    for line in text[start + heading.len() + 2..].lines() {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            break;
        }
        if line.starts_with('|') {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('|').trim().to_string())
                .collect();
            current.push(cells);
        } else if !current.is_empty() {
            out.push(current.split_off(0));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    // Drop each table's header and separator rows.
    out.into_iter()
        .map(|t| t.into_iter().skip(2).collect())
        .collect()
}

/// The `backticked` spans of `text`.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// `text` without its (parenthesized) parts.
fn without_parentheses(text: &str) -> String {
    let mut depth = 0;
    text.chars()
        .filter(|c| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

/// How the docs write a schema value: strings in backticks, numbers and booleans bare.
fn rendered(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

/// True when `row` marks `value` as the default: "X (default)", "X default", "(default X)" or
/// "default X", with X written as the docs write it (or bare, for a number in a sentence).
fn marks_default(row: &str, value: &Value) -> bool {
    let forms = [
        rendered(value),
        value.to_string().trim_matches('"').to_string(),
    ];
    forms.iter().any(|v| {
        row.contains(&format!("{v} (default"))
            || row.contains(&format!("{v} default"))
            || row.contains(&format!("default {v}"))
    })
}

fn schema() -> Value {
    serde_json::from_str(&read(
        "functions/authelia-secrets/autheliasecrets.schema.json",
    ))
    .unwrap()
}

fn check_schema() -> Value {
    serde_json::from_str(&read(
        "functions/authelia-secrets/autheliasecretscheck.schema.json",
    ))
    .unwrap()
}

/// A documented field path (`spec.x`, `spec.x[]`, `spec.x.y`, `metadata.y`) → its schema node.
fn schema_node<'a>(schema: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = schema;
    for part in path.split('.') {
        let part = part.trim_end_matches("[]");
        node = node.get("properties")?.get(part)?;
        if let Some(items) = node.get("items").filter(|_| node["type"] == "array") {
            node = items;
        }
    }
    Some(node)
}

/// Every field a function-README or README table documents exists in the schema, and its
/// default and allowed values are the schema's.
#[test]
fn every_documented_field_exists_with_the_schemas_defaults_and_values() {
    let schema = schema();
    let settings = &schema["properties"]["spec"]["properties"]["secrets"]["additionalProperties"];
    let function_readme = read("functions/authelia-secrets/README.md");
    let readme = read("README.md");

    // Field tables: AutheliaSecrets in both READMEs (default in the second-to-last column).
    let field_tables = [
        (
            &tables(&function_readme, "### AutheliaSecrets")[0],
            "functions README",
        ),
        (&tables(&readme, "### Fields")[0], "README"),
    ];
    for (table, doc) in field_tables {
        for row in table.iter() {
            for path in code_spans(&row[0]) {
                let node = schema_node(&schema, path)
                    .unwrap_or_else(|| panic!("{doc}: {path} is documented but not in the schema"));
                let row_text = row.join(" | ");
                if let Some(default) = node.get("default") {
                    let column = &row[row.len() - 2];
                    assert!(
                        column.contains(&rendered(default)),
                        "{doc}: {path}: the default is {}, the table says {column:?}",
                        rendered(default)
                    );
                }
                for value in node
                    .get("enum")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    assert!(
                        row_text.contains(&rendered(value)),
                        "{doc}: {path}: {} is allowed but not documented",
                        rendered(value)
                    );
                }
            }
        }
    }
    // Workload entries: every key and kind, and the container default.
    let workload = schema_node(&schema, "spec.workloads").unwrap();
    let row = &field_tables[0]
        .0
        .iter()
        .find(|r| r[0].contains("spec.workloads"))
        .unwrap()
        .join(" | ");
    for key in workload["properties"].as_object().unwrap().keys() {
        assert!(
            row.contains(&format!("`{key}`")),
            "functions README: workload key {key}"
        );
    }
    for kind in workload["properties"]["kind"]["enum"].as_array().unwrap() {
        assert!(
            row.contains(kind.as_str().unwrap()),
            "functions README: workload kind {kind}"
        );
    }
    assert!(marks_default(
        row,
        &workload["properties"]["container"]["default"]
    ));
    // Seed sources.
    let seed_row = field_tables[0]
        .0
        .iter()
        .find(|r| r[0].contains("spec.seed"))
        .unwrap();
    for source in schema_node(&schema, "spec.seed").unwrap()["properties"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            seed_row.join(" ").contains(&format!("{{{source}")),
            "seed.{source}"
        );
    }

    // Per-secret settings, functions README: one setting per row.
    for row in &tables(&function_readme, "### AutheliaSecrets")[1] {
        let name = code_spans(&row[0])[0];
        let node = settings["properties"]
            .get(name)
            .unwrap_or_else(|| panic!("functions README: setting {name} is not in the schema"));
        let text = row.join(" | ");
        if let Some(default) = node.get("default") {
            assert!(
                marks_default(&text, default),
                "functions README: {name}: default {default}"
            );
        }
        for value in node
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let v = value.to_string();
            assert!(
                text.contains(&rendered(value)) || text.contains(v.trim_matches('"')),
                "functions README: {name}: {value} is allowed but not documented"
            );
        }
    }
    // Per-secret settings, README: several per row (`type: X` rows name the types); a setting
    // named in several rows (format) is checked against all of them together.
    let mut types = BTreeSet::new();
    let mut rows_naming: std::collections::BTreeMap<String, String> = Default::default();
    for row in &tables(&readme, "### Fields")[1] {
        let text = row.join(" | ");
        for span in code_spans(&without_parentheses(&row[0])) {
            if span == "{}" {
                continue;
            }
            let (name, value) = match span.split_once(':') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (span, None),
            };
            assert!(
                settings["properties"].get(name).is_some(),
                "README: setting {name} is not in the schema"
            );
            if name == "type" {
                types.insert(value.unwrap().to_string());
            } else {
                rows_naming
                    .entry(name.to_string())
                    .or_default()
                    .push_str(&text);
            }
        }
    }
    for (name, text) in &rows_naming {
        let node = &settings["properties"][name.as_str()];
        // rotation's default (0) goes without saying in a sentence about bumping it.
        if let Some(default) = node.get("default").filter(|_| name != "rotation") {
            assert!(
                marks_default(text, default),
                "README: {name}: default {default}"
            );
        }
        for value in node
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let v = value.to_string();
            assert!(
                text.contains(&rendered(value)) || text.contains(v.trim_matches('"')),
                "README: {name}: {value} is allowed but not documented"
            );
        }
    }
    let schema_types: BTreeSet<String> = settings["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, schema_types, "README: the `type: X` rows");
    for name in settings["properties"].as_object().unwrap().keys() {
        assert!(
            tables(&readme, "### Fields")[1]
                .iter()
                .any(|r| code_spans(&without_parentheses(&r[0])).iter().any(|s| s
                    .split(':')
                    .next()
                    .unwrap()
                    .trim()
                    == name)),
            "README: setting {name} is not documented"
        );
    }

    // AutheliaSecretsCheck.
    let check = check_schema();
    for row in &tables(&function_readme, "### AutheliaSecretsCheck")[0] {
        for path in code_spans(&row[0]) {
            assert!(
                schema_node(&check, path).is_some(),
                "functions README: check field {path} is not in the schema"
            );
        }
    }
}

/// The Authelia versions the program accepts, from its own error message.
fn supported_versions() -> Vec<String> {
    let out = run(&["catalog", "--authelia-version", "0.0"], b"", &[], root());
    assert_ne!(out.code, 0);
    let list = out
        .stderr
        .split("supported: ")
        .nth(1)
        .expect("the error lists the supported versions")
        .lines()
        .next()
        .unwrap();
    list.split(", ").map(str::to_string).collect()
}

#[test]
fn documented_authelia_versions_are_the_programs() {
    let versions = supported_versions();
    let function_readme = read("functions/authelia-secrets/README.md");
    let row = tables(&function_readme, "### AutheliaSecrets")[0]
        .iter()
        .find(|r| r[0] == "`spec.autheliaVersion`")
        .and_then(|r| r.last().cloned())
        .unwrap();
    let documented: Vec<&str> = code_spans(&row)
        .into_iter()
        .map(|s| s.trim_matches('"'))
        .filter(|s| s.starts_with("4."))
        .collect();
    let mut documented: Vec<String> = documented.iter().map(|s| s.to_string()).collect();
    documented.dedup();
    assert_eq!(documented, versions, "functions README autheliaVersion");
    let readme = read("README.md");
    let comment = readme
        .lines()
        .find(|l| l.trim_start().starts_with("autheliaVersion:"))
        .unwrap();
    // `autheliaVersion: "4.39"     # "4.37" | "4.38" | "4.39" (a patch release ...)`
    let alternatives = comment
        .split('#')
        .nth(1)
        .unwrap()
        .split('(')
        .next()
        .unwrap();
    let quoted: Vec<&str> = alternatives.split('"').skip(1).step_by(2).collect();
    assert_eq!(quoted, versions, "README config object comment: {comment}");
}

/// The keys the program accepts in a ConfigMap config, from its own error message.
fn configmap_keys() -> BTreeSet<String> {
    let list = r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[],
        "functionConfig":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"function-input"},
        "data":{"noSuchKey":"x"}}}"#;
    let out = run(&[], list.as_bytes(), &[], root());
    let known = out
        .stderr
        .split("known keys: ")
        .nth(1)
        .expect("the error lists the known keys")
        .lines()
        .next()
        .unwrap();
    known.split(", ").map(str::to_string).collect()
}

/// The identifiers in backticks of the paragraph of `text` that follows `marker`.
fn documented_keys(text: &str, marker: &str) -> BTreeSet<String> {
    let start = text.find(marker).unwrap_or_else(|| panic!("no {marker:?}"));
    let paragraph = text[start..].split("\n\n").next().unwrap();
    code_spans(paragraph)
        .into_iter()
        .filter(|s| s.chars().all(|c| c.is_ascii_alphabetic()))
        .map(str::to_string)
        .collect()
}

#[test]
fn documented_configmap_keys_are_the_programs() {
    let keys = configmap_keys();
    assert_eq!(
        documented_keys(&read("README.md"), "its flat keys are"),
        keys,
        "README"
    );
    assert_eq!(
        documented_keys(
            &read("functions/authelia-secrets/README.md"),
            "takes the flat keys"
        ),
        keys,
        "functions README"
    );
}

/// The subcommands `--help` lists.
fn subcommands() -> BTreeSet<String> {
    let out = run(&["--help"], b"", &[], root());
    assert_eq!(out.code, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    let commands = text
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands: section")
        .split("\n\n")
        .next()
        .unwrap();
    commands
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_command_tables_list_every_subcommand() {
    let commands = subcommands();
    let readme = read("README.md");
    let table: BTreeSet<String> = tables(&readme, "### Command line")[0]
        .iter()
        .filter_map(|row| {
            let span = code_spans(&row[0]).into_iter().next()?;
            let word = span
                .strip_prefix("authelia-secrets ")?
                .split_whitespace()
                .next()?;
            (!word.starts_with('-')).then(|| word.to_string())
        })
        .collect();
    assert_eq!(table, commands, "README's Command line table");
    let overview = readme
        .lines()
        .find(|l| l.starts_with("| Command line |"))
        .expect("the overview row for the command line");
    for command in &commands {
        assert!(
            overview.contains(&format!("`{command}`")),
            "README overview table: {command} missing from {overview:?}"
        );
    }
}

#[test]
fn readme_catalog_is_the_programs() {
    let readme = read("README.md");
    let start = readme
        .find("<!-- catalog -->\n```text\n")
        .expect("catalog block")
        + "<!-- catalog -->\n```text\n".len();
    let end = readme[start..]
        .find("```\n<!-- /catalog -->")
        .expect("catalog block end")
        + start;
    let out = run(&["catalog"], b"", &[], root());
    assert_eq!(out.code, 0);
    assert_eq!(
        &readme[start..end],
        String::from_utf8(out.stdout).unwrap(),
        "README's catalog is stale: paste `authelia-secrets catalog` into it"
    );
}
