//! `mig timedrift` flags (spec modules.md §3.13 CLI).

use std::io::Write;

use mig_goflag::FlagSet;

use super::Parameters;
use crate::cli::{is_help, parse_flags, to_json};

/// The help `mig timedrift help` prints (the original's text).
pub const HELP: &str = include_str!("help.txt");

fn flags() -> FlagSet {
    FlagSet::named("timedrift").string("drift", "", "see help")
}

/// The timedrift module's `ParamsParser`: no arguments give empty
/// parameters; `help` prints the help and fails with `help printed`.
pub fn parse_params(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    if is_help(args) {
        let _ = write!(stdout, "{HELP}");
        return Err("help printed".to_owned());
    }
    let parsed = parse_flags(&flags(), args, stderr)?;
    let drift = parsed.string("drift");
    if !drift.is_empty() && crate::duration::parse_go_duration(drift).is_err() {
        return Err("invalid drift duration. try help.".to_owned());
    }
    Ok(Some(to_json(&Parameters {
        drift: drift.to_owned(),
    })))
}
