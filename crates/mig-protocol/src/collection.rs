//! The Collection+JSON envelope of every API answer (spec api.md §2.1).
//!
//! ```json
//! {"collection":{"version":"1.0","href":"…","items":[{"href":"…","data":[{"name":"agent","value":{…}}]}],"template":{},"error":{}}}
//! ```
//!
//! `template` and `error` are always present; `links`, `items` and `queries`
//! are omitted when empty. An item's `value` is kept as raw JSON, already in
//! Go's encoding, so entity field order survives the envelope.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::gojson;

/// The outer document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub collection: Collection,
}

/// A collection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Collection {
    pub version: String,
    pub href: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<Query>,
    #[serde(default)]
    pub template: Template,
    #[serde(default)]
    pub error: Error,
}

/// One item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub href: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Data>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

/// A named value of an item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Data {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prompt: String,
    /// Raw JSON in Go's encoding; `None` omits the key (a Go nil interface),
    /// while a present `null` (a nil Go slice) is kept as raw `null`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub value: Option<Box<RawValue>>,
}

/// A present key is `Some`, even when its value is `null`.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(deserializer).map(Some)
}

/// A link.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Link {
    pub rel: String,
    pub href: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub render: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prompt: String,
}

/// A query (never used by MIG, kept for the shape).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Query {
    pub rel: String,
    pub href: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prompt: String,
}

/// The template, always `{}` in MIG.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Template {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Data>,
}

/// The error part, `{}` on success.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl Envelope {
    /// An empty collection for `href`.
    pub fn new(href: impl Into<String>) -> Self {
        Self {
            collection: Collection {
                version: "1.0".to_owned(),
                href: href.into(),
                links: Vec::new(),
                items: Vec::new(),
                queries: Vec::new(),
                template: Template::default(),
                error: Error::default(),
            },
        }
    }

    /// An error answer: `code` is the request's operation id.
    pub fn error(
        href: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let mut envelope = Self::new(href);
        envelope.collection.error = Error {
            title: String::new(),
            code: code.into(),
            message: message.into(),
        };
        envelope
    }

    /// Encodes as the original (compact Go JSON, no trailing newline).
    pub fn to_json(&self) -> String {
        gojson::to_string(self)
    }

    /// Decodes an answer.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The value of the first datum of the first item, whatever its name (the
    /// API names some after the row: `Investigator ID 7`), decoded leniently.
    pub fn first_datum<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Option<Result<T, gojson::DecodeError>> {
        self.collection
            .items
            .first()
            .and_then(|item| item.data.first())
            .and_then(|data| data.value.as_ref())
            .map(|raw| gojson::from_str(raw.get()))
    }

    /// The first data value named `name` among the items, decoded leniently.
    pub fn first_value<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Option<Result<T, gojson::DecodeError>> {
        self.collection
            .items
            .iter()
            .flat_map(|item| item.data.iter())
            .find(|data| data.name == name)
            .and_then(|data| data.value.as_ref())
            .map(|raw| gojson::from_str(raw.get()))
    }
}

impl Data {
    /// A datum whose value is `value` in Go's encoding.
    pub fn new<T: Serialize + ?Sized>(name: impl Into<String>, value: &T) -> Self {
        let raw = RawValue::from_string(gojson::to_string(value)).ok();
        Self {
            name: name.into(),
            prompt: String::new(),
            value: raw,
        }
    }
}

impl Item {
    /// An item with one datum.
    pub fn with_data(href: impl Into<String>, data: Data) -> Self {
        Self {
            href: href.into(),
            data: vec![data],
            links: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_error_forms() {
        assert_eq!(
            Envelope::new("http://localhost:12345/api/v1/heartbeat").to_json(),
            r#"{"collection":{"version":"1.0","href":"http://localhost:12345/api/v1/heartbeat","template":{},"error":{}}}"#
        );
        assert_eq!(
            Envelope::error(
                "http://localhost:12345/api/v1/action?actionid=7",
                "4999271350274",
                "Action ID '7' not found"
            )
            .to_json(),
            r#"{"collection":{"version":"1.0","href":"http://localhost:12345/api/v1/action?actionid=7","template":{},"error":{"code":"4999271350274","message":"Action ID '7' not found"}}}"#
        );
    }

    #[test]
    fn values_keep_go_encoding() {
        let mut envelope = Envelope::new("h");
        envelope.collection.items.push(Item::with_data(
            "h",
            Data::new("x", &serde_json::json!({"b": 1.0, "a": "<"})),
        ));
        assert_eq!(
            envelope.to_json(),
            r#"{"collection":{"version":"1.0","href":"h","items":[{"href":"h","data":[{"name":"x","value":{"a":"\u003c","b":1}}]}],"template":{},"error":{}}}"#
        );
        let back = Envelope::from_json(envelope.to_json().as_bytes()).unwrap();
        let value: serde_json::Value = back.first_value("x").unwrap().unwrap();
        assert_eq!(value["a"], "<");
    }
}
