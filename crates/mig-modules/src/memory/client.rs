//! `mig memory` flags (spec modules.md §5.1 CLI): one search `s1` built
//! from the flags, with the original's flag names.

use std::io::Write;

use mig_goflag::FlagSet;
use serde::Serialize;

use crate::cli::{help_or_flags, to_json};

/// The help `mig memory help` prints.
pub const HELP: &str = "Memory module parameters
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

/// The memory module's `ParamsParser` (spec modules.md §5.1 CLI): `-maxdepth` sets
/// `options.offset` and `-matchlimit` sets `options.maxlength` as in Go;
/// `-offset` and `-maxlength` are accepted too.
pub fn parse_params(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
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
    let Some(parsed) = help_or_flags(args, HELP, &set, stdout, stderr)? else {
        return Ok(None);
    };
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(args: &[&str]) -> Result<Option<String>, String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        parse_params(&args, &mut Vec::new(), &mut Vec::new())
    }

    #[test]
    fn go_names() {
        assert_eq!(
            run(&[
                "-name",
                "firefox$",
                "-bytes",
                "afd37df8b18462",
                "-matchlimit",
                "50000"
            ])
            .unwrap()
            .unwrap(),
            r#"{"searches":{"s1":{"names":["firefox$"],"bytes":["afd37df8b18462"],"options":{"maxlength":50000,"matchall":true}}}}"#
        );
        assert!(
            run(&["-bytes", "0xff"])
                .unwrap_err()
                .contains("Invalid bytes '0xff'")
        );
    }
}
