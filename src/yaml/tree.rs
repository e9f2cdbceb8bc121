//! The generic tree every parsed document becomes, and the few values it cannot hold exactly.
//!
//! Trees are `serde_json::Value` with `preserve_order`. Two YAML values have no `Value` form:
//! non-finite floats (`.inf`, `-.inf`, `.nan`) and integers beyond 64 bits (the parser reads them
//! as rounded floats). Parsing keeps them as recognisable placeholders so an item holding one can
//! still be copied back verbatim; writing a placeholder, or a rounded integer, is refused
//! ([`inexact`]), so nothing is ever silently changed.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::fmt;

/// Prefix of the placeholder strings for non-finite floats. Input text cannot hold a NUL byte
/// (the reader refuses it), and an escaped one followed by this exact text is not a value
/// anybody writes; a collision would only make an item impossible to re-write, never change it.
const PLACEHOLDER: &str = "\0authelia-secrets:non-finite:";

/// Integers beyond this magnitude cannot be held exactly by a float.
const EXACT_FLOAT_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53

/// A parsed value.
pub struct Tree(pub Value);

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor).map(Tree)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_i128<E: de::Error>(self, n: i128) -> Result<Value, E> {
        Ok(i64::try_from(n).map_or_else(|_| float(n as f64), Value::from))
    }

    fn visit_u128<E: de::Error>(self, n: u128) -> Result<Value, E> {
        Ok(u64::try_from(n).map_or_else(|_| float(n as f64), Value::from))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Ok(float(f))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Tree::deserialize(d).map(|t| t.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Tree(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Tree(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

fn float(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => {
            let spelling = if f.is_nan() {
                ".nan"
            } else if f > 0.0 {
                ".inf"
            } else {
                "-.inf"
            };
            Value::String(format!("{PLACEHOLDER}{spelling}"))
        }
    }
}

/// True when `s` is a placeholder for a non-finite float.
pub fn is_placeholder(s: &str) -> bool {
    s.starts_with(PLACEHOLDER)
}

/// The first value in `value` that cannot be written back exactly, as (field path, problem).
/// Paths look like `spec.template.spec.containers[0].env`; "" is the value itself.
pub fn inexact(value: &Value) -> Option<(String, String)> {
    let mut path = String::new();
    find_inexact(value, &mut path).map(|problem| (path, problem))
}

fn find_inexact(value: &Value, path: &mut String) -> Option<String> {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() >= EXACT_FLOAT_LIMIT).then(|| {
                "number too large to keep exactly (beyond 2^53 and not a 64-bit integer); \
                 quote it if it is meant as text"
                    .to_string()
            })
        }
        Value::String(s) if is_placeholder(s) => Some(format!(
            "{} cannot be written back (the generic YAML tree has no non-finite numbers); \
             quote it if it is meant as text",
            &s[PLACEHOLDER.len()..]
        )),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find_inexact(item, path);
            if found.is_none() {
                path.truncate(len);
            }
            found
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let found = find_inexact(v, path);
            if found.is_none() {
                path.truncate(len);
            }
            found
        }),
        _ => None,
    }
}
