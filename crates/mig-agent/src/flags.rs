//! The agent's command line (spec protocol.md §8.1), read as Go's `flag`
//! package reads it: `-name value`, `-name=value` and `--name` alike; boolean
//! flags take no separate value (`-d`, or `-d=false`); parsing stops at the
//! first argument that is not a flag, or after `--`.
//!
//! The grammar is `mig-goflag`'s, shared with the tools and the modules.

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

pub use mig_goflag::FlagError;

/// The agent's flag set (Go's `flag` grammar, shared with the tools).
fn flag_set() -> mig_goflag::FlagSet {
    mig_goflag::FlagSet::named("mig-agent")
        .string(
            "P",
            "",
            "run a persistent module (the agent starts them itself)",
        )
        .bool("S", "print the effective configuration and exit")
        .bool("V", "print the version and exit")
        .string("c", "/etc/mig/mig-agent.cfg", "configuration file")
        .bool("d", "debug: foreground, debug logs on stdout")
        .bool("f", "foreground: do not install or fork")
        .string("i", "", "run a local action file without signature checks")
        .string(
            "m",
            "agent",
            "agent, agent-checkin, or a module to run once",
        )
        .bool("n", "do not start persistent modules")
        .bool("p", "human-readable module output")
        .string("q", "", "query the stat socket: pid or shutdown")
        .bool("u", "started by an upgrader")
}

/// The usage text printed with `-h` or a flag error.
pub fn usage() -> String {
    flag_set().usage()
}

impl Flags {
    /// Parses the arguments (without the program name).
    pub fn parse<I, S>(args: I) -> Result<Self, FlagError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let parsed = flag_set().parse(args)?;
        // A string flag that was not given is `None` (its default applies later).
        let given = |name: &str| parsed.is_set(name).then(|| parsed.string(name).to_owned());
        Ok(Self {
            mode: parsed.string("m").to_owned(),
            persistent: given("P"),
            config: given("c"),
            debug: parsed.bool("d"),
            foreground: parsed.bool("f"),
            upgrader: parsed.bool("u"),
            action_file: given("i"),
            pretty: parsed.bool("p"),
            no_persistent: parsed.bool("n"),
            query: given("q"),
            version: parsed.bool("V"),
            show_config: parsed.bool("S"),
        })
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
        assert_eq!(Flags::parse(["-h"]).unwrap_err(), FlagError::Help);
        let text = usage();
        assert!(
            text.starts_with("Usage of mig-agent:\n  -P string\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  -c string\n    \tconfiguration file (default \"/etc/mig/mig-agent.cfg\")\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  -d\tdebug: foreground, debug logs on stdout\n"),
            "{text}"
        );
        assert!(matches!(Flags::parse(["---m"]), Err(FlagError::Syntax(_))));
    }
}
