//! Command-line flags the way Go's `flag` package reads them, so MIG's tools
//! keep their interface: `-name value`, `-name=value`, `--name` alike; boolean
//! flags take no value (`-p`, or `-p=false`); parsing stops at the first
//! argument that is not a flag, or after `--`. Errors read as Go's
//! (`flag provided but not defined: -x`, `flag needs an argument: -i`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One declared flag.
#[derive(Clone, Debug)]
struct Flag {
    name: &'static str,
    usage: &'static str,
    default: String,
    is_bool: bool,
}

/// A set of flags, like Go's `flag.FlagSet`.
#[derive(Clone, Debug, Default)]
pub struct FlagSet {
    flags: Vec<Flag>,
}

/// The result of parsing: values by flag name, and the remaining arguments.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    values: BTreeMap<&'static str, String>,
    set: Vec<&'static str>,
    /// Arguments after the flags.
    pub rest: Vec<String>,
}

/// A flag error, worded as Go's.
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
    /// `-h` or `-help` was given and is not a declared flag.
    #[error("flag: help requested")]
    Help,
}

impl FlagSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a string flag.
    pub fn string(mut self, name: &'static str, default: &str, usage: &'static str) -> Self {
        self.flags.push(Flag {
            name,
            usage,
            default: default.to_owned(),
            is_bool: false,
        });
        self
    }

    /// Declares a boolean flag (default false).
    pub fn bool(mut self, name: &'static str, usage: &'static str) -> Self {
        self.flags.push(Flag {
            name,
            usage,
            default: "false".to_owned(),
            is_bool: true,
        });
        self
    }

    /// Go's `PrintDefaults` text: flags sorted by name, two-space indent, usage on
    /// the next line after a tab, defaults shown when not zero.
    pub fn defaults(&self) -> String {
        let mut flags: Vec<&Flag> = self.flags.iter().collect();
        flags.sort_by_key(|flag| flag.name);
        let mut out = String::new();
        for flag in flags {
            let _ = write!(out, "  -{}", flag.name);
            if flag.is_bool {
                out.push('\t');
            } else {
                out.push_str(" string\n    \t");
            }
            out.push_str(flag.usage);
            if !flag.is_bool && !flag.default.is_empty() {
                let _ = write!(out, " (default {:?})", flag.default);
            }
            out.push('\n');
        }
        out
    }

    /// Parses `args` (without the program name).
    pub fn parse<I, S>(&self, args: I) -> Result<Parsed, FlagError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut args = args.into_iter().map(Into::into).peekable();
        let mut parsed = Parsed::default();
        for flag in &self.flags {
            parsed.values.insert(flag.name, flag.default.clone());
        }
        while let Some(arg) = args.next() {
            if arg == "--" {
                break;
            }
            if arg.len() < 2 || !arg.starts_with('-') {
                parsed.rest.push(arg);
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
            let Some(flag) = self.flags.iter().find(|flag| flag.name == name) else {
                if name == "h" || name == "help" {
                    return Err(FlagError::Help);
                }
                return Err(FlagError::Undefined(name.to_owned()));
            };
            let value = if flag.is_bool {
                let value = inline.unwrap_or_else(|| "true".to_owned());
                parse_go_bool(&value).ok_or_else(|| FlagError::BadBool {
                    name: name.to_owned(),
                    value: value.clone(),
                })?;
                value
            } else {
                match inline {
                    Some(value) => value,
                    None => args
                        .next()
                        .ok_or_else(|| FlagError::MissingValue(name.to_owned()))?,
                }
            };
            parsed.values.insert(flag.name, value);
            parsed.set.push(flag.name);
        }
        parsed.rest.extend(args);
        Ok(parsed)
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl Parsed {
    /// A string flag's value (its default when not given).
    pub fn string(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// A boolean flag's value.
    pub fn bool(&self, name: &str) -> bool {
        self.values
            .get(name)
            .and_then(|value| parse_go_bool(value))
            .unwrap_or(false)
    }

    /// Whether the flag was given on the command line.
    pub fn is_set(&self, name: &str) -> bool {
        self.set.contains(&name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn set() -> FlagSet {
        FlagSet::new()
            .string("a", "/path/to/action", "Load action from file")
            .bool("V", "Show build version and exit")
            .string("conf", "", "config")
    }

    #[test]
    fn go_forms() {
        let parsed = set()
            .parse(["-a", "x.json", "--conf=c", "-V", "rest", "-a", "y"])
            .unwrap();
        assert_eq!(parsed.string("a"), "x.json");
        assert_eq!(parsed.string("conf"), "c");
        assert!(parsed.bool("V"));
        assert_eq!(parsed.rest, vec!["rest", "-a", "y"]);
        assert!(parsed.is_set("a") && !set().parse(Vec::<String>::new()).unwrap().is_set("a"));
        assert_eq!(
            set().parse(Vec::<String>::new()).unwrap().string("a"),
            "/path/to/action"
        );
        assert!(!set().parse(["-V=false"]).unwrap().bool("V"));
    }

    #[test]
    fn go_errors() {
        assert_eq!(
            set().parse(["-x"]).unwrap_err().to_string(),
            "flag provided but not defined: -x"
        );
        assert_eq!(
            set().parse(["-a"]).unwrap_err().to_string(),
            "flag needs an argument: -a"
        );
        assert_eq!(set().parse(["-h"]).unwrap_err(), FlagError::Help);
        assert!(set().parse(["-V=maybe"]).is_err());
        assert!(set().parse(["---a"]).is_err());
    }

    #[test]
    fn defaults_text_matches_go() {
        let expected = "  -V\tShow build version and exit\n  -a string\n    \tLoad action from file (default \"/path/to/action\")\n  -conf string\n    \tconfig\n";
        assert_eq!(set().defaults(), expected);
    }
}
