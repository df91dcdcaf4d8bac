//! `examplepersist`: the reference persistent module (spec modules.md §5.6):
//! logs the time every `interval` seconds and echoes query strings.

use std::time::Duration;

use mig_protocol::gojson;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{PersistContext, Persistent};
use crate::result::{Module, ModuleContext, TypedResult};

/// Query parameters: `{"string":"…"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// The string to echo.
    pub string: String,
}

/// `elements`: the echoed string.
pub type Elements = Parameters;

/// The module.
pub struct ExamplePersist;

/// The module's result type.
pub type ExampleResult = TypedResult<Elements, Value>;

impl Persistent for ExamplePersist {
    const NAME: &'static str = "examplepersist";

    fn config_from_gcfg(document: Option<&mig_protocol::gcfg::Document>) -> String {
        let interval = document
            .and_then(|document| document.section("examplepersist"))
            .and_then(|section| section.int::<i64>("interval").ok().flatten())
            .unwrap_or(0);
        gojson::to_string(&json!({ "ExamplePersist": { "interval": interval } }))
    }

    fn persist(context: PersistContext) -> Result<(), String> {
        let outbox = context.outbox;
        outbox.log("module received configuration");
        let mut interval = context
            .config
            .config
            .pointer("/ExamplePersist/interval")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if interval <= 0 {
            outbox.log("config interval was <= 0, defaulting to 30 seconds");
            interval = 30;
        }
        loop {
            std::thread::sleep(Duration::from_secs(interval.unsigned_abs()));
            let now = chrono::Local::now();
            outbox.log(format!(
                "running, current time is {}",
                now.format("%Y-%m-%d %H:%M:%S%.f %z %Z")
            ));
        }
    }

    fn handle(parameters: &Value) -> String {
        let string = gojson::from_value::<Parameters>(parameters)
            .unwrap_or_default()
            .string;
        gojson::to_string(&ExampleResult {
            foundanything: true,
            success: true,
            elements: Some(Parameters { string }),
            statistics: None,
            errors: None,
        })
    }
}

impl Module for ExamplePersist {
    const NAME: &'static str = "examplepersist";
    type Elements = Elements;
    type Statistics = Value;

    fn run(parameters: &Value, context: &ModuleContext) -> ExampleResult {
        match gojson::from_value::<Parameters>(parameters) {
            Ok(decoded) if decoded.string.is_empty() => {
                TypedResult::failure("must set a string to echo")
            }
            Ok(_) => super::query_result(context.persistsock.as_deref(), parameters),
            Err(err) => TypedResult::failure(err.to_string()),
        }
    }

    fn print(result: &ExampleResult, found_only: bool) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(elements) = &result.elements {
            lines.push(format!("echo string was {:?}", elements.string));
        }
        if !found_only {
            lines.extend(result.errors.iter().flatten().cloned());
        }
        lines
    }
}
