//! `mig audit`: no flags; every argument (even `help`) is ignored and the
//! action carries `{}` (spec modules.md §2.5, §5.3).

use std::io::Write;

/// The audit module's `ParamsParser`.
pub fn parse_params(
    _args: &[String],
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    Ok(Some("{}".to_owned()))
}
