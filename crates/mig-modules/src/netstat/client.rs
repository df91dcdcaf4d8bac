//! `mig netstat` flags (spec modules.md §3.10 CLI).

use std::io::Write;

use mig_goflag::FlagSet;

use super::Parameters;
use crate::cli::{is_help, list_or_none, parse_flags, to_json};

/// The help `mig netstat help` prints (the original's text).
pub const HELP: &str = include_str!("help.txt");

fn flags() -> FlagSet {
    FlagSet::named("netstat")
        .list("lm", "see help")
        .list("nm", "see help")
        .list("li", "see help")
        .list("ni", "see help")
        .list("ci", "see help")
        .list("lp", "see help")
        .bool("namespaces", "see help")
}

/// The netstat module's `ParamsParser`: no arguments or `help` print the
/// help and fail with `help printed`.
pub fn parse_params(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    if args.is_empty() || is_help(args) {
        let _ = write!(stdout, "{HELP}");
        return Err("help printed".to_owned());
    }
    let parsed = parse_flags(&flags(), args, stderr)?;
    let parameters = Parameters {
        localmac: list_or_none(&parsed, "lm"),
        neighbormac: list_or_none(&parsed, "nm"),
        localip: list_or_none(&parsed, "li"),
        neighborip: list_or_none(&parsed, "ni"),
        connectedip: list_or_none(&parsed, "ci"),
        listeningport: list_or_none(&parsed, "lp"),
        namespaces: parsed.bool("namespaces"),
    };
    Ok(Some(to_json(&parameters)))
}
