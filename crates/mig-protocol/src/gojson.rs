//! JSON the way Go's `encoding/json` writes and reads it (spec protocol.md §1, §4.2).
//!
//! Writing: [`to_string`] serialises any `Serialize` type with [`GoFormatter`]: no
//! whitespace, HTML-safe escaping (`<` `>` `&` U+2028 U+2029 as `\u....`), other
//! control characters as lowercase `\u00xx` (MIG was built with a Go that had no
//! `\b`/`\f` short forms), and numbers printed as Go prints a `float64`.
//!
//! Reading: [`from_slice`] decodes like Go: object keys match struct fields
//! case-insensitively (an exact match preferred), unknown keys are ignored, `null`
//! leaves the field at its zero value, the last of duplicate keys wins, invalid
//! UTF-8 and lone surrogates become U+FFFD.
//!
//! [`write_canonical`] is the generic-tree encoder used by the signing string: keys
//! sorted by bytes, every number through `f64`, whatever order the tree holds.

use std::io;

use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, MapAccess, SeqAccess};
use serde::{Serialize, forward_to_deserialize_any};
use serde_json::Value;
use serde_json::ser::{CharEscape, Formatter};

/// A decoding error, with the serde path message of the field that failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(#[from] serde_json::Error);

/// Serialises `value` exactly as Go's `json.Marshal` would (given serde types that
/// mirror the Go structs' field order and `omitempty` rules).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    write(&mut out, value);
    // The formatter only ever writes valid UTF-8: serde strings are UTF-8 and
    // every escape it adds is ASCII.
    String::from_utf8(out)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Serialises `value` as Go would into a byte vector.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write(&mut out, value);
    out
}

fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let mut serializer = serde_json::Serializer::with_formatter(out, GoFormatter);
    // Serialising into a Vec cannot fail for I/O reasons; our types hold no
    // non-string map keys, so an error here would be a programming error.
    if let Err(err) = value.serialize(&mut serializer) {
        debug_assert!(false, "go json serialisation failed: {err}");
    }
}

/// Decodes JSON the way Go's `json.Unmarshal` does (see the module docs).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let value = parse_value(bytes)?;
    from_value(&value)
}

/// Decodes a string the way Go's `json.Unmarshal` does.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, DecodeError> {
    from_slice(text.as_bytes())
}

/// Decodes an already parsed generic tree with Go's leniency.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, DecodeError> {
    Ok(T::deserialize(GoValue(value))?)
}

/// Parses bytes into a generic tree as Go would into `interface{}`: invalid UTF-8
/// and lone UTF-16 surrogates become U+FFFD, duplicate keys keep the last value.
pub fn parse_value(bytes: &[u8]) -> Result<Value, DecodeError> {
    let text = String::from_utf8_lossy(bytes);
    let text = replace_lone_surrogates(&text);
    Ok(serde_json::from_str(&text)?)
}

/// Rewrites `\uD8xx`..`\uDFxx` escapes that do not form a valid surrogate pair
/// into `\ufffd`, as Go does; serde_json would refuse them.
fn replace_lone_surrogates(text: &str) -> std::borrow::Cow<'_, str> {
    fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
        let digits = bytes.get(at..at + 4)?;
        let digits = std::str::from_utf8(digits).ok()?;
        u16::from_str_radix(digits, 16).ok()
    }
    let bytes = text.as_bytes();
    // Fast path: no `\u` escape of a surrogate at all.
    let suspicious = bytes
        .windows(3)
        .any(|w| w[0] == b'\\' && (w[1] == b'u' || w[1] == b'U') && (w[2] | 0x20) == b'd');
    if !suspicious {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            if b == b'"' {
                in_string = true;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                i += 1;
            }
            b'\\' if bytes.get(i + 1) == Some(&b'u') => {
                let Some(unit) = hex4(bytes, i + 2) else {
                    i += 2;
                    continue;
                };
                let is_high = (0xD800..0xDC00).contains(&unit);
                let is_low = (0xDC00..0xE000).contains(&unit);
                if is_high {
                    let pair_ok = bytes.get(i + 6) == Some(&b'\\')
                        && bytes.get(i + 7) == Some(&b'u')
                        && hex4(bytes, i + 8).is_some_and(|next| (0xDC00..0xE000).contains(&next));
                    if pair_ok {
                        i += 12;
                        continue;
                    }
                }
                if is_high || is_low {
                    out.push_str(&text[copied..i]);
                    out.push_str("\\ufffd");
                    i += 6;
                    copied = i;
                    continue;
                }
                i += 6;
            }
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

/// Formats an `f64` as Go's `encoding/json` does: shortest round-trip digits,
/// plain notation for `1e-6 <= |x| < 1e21` (and zero), exponent form otherwise
/// (`1e-7`, `1e+21`); negative zero prints as `-0`.
pub fn go_float(value: f64) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0".to_owned()
        } else {
            "0".to_owned()
        };
    }
    if !value.is_finite() {
        // JSON cannot carry these; Go's encoder refuses them. Never produced by decoding.
        return "null".to_owned();
    }
    let mut buffer = ryu_js::Buffer::new();
    buffer.format_finite(value).to_owned()
}

/// Largest integer a `float64` holds exactly; beyond it Go prints the rounded double.
const MAX_EXACT_INT: u64 = 1 << 53;

/// A `serde_json` formatter that writes what Go's `json.Marshal` writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoFormatter;

impl GoFormatter {
    fn write_escaped_fragment<W: ?Sized + io::Write>(
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let escape: Option<&[u8]> = match bytes[i] {
                b'<' => Some(b"\\u003c"),
                b'>' => Some(b"\\u003e"),
                b'&' => Some(b"\\u0026"),
                0xE2 if bytes.get(i + 1) == Some(&0x80) => match bytes.get(i + 2) {
                    Some(0xA8) => Some(b"\\u2028"),
                    Some(0xA9) => Some(b"\\u2029"),
                    _ => None,
                },
                _ => None,
            };
            if let Some(escape) = escape {
                writer.write_all(&bytes[start..i])?;
                writer.write_all(escape)?;
                i += if bytes[i] == 0xE2 { 3 } else { 1 };
                start = i;
            } else {
                i += 1;
            }
        }
        writer.write_all(&bytes[start..])
    }
}

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_u64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: u64) -> io::Result<()> {
        if value > MAX_EXACT_INT {
            return self.write_f64(writer, value as f64);
        }
        writer.write_all(itoa(value as i128).as_bytes())
    }

    fn write_i64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: i64) -> io::Result<()> {
        if value.unsigned_abs() > MAX_EXACT_INT {
            return self.write_f64(writer, value as f64);
        }
        writer.write_all(itoa(i128::from(value)).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        Self::write_escaped_fragment(writer, fragment)
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        let control = |byte: u8| {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xF) as usize],
            ]
        };
        match char_escape {
            CharEscape::Quote => writer.write_all(b"\\\""),
            CharEscape::ReverseSolidus => writer.write_all(b"\\\\"),
            CharEscape::Solidus => writer.write_all(b"/"),
            CharEscape::LineFeed => writer.write_all(b"\\n"),
            CharEscape::CarriageReturn => writer.write_all(b"\\r"),
            CharEscape::Tab => writer.write_all(b"\\t"),
            CharEscape::Backspace => writer.write_all(&control(0x08)),
            CharEscape::FormFeed => writer.write_all(&control(0x0C)),
            CharEscape::AsciiControl(byte) => writer.write_all(&control(byte)),
        }
    }
}

fn itoa(value: i128) -> String {
    value.to_string()
}

/// Go's `json.Indent(dst, compact, "", unit)` (what `json.MarshalIndent`
/// prints): a newline and `unit` per level after `{`, `[` and `,`, `": "`
/// after keys; empty objects and arrays stay `{}` and `[]`. The input must be
/// compact JSON (as `to_string` writes it).
pub fn indent(compact: &str, unit: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(unit);
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    out.push(close);
                    chars.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

/// Writes `s` as a Go JSON string literal (quotes included) into `out`.
pub fn write_str(out: &mut String, s: &str) {
    let mut bytes = Vec::with_capacity(s.len() + 2);
    {
        let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, GoFormatter);
        // Serialising a str into a Vec cannot fail.
        let _ = s.serialize(&mut serializer);
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
}

/// Writes a generic JSON tree canonically (spec §4.2): object keys sorted by
/// their UTF-8 bytes regardless of the map's own order, every number printed
/// through `f64` with [`go_float`], Go's string escaping, no whitespace.
pub fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            let float = number
                .as_f64()
                .or_else(|| number.as_u64().map(|n| n as f64))
                .or_else(|| number.as_i64().map(|n| n as f64))
                .unwrap_or(0.0);
            out.push_str(&go_float(float));
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_canonical(out, item);
            }
            out.push('}');
        }
    }
}

/// Canonical form of a generic JSON tree as a new string.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, value);
    out
}

/// A deserializer over a parsed tree that applies Go's decoding rules.
#[derive(Clone, Copy)]
struct GoValue<'a>(&'a Value);

impl<'de> Deserializer<'de> for GoValue<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(0.0))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(GoSeq {
                items: items.iter(),
            }),
            Value::Object(map) => visitor.visit_map(GoMap {
                entries: map
                    .iter()
                    .map(|(k, v)| (k.as_str(), v))
                    .collect::<Vec<_>>()
                    .into_iter(),
                pending: None,
            }),
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    // Go leaves a non-pointer field at its zero value when it reads `null`.
    fn deserialize_str<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_str(""),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_bool(false),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let Value::Object(map) = self.0 else {
            return self.deserialize_any(visitor);
        };
        let mut entries: Vec<(&str, &Value)> = Vec::with_capacity(map.len());
        for (key, value) in map {
            if value.is_null() {
                continue;
            }
            if fields.contains(&key.as_str()) {
                entries.retain(|(k, _)| *k != key.as_str());
                entries.push((key.as_str(), value));
                continue;
            }
            let Some(field) = fields
                .iter()
                .find(|f| f.eq_ignore_ascii_case(key) || f.to_lowercase() == key.to_lowercase())
            else {
                continue;
            };
            // An exact key for the same field wins over a case-folded one.
            if map.get(*field).is_some_and(|v| !v.is_null()) {
                continue;
            }
            entries.retain(|(k, _)| k != field);
            entries.push((field, value));
        }
        visitor.visit_map(GoMap {
            entries: entries.into_iter(),
            pending: None,
        })
    }

    forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct GoSeq<'a> {
    items: std::slice::Iter<'a, Value>,
}

impl<'de> SeqAccess<'de> for GoSeq<'de> {
    type Error = serde_json::Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        match self.items.next() {
            Some(item) => seed.deserialize(GoValue(item)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct GoMap<'a> {
    entries: std::vec::IntoIter<(&'a str, &'a Value)>,
    pending: Option<&'a Value>,
}

impl<'de> MapAccess<'de> for GoMap<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.pending = Some(value);
                seed.deserialize(key.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        match self.pending.take() {
            Some(value) => seed.deserialize(GoValue(value)),
            None => Err(de::Error::custom("value requested before key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (2000.0, "2000"),
            (13213123123123.0, "13213123123123"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-10, "1.5e-10"),
            (0.1, "0.1"),
            (-3.25, "-3.25"),
            (123456789.125, "123456789.125"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for (value, expected) in cases {
            assert_eq!(go_float(*value), *expected, "{value:e}");
        }
    }

    #[test]
    fn strings_escape_as_go() {
        let cases: &[(&str, &str)] = &[
            ("x<y", r#""x\u003cy""#),
            ("a>b&c", r#""a\u003eb\u0026c""#),
            ("\u{2028}\u{2029}", r#""\u2028\u2029""#),
            ("\u{8}\u{c}\u{1}\u{1f}", r#""\u0008\u000c\u0001\u001f""#),
            ("\n\r\t\"\\", r#""\n\r\t\"\\""#),
            ("\u{7f}é☃/", "\"\u{7f}é☃/\""),
            ("\u{2027}\u{202a}", "\"\u{2027}\u{202a}\""),
        ];
        for (input, expected) in cases {
            assert_eq!(to_string(input), *expected);
        }
    }

    #[test]
    fn canonical_sorts_and_normalises_numbers() {
        let value = parse_value(br#"{"b":[1.50,2e3,10E-1,1e0],"a":"x<y","B":null}"#).unwrap();
        assert_eq!(
            canonical(&value),
            r#"{"B":null,"a":"x\u003cy","b":[1.5,2000,1,1]}"#
        );
    }

    #[test]
    fn big_integers_round_through_f64() {
        let value =
            parse_value(b"[9007199254740993,12345678901234567890,-9007199254740993]").unwrap();
        assert_eq!(
            canonical(&value),
            "[9007199254740992,12345678901234567000,-9007199254740992]"
        );
        assert_eq!(
            to_string(&value),
            "[9007199254740992,12345678901234567000,-9007199254740992]"
        );
    }

    #[test]
    fn floats_parse_correctly_rounded() {
        // Regression: serde_json's default fast float parser is off by one ULP
        // here; the `float_roundtrip` feature must stay enabled.
        let value = parse_value(b"[1.2177820254551827e+108,1.217782025455183e+108]").unwrap();
        assert_eq!(
            canonical(&value),
            "[1.2177820254551827e+108,1.217782025455183e+108]"
        );
    }

    #[test]
    fn nulls_inside_generic_trees_are_kept() {
        let value = parse_value(br#"{"options":{"mismatch":null}}"#).unwrap();
        let action_like: serde_json::Value = from_value(&value).unwrap();
        assert_eq!(to_string(&action_like), r#"{"options":{"mismatch":null}}"#);
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let value = parse_value(br#"["\ud800x","\udc00","\ud83d\ude00","\\ud800"]"#).unwrap();
        assert_eq!(
            value,
            serde_json::json!(["\u{fffd}x", "\u{fffd}", "😀", "\\ud800"])
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        let value = parse_value(b"[\"a\xffb\"]").unwrap();
        assert_eq!(value, serde_json::json!(["a\u{fffd}b"]));
    }

    #[derive(serde::Deserialize, Debug, Default, PartialEq)]
    #[serde(default)]
    struct Inner {
        minimumweight: i64,
        name: String,
    }

    #[derive(serde::Deserialize, Debug, Default, PartialEq)]
    #[serde(default)]
    struct Outer {
        inner: Inner,
        list: Vec<Inner>,
        flag: bool,
    }

    #[test]
    fn decoding_is_case_insensitive_and_null_tolerant() {
        let outer: Outer = from_str(
            r#"{"INNER":{"MinimumWeight":2,"Name":null},"List":[{"NAME":"x"}],"Flag":null,"unknown":1}"#,
        )
        .unwrap();
        assert_eq!(
            outer.inner,
            Inner {
                minimumweight: 2,
                name: String::new()
            }
        );
        assert_eq!(
            outer.list,
            vec![Inner {
                minimumweight: 0,
                name: "x".into()
            }]
        );
        assert!(!outer.flag);
    }

    #[test]
    fn exact_key_wins_over_folded_key() {
        let inner: Inner = from_str(r#"{"Name":"folded","name":"exact"}"#).unwrap();
        assert_eq!(inner.name, "exact");
        let inner: Inner = from_str(r#"{"name":"exact","NAME":"folded"}"#).unwrap();
        assert_eq!(inner.name, "exact");
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let inner: Inner = from_str(r#"{"name":"first","name":"last"}"#).unwrap();
        assert_eq!(inner.name, "last");
    }

    #[test]
    fn serde_json_maps_are_sorted() {
        // Guards against a dependency enabling serde_json's `preserve_order`
        // feature, which would change the order Go's encoder gives map keys.
        let value = parse_value(br#"{"b":1,"a":2,"\u00e9":3,"Z":4}"#).unwrap();
        assert_eq!(to_string(&value), r#"{"Z":4,"a":2,"b":1,"é":3}"#);
    }
}
