//! The agent's command line (spec protocol.md §8.1), read as Go's `flag`
//! package reads it: `-name value`, `-name=value` and `--name` alike; boolean
//! flags take no separate value (`-d`, or `-d=false`); parsing stops at the
//! first argument that is not a flag, or after `--`.
//!
//! A dozen flags do not justify sharing `mig-cli`'s general `goflag`; this is
//! the same grammar for a fixed set.

/// The agent's flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flags {
    /// `-m`: `agent`, `agent-checkin`, or a module to run once on stdin/stdout.
    pub mode: String,
    /// `-P`: a persistent module to run (the agent starts them itself).
    pub persistent: Option<String>,
    /// `-c`: the configuration file.
    pub config: Option<String>,
    /// `-d`: debug (foreground, debug logs on stdout).
    pub debug: bool,
    /// `-f`: foreground.
    pub foreground: bool,
    /// `-u`: started by an upgrader (accepted, no effect on Linux).
    pub upgrader: bool,
    /// `-i`: run a local action file without signature checks.
    pub action_file: Option<String>,
    /// `-p`: human-readable module output.
    pub pretty: bool,
    /// `-n`: do not start persistent modules.
    pub no_persistent: bool,
    /// `-q`: query the stat socket (`pid` or `shutdown`).
    pub query: Option<String>,
    /// `-V`: print the version.
    pub version: bool,
    /// `-S`: print the effective configuration.
    pub show_config: bool,
}

impl Default for Flags {
    fn default() -> Self {
        Self {
            mode: "agent".to_owned(),
            persistent: None,
            config: None,
            debug: false,
            foreground: false,
            upgrader: false,
            action_file: None,
            pretty: false,
            no_persistent: false,
            query: None,
            version: false,
            show_config: false,
        }
    }
}

/// A command-line error, worded as Go's `flag` package words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("flag provided but not defined: -{0}")]
    Undefined(String),
    #[error("flag needs an argument: -{0}")]
    MissingValue(String),
    #[error("invalid boolean value {value:?} for -{name}")]
    BadBool { name: String, value: String },
    #[error("bad flag syntax: {0}")]
    Syntax(String),
    #[error("flag: help requested")]
    Help,
}

/// The usage text printed with `-h` or a flag error.
pub const USAGE: &str = "Usage of mig-agent:
  -P string
    \trun a persistent module (the agent starts them itself)
  -S\tprint the effective configuration and exit
  -V\tprint the version and exit
  -c string
    \tconfiguration file (default \"/etc/mig/mig-agent.cfg\")
  -d\tdebug: foreground, debug logs on stdout
  -f\tforeground: do not install or fork
  -i string
    \trun a local action file without signature checks
  -m string
    \tagent, agent-checkin, or a module to run once (default \"agent\")
  -n\tdo not start persistent modules
  -p\thuman-readable module output
  -q string
    \tquery the stat socket: pid or shutdown
  -u\tstarted by an upgrader
";

fn parse_bool(name: &str, value: &str) -> Result<bool, FlagError> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(FlagError::BadBool {
            name: name.to_owned(),
            value: value.to_owned(),
        }),
    }
}

impl Flags {
    /// Parses the arguments (without the program name).
    pub fn parse<I, S>(args: I) -> Result<Self, FlagError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut flags = Flags::default();
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            if arg == "--" || arg.len() < 2 || !arg.starts_with('-') {
                break;
            }
            let body = arg.strip_prefix("--").unwrap_or(&arg[1..]);
            if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
                return Err(FlagError::Syntax(arg.clone()));
            }
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (body, None),
            };
            let boolean = |inline: Option<String>| match inline {
                Some(value) => parse_bool(name, &value),
                None => Ok(true),
            };
            let mut string = |inline: Option<String>| match inline {
                Some(value) => Ok(value),
                None => args
                    .next()
                    .ok_or_else(|| FlagError::MissingValue(name.to_owned())),
            };
            match name {
                "m" => flags.mode = string(inline)?,
                "P" => flags.persistent = Some(string(inline)?),
                "c" => flags.config = Some(string(inline)?),
                "i" => flags.action_file = Some(string(inline)?),
                "q" => flags.query = Some(string(inline)?),
                "d" => flags.debug = boolean(inline)?,
                "f" => flags.foreground = boolean(inline)?,
                "u" => flags.upgrader = boolean(inline)?,
                "p" => flags.pretty = boolean(inline)?,
                "n" => flags.no_persistent = boolean(inline)?,
                "V" => flags.version = boolean(inline)?,
                "S" => flags.show_config = boolean(inline)?,
                "h" | "help" => return Err(FlagError::Help),
                other => return Err(FlagError::Undefined(other.to_owned())),
            }
        }
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn go_grammar() {
        let flags = Flags::parse(["-m", "file", "-p", "--c=/tmp/x.cfg", "-d=false"]).unwrap();
        assert_eq!(flags.mode, "file");
        assert!(flags.pretty);
        assert!(!flags.debug);
        assert_eq!(flags.config.as_deref(), Some("/tmp/x.cfg"));
        assert_eq!(
            Flags::parse(["-q=pid"]).unwrap().query.as_deref(),
            Some("pid")
        );
        let stop = Flags::parse(["-f", "rest", "-d"]).unwrap();
        assert!(stop.foreground && !stop.debug);
    }

    #[test]
    fn go_errors() {
        assert_eq!(
            Flags::parse(["-x"]).unwrap_err().to_string(),
            "flag provided but not defined: -x"
        );
        assert_eq!(
            Flags::parse(["-m"]).unwrap_err().to_string(),
            "flag needs an argument: -m"
        );
        assert!(matches!(
            Flags::parse(["-d=maybe"]),
            Err(FlagError::BadBool { .. })
        ));
        assert_eq!(Flags::parse(["-h"]), Err(FlagError::Help));
        assert!(matches!(Flags::parse(["---m"]), Err(FlagError::Syntax(_))));
    }
}
