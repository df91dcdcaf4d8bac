//! `mig-quickstart [-listen 127.0.0.1:51664] [-state ~/.mig-quickstart]`: the
//! whole MIG platform in one process on the embedded backends — the SQLite
//! store, the in-process relay, the scheduler, the API and one local agent —
//! then the first investigation (`mig file -t allonline -path /etc -name
//! "^passwd$" -content "^root"`), then it keeps serving until SIGINT/SIGTERM.
//!
//! The agent runs its modules in child processes of this same binary (`-m
//! <module> -c <cfg>`, and `-P <module>` for persistent modules): those
//! invocations are handed to the agent's own main.

mod platform;
mod state;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use mig_goflag::{FlagError, FlagSet};

use crate::state::State;

/// The API's address when `-listen` is not given (the original's port).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:51664";

/// Whether this process is one of the agent's children (`-m`, `-P`), which the
/// agent's main runs.
fn is_agent_child(args: &[String]) -> bool {
    args.iter().any(|arg| {
        let name = arg.trim_start_matches('-');
        arg.starts_with('-')
            && (name == "m" || name == "P" || name.starts_with("m=") || name.starts_with("P="))
    })
}

fn flags() -> FlagSet {
    FlagSet::named("mig-quickstart")
        .string(
            "listen",
            DEFAULT_LISTEN,
            "address of the API (127.0.0.1:0 picks a free port)",
        )
        .string(
            "state",
            &State::default_dir().display().to_string(),
            "state directory (database, keys, ACL, configurations, migrc)",
        )
}

fn main() -> ExitCode {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if is_agent_child(&args) {
        return mig_agent::cli::main(args);
    }
    let flags = flags();
    let parsed = match flags.parse(args) {
        Ok(parsed) => parsed,
        Err(FlagError::Help) => {
            eprint!("{}", flags.usage());
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("{error}\n{}", flags.usage());
            return ExitCode::from(2);
        }
    };
    let options = platform::Options {
        listen: parsed.string("listen").to_owned(),
        state: PathBuf::from(parsed.string("state")),
        started,
    };
    match platform::main(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mig-quickstart: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_children_are_recognised() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(is_agent_child(&args(&[
            "-m",
            "file",
            "-c",
            "/x/mig-agent.cfg"
        ])));
        assert!(is_agent_child(&args(&["-P", "fswatch"])));
        assert!(is_agent_child(&args(&["--m=file"])));
        assert!(!is_agent_child(&args(&["-listen", "127.0.0.1:0"])));
        assert!(!is_agent_child(&args(&["-state", "m"])));
    }
}
