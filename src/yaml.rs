//! The only module that knows the YAML library: parse text into generic trees and emit them back.
//!
//! Trees are `serde_json::Value` with `preserve_order`, so keys keep their input order.
//! Parsing follows what Kubernetes tooling reads (booleans only `true`/`false`, YAML 1.1
//! octals like `0755`), and emitting quotes every string a YAML 1.1 or 1.2 reader could take
//! for another type. Limits (depth, aliases, size) are set here; see [`LIMITS`].

use crate::error::{Error, Result};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A mapping node.
pub type Map = serde_json::Map<String, Value>;

/// Parser limits, documented in the README ("Limits").
pub struct Limits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most alias (`*name`) uses in one input.
    pub max_aliases: usize,
    /// Most parser events (roughly: scalars + collection starts and ends).
    pub max_events: usize,
    /// Most documents in a multi-document stream.
    pub max_documents: usize,
    /// Most parser events that alias expansion may add (a "billion laughs" stops here).
    pub max_replayed_events: usize,
}

/// The limits in force.
pub const LIMITS: Limits = Limits {
    max_depth: 200,
    max_aliases: 10_000,
    max_events: 400_000_000,
    max_documents: 1_000_000,
    max_replayed_events: 100_000,
};

/// Integers beyond this magnitude cannot be held exactly by a float; we refuse to round them.
const EXACT_FLOAT_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = LIMITS.max_depth;
    budget.max_aliases = LIMITS.max_aliases;
    budget.max_events = LIMITS.max_events;
    budget.max_nodes = LIMITS.max_events;
    budget.max_documents = LIMITS.max_documents;
    budget.max_total_scalar_bytes = usize::MAX;
    budget.max_reader_input_bytes = None;
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = LIMITS.max_replayed_events;
    alias_limits.max_replay_stack_depth = 16;
    serde_saphyr::options! {
        strict_booleans: true,
        legacy_octal_numbers: true,
        with_snippet: false,
        budget: Some(budget),
        alias_limits: alias_limits,
    }
}

fn describe(source_name: &str, err: serde_saphyr::Error) -> Error {
    Error::Yaml {
        source_name: source_name.to_string(),
        message: format!("not valid YAML: {err}"),
    }
}

fn utf8<'a>(source_name: &str, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| Error::Yaml {
        source_name: source_name.to_string(),
        message: format!(
            "not UTF-8 text: invalid byte sequence at byte {}",
            e.valid_up_to()
        ),
    })
}

fn check_text(source_name: &str, text: &str) -> Result<()> {
    if let Some(pos) = text.find('\0') {
        return Err(Error::Yaml {
            source_name: source_name.to_string(),
            message: format!("contains a NUL byte at byte {pos}; YAML text cannot hold one"),
        });
    }
    Ok(())
}

/// Parses one YAML document.
pub fn parse_document(source_name: &str, bytes: &[u8]) -> Result<Value> {
    let text = utf8(source_name, bytes)?;
    check_text(source_name, text)?;
    let value: Value = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| describe(source_name, e))?;
    check_numbers(source_name, &value, &mut String::new())?;
    Ok(value)
}

/// Parses a multi-document stream; empty documents are skipped.
pub fn parse_stream(source_name: &str, bytes: &[u8]) -> Result<Vec<Value>> {
    let text = utf8(source_name, bytes)?;
    check_text(source_name, text)?;
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options())
        .map_err(|e| describe(source_name, e))?;
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    for (i, doc) in docs.iter().enumerate() {
        let mut path = format!("document {}", i + 1);
        check_numbers(source_name, doc, &mut path)?;
    }
    Ok(docs)
}

/// Refuses integers the parser could only keep as rounded floats.
fn check_numbers(source_name: &str, value: &Value, path: &mut String) -> Result<()> {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && f.fract() == 0.0
                && f.abs() >= EXACT_FLOAT_LIMIT
            {
                let at = if path.is_empty() { "." } else { path.as_str() };
                return Err(Error::Yaml {
                    source_name: source_name.to_string(),
                    message: format!(
                        "{at}: number too large to keep exactly (beyond 2^53 and not a 64-bit \
                         integer); quote it if it is meant as text"
                    ),
                });
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_numbers(source_name, item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                check_numbers(source_name, v, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn ser_options() -> serde_saphyr::SerializerOptions {
    serde_saphyr::ser_options! {
        // Never fold long lines: only multi-line strings become (literal) block scalars.
        folded_wrap_chars: usize::MAX,
    }
}

/// Emits one document (no leading `---`).
pub fn emit(value: &Value) -> Result<String> {
    serde_saphyr::to_string_with_options(&Emit(value), ser_options())
        .map_err(|e| Error::Emit(e.to_string()))
}

/// Emits documents separated by `---` lines.
pub fn emit_stream(values: &[Value]) -> Result<String> {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&emit(v)?);
    }
    Ok(out)
}

/// Serializes a tree, choosing a safe style for strings that block scalars cannot carry.
struct Emit<'a>(&'a Value);

impl Serialize for Emit<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(text) => {
                if needs_double_quotes(text) {
                    serde_saphyr::DoubleQuoted(text.as_str()).serialize(s)
                } else {
                    s.serialize_str(text)
                }
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Emit(item))?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, &Emit(v))?;
                }
                m.end()
            }
        }
    }
}

/// Multi-line strings that libyaml-based readers (Go yaml.v2/v3, PyYAML) misread as block scalars:
/// a first content line that starts with a tab, or carriage returns and other control characters.
fn needs_double_quotes(text: &str) -> bool {
    if !text.contains('\n') {
        return false;
    }
    let first_content = text.split('\n').find(|l| !l.is_empty());
    first_content.is_some_and(|l| l.starts_with('\t'))
        || text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(yaml: &str) -> (Value, String, Value) {
        let v = parse_document("test", yaml.as_bytes()).unwrap();
        let out = emit(&v).unwrap();
        let back = parse_document("test", out.as_bytes()).unwrap();
        (v, out, back)
    }

    #[test]
    fn strings_that_look_like_other_types_stay_quoted() {
        let tricky = [
            "no",
            "yes",
            "on",
            "off",
            "y",
            "n",
            "NO",
            "True",
            "0755",
            "1e3",
            "2024-01-01",
            "~",
            "null",
            "1_000",
            "12:30",
            "0x1F",
            ".inf",
            "-.inf",
            ".nan",
            "0o17",
            "+1",
            "-0",
            "",
            " lead",
        ];
        for t in tricky {
            let v = Value::String(t.to_string());
            let out = emit(&v).unwrap();
            assert!(
                out.starts_with('"') || out.starts_with('\''),
                "{t:?} emitted unquoted as {out:?}"
            );
            assert_eq!(parse_document("t", out.as_bytes()).unwrap(), v);
        }
    }

    #[test]
    fn tab_led_multiline_strings_are_double_quoted() {
        let v = Value::String("\tindented\nnext\n".into());
        let out = emit(&v).unwrap();
        assert!(out.starts_with('"'), "{out}");
        assert_eq!(parse_document("t", out.as_bytes()).unwrap(), v);
    }

    #[test]
    fn multiline_strings_become_literal_blocks() {
        let (v, out, back) = round_trip("s: |\n  #!/bin/sh\n  echo hi\n");
        assert!(out.contains("s: |\n"), "{out}");
        assert_eq!(v, back);
    }

    #[test]
    fn big_integers_are_refused_not_rounded() {
        let err = parse_document("in", b"a:\n  b: 123456789012345678901234\n").unwrap_err();
        assert!(err.to_string().contains("a.b"), "{err}");
        let ok =
            parse_document("in", b"a: 18446744073709551615\nb: -9223372036854775808\n").unwrap();
        assert_eq!(
            emit(&ok).unwrap(),
            "a: 18446744073709551615\nb: -9223372036854775808\n"
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        assert!(parse_document("in", b"a: 1\na: 2\n").is_err());
    }

    #[test]
    fn nul_and_invalid_utf8_are_errors() {
        assert!(
            parse_document("in", b"a: \0\n")
                .unwrap_err()
                .to_string()
                .contains("NUL")
        );
        assert!(
            parse_document("in", b"a: \xff\n")
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
    }
}
