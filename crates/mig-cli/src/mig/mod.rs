//! `mig`, the command-line investigation tool (spec clients.md §2).
//!
//! ```text
//! mig <module> [global options] [module options]
//! mig -i <action.json> [global options]
//! ```
//!
//! Beyond the original: `-y` skips the 5-second countdown, and `-render
//! text|json|csv` chooses how results are printed (text is the original's).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mig_client::configure::read_configuration;
use mig_client::migrc::Migrc;
use mig_client::signer::signer_from_migrc;
use mig_client::{
    Client, FollowEnd, FollowOptions, Render, ResultPrinter, Show, follow_action,
    print_action_results,
};
use mig_goflag::FlagSet;
use mig_modules::{ModuleContext, ModuleName};
use mig_protocol::{Action, GoTime, ModuleResult, Operation, gojson};

/// The version `mig -V` prints.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const USAGE: &str = include_str!("usage.txt");

/// Where `mig` writes, and what it needs from its environment (tests run it
/// in-process with buffers).
pub struct Io<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// Whether stderr is a terminal (draws the `[===>--]` bar).
    pub terminal: bool,
    /// Raised by SIGINT while following; `None` installs the real handler.
    pub stop: Option<Arc<AtomicBool>>,
    /// The countdown's tick (1 s; tests shorten it).
    pub tick: Duration,
}

/// The usage text with the module list.
pub fn usage() -> String {
    let mut text = USAGE.to_owned();
    for module in ModuleName::EVERY {
        text.push_str(&format!("* {}\n", module.as_str()));
    }
    text
}

fn global_flags() -> FlagSet {
    FlagSet::named("mig")
        .string("c", &Migrc::default_path().display().to_string(), "config")
        .string("e", "300s", "expiration")
        .string("i", "/path/to/file", "action file")
        .string("n", "", "action name")
        .bool("p", "print the action and exit")
        .bool("s", "sign the action, print it and exit")
        .string("show", "found", "results to show")
        .string("t", "", "target")
        .string("target-found", "", "agents that found results in an action")
        .string(
            "target-notfound",
            "",
            "agents that found nothing in an action",
        )
        .bool("v", "verbose")
        .bool("V", "version")
        .bool("z", "compress the action")
        .bool("y", "skip the countdown")
        .string("render", "text", "text, json or csv")
}

/// An error to print as `error: <message>` (exit 1).
struct Fail(String);

impl<T: std::fmt::Display> From<T> for Fail {
    fn from(value: T) -> Self {
        Fail(value.to_string())
    }
}

/// Runs `mig` with `args` (without the program name); returns the exit code.
pub fn run(args: &[String], io: &mut Io<'_>) -> i32 {
    match run_inner(args, io) {
        Ok(code) => code,
        Err(Fail(message)) => {
            let _ = writeln!(io.stderr, "error: {message}");
            1
        }
    }
}

fn run_inner(args: &[String], io: &mut Io<'_>) -> Result<i32, Fail> {
    let Some(first) = args.first() else {
        let _ = write!(io.stdout, "{}", usage());
        return Ok(1);
    };
    match first.as_str() {
        "help" | "-h" | "--help" | "-help" => {
            let _ = write!(io.stdout, "{}", usage());
            return Ok(1);
        }
        "-V" | "version" => {
            let _ = writeln!(io.stdout, "{VERSION}");
            return Ok(0);
        }
        "-i" | "--i" => return launch_file(args, io),
        _ => {}
    }
    if first.starts_with("-i=") {
        return launch_file(args, io);
    }
    let Some(module) = ModuleName::from_name(first) else {
        return Err(Fail(format!("Unknown module {first}")));
    };
    let flags = global_flags();
    let parsed = flags.parse_known(args[1..].iter().cloned())?;
    let Some(parser) = module.params_parser() else {
        return Err(Fail(format!(
            "module '{first}' does not support command line invocation"
        )));
    };
    let Some(parameters) = parser(&parsed.rest, io.stdout, io.stderr)? else {
        return Ok(0);
    };
    let render = Render::parse(parsed.string("render"))?;
    let mut target = parsed.string("t").to_owned();
    let found = parsed.string("target-found");
    let notfound = parsed.string("target-notfound");
    if target.is_empty() {
        target = "status='online'".to_owned();
        if found.is_empty() && notfound.is_empty() {
            let _ = writeln!(
                io.stderr,
                "[notice] no target specified, defaulting to all online agents"
            );
        }
    }
    if target == "local" {
        return run_local(module, &parameters, io);
    }
    let expiration = mig_modules::duration::parse_go_duration(parsed.string("e"))
        .map_err(|err| Fail(format!("invalid -e: {err}")))?;
    let name = if parsed.string("n").is_empty() {
        default_name(args)
    } else {
        parsed.string("n").to_owned()
    };
    // Config and client; `-p` tolerates a missing configuration.
    let config_path = PathBuf::from(parsed.string("c"));
    // `-p` needs no configuration: no generator then.
    let setup = if parsed.bool("p") {
        load_client(&config_path, parsed.bool("v"), None)
    } else {
        load_client(&config_path, parsed.bool("v"), Some(&mut *io))
    };
    let (migrc, client) = match setup {
        Ok(pair) => (pair.0, Some(pair.1)),
        Err(err) if parsed.bool("p") => {
            let _ = err;
            (Migrc::default(), None)
        }
        Err(err) => return Err(err),
    };
    target = migrc.expand_target(&target).to_owned();
    if !found.is_empty() && !notfound.is_empty() {
        return Err(Fail(
            "Both -target-found and -target-foundnothing cannot be used simultaneously".to_owned(),
        ));
    }
    for (id, value) in [(found, "true"), (notfound, "false")] {
        if id.is_empty() {
            continue;
        }
        let id: u64 = id
            .parse()
            .map_err(|_| Fail(format!("invalid action ID {id:?}: must be an integer")))?;
        target = format!(
            "id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid={id} and r#>>'{{foundanything}}' = '{value}') AND {target}"
        );
    }
    let value: serde_json::Value = serde_json::from_str(&parameters)?;
    let mut operation = Operation::new(first.as_str(), value);
    operation.want_compressed = parsed.bool("z");
    let mut action = Action {
        name,
        target,
        operations: Some(vec![operation]),
        ..Action::default()
    };
    if parsed.bool("p") {
        let _ = writeln!(
            io.stdout,
            "{}",
            indent(&action_json(&action, Some(&parameters)))
        );
        return Ok(0);
    }
    let Some(client) = client else {
        return Err(Fail("no API client".to_owned()));
    };
    set_times(&mut action, expiration, io);
    client.sign_action(&mut action)?;
    if parsed.bool("s") {
        let raw = (!parsed.bool("z")).then_some(parameters.as_str());
        let _ = writeln!(io.stdout, "{}", indent(&action_json(&action, raw)));
        return Ok(0);
    }
    launch(&client, action, &parsed, render, io)
}

/// `mig -i <file> [global flags]`.
fn launch_file(args: &[String], io: &mut Io<'_>) -> Result<i32, Fail> {
    let flags = global_flags();
    let parsed = match flags.parse(args.iter().cloned()) {
        Ok(parsed) => parsed,
        Err(err) => {
            let _ = writeln!(io.stderr, "{err}");
            return Err(err.into());
        }
    };
    let path = parsed.string("i");
    if path == "/path/to/file" {
        return Err(Fail(
            "-i flag must take an action file path as argument".to_owned(),
        ));
    }
    let render = Render::parse(parsed.string("render"))?;
    let bytes =
        std::fs::read(path).map_err(|err| Fail(format!("open {path}: {}", go_io_error(&err))))?;
    let mut action = Action::from_json(&bytes).map_err(|err| Fail(format!("{path}: {err}")))?;
    let _ = writeln!(
        io.stderr,
        "[info] launching action from file, all flags are ignored"
    );
    if parsed.bool("p") {
        let _ = writeln!(io.stdout, "{}", indent(&action.to_json()));
        return Ok(0);
    }
    let expiration = mig_modules::duration::parse_go_duration(parsed.string("e"))
        .map_err(|err| Fail(format!("invalid -e: {err}")))?;
    // The original reads the default configuration in -i mode; -c is honoured here.
    let (_, client) = load_client(
        Path::new(parsed.string("c")),
        parsed.bool("v"),
        Some(&mut *io),
    )?;
    if action.validfrom.is_zero() {
        set_times(&mut action, expiration, io);
    } else {
        let _ = writeln!(
            io.stderr,
            "[notice] action already had validity time period, which was left as is"
        );
    }
    client.sign_action(&mut action)?;
    if parsed.bool("s") {
        let _ = writeln!(io.stdout, "{}", indent(&action.to_json()));
        return Ok(0);
    }
    launch(&client, action, &parsed, render, io)
}

/// Reads the configuration and makes the client. A missing configuration
/// starts the `.migrc` generator on stdin/stdout when `interactive`.
fn load_client(
    path: &Path,
    verbose: bool,
    interactive: Option<&mut Io<'_>>,
) -> Result<(Migrc, Client), Fail> {
    let migrc = match interactive {
        Some(io) => read_configuration(
            path,
            &mut std::io::stdin().lock(),
            &mut *io.stdout,
            &mut *io.stderr,
        )
        .map_err(|err| Fail(format!("ReadConfiguration() -> {err}")))?,
        None => Migrc::load(path).map_err(|err| Fail(format!("ReadConfiguration() -> {err}")))?,
    };
    if migrc.api_url.len() <= 1 {
        return Err(Fail(format!(
            "ReadConfiguration() -> config API URL too short or undefined: len {}",
            migrc.api_url.len()
        )));
    }
    let signer = signer_from_migrc(&migrc);
    let client = match signer {
        Ok(signer) => Client::from_migrc(&migrc, signer, &format!("cmd-{VERSION}")),
        Err(_) if !migrc.api_key.is_empty() => Client::new(
            &migrc.api_url,
            mig_client::Auth::ApiKey(migrc.api_key.clone()),
            migrc.skip_verify_cert,
            &format!("cmd-{VERSION}"),
        ),
        Err(err) => return Err(Fail(format!("NewClient() -> {err}"))),
    };
    Ok((migrc, client.with_debug(verbose)))
}

/// `validfrom = now − 60 s`, `expireafter = validfrom + expiration + 60 s`.
fn set_times(action: &mut Action, expiration_nanos: i128, _io: &mut Io<'_>) {
    let now = chrono::Utc::now();
    let validfrom = now - chrono::Duration::seconds(60);
    let expiration =
        chrono::Duration::nanoseconds(i64::try_from(expiration_nanos).unwrap_or(i64::MAX));
    let expireafter = validfrom + expiration + chrono::Duration::seconds(60);
    action.validfrom = GoTime(validfrom.fixed_offset());
    action.expireafter = GoTime(expireafter.fixed_offset());
}

/// Evaluate the target, count down, post, follow, print.
fn launch(
    client: &Client,
    action: Action,
    parsed: &mig_goflag::Parsed,
    render: Render,
    io: &mut Io<'_>,
) -> Result<i32, Fail> {
    let agents = client.evaluate_agent_target(&action.target)?;
    if !parsed.bool("y") {
        let _ = write!(
            io.stderr,
            "\x1b[33m{} agents will be targeted. ctrl+c to cancel. launching in \x1b[0m",
            agents.len()
        );
        for i in (1..=5).rev() {
            let _ = io.stderr.flush();
            std::thread::sleep(io.tick);
            let _ = write!(io.stderr, "\x1b[33m{i}\x1b[0m ");
        }
        let _ = write!(io.stderr, "\x1b[33mGO\n\x1b[0m");
    }
    let posted = client.post_action(&action)?;
    let stop = match &io.stop {
        Some(stop) => stop.clone(),
        None => {
            let stop = Arc::new(AtomicBool::new(false));
            // Without a handler Ctrl+C kills the process: nothing lost.
            let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone());
            stop
        }
    };
    let options = FollowOptions {
        terminal: io.terminal,
        ..FollowOptions::default()
    };
    match follow_action(client, &posted, agents.len(), &stop, &options, io.stderr)? {
        FollowEnd::Finished(_) => {}
        FollowEnd::Stopped => {
            let _ = writeln!(
                io.stderr,
                "\n[notice] stopped following action, but agents may still be running."
            );
            let _ = writeln!(io.stderr, "fetching available results:");
        }
    }
    let show = Show::parse(parsed.string("show"))?;
    let mut printer = ResultPrinter::new(render, io.stdout, io.stderr);
    print_action_results(client, posted.id.0, show, &mut printer)?;
    Ok(0)
}

/// `-t local`: run the module in this process and print its found lines.
fn run_local(module: ModuleName, parameters: &str, io: &mut Io<'_>) -> Result<i32, Fail> {
    let value: serde_json::Value = serde_json::from_str(parameters)?;
    let output = mig_modules::run_module(module, &value, &ModuleContext::default());
    let result: ModuleResult = gojson::from_str(&output)?;
    let lines = mig_modules::print_result(module, &result, true)?;
    for line in lines {
        let _ = writeln!(io.stdout, "{line}");
    }
    Ok(0)
}

/// The default action name: the arguments each followed by a space, stopping
/// (with `...`) once longer than 100 characters.
fn default_name(args: &[String]) -> String {
    let mut name = String::new();
    for arg in args {
        name.push_str(arg);
        name.push(' ');
        if name.len() > 100 {
            name.push_str("...");
            break;
        }
    }
    name
}

/// The action's Go JSON; with `raw`, the (single) operation's parameters are
/// written as the module built them (struct order), as the original printed.
fn action_json(action: &Action, raw: Option<&str>) -> String {
    let Some(raw) = raw else {
        return action.to_json();
    };
    let mut shell = action.clone();
    if let Some(operations) = shell.operations.as_mut() {
        for operation in operations.iter_mut() {
            operation.parameters = serde_json::Value::Null;
        }
    }
    shell
        .to_json()
        .replacen("\"parameters\":null", &format!("\"parameters\":{raw}"), 1)
}

/// Go's `json.Indent(…, "", "    ")` of compact JSON.
pub fn indent(compact: &str) -> String {
    indent_with(compact, "    ")
}

/// Go's `json.Indent(…, "", unit)` (`json.MarshalIndent`) of compact JSON.
pub fn indent_with(compact: &str, unit: &str) -> String {
    mig_protocol::gojson::indent(compact, unit)
}

/// An I/O error worded as Go's (`no such file or directory`).
fn go_io_error(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}

/// Whether stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indent_is_gos() {
        assert_eq!(
            indent(r#"{"a":[1,{"b":"x,{y}"}],"c":{},"d":[]}"#),
            "{\n    \"a\": [\n        1,\n        {\n            \"b\": \"x,{y}\"\n        }\n    ],\n    \"c\": {},\n    \"d\": []\n}"
        );
    }

    #[test]
    fn default_name_keeps_the_trailing_space() {
        let args: Vec<String> = ["file", "-t", "allonline", "-path", "/etc"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(default_name(&args), "file -t allonline -path /etc ");
    }
}
