//! The documentation is checked against the program: schemas, field reference, catalog, examples.

mod common;

use common::run;
use serde_json::Value;
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

#[test]
fn metadata_lists_every_example_and_schema() {
    let metadata = authelia_secrets::yaml::parse_document(
        "metadata.yaml",
        read("functions/authelia-secrets/metadata.yaml").as_bytes(),
    )
    .unwrap();
    let listed: Vec<&str> = metadata["examplePackageURLs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let name = format!("examples/{}", entry.unwrap().file_name().to_string_lossy());
        assert!(
            listed.contains(&name.as_str()),
            "{name} is not in metadata.yaml"
        );
    }
    for file in metadata["schemas"].as_object().unwrap().values() {
        assert!(
            root()
                .join("functions/authelia-secrets")
                .join(file.as_str().unwrap())
                .is_file()
        );
    }
    let tags: Vec<&str> = metadata["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tags.contains(&"mutator") && tags.contains(&"validator"));
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
