//! A ResourceList's text: read it in one pass, keeping where each item sits so an item the
//! function leaves alone is written back byte for byte, and write it back.
//!
//! Items whose text can be copied are handed to a [`Slimmer`] as soon as the next item starts,
//! so the reader never holds the whole list as trees: only what the caller chose to keep, plus
//! one item in flight. [`parse_item`] reads an item's full tree again from its text on demand.

use super::tree::Tree;
use super::{describe, options};
use crate::error::{Error, Result};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::sync::Arc;

/// Where one block-style item of a ResourceList sits in the input text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSpan {
    /// Byte offset of the line holding the item's `-`.
    start: usize,
    /// Byte offset just past the item's last line.
    end: usize,
    /// Column of the `-`.
    dash: usize,
}

/// What the reader keeps of an item it can copy back verbatim: `(kept tree, true)` when the
/// kept tree is only part of the item, `(item, false)` to keep it whole.
pub type Slimmer = fn(Value) -> (Value, bool);

/// A ResourceList document as read: its top-level fields, its items, and per item the span
/// (`None`: the item must be re-emitted) and whether only part of it was kept.
pub struct ReadList {
    /// The document with `apiVersion`, `kind`, `items` and `functionConfig`, in that order;
    /// other top-level keys are dropped.
    pub doc: Value,
    pub spans: Vec<Option<ItemSpan>>,
    pub slim: Vec<bool>,
}

/// The context the item reader needs and the spans it found; set for the duration of one
/// [`read`] on this thread (serde has no way to hand a plain `Deserialize` its input text).
struct Reading {
    text: Arc<String>,
    slimmer: Slimmer,
    spans: Vec<Option<ItemSpan>>,
    slim: Vec<bool>,
    /// The last item's key start (offset, column) and dash line (offset, column): its end is
    /// placed only once the keys after `items` are known.
    last: Option<((usize, usize), (usize, usize))>,
}

thread_local! {
    static READING: RefCell<Option<Reading>> = const { RefCell::new(None) };
}

/// Clears the reading context however [`read`] ends.
struct ReadingGuard;

impl Drop for ReadingGuard {
    fn drop(&mut self) {
        READING.with(|r| r.borrow_mut().take());
    }
}

#[derive(Deserialize)]
struct RawList {
    #[serde(rename = "apiVersion")]
    api_version: Option<Spanned<Tree>>,
    kind: Option<Spanned<Tree>>,
    items: Option<Items>,
    #[serde(rename = "functionConfig")]
    function_config: Option<Spanned<Tree>>,
}

/// The `items` sequence, read item by item.
struct Items(Vec<Value>);

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_seq(ItemsVisitor)
    }
}

struct ItemsVisitor;

/// An item read but not yet finished: its span depends on where the next one starts.
struct Pending {
    value: Value,
    /// Byte offset and column of the item's first key.
    start: Option<(usize, usize)>,
    /// Byte offset and column of the line holding its `-`.
    dash: Option<(usize, usize)>,
}

/// Where the item after a pending one starts.
enum Next {
    /// At the line at this offset.
    At(usize),
    /// Somewhere the reader cannot place: do not guess where the pending item ends.
    Unknown,
}

impl<'de> Visitor<'de> for ItemsVisitor {
    type Value = Items;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Items, A::Error> {
        let (text, slimmer) = READING
            .with(|r| {
                r.borrow()
                    .as_ref()
                    .map(|c| (Arc::clone(&c.text), c.slimmer))
            })
            .ok_or_else(|| de::Error::custom("items read outside a ResourceList reading"))?;
        let mut values = Vec::new();
        let mut spans = Vec::new();
        let mut slim = Vec::new();
        let mut finish = |p: Pending, next: Next| {
            let span = match (p.start, p.dash, next) {
                (Some((start, column)), Some((line, dash)), Next::At(n)) => {
                    item_span(&text, start, column, line, dash, n)
                }
                _ => None,
            };
            let (value, slimmed) = match span {
                Some(_) => slimmer(p.value),
                None => (p.value, false),
            };
            values.push(value);
            spans.push(span);
            slim.push(slimmed);
        };
        let mut pending: Option<Pending> = None;
        while let Some(item) = seq.next_element::<serde_saphyr::Spanned<Tree>>()? {
            let start = item
                .referenced
                .span()
                .byte_offset()
                .map(|s| s as usize)
                .zip((item.referenced.column() as usize).checked_sub(1));
            let dash = start.and_then(|(s, _)| dash_line(&text, s));
            if let Some(p) = pending.take() {
                let next = match dash {
                    Some((line, _)) => Next::At(line),
                    None => Next::Unknown,
                };
                finish(p, next);
            }
            pending = Some(Pending {
                value: item.value.0,
                start,
                dash,
            });
        }
        // The last item ends where the next top-level key starts, which only the caller learns
        // (`read`): keep it whole until then.
        let last = pending.and_then(|p| {
            let placed = p.start.zip(p.dash);
            values.push(p.value);
            spans.push(None);
            slim.push(false);
            placed
        });
        READING.with(|r| {
            if let Some(c) = r.borrow_mut().as_mut() {
                c.spans = spans;
                c.slim = slim;
                c.last = last;
            }
        });
        Ok(Items(values))
    }
}

/// Reads a ResourceList document in one pass. `Err` when the text is not YAML or its top level
/// does not have the usual shape; the caller then parses it generically to say what is wrong.
pub fn read(
    source_name: &str,
    text: &Arc<String>,
    slimmer: Slimmer,
) -> std::result::Result<ReadList, Error> {
    READING.with(|r| {
        *r.borrow_mut() = Some(Reading {
            text: Arc::clone(text),
            slimmer,
            spans: Vec::new(),
            slim: Vec::new(),
            last: None,
        })
    });
    let _guard = ReadingGuard;
    let raw: RawList = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| describe(source_name, e))?;
    let (mut spans, mut slim, last) = READING
        .with(|r| {
            r.borrow_mut().as_mut().map(|c| {
                (
                    std::mem::take(&mut c.spans),
                    std::mem::take(&mut c.slim),
                    c.last.take(),
                )
            })
        })
        .unwrap_or_default();
    // Where the top-level keys we know sit, to place the end of the last item.
    let key_offsets: Vec<usize> = [&raw.api_version, &raw.kind, &raw.function_config]
        .into_iter()
        .flatten()
        .filter_map(|v| v.referenced.span().byte_offset().map(|o| o as usize))
        .collect();
    let mut doc = serde_json::Map::new();
    if let Some(v) = raw.api_version {
        doc.insert("apiVersion".into(), v.value.0);
    }
    if let Some(v) = raw.kind {
        doc.insert("kind".into(), v.value.0);
    }
    match raw.items {
        Some(Items(mut items)) => {
            if let (Some(((start, column), (line, dash))), Some(value)) = (last, items.last_mut())
                && let Some(end) = last_item_end(text, start, &key_offsets)
                && let Some(span) = item_span(text, start, column, line, dash, end)
            {
                let (kept, slimmed) = slimmer(std::mem::take(value));
                *value = kept;
                *spans.last_mut().expect("one span per item") = Some(span);
                *slim.last_mut().expect("one flag per item") = slimmed;
            }
            doc.insert("items".into(), Value::Array(items));
        }
        None => {
            spans.clear();
            slim.clear();
        }
    }
    if let Some(v) = raw.function_config {
        doc.insert("functionConfig".into(), v.value.0);
    }
    Ok(ReadList {
        doc: Value::Object(doc),
        spans,
        slim,
    })
}

/// Reads the full tree of the item at `span` from `text` again.
pub fn parse_item(source_name: &str, text: &str, span: ItemSpan) -> Result<Value> {
    let mut copy = Vec::with_capacity(span.end - span.start);
    copy_item(&mut copy, text, span)?;
    let copy = String::from_utf8(copy).map_err(|_| Error::Yaml {
        source_name: source_name.to_string(),
        message: "an item's text is not UTF-8".into(),
    })?;
    let Tree(value) = serde_saphyr::from_str_with_options(&copy, options())
        .map_err(|e| describe(source_name, e))?;
    match value {
        Value::Array(mut one) if one.len() == 1 => Ok(one.remove(0)),
        _ => Err(Error::Yaml {
            source_name: source_name.to_string(),
            message: "an item's text does not read back as one item".into(),
        }),
    }
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
    end: usize,
) -> Option<ItemSpan> {
    let first = text[start..].chars().next()?;
    if !(first.is_alphanumeric() || first == '_') || column <= dash {
        return None;
    }
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

/// Where the last item, whose keys start at `start`, ends: before the next line that starts at
/// column 0, provided that line is where the parser saw the next top-level key we know
/// (`key_offsets`: where their values start), or a document marker, or the end of the text.
/// A column-0 line that is none of these (a continuation line of a quoted scalar, a key we do
/// not read) leaves the end unknown: the item is then written anew, never cut short.
fn last_item_end(text: &str, start: usize, key_offsets: &[usize]) -> Option<usize> {
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
    if offset >= text.len() {
        return Some(text.len());
    }
    // A document marker: `---` or `...` alone or followed by a space (`---x` is content).
    let rest = &text[offset..];
    let marker = ["---", "..."].iter().any(|m| {
        rest.strip_prefix(m)
            .is_some_and(|after| after.is_empty() || after.starts_with([' ', '\t', '\n']))
    });
    if marker {
        return Some(offset);
    }
    // The next known key after the item: its key line is the last column-0 line at or before
    // where its value starts.
    let next_key = key_offsets.iter().copied().filter(|o| *o > start).min()?;
    let top_level =
        |line: usize| text[line..].starts_with(|c: char| !matches!(c, ' ' | '#' | '\n'));
    let mut key_line = text[..next_key].rfind('\n').map_or(0, |i| i + 1);
    while !top_level(key_line) {
        if key_line == 0 {
            return None;
        }
        key_line = text[..key_line - 1].rfind('\n').map_or(0, |i| i + 1);
    }
    (key_line == offset).then_some(offset)
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

fn write_err(e: std::io::Error) -> Error {
    Error::Write {
        path: "stdout".into(),
        message: e.to_string(),
    }
}

/// Writes a ResourceList: items with a span are copied from `source` (shifted to column 2),
/// the others are emitted. `rest` holds the keys after `items` (functionConfig, results).
pub fn emit_resource_list(
    out: &mut dyn Write,
    header: &Value,
    items: &[Value],
    spans: &[Option<ItemSpan>],
    source: &str,
    rest: &Value,
) -> Result<()> {
    out.write_all(super::emit(header)?.as_bytes())
        .map_err(write_err)?;
    let opening: &[u8] = if items.is_empty() {
        b"items: []\n"
    } else {
        b"items:\n"
    };
    out.write_all(opening).map_err(write_err)?;
    let mut text = String::new();
    for (i, item) in items.iter().enumerate() {
        match spans.get(i).copied().flatten() {
            Some(span) => copy_item(out, source, span)?,
            None => {
                text.clear();
                for (n, line) in super::emit(item)?.lines().enumerate() {
                    if n == 0 {
                        text.push_str("- ");
                    } else if !line.is_empty() {
                        text.push_str("  ");
                    }
                    text.push_str(line);
                    text.push('\n');
                }
                out.write_all(text.as_bytes()).map_err(write_err)?;
            }
        }
    }
    if rest.as_object().is_some_and(|m| !m.is_empty()) {
        out.write_all(super::emit(rest)?.as_bytes())
            .map_err(write_err)?;
    }
    Ok(())
}

fn copy_item(out: &mut dyn Write, source: &str, span: ItemSpan) -> Result<()> {
    let body = &source[span.start..span.end];
    let body = body.strip_suffix('\n').unwrap_or(body);
    for line in body.split('\n') {
        let line =
            if line.len() >= span.dash && line.as_bytes()[..span.dash].iter().all(|b| *b == b' ') {
                &line[span.dash..]
            } else {
                // Blank lines and comments that sit left of the dash.
                line.trim_start()
            };
        out.write_all(line.as_bytes()).map_err(write_err)?;
        out.write_all(b"\n").map_err(write_err)?;
    }
    Ok(())
}
