//! The `mig <module>` command-line side of modules (`HasParamsParser` in the
//! original): each module folder's `client.rs` turns the module's flags into
//! its operation parameters, so a new module brings its own flags.
//!
//! A parser gets the module arguments (everything from the first flag the
//! global flag set did not know) and returns:
//! - `Ok(Some(json))`: the parameters, as Go JSON text in the module's struct
//!   order (what `mig -p` prints and what is sent);
//! - `Ok(None)`: help was printed on `stdout`; `mig` exits 0;
//! - `Err(message)`: `mig` prints `error: <message>` and exits 1. Flag errors
//!   have already printed Go's `<error>\nUsage of <module>:\n…` on `stderr`.

use std::io::Write;

use mig_goflag::{FlagError, FlagSet, Parsed};
use serde::Serialize;

/// A module's command-line parameter parser.
pub type ParamsParser = fn(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String>;

/// Parses `args` with `set`, reporting errors on `stderr` as Go's
/// `ContinueOnError` flag sets do.
pub fn parse_flags(
    set: &FlagSet,
    args: &[String],
    stderr: &mut dyn Write,
) -> Result<Parsed, String> {
    match set.parse(args.iter().cloned()) {
        Ok(parsed) => Ok(parsed),
        Err(FlagError::Help) => {
            let _ = write!(stderr, "{}", set.usage());
            Err(FlagError::Help.to_string())
        }
        Err(err) => {
            let _ = writeln!(stderr, "{err}");
            let _ = write!(stderr, "{}", set.usage());
            Err(err.to_string())
        }
    }
}

/// The opening of most parsers: no arguments, an empty first argument or
/// `help` print `help` on `stdout` and give `Ok(None)`; otherwise the flags
/// of `set` (errors as [`parse_flags`]).
pub fn help_or_flags(
    args: &[String],
    help: &str,
    set: &FlagSet,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<Parsed>, String> {
    if wants_help(args) {
        let _ = write!(stdout, "{help}");
        return Ok(None);
    }
    parse_flags(set, args, stderr).map(Some)
}

/// No arguments, an empty first argument, or `help`.
pub fn wants_help(args: &[String]) -> bool {
    args.first()
        .is_none_or(|first| first.is_empty() || first == "help")
}

/// `help` as the first argument.
pub fn is_help(args: &[String]) -> bool {
    args.first().is_some_and(|first| first == "help")
}

/// Go JSON of the parameters.
pub fn to_json<T: Serialize>(parameters: &T) -> String {
    mig_protocol::gojson::to_string(parameters)
}

/// A list flag's values, `None` when the flag was not given (a nil Go slice).
pub fn list_or_none(parsed: &Parsed, name: &str) -> Option<Vec<String>> {
    let values = parsed.list(name);
    (!values.is_empty()).then(|| values.to_vec())
}
