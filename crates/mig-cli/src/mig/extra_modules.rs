//! TEMPORARY HOME: the command-line parsers of modules whose agent side does
//! not exist in `mig-modules` yet (scribe, memory, fswatch,
//! dispatch, examplepersist). `mig` can still build and launch their actions
//! with the parameters of spec modules.md; their printers arrive with them.
//! When a module lands in `mig-modules` with its own `client.rs`, remove it
//! from [`EXTRA`] here.

use std::io::Write;

use mig_goflag::FlagSet;
use mig_modules::cli::{ParamsParser, parse_flags, to_json, wants_help};
use serde::Serialize;

/// Module names handled here, with their parser (`None`: no command line).
pub const EXTRA: &[(&str, Option<ParamsParser>)] = &[
    ("fswatch", Some(ignore_arguments)),
    ("scribe", Some(scribe)),
    ("memory", Some(memory)),
    ("dispatch", Some(ignore_arguments)),
    ("examplepersist", Some(examplepersist)),
    ("example", None),
];

/// fswatch, audit, dispatch: every argument (even `help`) is ignored; `{}`.
fn ignore_arguments(
    _args: &[String],
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    Ok(Some("{}".to_owned()))
}

const SCRIBE_HELP: &str = "Query parameters
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

#[derive(Serialize)]
struct ScribeParameters {
    scribedoc: serde_json::Value,
    onlytrue: bool,
    humanoutput: bool,
    jsonoutput: bool,
}

/// `mig scribe -path <doc.json> [-human] [-json] [-onlytrue]`.
fn scribe(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    if wants_help(args) {
        let _ = write!(stdout, "{SCRIBE_HELP}");
        return Ok(None);
    }
    let set = FlagSet::named("scribe")
        .string("path", "", "see help")
        .bool("human", "see help")
        .bool("json", "see help")
        .bool("onlytrue", "see help");
    let parsed = parse_flags(&set, args, stderr)?;
    let path = parsed.string("path");
    if path.is_empty() {
        return Err("-path option is required".to_owned());
    }
    let text = std::fs::read_to_string(path).map_err(|err| format!("open {path}: {err}"))?;
    let text = text.trim_start_matches([' ', '\t', '\n']);
    if text.len() < 10 {
        return Err(format!(
            "the document is too small to be valid ({} bytes)",
            text.len()
        ));
    }
    if !text.starts_with(['{', '[']) {
        return Err(format!(
            "{path}: YAML scribe documents are not supported by this client yet; use JSON"
        ));
    }
    let document: serde_json::Value = serde_json::from_str(text)
        .map_err(|err| format!("{path}: invalid scribe document: {err}"))?;
    Ok(Some(to_json(&ScribeParameters {
        scribedoc: document,
        onlytrue: parsed.bool("onlytrue"),
        humanoutput: parsed.bool("human"),
        jsonoutput: parsed.bool("json"),
    })))
}

const MEMORY_HELP: &str = "Memory module parameters
------------------------
-name <regex>\t- regex to match against process names
-lib <regex>\t- regex to match against the libraries loaded by processes
-bytes <hex>\t- hexadecimal byte string to find in process memory
-content <regex>\t- regex to match against process memory
-maxdepth <int>\t- lowest address to scan (options.offset)
-matchlimit <int>\t- bytes of memory to scan at most, 0 for unlimited (options.maxlength)
-matchall\t- all checks must match (default)
-matchany\t- any check may match
-logfailures\t- return the processes that could not be read
";

#[derive(Serialize, Default)]
struct MemorySearch {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    names: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    libraries: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bytes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contents: Vec<String>,
    options: MemoryOptions,
}

#[derive(Serialize, Default)]
struct MemoryOptions {
    #[serde(skip_serializing_if = "is_zero")]
    offset: f64,
    #[serde(skip_serializing_if = "is_zero")]
    maxlength: f64,
    #[serde(skip_serializing_if = "is_false")]
    logfailures: bool,
    #[serde(skip_serializing_if = "is_false")]
    matchall: bool,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Serialize)]
struct MemoryParameters {
    searches: std::collections::BTreeMap<&'static str, MemorySearch>,
}

/// `mig memory` (spec modules.md §5.1 CLI): `-maxdepth` sets
/// `options.offset` and `-matchlimit` sets `options.maxlength` as in Go;
/// `-offset` and `-maxlength` are accepted too.
fn memory(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    if wants_help(args) {
        let _ = write!(stdout, "{MEMORY_HELP}");
        return Ok(None);
    }
    let set = FlagSet::named("memory")
        .list("name", "see help")
        .list("lib", "see help")
        .list("bytes", "see help")
        .list("content", "see help")
        .float("maxdepth", "0", "see help")
        .float("offset", "0", "see help")
        .float("matchlimit", "0", "see help")
        .float("maxlength", "0", "see help")
        .bool_default("matchall", true, "see help")
        .bool("matchany", "see help")
        .bool("logfailures", "see help");
    let parsed = parse_flags(&set, args, stderr)?;
    for bytes in parsed.list("bytes") {
        if bytes.is_empty() || bytes.len() % 2 != 0 || !bytes.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(format!(
                "Invalid bytes '{bytes}'. Must be an hexadecimal byte string without leading 0x. ex: 'ff00d1ab'"
            ));
        }
    }
    for regex in parsed
        .list("name")
        .iter()
        .chain(parsed.list("lib"))
        .chain(parsed.list("content"))
    {
        if regex.is_empty() {
            return Err("empty regular expressions are not permitted".to_owned());
        }
    }
    let pick = |go: &str, documented: &str| {
        if parsed.is_set(documented) {
            parsed.float(documented)
        } else {
            parsed.float(go)
        }
    };
    let search = MemorySearch {
        names: parsed.list("name").to_vec(),
        libraries: parsed.list("lib").to_vec(),
        bytes: parsed.list("bytes").to_vec(),
        contents: parsed.list("content").to_vec(),
        options: MemoryOptions {
            offset: pick("maxdepth", "offset"),
            maxlength: pick("matchlimit", "maxlength"),
            logfailures: parsed.bool("logfailures"),
            matchall: parsed.bool("matchall") && !parsed.bool("matchany"),
        },
    };
    Ok(Some(to_json(&MemoryParameters {
        searches: std::collections::BTreeMap::from([("s1", search)]),
    })))
}

/// `mig examplepersist -echo <s>`.
fn examplepersist(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    if wants_help(args) {
        let _ = writeln!(stdout, "-echo <string>\t- string to echo back");
        return Ok(None);
    }
    let set = FlagSet::named("examplepersist").string("echo", "", "see help");
    let parsed = parse_flags(&set, args, stderr)?;
    let echo = parsed.string("echo");
    if echo.is_empty() {
        return Err("must set a string to echo".to_owned());
    }
    #[derive(Serialize)]
    struct Echo<'a> {
        string: &'a str,
    }
    Ok(Some(to_json(&Echo { string: echo })))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(parser: ParamsParser, args: &[&str]) -> Result<Option<String>, String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        parser(&args, &mut Vec::new(), &mut Vec::new())
    }

    #[test]
    fn memory_go_names() {
        assert_eq!(
            run(
                memory,
                &[
                    "-name",
                    "firefox$",
                    "-bytes",
                    "afd37df8b18462",
                    "-matchlimit",
                    "50000"
                ]
            )
            .unwrap()
            .unwrap(),
            r#"{"searches":{"s1":{"names":["firefox$"],"bytes":["afd37df8b18462"],"options":{"maxlength":50000,"matchall":true}}}}"#
        );
        assert!(
            run(memory, &["-bytes", "0xff"])
                .unwrap_err()
                .contains("Invalid bytes '0xff'")
        );
    }

    #[test]
    fn ignoring_modules_launch_with_empty_parameters() {
        assert_eq!(run(ignore_arguments, &["help"]).unwrap().unwrap(), "{}");
    }

    #[test]
    fn examplepersist_needs_a_string() {
        assert_eq!(
            run(examplepersist, &["-echo", "hi"]).unwrap().unwrap(),
            r#"{"string":"hi"}"#
        );
        assert_eq!(
            run(examplepersist, &["-echo", ""]).unwrap_err(),
            "must set a string to echo"
        );
    }
}
