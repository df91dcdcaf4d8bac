//! `mig-action-generator` (spec clients.md §4): loads an action file, sets
//! its validity window (and target), compresses and signs it, prints it
//! (tab-indented JSON, optionally also URL-encoded) and launches it.
//!
//! ```text
//! mig-action-generator -i action.json [-t target] [-validfrom RFC3339|now]
//!     [-expireafter 30m] [-p] [-urlencode] [-nolaunch] [-c ~/.migrc] [-V]
//! ```
//!
//! Differences with the original, all on error paths or undocumented corners:
//! a failure prints `FATAL: <error>` on stdout as the original did but exits
//! 1 (the original exited 0); `-urlencode` implies `-p` as its help says (the
//! original printed nothing without `-p`); `-t` expands `.migrc` target
//! macros as `mig -t` does.

use std::io::{BufRead, Write};
use std::path::Path;

use mig_client::Client;
use mig_client::client::{query_escape, sign_action};
use mig_client::configure::read_configuration;
use mig_client::migrc::Migrc;
use mig_client::signer::signer_from_migrc;
use mig_goflag::{FlagError, FlagSet};
use mig_protocol::{Action, GoTime};

use crate::mig::{VERSION, indent_with};

const NAME: &str = "mig-action-generator";
const NO_FILE: &str = "/path/to/file";
const NO_TARGET: &str = "some.target.example.net";

const USAGE_HEAD: &str = "Mozilla InvestiGator Action Generator
usage: mig-action-generator -i <input file>

Command line to generate and sign MIG Actions.
Configuration is read from ~/.migrc by default.

Options:
";

fn flags() -> FlagSet {
    FlagSet::named(NAME)
        .string(
            "c",
            &Migrc::default_path().display().to_string(),
            "Load configuration from file",
        )
        .bool("p", "Print signed action in pretty JSON format")
        .bool(
            "urlencode",
            "URL Encode marshalled JSON before printing it (implies '-p')",
        )
        .string("i", NO_FILE, "Load action from file")
        .string("t", NO_TARGET, "Set the target of the action")
        .string(
            "validfrom",
            "now",
            "(optional) set an ISO8601 date the action will be valid from. If unset, use 'now'.",
        )
        .string(
            "expireafter",
            "30m",
            "(optional) set a validity duration for the action. If unset, use '30m'.",
        )
        .bool(
            "nolaunch",
            "Don't launch the action. Print it and exit. (implies '-p')",
        )
        .bool("V", "Show build version and exit")
}

/// Where the tool reads and writes.
pub struct Io<'a> {
    /// Answers to the `.migrc` generator when the configuration is missing.
    pub stdin: &'a mut dyn BufRead,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

/// A failure, printed as `FATAL: <message>` on stdout.
struct Fatal(String);

/// Runs the tool with `args` (without the program name); returns the exit code.
pub fn run(args: &[String], io: &mut Io<'_>) -> i32 {
    let flag_set = flags();
    let parsed = match flag_set.parse(args.iter().cloned()) {
        Ok(parsed) => parsed,
        Err(FlagError::Help) => {
            let _ = write!(io.stderr, "{}", flag_set.usage());
            return 0;
        }
        Err(err) => {
            let _ = write!(io.stderr, "{err}\n{}", flag_set.usage());
            return 2;
        }
    };
    if parsed.bool("V") {
        let _ = writeln!(io.stdout, "{VERSION}");
        return 0;
    }
    match generate(&parsed, &flag_set, io) {
        Ok(code) => code,
        Err(Fatal(message)) => {
            let _ = writeln!(io.stdout, "FATAL: {message}");
            1
        }
    }
}

fn generate(
    parsed: &mig_goflag::Parsed,
    flag_set: &FlagSet,
    io: &mut Io<'_>,
) -> Result<i32, Fatal> {
    let pretty = parsed.bool("p") || parsed.bool("nolaunch") || parsed.bool("urlencode");
    let migrc = read_configuration(
        Path::new(parsed.string("c")),
        io.stdin,
        io.stdout,
        io.stderr,
    )
    .map_err(|err| Fatal(format!("ReadConfiguration() -> {err}")))?;
    if migrc.api_url.len() <= 1 {
        return Err(Fatal(format!(
            "ReadConfiguration() -> config API URL too short or undefined: len {}",
            migrc.api_url.len()
        )));
    }
    let signer = signer_from_migrc(&migrc).map_err(|err| Fatal(format!("NewClient() -> {err}")))?;
    let client = Client::from_migrc(&migrc, signer.clone(), &format!("generator-{VERSION}"));

    let file = parsed.string("i");
    if file == NO_FILE {
        let _ = writeln!(io.stdout, "ERROR: Missing action file");
        let _ = write!(io.stderr, "{USAGE_HEAD}{}", flag_set.defaults());
        return Ok(1);
    }
    let bytes = std::fs::read(file).map_err(|err| Fatal(format!("open {file}: {err}")))?;
    let mut action = Action::from_json(&bytes).map_err(|err| Fatal(format!("{file}: {err}")))?;

    let validfrom = match parsed.string("validfrom") {
        "now" => chrono::Utc::now().fixed_offset() - chrono::Duration::seconds(60),
        text => {
            GoTime::parse(text)
                .map_err(|err| Fatal(format!("invalid -validfrom {text:?}: {err}")))?
                .0
        }
    };
    let period = parsed.string("expireafter");
    let nanos = mig_modules::duration::parse_go_duration(period)
        .map_err(|err| Fatal(format!("invalid -expireafter {period:?}: {err}")))?;
    let nanos = i64::try_from(nanos)
        .map_err(|_| Fatal(format!("invalid -expireafter {period:?}: out of range")))?;
    action.validfrom = GoTime(validfrom);
    action.expireafter = GoTime(validfrom + chrono::Duration::nanoseconds(nanos));

    let target = parsed.string("t");
    if target != NO_TARGET {
        action.target = migrc.expand_target(target).to_owned();
    }

    sign_action(&mut action, signer.as_ref())
        .map_err(|err| Fatal(format!("SignAction() -> {err}")))?;

    if pretty {
        let json = indent_with(&action.to_json(), "\t");
        let _ = writeln!(io.stdout, "{json}");
        if parsed.bool("urlencode") {
            let _ = writeln!(io.stdout, "{}", query_escape(&json));
        }
    }
    if !parsed.bool("nolaunch") {
        let _ = io.stdout.flush();
        let posted = client
            .post_action(&action)
            .map_err(|err| Fatal(err.to_string()))?;
        let _ = writeln!(io.stdout, "Successfully launched action {}", posted.id.0);
    }
    Ok(0)
}
