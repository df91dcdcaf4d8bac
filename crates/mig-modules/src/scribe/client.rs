//! `mig scribe` flags (spec modules.md §4.3 CLI): the document named by
//! `-path` is read on the investigator's machine (JSON or YAML, see
//! [`load_document`]), validated, and embedded in the action as the
//! original's struct serialisation.

use std::io::Write;

use mig_goflag::FlagSet;

use super::{Parameters, load_document};
use crate::cli::{help_or_flags, to_json};

/// The help `mig scribe help` prints (the original's text).
pub const HELP: &str = "Query parameters
----------------
-path <path>\t- Path to scribe document
\t\t  Specify path to scribe document to run
-human\t\t- Human output
\t\t  Return results with human-readable output
-json\t\t- JSON output
\t\t  Return results in JSON output
-onlytrue\t- Only true results
\t\t  Only return tests that evaluated to true
";

fn flags() -> FlagSet {
    FlagSet::named("scribe")
        .string("path", "", "see help")
        .bool("human", "see help")
        .bool("json", "see help")
        .bool("onlytrue", "see help")
}

/// The scribe module's `ParamsParser`: `-path <document> [-human] [-json]
/// [-onlytrue]`; no arguments or `help` print the help.
pub fn parse_params(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    let Some(parsed) = help_or_flags(args, HELP, &flags(), stdout, stderr)? else {
        return Ok(None);
    };
    let path = parsed.string("path");
    if path.is_empty() {
        return Err("-path option is required".to_owned());
    }
    let data = std::fs::read(path).map_err(|err| format!("open {path}: {err}"))?;
    let document = load_document(&data).map_err(|err| format!("{path}: {err}"))?;
    Ok(Some(to_json(&Parameters {
        scribedoc: document,
        onlytrue: parsed.bool("onlytrue"),
        humanoutput: parsed.bool("human"),
        jsonoutput: parsed.bool("json"),
    })))
}
