//! `mig yara` flags (spec modules.md §5.2 CLI).

use std::io::Write;

use mig_goflag::FlagSet;

use super::{Parameters, validate};
use crate::cli::{help_or_flags, to_json};
use crate::file::content::go_errno_text;

/// The help `mig yara help` prints: the original's text and `-processname`.
pub const HELP: &str = include_str!("help.txt");

/// `mig yara -rules <file> -files '<file module arguments>'
/// [-processname <regex>]`; the rules file's content is embedded.
pub fn parse_params(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    let set = FlagSet::named("yara")
        .string("rules", "", "see help")
        .string("files", "", "see help")
        .string("processname", "", "see help");
    let Some(parsed) = help_or_flags(args, HELP, &set, stdout, stderr)? else {
        return Ok(None);
    };
    let rules = parsed.string("rules");
    if rules.is_empty() {
        return Err("-rules option is required".to_owned());
    }
    let yara = std::fs::read_to_string(rules)
        .map_err(|err| format!("open {rules}: {}", go_errno_text(&err)))?;
    let parameters = Parameters {
        yara,
        filesearch: parsed.string("files").to_owned(),
        processname: parsed.string("processname").to_owned(),
    };
    // The original needs -files (its only kind of search); either kind here.
    if parameters.filesearch.is_empty() && parameters.processname.is_empty() {
        return Err("-files option is required".to_owned());
    }
    validate(&parameters)?;
    Ok(Some(to_json(&parameters)))
}
