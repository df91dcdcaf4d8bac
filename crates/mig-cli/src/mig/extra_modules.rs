//! TEMPORARY HOME: the command-line parsers of modules whose agent side does
//! not exist in `mig-modules` yet (yara, audit). `mig` can still build and
//! launch their actions with the parameters of spec modules.md; their
//! printers arrive with them.
//! When a module lands in `mig-modules` with its own `client.rs`, remove it
//! from [`EXTRA`] here.

use std::io::Write;

use mig_goflag::FlagSet;
use mig_modules::cli::{ParamsParser, parse_flags, to_json, wants_help};
use serde::Serialize;

/// Module names handled here, with their parser (`None`: no command line).
pub const EXTRA: &[(&str, Option<ParamsParser>)] =
    &[("yara", Some(yara)), ("audit", Some(ignore_arguments))];

/// fswatch, audit, dispatch: every argument (even `help`) is ignored; `{}`.
fn ignore_arguments(
    _args: &[String],
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    Ok(Some("{}".to_owned()))
}

const YARA_HELP: &str = "Query parameters
----------------
-rules <path>\t- path to a yara rules file
-files <query>\t- file module arguments selecting the files to scan
\t\t  ex: -files '-path /bin -path /sbin -name .'
";

#[derive(Serialize)]
struct YaraParameters {
    yara: String,
    filesearch: String,
}

/// `mig yara -rules <file> -files '<file module arguments>'`.
fn yara(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    if wants_help(args) {
        let _ = write!(stdout, "{YARA_HELP}");
        return Ok(None);
    }
    let set = FlagSet::named("yara")
        .string("rules", "", "see help")
        .string("files", "", "see help");
    let parsed = parse_flags(&set, args, stderr)?;
    let rules = parsed.string("rules");
    if rules.is_empty() {
        return Err("-rules option is required".to_owned());
    }
    let files = parsed.string("files");
    if files.is_empty() {
        return Err("-files option is required".to_owned());
    }
    let source = std::fs::read_to_string(rules).map_err(|err| format!("open {rules}: {err}"))?;
    // The file search must be one the file module's parser accepts.
    let tokens = yara_tokens(files);
    mig_modules::file::client::parse_params(&tokens, &mut std::io::sink(), stderr)?;
    Ok(Some(to_json(&YaraParameters {
        yara: source,
        filesearch: files.to_owned(),
    })))
}

/// The yara module's tokeniser: `'.+'|".+"|\S+` (greedy), quotes stripped.
fn yara_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return tokens;
        }
        let token_len = match rest.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let line_end = rest.find('\n').unwrap_or(rest.len());
                match rest[..line_end].rfind(quote) {
                    Some(end) if end >= 2 => end + 1,
                    _ => rest.find(char::is_whitespace).unwrap_or(rest.len()),
                }
            }
            _ => rest.find(char::is_whitespace).unwrap_or(rest.len()),
        };
        let token = rest[..token_len].trim_matches('"').trim_matches('\'');
        tokens.push(token.to_owned());
        rest = &rest[token_len..];
    }
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
    fn ignoring_modules_launch_with_empty_parameters() {
        assert_eq!(run(ignore_arguments, &["help"]).unwrap().unwrap(), "{}");
    }

    #[test]
    fn yara_tokeniser() {
        assert_eq!(
            yara_tokens("-path /bin -name '\\.so$'"),
            vec!["-path", "/bin", "-name", "\\.so$"]
        );
    }
}
