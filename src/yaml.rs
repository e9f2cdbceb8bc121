//! The only module that knows the YAML library: parse text into generic trees and emit them back.
//!
//! Trees are `serde_json::Value` with `preserve_order`, so keys keep their input order.
//! Parsing follows what Kubernetes tooling reads (booleans only `true`/`false`, YAML 1.1
//! octals like `0755`), and emitting quotes every string a YAML 1.1 or 1.2 reader could take
//! for another type. Limits (depth, aliases, size) are set here; see [`LIMITS`].

use crate::error::{Error, Result};
use serde::Deserialize;
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

/// Where one block-style item of a ResourceList sits in the input text, so an item the function
/// leaves alone can be written back byte for byte (kpt keeps a file's styles only if we do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSpan {
    /// Byte offset of the line holding the item's `-`.
    start: usize,
    /// Byte offset just past the item's last line.
    end: usize,
    /// Column of the `-`.
    dash: usize,
}

/// The top level of a ResourceList, read in one pass with the position of every item.
#[derive(Deserialize)]
struct RawList {
    #[serde(rename = "apiVersion")]
    api_version: Option<Value>,
    kind: Option<Value>,
    items: Option<Vec<serde_saphyr::Spanned<Value>>>,
    #[serde(rename = "functionConfig")]
    function_config: Option<Value>,
}

/// Parses a ResourceList document and locates its items in the text.
///
/// Returns the document and, per item, its span when the item can be copied verbatim (a block
/// mapping without anchors, aliases, tags or carriage returns); `None` items are re-emitted.
pub fn parse_resource_list(
    source_name: &str,
    bytes: &[u8],
) -> Result<(Value, Vec<Option<ItemSpan>>)> {
    let text = utf8(source_name, bytes)?;
    check_text(source_name, text)?;
    let raw: RawList = match serde_saphyr::from_str_with_options(text, options()) {
        Ok(raw) => raw,
        // Not the usual shape: parse generically so the caller can say what is wrong.
        Err(_) => return parse_document(source_name, bytes).map(|doc| (doc, Vec::new())),
    };
    let mut doc = Map::new();
    if let Some(v) = raw.api_version {
        doc.insert("apiVersion".into(), v);
    }
    if let Some(v) = raw.kind {
        doc.insert("kind".into(), v);
    }
    let mut spans = Vec::new();
    if let Some(items) = raw.items {
        let starts: Vec<Option<(usize, usize)>> = items
            .iter()
            .map(|i| {
                let start = i.referenced.span().byte_offset()? as usize;
                let column = (i.referenced.column() as usize).checked_sub(1)?;
                Some((start, column))
            })
            .collect();
        let dashes: Vec<Option<(usize, usize)>> = starts
            .iter()
            .map(|s| s.and_then(|(start, _)| dash_line(text, start)))
            .collect();
        let mut values = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let next = match starts.get(index + 1) {
                None => None,
                Some(_) => match dashes[index + 1] {
                    Some((line, _)) => Some(line),
                    // The next item's start cannot be placed: do not guess where this one ends.
                    None => {
                        spans.push(None);
                        values.push(item.value);
                        continue;
                    }
                },
            };
            let span = match (starts[index], dashes[index]) {
                (Some((start, column)), Some((line, dash))) => {
                    item_span(text, start, column, line, dash, next)
                }
                _ => None,
            };
            spans.push(span);
            values.push(item.value);
        }
        doc.insert("items".into(), Value::Array(values));
    }
    if let Some(v) = raw.function_config {
        doc.insert("functionConfig".into(), v);
    }
    let doc = Value::Object(doc);
    check_numbers(source_name, &doc, &mut String::new())?;
    Ok((doc, spans))
}

/// The line holding the `-` of the sequence entry whose content starts at `start`, and the
/// column of that `-`. The dash may stand on an earlier line followed only by a comment
/// (`- # note` then the keys below it), as kpt writes an item with a head comment.
fn dash_line(text: &str, start: usize) -> Option<(usize, usize)> {
    let mut line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..start];
    if before.trim() == "-" {
        return Some((line_start, before.find('-')?));
    }
    if !before.bytes().all(|b| b == b' ') {
        return None;
    }
    // Walk up over comment lines to the dash line.
    while line_start > 0 {
        let prev_start = text[..line_start - 1].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[prev_start..line_start - 1];
        let trimmed = line.trim_start();
        let dash = line.len() - trimmed.len();
        if let Some(after) = trimmed.strip_prefix('-') {
            let after = after.trim_start();
            return (after.is_empty() || after.starts_with('#')).then_some((prev_start, dash));
        }
        if !(trimmed.is_empty() || trimmed.starts_with('#')) {
            return None;
        }
        line_start = prev_start;
    }
    None
}

/// The span of the item whose keys start at `start` (column `column`) under the `-` at
/// `dash` on the line at `line`, if its text can be copied as it is.
fn item_span(
    text: &str,
    start: usize,
    column: usize,
    line: usize,
    dash: usize,
    next: Option<usize>,
) -> Option<ItemSpan> {
    let first = text[start..].chars().next()?;
    if !(first.is_alphanumeric() || first == '_') || column <= dash {
        return None;
    }
    let end = match next {
        Some(n) => n,
        None => {
            // The last item ends before the next line that starts at column 0 (a top-level key
            // or a document marker); comments do not end it.
            let mut offset = text[start..]
                .find('\n')
                .map_or(text.len(), |i| start + i + 1);
            while offset < text.len() {
                let rest = &text[offset..];
                let c = rest.as_bytes()[0];
                if c != b' ' && c != b'#' && c != b'\n' {
                    break;
                }
                offset += rest.find('\n').map_or(rest.len(), |i| i + 1);
            }
            offset
        }
    };
    if end <= start {
        return None;
    }
    let body = &text[line..end];
    if body.contains('\r') || has_tab_indent(body) || has_node_props(&text[start..end]) {
        return None;
    }
    // Lines after the keys' first line are indented at least to the keys, or are blank or
    // comments.
    for l in text[start..end].split('\n').skip(1) {
        let indent = l.len() - l.trim_start_matches(' ').len();
        let rest = l.trim_start();
        if indent < column && !rest.is_empty() && !rest.starts_with('#') {
            return None;
        }
    }
    Some(ItemSpan {
        start: line,
        end,
        dash,
    })
}

fn has_tab_indent(body: &str) -> bool {
    body.split('\n')
        .any(|l| l.trim_start_matches(' ').starts_with('\t'))
}

/// True when the text may hold an anchor (`&a`), alias (`*a`), tag (`!t`) or merge key (`<<`).
fn has_node_props(body: &str) -> bool {
    let bytes = body.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        let before = if i == 0 { b' ' } else { bytes[i - 1] };
        let after = bytes.get(i + 1).copied().unwrap_or(b' ');
        let token_start = matches!(before, b' ' | b'[' | b'{' | b',' | b'\n');
        (matches!(b, b'&' | b'*' | b'!') && token_start && !after.is_ascii_whitespace())
            || (b == b'<' && after == b'<')
    })
}

/// Emits a ResourceList: items with a span are copied from `source` (shifted to column 2),
/// the others are emitted. `rest` holds the keys after `items` (functionConfig, results).
pub fn emit_resource_list(
    header: &Value,
    items: &[Value],
    spans: &[Option<ItemSpan>],
    source: &str,
    rest: &Value,
) -> Result<String> {
    let mut out = emit(header)?;
    if items.is_empty() {
        out.push_str("items: []\n");
    } else {
        out.push_str("items:\n");
    }
    for (i, item) in items.iter().enumerate() {
        match spans.get(i).copied().flatten() {
            Some(span) => copy_item(&mut out, source, span),
            None => {
                let text = emit(item)?;
                for (n, line) in text.lines().enumerate() {
                    if n == 0 {
                        out.push_str("- ");
                    } else if !line.is_empty() {
                        out.push_str("  ");
                    }
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    if rest.as_object().is_some_and(|m| !m.is_empty()) {
        out.push_str(&emit(rest)?);
    }
    Ok(out)
}

fn copy_item(out: &mut String, source: &str, span: ItemSpan) {
    let body = &source[span.start..span.end];
    let body = body.strip_suffix('\n').unwrap_or(body);
    for line in body.split('\n') {
        if line.len() >= span.dash && line.as_bytes()[..span.dash].iter().all(|b| *b == b' ') {
            out.push_str(&line[span.dash..]);
        } else {
            // Blank lines and comments that sit left of the dash.
            out.push_str(line.trim_start());
        }
        out.push('\n');
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

    fn list_round_trip(text: &str) -> (String, Vec<Option<ItemSpan>>) {
        let (doc, spans) = parse_resource_list("t", text.as_bytes()).unwrap();
        let header = serde_json::json!({"apiVersion": doc["apiVersion"], "kind": doc["kind"]});
        let items = doc["items"].as_array().cloned().unwrap_or_default();
        let rest = serde_json::json!({});
        let out = emit_resource_list(&header, &items, &spans, text, &rest).unwrap();
        let back = parse_document("out", out.as_bytes()).unwrap();
        assert_eq!(back["items"], doc["items"], "{out}");
        (out, spans)
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
