//! Command-line flags the way Go's `flag` package reads them, so MIG's tools
//! and module parsers keep their interface: `-name value`, `-name=value`,
//! `--name` alike; boolean flags take no value (`-p`, or `-p=false`); list
//! flags (a Go `flag.Value` appending to a slice) accumulate; parsing stops at
//! the first argument that is not a flag, or after `--`. Errors read as Go's
//! (`flag provided but not defined: -x`, `flag needs an argument: -i`,
//! `invalid value "x" for flag -maxdepth: parse error`).
//!
//! Shared by `mig-cli` (the tools' global flags) and `mig-modules` (each
//! module's `mig <module>` flags).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The type of a flag, which decides how its value is read and how
/// [`FlagSet::defaults`] names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Str,
    Bool,
    Float,
    Int,
    List,
}

/// One declared flag.
#[derive(Clone, Debug)]
struct Flag {
    name: &'static str,
    usage: &'static str,
    default: String,
    kind: Kind,
}

/// A set of flags, like Go's `flag.FlagSet`.
#[derive(Clone, Debug, Default)]
pub struct FlagSet {
    name: String,
    flags: Vec<Flag>,
}

/// The result of parsing: values by flag name, and the remaining arguments.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    values: BTreeMap<&'static str, String>,
    lists: BTreeMap<&'static str, Vec<String>>,
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
    #[error("invalid boolean value {value:?} for -{name}: parse error")]
    BadBool { name: String, value: String },
    #[error("invalid value {value:?} for flag -{name}: parse error")]
    BadValue { name: String, value: String },
    #[error("bad flag syntax: {0}")]
    Syntax(String),
    /// `-h` or `-help` was given and is not a declared flag.
    #[error("flag: help requested")]
    Help,
}

impl FlagError {
    /// The flag the error is about, when there is one.
    pub fn flag(&self) -> Option<&str> {
        match self {
            Self::Undefined(name) | Self::MissingValue(name) => Some(name),
            Self::BadBool { name, .. } | Self::BadValue { name, .. } => Some(name),
            Self::Syntax(_) | Self::Help => None,
        }
    }
}

impl FlagSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set named `name` (Go's `flag.NewFlagSet(name, …)`), used in
    /// [`FlagSet::usage`]: `Usage of <name>:`.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            flags: Vec::new(),
        }
    }

    fn push(mut self, name: &'static str, default: &str, usage: &'static str, kind: Kind) -> Self {
        self.flags.push(Flag {
            name,
            usage,
            default: default.to_owned(),
            kind,
        });
        self
    }

    /// Declares a string flag.
    pub fn string(self, name: &'static str, default: &str, usage: &'static str) -> Self {
        self.push(name, default, usage, Kind::Str)
    }

    /// Declares a boolean flag (default false).
    pub fn bool(self, name: &'static str, usage: &'static str) -> Self {
        self.push(name, "false", usage, Kind::Bool)
    }

    /// Declares a boolean flag with a default.
    pub fn bool_default(self, name: &'static str, default: bool, usage: &'static str) -> Self {
        self.push(
            name,
            if default { "true" } else { "false" },
            usage,
            Kind::Bool,
        )
    }

    /// Declares a float64 flag; `default` is written as Go's `%v` prints it.
    pub fn float(self, name: &'static str, default: &str, usage: &'static str) -> Self {
        self.push(name, default, usage, Kind::Float)
    }

    /// Declares an int flag.
    pub fn int(self, name: &'static str, default: &str, usage: &'static str) -> Self {
        self.push(name, default, usage, Kind::Int)
    }

    /// Declares a repeatable flag: every occurrence appends (a Go `flag.Value`).
    pub fn list(self, name: &'static str, usage: &'static str) -> Self {
        self.push(name, "", usage, Kind::List)
    }

    /// Go's `PrintDefaults` text: flags sorted by name, `  -name type`, the
    /// usage after a tab (on the next line, indented, unless the first part
    /// fits in 4 columns), defaults shown when not the type's zero value.
    pub fn defaults(&self) -> String {
        let mut flags: Vec<&Flag> = self.flags.iter().collect();
        flags.sort_by_key(|flag| flag.name);
        let mut out = String::new();
        for flag in flags {
            let mut line = format!("  -{}", flag.name);
            let type_name = match flag.kind {
                Kind::Str => "string",
                Kind::Bool => "",
                Kind::Float => "float",
                Kind::Int => "int",
                Kind::List => "value",
            };
            if !type_name.is_empty() {
                line.push(' ');
                line.push_str(type_name);
            }
            if line.len() <= 4 {
                line.push('\t');
            } else {
                line.push_str("\n    \t");
            }
            line.push_str(&flag.usage.replace('\n', "\n    \t"));
            let zero = match flag.kind {
                Kind::Str | Kind::List => flag.default.is_empty(),
                Kind::Bool => flag.default == "false",
                Kind::Float | Kind::Int => flag.default == "0",
            };
            if !zero {
                if flag.kind == Kind::Str {
                    let _ = write!(line, " (default {:?})", flag.default);
                } else {
                    let _ = write!(line, " (default {})", flag.default);
                }
            }
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// What Go's default `Usage` prints: `Usage of <name>:` and the defaults.
    pub fn usage(&self) -> String {
        format!("Usage of {}:\n{}", self.name, self.defaults())
    }

    /// Parses `args` (without the program name).
    pub fn parse<I, S>(&self, args: I) -> Result<Parsed, FlagError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.parse_inner(args, false)
    }

    /// Parses known flags and stops at the first undefined one, as `mig`
    /// does with its global flags: that flag's *name* (`-path`, its inline
    /// value dropped as Go did) and every argument after it end up in
    /// [`Parsed::rest`]. `-h`/`-help` still fail with [`FlagError::Help`].
    pub fn parse_known<I, S>(&self, args: I) -> Result<Parsed, FlagError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.parse_inner(args, true)
    }

    fn parse_inner<I, S>(&self, args: I, stop_at_unknown: bool) -> Result<Parsed, FlagError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut args = args.into_iter().map(Into::into).peekable();
        let mut parsed = Parsed::default();
        for flag in &self.flags {
            if flag.kind == Kind::List {
                parsed.lists.insert(flag.name, Vec::new());
            } else {
                parsed.values.insert(flag.name, flag.default.clone());
            }
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
                if stop_at_unknown {
                    parsed.rest.push(format!("-{name}"));
                    break;
                }
                return Err(FlagError::Undefined(name.to_owned()));
            };
            if flag.kind == Kind::Bool {
                let value = inline.unwrap_or_else(|| "true".to_owned());
                parse_go_bool(&value).ok_or_else(|| FlagError::BadBool {
                    name: name.to_owned(),
                    value: value.clone(),
                })?;
                parsed.values.insert(flag.name, value);
                parsed.set.push(flag.name);
                continue;
            }
            let value = match inline {
                Some(value) => value,
                None => args
                    .next()
                    .ok_or_else(|| FlagError::MissingValue(name.to_owned()))?,
            };
            let bad = || FlagError::BadValue {
                name: name.to_owned(),
                value: value.clone(),
            };
            match flag.kind {
                Kind::Float => {
                    parse_go_float(&value).ok_or_else(bad)?;
                }
                Kind::Int => {
                    value.parse::<i64>().map_err(|_| bad())?;
                }
                Kind::Str | Kind::Bool | Kind::List => {}
            }
            if flag.kind == Kind::List {
                parsed.lists.entry(flag.name).or_default().push(value);
            } else {
                parsed.values.insert(flag.name, value);
            }
            parsed.set.push(flag.name);
        }
        parsed.rest.extend(args);
        Ok(parsed)
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms a flag meets (decimal,
/// exponent, `inf`, `nan`; no Rust-only spellings).
pub fn parse_go_float(value: &str) -> Option<f64> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
        || matches!(
            value.to_ascii_lowercase().trim_start_matches(['+', '-']),
            "inf" | "infinity" | "nan"
        );
    if !ok {
        return None;
    }
    value.replace('_', "").parse().ok()
}

impl Parsed {
    /// A string (or number, as written) flag's value (its default when not given).
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

    /// A float flag's value (checked at parse time; 0 if undeclared).
    pub fn float(&self, name: &str) -> f64 {
        self.values
            .get(name)
            .and_then(|value| parse_go_float(value))
            .unwrap_or(0.0)
    }

    /// An int flag's value (checked at parse time; 0 if undeclared).
    pub fn int(&self, name: &str) -> i64 {
        self.values
            .get(name)
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    }

    /// A list flag's values, in command-line order.
    pub fn list(&self, name: &str) -> &[String] {
        self.lists.get(name).map_or(&[], Vec::as_slice)
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

    #[test]
    fn parse_known_hands_the_rest_over() {
        let parsed = set()
            .parse_known(["-V", "-path=/etc", "-name", "x", "-a", "y"])
            .unwrap();
        assert!(parsed.bool("V"));
        assert_eq!(parsed.rest, vec!["-path", "-name", "x", "-a", "y"]);
        let parsed = set().parse_known(["-a", "z", "help"]).unwrap();
        assert_eq!(parsed.rest, vec!["help"]);
        assert_eq!(set().parse_known(["-h"]).unwrap_err(), FlagError::Help);
    }

    #[test]
    fn typed_flags() {
        let set = FlagSet::named("file")
            .list("path", "see help")
            .float("maxdepth", "1000", "see help")
            .bool_default("matchall", true, "see help")
            .bool("decompress", "see help")
            .int("c", "3", "count");
        let parsed = set
            .parse(["-path", "/etc", "-path=/usr", "-maxdepth", "2.5", "-c", "7"])
            .unwrap();
        assert_eq!(parsed.list("path"), ["/etc", "/usr"]);
        assert_eq!(parsed.float("maxdepth"), 2.5);
        assert!(parsed.bool("matchall"));
        assert_eq!(parsed.int("c"), 7);
        let err = set.parse(["-maxdepth", "deep"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"deep\" for flag -maxdepth: parse error"
        );
        assert_eq!(err.flag(), Some("maxdepth"));
        assert!(set.parse(["-c", "x"]).is_err());
        assert_eq!(
            set.usage(),
            "Usage of file:\n  -c int\n    \tcount (default 3)\n  -decompress\n    \tsee help\n  -matchall\n    \tsee help (default true)\n  -maxdepth float\n    \tsee help (default 1000)\n  -path value\n    \tsee help\n"
        );
    }
}
