//! Shared harness for the fuzz targets: an in-memory [`Environment`] and the invariants every
//! target checks.
//!
//! Each `check_*` function takes raw fuzzer bytes, runs them through the crate the way the
//! binary does (`src/io.rs`), and panics when an invariant breaks:
//!
//! - nothing panics inside the crate;
//! - when the output carries an error result, its items equal the input items;
//! - what `yaml::emit` writes re-parses to an equal tree;
//! - a config that fails to load says why (at least one error result).

use authelia_secrets::config;
use authelia_secrets::environment::Environment;
use authelia_secrets::process::{Mode, process};
use authelia_secrets::resource;
use authelia_secrets::resource_list::ResourceList;
use authelia_secrets::result::{KrmResult, any_error};
use authelia_secrets::yaml;
use serde_json::Value;

/// The master seed the in-memory environment hands out (≥ 32 characters).
pub const SEED: &str = "fuzzing-seed-0123456789abcdefghijklmnop";

/// Byte every `fill_random` call writes.
pub const RANDOM_BYTE: u8 = 0x5a;

/// A deterministic environment without IO: one variable, no files, constant "randomness".
pub struct FuzzEnv;

impl Environment for FuzzEnv {
    fn var(&self, name: &str) -> Option<String> {
        (name == config::DEFAULT_SEED_ENV).then(|| SEED.to_string())
    }

    fn read_file(&self, path: &str, _restricted: bool) -> Result<Vec<u8>, String> {
        Err(format!("{path}: no files while fuzzing"))
    }

    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        buf.fill(RANDOM_BYTE);
        Ok(())
    }
}

/// Emits `value`, re-parses the text as one document, and asserts the trees are equal.
pub fn assert_round_trip(what: &str, value: &Value) {
    let text = yaml::emit(value).unwrap_or_else(|e| panic!("{what}: emit failed: {e}"));
    let back = yaml::parse_document("round trip", text.as_bytes())
        .unwrap_or_else(|e| panic!("{what}: emitted text does not re-parse: {e}\n---\n{text}"));
    assert!(
        back == *value,
        "{what}: emitted text re-parses to another tree\n--- emitted\n{text}\n--- before\n{value:?}\n--- after\n{back:?}"
    );
}

/// Emits `items` as a stream, re-parses it, and asserts the documents are equal.
pub fn assert_stream_round_trip(what: &str, items: &[Value]) {
    let text = yaml::emit_stream(items).unwrap_or_else(|e| panic!("{what}: emit failed: {e}"));
    let back = yaml::parse_stream("round trip", text.as_bytes())
        .unwrap_or_else(|e| panic!("{what}: emitted stream does not re-parse: {e}\n---\n{text}"));
    assert!(
        back == items,
        "{what}: emitted stream re-parses to other documents\n--- emitted\n{text}\n--- before\n{items:?}\n--- after\n{back:?}"
    );
}

fn assert_results_render(results: &[KrmResult]) {
    for r in results {
        let _ = r.to_string();
        let _ = r.to_value();
    }
}

/// Runs a list through the core and writes it as the binary does.
fn run_and_emit(list: ResourceList) -> (ResourceList, Vec<u8>) {
    let out = process(list, Mode::Krm, &FuzzEnv);
    let mut text = Vec::new();
    out.clone()
        .emit(&mut text)
        .unwrap_or_else(|e| panic!("the output cannot be written: {e}"));
    (out, text)
}

/// The output text up to its `results:` (written last, at column 0).
fn without_results(text: &[u8]) -> &[u8] {
    match text.windows(10).position(|w| w == b"\nresults:\n") {
        Some(i) => &text[..=i],
        None => text,
    }
}

/// The `resource_list` target: what `authelia-secrets` does with a ResourceList on stdin
/// (`io::run_resource_list`: read with slim items, process, write).
pub fn check_resource_list(data: &[u8]) {
    let Ok(list) = ResourceList::parse("stdin", data.to_vec()) else {
        return;
    };
    if any_error(&list.results) {
        // Not a ResourceList we accept: the binary echoes it; the echo must be writable.
        let mut text = Vec::new();
        list.emit(&mut text).expect("an echo is writable");
        return;
    }
    let input_whole = list.clone().into_value();
    let input_items = input_whole["items"].as_array().cloned().unwrap_or_default();
    let generator = input_items.iter().all(resource::is_local_config);
    let (out, text) = run_and_emit(list);
    assert_results_render(&out.results);
    let failed = any_error(&out.results);
    let out_whole = out.into_value();
    if failed {
        assert!(
            out_whole["items"].as_array().cloned().unwrap_or_default() == input_items,
            "an error result came with changed items: {:?}",
            out_whole["results"]
        );
    }
    // What was written reads back as what was meant.
    let back = ResourceList::parse("output", text.clone())
        .unwrap_or_else(|e| panic!("the output does not read back: {e}"));
    assert!(
        back.clone().into_value()["items"] == out_whole["items"],
        "the written items read back as other items"
    );
    // Slim items change nothing: the same run on whole trees (when the text has them).
    if let Ok(doc) = yaml::parse_document("stdin", data)
        && let Ok(whole) = ResourceList::from_value("stdin", doc)
    {
        let whole_out = process(whole, Mode::Krm, &FuzzEnv).into_value();
        assert!(
            whole_out["items"] == out_whole["items"] && whole_out["results"] == out_whole["results"],
            "slim and whole runs differ\n--- slim\n{:?}\n--- whole\n{:?}",
            out_whole["results"],
            whole_out["results"]
        );
    }
    // kpt renders its own output again: a successful transformer run is a fixed point (existing
    // values win, the wiring is already there). Generator runs are not checked: their output is
    // no longer "only local config", so the second run is a transformer run.
    if !failed && !generator {
        let (second, again) = run_and_emit(back);
        assert!(
            !any_error(&second.results),
            "re-running on the output fails: {:?}",
            second.results
        );
        assert!(
            without_results(&again) == without_results(&text),
            "re-running on the output changes it\n--- first\n{}\n--- second\n{}",
            String::from_utf8_lossy(&text),
            String::from_utf8_lossy(&again)
        );
    }
}

/// The fixed configs the `legacy_stream` target runs every stream through (shared with
/// `tests/fuzz_regressions.rs`): the quickstart plus a Postgres password with the default
/// workload selection; `hashSuffix` with explicit workloads, an init container and Authelia
/// 4.37; the validating kind.
pub fn legacy_configs() -> [Value; 3] {
    [
        include_str!("../legacy-configs/quickstart.yaml"),
        include_str!("../legacy-configs/hash-suffix.yaml"),
        include_str!("../legacy-configs/check.yaml"),
    ]
    .map(|text| {
        yaml::parse_document("legacy config", text.as_bytes())
            .expect("the committed legacy configs parse")
    })
}

/// The `legacy_stream` target: what the legacy exec plugin does with resources on stdin.
pub fn check_legacy_stream(data: &[u8]) {
    let Ok(items) = yaml::parse_stream("stdin", data) else {
        return;
    };
    // `io::run_legacy` refuses a stream with a non-mapping document before processing.
    if items.iter().any(|i| !i.is_object()) {
        return;
    }
    assert_stream_round_trip("input stream", &items);
    let mode = if items.is_empty() {
        Mode::LegacyGenerator
    } else {
        Mode::LegacyTransformer
    };
    for function_config in legacy_configs() {
        let mut list = ResourceList::new(items.clone());
        list.function_config = Some(function_config);
        let out = process(list, mode, &FuzzEnv);
        assert_results_render(&out.results);
        if any_error(&out.results) {
            assert!(
                out.items == items,
                "an error result came with changed items: {:?}",
                out.results
            );
            continue;
        }
        assert_stream_round_trip("output stream", &out.items);
    }
}

/// The `config` target: loading a function config (`AutheliaSecrets`, `ConfigMap` or
/// `AutheliaSecretsCheck`).
pub fn check_config(data: &[u8]) {
    let Ok(value) = yaml::parse_document("config", data) else {
        return;
    };
    assert_round_trip("config document", &value);
    // The binary only ever loads mappings (`ResourceList::from_value`, `io::run_legacy`); other
    // values must not panic, but their results are not checked.
    let mapping = value.is_object();
    let (loaded, results) = config::load(&value);
    assert_results_render(&results);
    let errors = results.iter().any(KrmResult::is_error);
    assert!(
        !mapping || loaded.is_some() != errors,
        "config::load: config {} with error results {:?}",
        if loaded.is_some() {
            "loaded"
        } else {
            "refused"
        },
        results
    );
    let (check, results) = config::load_check(&value);
    assert_results_render(&results);
    let errors = results.iter().any(KrmResult::is_error);
    assert!(
        !mapping || check.is_some() != errors,
        "config::load_check: config {} with error results {:?}",
        if check.is_some() { "loaded" } else { "refused" },
        results
    );
}
