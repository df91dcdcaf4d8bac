//! `mig sshkey` flags (spec modules.md §4.5 CLI): any arguments, even none.

use std::io::Write;

use mig_goflag::FlagSet;

use super::Parameters;
use crate::cli::{is_help, list_or_none, parse_flags, to_json};

/// The help `mig sshkey help` prints (the original's text).
pub const HELP: &str = include_str!("help.txt");

fn flags() -> FlagSet {
    FlagSet::named("sshkey")
        .list("path", "see help")
        .float("maxdepth", "0", "see help")
}

/// The sshkey module's `ParamsParser`.
pub fn parse_params(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    if is_help(args) {
        let _ = write!(stdout, "{HELP}");
        return Ok(None);
    }
    let parsed = parse_flags(&flags(), args, stderr)?;
    let parameters = Parameters {
        paths: list_or_none(&parsed, "path"),
        maxdepth: parsed.float("maxdepth"),
    };
    Ok(Some(to_json(&parameters)))
}
