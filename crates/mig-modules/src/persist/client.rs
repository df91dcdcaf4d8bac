//! The `mig` flags of the persistent modules (spec modules.md §5): `fswatch`,
//! `dispatch` and `audit` take none (every argument, even `help`, is ignored and
//! `{}` is sent: their queries only ask for the module's state), and
//! `examplepersist` takes `-echo`.

use std::io::Write;

use mig_goflag::FlagSet;
use serde::Serialize;

use crate::cli::{help_or_flags, to_json};

/// `mig fswatch`, `mig dispatch` and `mig audit`: every argument is
/// ignored; `{}`.
pub fn no_params(
    _args: &[String],
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    Ok(Some("{}".to_owned()))
}

/// `mig examplepersist -echo <s>`: `{"string":"<s>"}`.
pub fn examplepersist_params(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    let set = FlagSet::named("examplepersist").string("echo", "", "see help");
    let Some(parsed) = help_or_flags(
        args,
        "-echo <string>\t- string to echo back\n",
        &set,
        stdout,
        stderr,
    )?
    else {
        return Ok(None);
    };
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
    use crate::cli::ParamsParser;

    fn run(parser: ParamsParser, args: &[&str]) -> Result<Option<String>, String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        parser(&args, &mut Vec::new(), &mut Vec::new())
    }

    #[test]
    fn fswatch_and_dispatch_launch_with_empty_parameters() {
        assert_eq!(run(no_params, &["help"]).unwrap().unwrap(), "{}");
    }

    #[test]
    fn examplepersist_needs_a_string() {
        assert_eq!(
            run(examplepersist_params, &["-echo", "hi"])
                .unwrap()
                .unwrap(),
            r#"{"string":"hi"}"#
        );
        assert_eq!(
            run(examplepersist_params, &["-echo", ""]).unwrap_err(),
            "must set a string to echo"
        );
    }
}
