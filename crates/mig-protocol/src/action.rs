//! Actions: what investigators sign (spec protocol.md §2.1, §2.2, §4.1, §4.2).
//!
//! An [`Action`] names a target, a validity window and a list of [`Operation`]s.
//! [`Action::signing_string`] gives the exact bytes every signer and verifier
//! works on; it is the only definition of them in mig-rs.

use std::io::{Read, Write};

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::gojson;
use crate::gotime::GoTime;
use crate::id::Id;
use crate::investigator::Investigator;
use crate::status::ActionStatus;

/// The only action syntax version MIG accepts.
pub const ACTION_VERSION: u16 = 2;

/// A signed investigation request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Action {
    /// Assigned by the API; clients send 0.
    pub id: Id,
    /// Free text; signed.
    pub name: String,
    /// Which agents run it: a WHERE clause over the agents table; signed.
    pub target: String,
    /// Who wrote it, for humans.
    pub description: Description,
    /// What it looks for, for humans.
    pub threat: Threat,
    /// Agents refuse it before this time; signed (Unix seconds).
    pub validfrom: GoTime,
    /// Agents refuse it after this time; signed (Unix seconds).
    pub expireafter: GoTime,
    /// What to run; signed. `None` is JSON `null`.
    pub operations: Option<Vec<Operation>>,
    /// One single-line detached signature per signer, in signing order.
    pub pgpsignatures: Option<Vec<String>>,
    /// Filled by API reads from the signatures table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub investigators: Vec<Investigator>,
    /// Life-cycle status (§3.1).
    #[serde(skip_serializing_if = "ActionStatus::is_empty")]
    pub status: ActionStatus,
    /// When the scheduler started it.
    pub starttime: GoTime,
    /// When it completed.
    pub finishtime: GoTime,
    /// Last change made by the scheduler.
    pub lastupdatetime: GoTime,
    /// Command counts by status.
    pub counters: ActionCounters,
    /// Must be [`ACTION_VERSION`].
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub syntaxversion: u16,
}

fn is_zero_u16(value: &u16) -> bool {
    *value == 0
}

fn is_zero_i64(value: &i64) -> bool {
    *value == 0
}

fn is_zero_f64(value: &f64) -> bool {
    *value == 0.0
}

/// Authorship of an action.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Description {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub revision: f64,
}

/// The threat an action investigates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Threat {
    #[serde(rename = "ref", skip_serializing_if = "String::is_empty")]
    pub reference: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub level: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub family: String,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

/// Command counts of an action, by status (§2.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionCounters {
    /// All commands (`inflight + done`).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub sent: i64,
    /// Commands in a terminal status.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub done: i64,
    /// Commands still `sent`.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub inflight: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub success: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub cancelled: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub expired: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub failed: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub timeout: i64,
}

/// One module invocation inside an action.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Operation {
    /// Module name, lower case, case-sensitive.
    pub module: String,
    /// Module parameters as a generic tree (a base64 string when compressed).
    pub parameters: Value,
    /// `parameters` holds `base64(gzip(json))`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_compressed: bool,
    /// The client asked for compression; stays set, and is signed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub want_compressed: bool,
}

/// Why an action is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("action name is empty")]
    EmptyName,
    #[error("action target is empty")]
    EmptyTarget,
    #[error("wrong syntax version {found}, expected {ACTION_VERSION}")]
    SyntaxVersion { found: u16 },
    #[error("action validfrom {validfrom} is after expireafter {expireafter}")]
    InvertedWindow {
        validfrom: String,
        expireafter: String,
    },
    #[error("action expired at {expireafter}")]
    Expired { expireafter: String },
    #[error("action is not valid before {validfrom}")]
    NotYetValid { validfrom: String },
    #[error("action has no operations field")]
    NullOperations,
    #[error("action has no operations")]
    NoOperations,
    #[error("action has no signature")]
    NoSignature,
    #[error("operation {index} ({module}): {reason}")]
    Parameters {
        index: usize,
        module: String,
        reason: String,
    },
}

impl Action {
    /// Decodes an action from JSON with Go's leniency.
    pub fn from_json(bytes: &[u8]) -> Result<Self, gojson::DecodeError> {
        gojson::from_slice(bytes)
    }

    /// Encodes the action exactly as the original's `json.Marshal`.
    pub fn to_json(&self) -> String {
        gojson::to_string(self)
    }

    /// The bytes investigators sign and agents verify (§4.1):
    /// `name=…;target=…;validfrom=…;expireafter=%!s(int64=…);operations=…;`.
    pub fn signing_string(&self) -> String {
        let mut out = String::with_capacity(128 + self.name.len() + self.target.len());
        out.push_str("name=");
        out.push_str(&self.name);
        out.push_str(";target=");
        out.push_str(&self.target);
        out.push_str(";validfrom=");
        out.push_str(&self.validfrom.unix().to_string());
        out.push_str(";expireafter=%!s(int64=");
        out.push_str(&self.expireafter.unix().to_string());
        out.push_str(");operations=");
        write_canonical_operations(&mut out, self.operations.as_deref());
        out.push(';');
        out
    }

    /// The signatures, or an empty slice.
    pub fn signatures(&self) -> &[String] {
        self.pgpsignatures.as_deref().unwrap_or(&[])
    }

    /// The operations, or an empty slice.
    pub fn operations(&self) -> &[Operation] {
        self.operations.as_deref().unwrap_or(&[])
    }

    /// The original's `Validate()` (§2.1): syntax version, name, target,
    /// validity window against `now`, operations present, at least one signature.
    pub fn validate(&self, now: GoTime) -> Result<(), ActionError> {
        self.validate_syntax()?;
        if now.0 > self.expireafter.0 {
            return Err(ActionError::Expired {
                expireafter: self.expireafter.to_string(),
            });
        }
        Ok(())
    }

    /// The checks of [`Action::validate`] that do not depend on the clock.
    pub fn validate_syntax(&self) -> Result<(), ActionError> {
        if self.name.is_empty() {
            return Err(ActionError::EmptyName);
        }
        if self.target.is_empty() {
            return Err(ActionError::EmptyTarget);
        }
        if self.syntaxversion != ACTION_VERSION {
            return Err(ActionError::SyntaxVersion {
                found: self.syntaxversion,
            });
        }
        if self.validfrom.0 > self.expireafter.0 {
            return Err(ActionError::InvertedWindow {
                validfrom: self.validfrom.to_string(),
                expireafter: self.expireafter.to_string(),
            });
        }
        if self.operations.is_none() {
            return Err(ActionError::NullOperations);
        }
        if self.signatures().is_empty() {
            return Err(ActionError::NoSignature);
        }
        Ok(())
    }

    /// The agent's window check (§4.4 steps 2–3), with an allowance for clock
    /// skew: valid from `validfrom - skew` to `expireafter + skew`.
    pub fn check_window(&self, now: GoTime, skew: chrono::Duration) -> Result<(), ActionError> {
        if now.0 > self.expireafter.0 + skew {
            return Err(ActionError::Expired {
                expireafter: self.expireafter.to_string(),
            });
        }
        if now.0 + skew < self.validfrom.0 {
            return Err(ActionError::NotYetValid {
                validfrom: self.validfrom.to_string(),
            });
        }
        Ok(())
    }
}

/// Writes the canonical form of an operations array (§4.2).
pub fn write_canonical_operations(out: &mut String, operations: Option<&[Operation]>) {
    let Some(operations) = operations else {
        out.push_str("null");
        return;
    };
    out.push('[');
    for (index, operation) in operations.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str("{\"module\":");
        gojson::write_str(out, &operation.module);
        out.push_str(",\"parameters\":");
        gojson::write_canonical(out, &operation.parameters);
        if operation.is_compressed {
            out.push_str(",\"is_compressed\":true");
        }
        if operation.want_compressed {
            out.push_str(",\"want_compressed\":true");
        }
        out.push('}');
    }
    out.push(']');
}

impl Operation {
    /// An uncompressed operation.
    pub fn new(module: impl Into<String>, parameters: Value) -> Self {
        Self {
            module: module.into(),
            parameters,
            is_compressed: false,
            want_compressed: false,
        }
    }

    /// Compresses the parameters as the client does before signing (§2.2):
    /// `base64(gzip(json(parameters)))`, `is_compressed` and `want_compressed` set.
    pub fn compress(&mut self) {
        if self.is_compressed {
            return;
        }
        let json = gojson::to_vec(&self.parameters);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing into a Vec cannot fail.
        let gzipped = encoder
            .write_all(&json)
            .and_then(|()| encoder.finish())
            .unwrap_or_default();
        self.parameters = Value::String(base64::engine::general_purpose::STANDARD.encode(gzipped));
        self.is_compressed = true;
        self.want_compressed = true;
    }

    /// The parameters as a module receives them: decompressed when needed.
    /// Call only after the signature has been verified.
    pub fn decompressed_parameters(&self) -> Result<Value, String> {
        if !self.is_compressed {
            return Ok(self.parameters.clone());
        }
        let Value::String(encoded) = &self.parameters else {
            return Err("compressed parameters are not a string".to_owned());
        };
        let gzipped = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|err| format!("compressed parameters are not base64: {err}"))?;
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(gzipped.as_slice())
            .take(64 << 20)
            .read_to_end(&mut json)
            .map_err(|err| format!("compressed parameters are not gzip: {err}"))?;
        gojson::parse_value(&json)
            .map_err(|err| format!("compressed parameters are not JSON: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_vector_single_operation() {
        let action = Action {
            name: "pkg -s -name test ".into(),
            target: "status='online'".into(),
            validfrom: GoTime::parse("2017-10-25T15:50:05.220759533Z").unwrap(),
            expireafter: GoTime::parse("2017-10-25T15:56:05.220759533Z").unwrap(),
            operations: Some(vec![Operation::new(
                "pkg",
                json!({"pkgmatch": {"matches": ["test"]}, "vermatch": ""}),
            )]),
            ..Action::default()
        };
        assert_eq!(
            action.signing_string(),
            "name=pkg -s -name test ;target=status='online';validfrom=1508946605;expireafter=%!s(int64=1508946965);operations=[{\"module\":\"pkg\",\"parameters\":{\"pkgmatch\":{\"matches\":[\"test\"]},\"vermatch\":\"\"}}];"
        );
    }

    #[test]
    fn null_operations_sign_as_null() {
        let action = Action::from_json(br#"{"name":"n","target":"t","validfrom":"1970-01-01T00:00:01Z","expireafter":"1970-01-01T00:00:02Z"}"#).unwrap();
        assert_eq!(
            action.signing_string(),
            "name=n;target=t;validfrom=1;expireafter=%!s(int64=2);operations=null;"
        );
    }

    #[test]
    fn operation_flags_and_unknown_keys() {
        let action = Action::from_json(
            br#"{"operations":[{"Module":"file","parameters":"H4sI","is_compressed":true,"want_compressed":true,"extra":1},{"module":"x"}]}"#,
        )
        .unwrap();
        let mut out = String::new();
        write_canonical_operations(&mut out, action.operations.as_deref());
        assert_eq!(
            out,
            r#"[{"module":"file","parameters":"H4sI","is_compressed":true,"want_compressed":true},{"module":"x","parameters":null}]"#
        );
    }

    #[test]
    fn compression_round_trips() {
        let params = json!({"searches": {"s1": {"paths": ["/etc"], "names": ["<passwd>"]}}});
        let mut operation = Operation::new("file", params.clone());
        operation.compress();
        assert!(operation.is_compressed && operation.want_compressed);
        assert!(operation.parameters.is_string());
        assert_eq!(operation.decompressed_parameters().unwrap(), params);
    }

    #[test]
    fn validation() {
        let now = GoTime::parse("2024-01-02T03:05:00Z").unwrap();
        let good = Action {
            name: "n".into(),
            target: "t".into(),
            validfrom: GoTime::parse("2024-01-02T03:04:05Z").unwrap(),
            expireafter: GoTime::parse("2024-01-02T03:14:05Z").unwrap(),
            operations: Some(vec![]),
            pgpsignatures: Some(vec!["sig".into()]),
            syntaxversion: 2,
            ..Action::default()
        };
        assert_eq!(good.validate(now), Ok(()));
        let bad = |change: fn(&mut Action)| {
            let mut action = good.clone();
            change(&mut action);
            action.validate(now)
        };
        assert_eq!(bad(|a| a.name.clear()), Err(ActionError::EmptyName));
        assert_eq!(bad(|a| a.target.clear()), Err(ActionError::EmptyTarget));
        assert_eq!(
            bad(|a| a.syntaxversion = 1),
            Err(ActionError::SyntaxVersion { found: 1 })
        );
        assert_eq!(
            bad(|a| a.operations = None),
            Err(ActionError::NullOperations)
        );
        assert_eq!(
            bad(|a| a.pgpsignatures = Some(vec![])),
            Err(ActionError::NoSignature)
        );
        assert!(matches!(
            bad(|a| a.validfrom = GoTime::parse("2025-01-01T00:00:00Z").unwrap()),
            Err(ActionError::InvertedWindow { .. })
        ));
        let later = GoTime::parse("2024-01-02T03:14:06Z").unwrap();
        assert!(matches!(
            good.validate(later),
            Err(ActionError::Expired { .. })
        ));
        let skew = chrono::Duration::seconds(60);
        assert_eq!(
            good.check_window(GoTime::parse("2024-01-02T03:15:05Z").unwrap(), skew),
            Ok(())
        );
        assert!(
            good.check_window(GoTime::parse("2024-01-02T03:15:06Z").unwrap(), skew)
                .is_err()
        );
        assert_eq!(
            good.check_window(GoTime::parse("2024-01-02T03:03:05Z").unwrap(), skew),
            Ok(())
        );
        assert!(matches!(
            good.check_window(GoTime::parse("2024-01-02T03:03:04Z").unwrap(), skew),
            Err(ActionError::NotYetValid { .. })
        ));
    }
}
