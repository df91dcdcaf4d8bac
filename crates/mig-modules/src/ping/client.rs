//! `mig ping` flags (spec modules.md §4.4 CLI).

use std::io::Write;

use mig_goflag::FlagSet;

use super::Parameters;
use crate::cli::{is_help, parse_flags, to_json};

/// The help `mig ping help` prints (the original's text).
pub const HELP: &str = include_str!("help.txt");

fn flags() -> FlagSet {
    FlagSet::named("ping")
        .string("d", "www.google.com", "see help")
        .float("dp", "-1", "see help")
        .string("p", "icmp", "see help")
        .float("c", "3", "see help")
        .float("t", "5", "see help")
}

/// The ping module's `ParamsParser`: no arguments or `help` print the help
/// and fail with `help printed`.
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
    let protocol = parsed.string("p");
    if !matches!(protocol, "icmp" | "tcp" | "udp") {
        return Err(format!(
            "invalid value {protocol:?} for flag -p: protocol must be icmp, tcp or udp"
        ));
    }
    let parameters = Parameters {
        destination: parsed.string("d").to_owned(),
        destinationport: parsed.float("dp"),
        protocol: protocol.to_owned(),
        count: parsed.float("c"),
        timeout: parsed.float("t"),
    };
    Ok(Some(to_json(&parameters)))
}
