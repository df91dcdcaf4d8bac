//! `mig-agent -i <action file>`: run an action's operations locally, in child
//! processes as usual but **without** signature or ACL checks (a testing aid),
//! and print the results array, indented.

use std::path::Path;
use std::time::Duration;

use mig_protocol::{Action, ModuleResult};

use crate::runner::{ModuleRunner, is_available};

/// Errors of `-i`.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not an action: {reason}")]
    Decode { path: String, reason: String },
}

/// Runs every operation of the action in `path`; returns the results as JSON text.
pub async fn run_action_file(
    path: &Path,
    runner: &ModuleRunner,
    timeout: Duration,
) -> Result<String, LocalError> {
    let bytes = std::fs::read(path).map_err(|source| LocalError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let action = Action::from_json(&bytes).map_err(|error| LocalError::Decode {
        path: path.display().to_string(),
        reason: error.to_string(),
    })?;
    let mut results = Vec::new();
    for operation in action.operations() {
        if !is_available(&operation.module) {
            results.push(ModuleResult::error(format!(
                "module '{}' is not available",
                operation.module
            )));
            continue;
        }
        let result = match operation.decompressed_parameters() {
            Ok(parameters) => {
                runner
                    .run(&operation.module, &parameters, timeout)
                    .await
                    .result
            }
            Err(error) => ModuleResult::error(error),
        };
        results.push(result);
    }
    Ok(serde_json::to_string_pretty(&results).unwrap_or_default())
}
