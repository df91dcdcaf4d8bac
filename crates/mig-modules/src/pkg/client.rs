//! `mig pkg` flags (spec modules.md §3.11 CLI).

use std::io::Write;

use mig_goflag::FlagSet;

use super::{Parameters, PkgMatch};
use crate::cli::{help_or_flags, list_or_none, to_json};

/// The help `mig pkg help` prints (the original's text).
pub const HELP: &str = include_str!("help.txt");

fn flags() -> FlagSet {
    FlagSet::named("pkg")
        .list("name", "see help")
        .string("version", "", "see help")
}

/// The pkg module's `ParamsParser`.
pub fn parse_params(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    let Some(parsed) = help_or_flags(args, HELP, &flags(), stdout, stderr)? else {
        return Ok(None);
    };
    let parameters = Parameters {
        pkgmatch: PkgMatch {
            matches: list_or_none(&parsed, "name"),
        },
        vermatch: parsed.string("version").to_owned(),
    };
    Ok(Some(to_json(&parameters)))
}
