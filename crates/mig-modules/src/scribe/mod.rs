//! `scribe`: evaluates a scribe policy document on the host and returns
//! true/false per test, never file contents (spec modules.md §4.3).
//!
//! - [`document`]: the document format (JSON or YAML), its validation and
//!   loading.
//! - [`client`]: the `mig scribe` flags.
//! - [`engine`]: objects gather facts (files through the file module
//!   in-process, packages through the pkg module's inventory), tests
//!   evaluate them.
//! - [`evr`]: version comparison (the original's rpm variant; Debian's
//!   ordering for dpkg packages).
//!
//! Deviations from the original, all [MAY IMPROVE]: the file module's empty
//! placeholder is not a file; dpkg versions compare with dpkg's ordering; a
//! dpkg package name matches without its `:<arch>` qualifier; all-zero
//! numeric version parts (`1.00`) compare instead of crashing the module;
//! variables are replaced literally; `concat` results keep first-occurrence
//! order.

pub mod client;
pub mod document;
pub mod engine;
pub mod evr;
#[cfg(test)]
mod tests;

use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use document::{Document, load_document};
pub use engine::Host;

use crate::duration::go_duration;
use crate::result::{Module, ModuleContext, TypedResult};

/// Parameters: `{"scribedoc":{…},"onlytrue":false,"humanoutput":false,"jsonoutput":false}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// The document.
    pub scribedoc: Document,
    /// Return only the tests whose master result is true.
    pub onlytrue: bool,
    /// Print results in scribe's multi-line form.
    pub humanoutput: bool,
    /// Print results as JSON.
    pub jsonoutput: bool,
}

/// One test's result (scribe's `TestResult`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestResult {
    pub testid: String,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<document::Tag>,
    pub iserror: bool,
    pub error: String,
    pub masterresult: bool,
    pub hastrueresults: bool,
    /// One entry per criterion (`null` when none or on error).
    pub results: Option<Vec<TestSubResult>>,
}

/// The result of one criterion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestSubResult {
    pub result: bool,
    pub identifier: String,
}

/// `elements`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Elements {
    /// The test results (`[]` when none).
    pub results: Vec<TestResult>,
    /// Echo of the parameter, for the printer.
    pub humanoutput: bool,
    /// Echo of the parameter, for the printer.
    pub jsonoutput: bool,
}

/// `statistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    /// Run time as a Go duration string.
    pub execruntime: String,
}

/// The module.
pub struct Scribe;

/// The scribe module's result type.
pub type ScribeResult = TypedResult<Elements, Statistics>;

/// Runs a decoded parameter set against `host`.
pub fn run_parameters(parameters: &Parameters, host: &Host, started: Instant) -> ScribeResult {
    let statistics = |started: Instant| {
        Some(Statistics {
            execruntime: go_duration(started.elapsed()),
        })
    };
    if let Err(message) = parameters.scribedoc.validate() {
        return ScribeResult {
            statistics: statistics(started),
            ..TypedResult::failure(message)
        };
    }
    let results: Vec<TestResult> = engine::analyze(&parameters.scribedoc, host)
        .into_iter()
        .filter(|result| result.masterresult || !parameters.onlytrue)
        .collect();
    let errors: Vec<String> = results
        .iter()
        .filter(|result| result.iserror)
        .map(|result| format!("Error: {} in \"{}\"", result.error, result.testid))
        .collect();
    ScribeResult {
        foundanything: !results.is_empty(),
        success: true,
        elements: Some(Elements {
            results,
            humanoutput: parameters.humanoutput,
            jsonoutput: parameters.jsonoutput,
        }),
        statistics: statistics(started),
        errors: (!errors.is_empty()).then_some(errors),
    }
}

/// Runs the module on its JSON parameters against `host`.
pub fn run_with(parameters: &serde_json::Value, host: &Host) -> ScribeResult {
    let started = Instant::now();
    match mig_protocol::gojson::from_value::<Parameters>(parameters) {
        Ok(parameters) => run_parameters(&parameters, host, started),
        Err(err) => ScribeResult {
            statistics: Some(Statistics {
                execruntime: go_duration(started.elapsed()),
            }),
            ..TypedResult::failure(err.to_string())
        },
    }
}

/// scribe's single-line form of a result.
pub fn single_lines(result: &TestResult) -> Vec<String> {
    let status = |value: bool| if value { "[true]" } else { "[false]" };
    let master = if result.iserror {
        "[error]"
    } else {
        status(result.masterresult)
    };
    let name = if result.name.is_empty() {
        &result.testid
    } else {
        &result.name
    };
    let mut lines = vec![format!(
        "master {master} name:\"{name}\" id:\"{}\" hastrue:{} error:\"{}\"",
        result.testid, result.hastrueresults, result.error
    )];
    for sub in result.results.iter().flatten() {
        lines.push(format!(
            "sub {} name:\"{name}\" id:\"{}\" identifier:\"{}\"",
            status(sub.result),
            result.testid,
            sub.identifier
        ));
    }
    lines
}

/// scribe's human form of a result (one multi-line entry).
pub fn human(result: &TestResult) -> String {
    let mut lines = Vec::new();
    if result.name.is_empty() {
        lines.push(format!("result for \"{}\"", result.testid));
    } else {
        lines.push(format!(
            "result for \"{}\" ({})",
            result.name, result.testid
        ));
    }
    if !result.description.is_empty() {
        lines.push(format!("\tdescription: {}", result.description));
    }
    if result.masterresult {
        lines.push("\tmaster result: true".to_owned());
    } else if result.hastrueresults {
        lines.push(
            "\tmaster result: false, has true results, failure caused by dependency".to_owned(),
        );
    } else {
        lines.push("\tmaster result: false".to_owned());
    }
    for tag in &result.tags {
        lines.push(format!("\ttag: {}: {}", tag.key, tag.value));
    }
    if result.iserror {
        lines.push(format!("\t[error] error: {}", result.error));
    }
    for sub in result.results.iter().flatten() {
        lines.push(format!(
            "\t[{}] identifier: \"{}\"",
            sub.result, sub.identifier
        ));
    }
    lines.join("\n")
}

/// The printed entries of a result.
pub fn print(result: &ScribeResult, found_only: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(elements) = &result.elements {
        for test in &elements.results {
            if elements.humanoutput {
                lines.push(human(test));
            } else if elements.jsonoutput {
                lines.push(mig_protocol::gojson::to_string(test));
            } else {
                lines.extend(single_lines(test));
            }
        }
    }
    if !found_only {
        let runtime = result
            .statistics
            .as_ref()
            .map(|statistics| statistics.execruntime.as_str());
        result.push_errors_and_runtime(&mut lines, runtime);
    }
    lines
}

impl Module for Scribe {
    const NAME: &'static str = "scribe";
    type Elements = Elements;
    type Statistics = Statistics;

    fn run(parameters: &serde_json::Value, _context: &ModuleContext) -> ScribeResult {
        run_with(parameters, &Host::default())
    }

    fn input_error(message: String) -> ScribeResult {
        ScribeResult {
            statistics: Some(Statistics {
                execruntime: "0s".to_owned(),
            }),
            ..TypedResult::failure(message)
        }
    }

    /// Every sub-result identifier (file path, package name) becomes `masked`.
    fn enhance_privacy(result: &mut ScribeResult) {
        for test in result.elements.iter_mut().flat_map(|e| &mut e.results) {
            for sub in test.results.iter_mut().flatten() {
                sub.identifier = "masked".to_owned();
            }
        }
    }

    fn print(result: &ScribeResult, found_only: bool) -> Vec<String> {
        print(result, found_only)
    }
}
