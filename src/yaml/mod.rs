//! The only module that knows the YAML library: parse text into generic trees and emit them back.
//!
//! Trees are `serde_json::Value` with `preserve_order`, so keys keep their input order.
//! Parsing follows what Kubernetes tooling reads (booleans only `true`/`false`, YAML 1.1
//! octals like `0755`), and emitting quotes every string a YAML 1.1 or 1.2 reader could take
//! for another type. Limits (depth, aliases, size) are set here; see [`LIMITS`].
//! ResourceList text (verbatim items) is in [`list`], the tree and its inexact values in
//! [`tree`].

mod list;
mod tree;

pub use list::{ItemSpan, ReadList, Slimmer, emit_resource_list, parse_item};
pub use tree::inexact;

use crate::error::{Error, Result};
use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use std::sync::Arc;
use tree::Tree;

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
        non_finite_float_policy: serde_saphyr::options::NonFiniteFloatPolicy::PassThrough,
        budget: Some(budget),
        alias_limits: alias_limits,
    }
}

fn describe(source_name: &str, err: serde_saphyr::Error) -> Error {
    use serde_saphyr::budget::BudgetBreach;
    // The cause, under the wrappers that add alias locations or a snippet.
    let mut cause = &err;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = cause
    {
        cause = error;
    }
    let message = match cause {
        serde_saphyr::Error::Budget { breach, location } => {
            let what = match breach {
                BudgetBreach::Depth { .. } => format!(
                    "nests mappings and lists deeper than {} levels",
                    LIMITS.max_depth
                ),
                BudgetBreach::Aliases { .. } => {
                    format!("uses more than {} aliases", LIMITS.max_aliases)
                }
                BudgetBreach::Events { .. } | BudgetBreach::Nodes { .. } => {
                    format!("holds more than {} YAML nodes", LIMITS.max_events)
                }
                BudgetBreach::Documents { .. } => {
                    format!("holds more than {} documents", LIMITS.max_documents)
                }
                BudgetBreach::AliasAnchorRatio { .. } => {
                    "uses aliases far more often than it defines anchors (an alias bomb?)".into()
                }
                other => format!("exceeds a parser limit ({other:?})"),
            };
            let at = if location.line() > 0 {
                format!(" at line {}, column {}", location.line(), location.column())
            } else {
                String::new()
            };
            format!(
                "{what}{at}, beyond what this function reads (see \"YAML fidelity\" in its README)"
            )
        }
        serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. } => format!(
            "expands aliases to more than {} nodes (an alias bomb?), beyond what this function reads",
            LIMITS.max_replayed_events
        ),
        _ => format!("not valid YAML: {err}"),
    };
    Error::Yaml {
        source_name: source_name.to_string(),
        message,
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

/// Turns input bytes into UTF-8 text without copying them (the parse functions refuse what
/// else YAML text cannot hold).
pub fn text(source_name: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| Error::Yaml {
        source_name: source_name.to_string(),
        message: format!(
            "not UTF-8 text: invalid byte sequence at byte {}",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Parses one YAML document; a stream of one document plus empty ones (a trailing `---`) is
/// one document too.
pub fn parse_document(source_name: &str, bytes: &[u8]) -> Result<Value> {
    let text = utf8(source_name, bytes)?;
    check_text(source_name, text)?;
    let value = match serde_saphyr::from_str_with_options::<Tree>(text, options()) {
        Ok(Tree(value)) => value,
        Err(first) => {
            let Ok(docs) = serde_saphyr::from_multiple_with_options::<Tree>(text, options()) else {
                return Err(describe(source_name, first));
            };
            let mut docs: Vec<Value> = docs
                .into_iter()
                .map(|t| t.0)
                .filter(|d| !d.is_null())
                .collect();
            match docs.len() {
                0 => Value::Null,
                1 => docs.remove(0),
                n => {
                    return Err(Error::Yaml {
                        source_name: source_name.to_string(),
                        message: format!("holds {n} YAML documents; expected one"),
                    });
                }
            }
        }
    };
    exact(source_name, &value, "")?;
    Ok(value)
}

/// Parses a multi-document stream; empty documents are skipped.
pub fn parse_stream(source_name: &str, bytes: &[u8]) -> Result<Vec<Value>> {
    let text = utf8(source_name, bytes)?;
    check_text(source_name, text)?;
    let docs: Vec<Tree> = serde_saphyr::from_multiple_with_options(text, options())
        .map_err(|e| describe(source_name, e))?;
    let docs: Vec<Value> = docs
        .into_iter()
        .map(|t| t.0)
        .filter(|d| !d.is_null())
        .collect();
    for (i, doc) in docs.iter().enumerate() {
        exact(source_name, doc, &format!("document {}", i + 1))?;
    }
    Ok(docs)
}

/// Reads a ResourceList document in one pass (see [`list`]): items that can be copied back
/// verbatim go through `slimmer`; the rest, and the functionConfig, must be writable exactly.
/// A document without the usual top-level shape is parsed generically, without spans, so the
/// caller can say what is wrong with it.
pub fn parse_resource_list(
    source_name: &str,
    text: &Arc<String>,
    slimmer: Slimmer,
) -> Result<ReadList> {
    check_text(source_name, text)?;
    let read = match list::read(source_name, text, slimmer) {
        Ok(read) => read,
        Err(_) => {
            return parse_document(source_name, text.as_bytes()).map(|doc| ReadList {
                doc,
                spans: Vec::new(),
                slim: Vec::new(),
            });
        }
    };
    if let Some(items) = read.doc.get("items").and_then(Value::as_array) {
        for (i, item) in items.iter().enumerate() {
            if read.spans.get(i).copied().flatten().is_none() {
                exact(source_name, item, &format!("items[{i}]"))?;
            }
        }
    }
    if let Some(fc) = read.doc.get("functionConfig") {
        exact(source_name, fc, "functionConfig")?;
    }
    Ok(read)
}

/// Refuses a value that could only be written back changed (see [`inexact`]).
fn exact(source_name: &str, value: &Value, at: &str) -> Result<()> {
    match inexact(value) {
        None => Ok(()),
        Some((path, problem)) => {
            let at = match (at.is_empty(), path.is_empty()) {
                (true, true) => ".".to_string(),
                (true, false) => path,
                (false, true) => at.to_string(),
                (false, false) => format!("{at}.{path}"),
            };
            Err(Error::Yaml {
                source_name: source_name.to_string(),
                message: format!("{at}: {problem}"),
            })
        }
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
            Value::String(text) if tree::is_placeholder(text) => Err(S::Error::custom(
                "a non-finite number cannot be written back; quote it if it is meant as text",
            )),
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

    /// Keeps only `kind` of every copyable item, as a slimmer may.
    fn kind_only(item: Value) -> (Value, bool) {
        (serde_json::json!({"kind": item["kind"]}), true)
    }

    fn list_round_trip(text: &str) -> (String, Vec<Option<ItemSpan>>) {
        let arc = Arc::new(text.to_string());
        let full = |v: Value| (v, false);
        let read = parse_resource_list("t", &arc, full).unwrap();
        let doc = &read.doc;
        let header = serde_json::json!({"apiVersion": doc["apiVersion"], "kind": doc["kind"]});
        let items = doc["items"].as_array().cloned().unwrap_or_default();
        let rest = serde_json::json!({});
        let mut out = Vec::new();
        emit_resource_list(&mut out, &header, &items, &read.spans, text, &rest).unwrap();
        let out = String::from_utf8(out).unwrap();
        let back = parse_document("out", out.as_bytes()).unwrap();
        assert_eq!(back["items"], doc["items"], "{out}");
        // Slimmed items come back whole from their text.
        let slim = parse_resource_list("t", &arc, kind_only).unwrap();
        for (i, span) in slim.spans.iter().enumerate() {
            assert_eq!(slim.slim[i], span.is_some());
            if let Some(span) = span {
                assert_eq!(parse_item("t", text, *span).unwrap(), items[i], "item {i}");
            } else {
                assert_eq!(slim.doc["items"][i], items[i]);
            }
        }
        (out, read.spans)
    }

    #[test]
    fn untouched_items_keep_their_text() {
        let text = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1 # c\n  kind: ConfigMap\n  data:\n    mode: 0644\n    flow: [a, \"yes\"]\n    s: |\n      one\n\n        two\n# left comment\n  # trailing\n-   kind: X\n    n: ~\n";
        let (out, spans) = list_round_trip(text);
        assert!(spans.iter().all(Option::is_some));
        assert!(
            out.contains("    mode: 0644\n    flow: [a, \"yes\"]\n"),
            "{out}"
        );
        assert!(out.contains("-   kind: X\n    n: ~\n"), "{out}");
    }

    #[test]
    fn indented_items_and_head_comments_are_copied() {
        let text = "apiVersion: v1\nkind: ResourceList\nitems:\n  - # head\n    a: 1\n  - b: 2\nfunctionConfig: {}\n";
        let (out, spans) = list_round_trip(text);
        assert!(spans.iter().all(Option::is_some), "{spans:?}");
        assert!(out.contains("items:\n- # head\n  a: 1\n- b: 2\n"), "{out}");
    }

    #[test]
    fn items_with_anchors_flow_style_or_crlf_are_reemitted() {
        let text = "apiVersion: v1\nkind: ResourceList\nitems:\n- a: &x 1\n  b: *x\n- {\"k\": 1}\n- t: !!str 5\n";
        let (_, spans) = list_round_trip(text);
        assert_eq!(spans, vec![None, None, None]);
        let crlf = "apiVersion: v1\r\nkind: ResourceList\r\nitems:\r\n- a: 1\r\n";
        let (_, spans) = list_round_trip(crlf);
        assert_eq!(spans, vec![None]);
    }

    #[test]
    fn inexact_numbers_are_refused_only_where_they_would_be_rewritten() {
        // Copied verbatim: fine.
        let text = "apiVersion: v1\nkind: ResourceList\nitems:\n- a: .inf\n  b: 123456789012345678901234567890\n";
        let read = parse_resource_list("t", &Arc::new(text.to_string()), kind_only).unwrap();
        assert!(read.spans[0].is_some());
        let mut out = Vec::new();
        let header = serde_json::json!({"apiVersion": "v1", "kind": "ResourceList"});
        let items = read.doc["items"].as_array().unwrap();
        emit_resource_list(&mut out, &header, items, &read.spans, text, &Value::Null).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), text);
        // Re-emitted (flow style) or in the functionConfig: refused with the field path.
        for (text, at) in [
            (
                "apiVersion: v1\nkind: ResourceList\nitems:\n- {a: {b: -.inf}}\n",
                "items[0].a.b",
            ),
            (
                "apiVersion: v1\nkind: ResourceList\nitems: []\nfunctionConfig: {s: [1, 1e400]}\n",
                "functionConfig.s[1]",
            ),
        ] {
            let err = match parse_resource_list("t", &Arc::new(text.to_string()), |v| (v, false)) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("accepted {text:?}"),
            };
            assert!(err.contains(at), "{err}");
        }
        let v = parse_document("t", b"a: .nan\n");
        assert!(
            v.unwrap_err()
                .to_string()
                .contains(".nan cannot be written back")
        );
    }

    #[test]
    fn a_trailing_document_marker_is_one_document() {
        assert_eq!(
            parse_document("t", b"a: 1\n---\n").unwrap(),
            serde_json::json!({"a": 1})
        );
        assert_eq!(
            parse_document("t", b"---\na: 1\n--- # end\n").unwrap(),
            serde_json::json!({"a": 1})
        );
        let err = parse_document("t", b"a: 1\n---\nb: 2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds 2 YAML documents"), "{err}");
        assert!(!err.contains("from_str"), "{err}");
    }

    #[test]
    fn the_last_item_ends_only_where_the_next_known_key_starts() {
        // A quoted scalar may continue on a line at column 0; that line does not end the item.
        let quoted = "apiVersion: v1\nkind: ResourceList\nitems:\n- a: 1\n- b: 'one\nfunctionConfig: two'\n  c: 3\nfunctionConfig: {}\n";
        let (out, spans) = list_round_trip(quoted);
        assert_eq!(spans, vec![spans[0], None], "{out}");
        assert!(spans[0].is_some());
        // kustomize sorts the keys: `kind` comes after `items`.
        let sorted = "apiVersion: config.kubernetes.io/v1\nfunctionConfig: {}\nitems:\n- a: 1\n  b: [2]\nkind: ResourceList\n";
        let (out, spans) = list_round_trip(sorted);
        assert!(spans.iter().all(Option::is_some), "{out}");
        // A key we do not read after the items: written anew rather than guessed.
        let unknown = "apiVersion: v1\nkind: ResourceList\nitems:\n- a: 1\nextra: x\n";
        let (_, spans) = list_round_trip(unknown);
        assert_eq!(spans, vec![None]);
        // `---` followed by text is content, not a document marker.
        let flow = "apiVersion: v1\nkind: ResourceList\nitems:\n- a: {b: 1,\n---x: 2}\n";
        let (_, spans) = list_round_trip(flow);
        assert_eq!(spans, vec![None]);
        // Comments and a document end after the last item are fine.
        let ended = "apiVersion: v1\nkind: ResourceList\nitems:\n- a: 1\n# trailing\n...\n";
        let (_, spans) = list_round_trip(ended);
        assert!(spans[0].is_some());
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
