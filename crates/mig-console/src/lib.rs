//! `mig-console`, MIG's interactive console (spec clients.md §3).
//!
//! A readline loop at `mig>` and one nested loop per reader mode (`action>`,
//! `agent>`, `command>`, `inv>`, `manifest>`, `loader>`, `launcher>`), all over
//! [`mig_client::Client`]. Output goes to stdout, errors as Go's
//! `log.Println` lines to stderr, as the original.
//!
//! - [`fmt`] — columns, Go times and durations, JSON indentation;
//! - [`term`] — rustyline input, completion and `~/.mig_history`;
//! - [`search`] — `search <type> where …`;
//! - [`modes`] — the action, agent, command and investigator readers;
//! - [`create`] — `create investigator|manifest|loader` and their readers;
//! - [`launcher`] — the action launcher.

pub mod create;
pub mod fmt;
pub mod launcher;
pub mod modes;
pub mod search;
pub mod term;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use mig_client::migrc::Migrc;
use mig_client::signer::signer_from_migrc;
use mig_client::{Auth, Client, ClientError};
use mig_goflag::{FlagError, FlagSet};
use mig_protocol::pgp::Signer;

use crate::fmt::{column, log_line, rfc3339};
use crate::term::{Input, Line};

/// The console's version (`-V`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const BANNER: &str = include_str!("art/banner.txt");
const FOOTER: &str = include_str!("art/footer.txt");
const HELP: &str = include_str!("help/mig.txt");

/// Bold and a colour, as the original's prompts and banners.
pub const GREEN: &str = "\x1b[1m\x1b[32m";
pub const RED: &str = "\x1b[1m\x1b[31m";
pub const BLUE: &str = "\x1b[1m\x1b[34m";
pub const CYAN: &str = "\x1b[1m\x1b[36m";
pub const MAGENTA: &str = "\x1b[1m\x1b[35m";
pub const YELLOW: &str = "\x1b[1m\x1b[33m";
pub const RESET: &str = "\x1b[0m";

/// A coloured prompt followed by a space.
pub fn prompt(colour: &str, text: &str) -> String {
    format!("{colour}{text}{RESET} ")
}

const MIG_WORDS: &[&str] = &[
    "action ",
    "agent ",
    "command ",
    "create action",
    "create investigator",
    "create loader",
    "create manifest",
    "exit",
    "help",
    "history ",
    "investigator ",
    "loader ",
    "manifest ",
    "query ",
    "search ",
    "search action where ",
    "search agent where ",
    "search command where ",
    "search investigator where ",
    "search loader where ",
    "search manifest where ",
    "search help",
    "showcfg",
    "status",
];

/// Everything a mode needs: the client, the configuration and the input.
pub struct Console {
    pub client: Client,
    pub migrc: Migrc,
    pub signer: Option<Arc<dyn Signer + Send + Sync>>,
    pub input: Input,
    /// `-q`: no banners.
    pub quiet: bool,
}

impl Console {
    /// Reads a line at `prompt`; `None` on ctrl+d / end of input.
    pub fn read(&mut self, prompt: &str, words: &'static [&'static str]) -> Option<String> {
        match self.input.read(prompt, words) {
            Line::Text(line) => Some(line),
            Line::Eof => None,
        }
    }

    /// Asks `question`; the trimmed answer, `None` on ctrl+d.
    pub fn ask(&mut self, question: &str) -> Option<String> {
        self.read(question, &[])
            .map(|answer| answer.trim().to_owned())
    }
}

/// Prints an error as the original's `log.Println` (stderr, timestamped).
pub fn log_error(message: impl std::fmt::Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", log_line(&message.to_string()));
}

/// Parses an id given on a command line.
pub fn parse_id(text: &str, what: &str) -> Result<u64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|id| id.is_finite() && *id >= 0.0 && id.fract() == 0.0)
        .map(|id| id as u64)
        .ok_or_else(|| format!("invalid {what} id '{text}': an id is a positive integer"))
}

fn flags() -> FlagSet {
    FlagSet::named("mig-console")
        .string("c", "", "Load configuration from file (default ~/.migrc)")
        .bool("q", "don't display banners and prompts")
        .bool(
            "v",
            "verbose output, includes debug information and raw queries",
        )
        .bool("V", "show build version and exit")
}

/// Runs the console with the command-line `args` (without the program
/// name); the process exit status.
pub fn run(args: &[String]) -> i32 {
    let flags = flags();
    let parsed = match flags.parse(args.iter().cloned()) {
        Ok(parsed) => parsed,
        Err(FlagError::Help) => {
            eprint!("{}", flags.usage());
            return 0;
        }
        Err(err) => {
            eprintln!("{err}");
            eprint!("{}", flags.usage());
            return 2;
        }
    };
    if parsed.bool("V") {
        println!("{VERSION}");
        return 0;
    }
    let quiet = parsed.bool("q");
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config_path = match parsed.string("c") {
        "" => Migrc::default_path(),
        path => PathBuf::from(path),
    };
    if !quiet {
        print!("\n{GREEN}{BANNER}{RESET}");
    }
    let input = Input::new(home.map(|home| home.join(".mig_history")));
    let migrc = match Migrc::load(&config_path) {
        Ok(migrc) => migrc,
        Err(err) => return fatal(&format!("ReadConfiguration() -> {err}")),
    };
    if migrc.api_url.len() <= 1 {
        return fatal(&format!(
            "ReadConfiguration() -> config API URL too short or undefined: len {}",
            migrc.api_url.len()
        ));
    }
    let tool = format!("console-{VERSION}");
    let (client, signer) = match signer_from_migrc(&migrc) {
        Ok(signer) => (
            Client::from_migrc(&migrc, signer.clone(), &tool),
            Some(signer),
        ),
        Err(_) if !migrc.api_key.is_empty() => (
            Client::new(
                &migrc.api_url,
                Auth::ApiKey(migrc.api_key.clone()),
                migrc.skip_verify_cert,
                &tool,
            ),
            None,
        ),
        Err(err) => return fatal(&format!("NewClient() -> {err}")),
    };
    let mut console = Console {
        client: client.with_debug(parsed.bool("v")),
        migrc,
        signer,
        input,
        quiet,
    };
    if let Err(err) = print_status(&console.client) {
        return fatal(&err.to_string());
    }
    if !quiet {
        println!(
            "\nConnected to {}. Exit with {GREEN}ctrl+d{RESET}. Type {GREEN}help{RESET} for help.",
            console.client.base()
        );
    }
    main_loop(&mut console);
    console.input.save();
    if !quiet {
        print!("{FOOTER}");
    }
    let _ = std::io::stdout().flush();
    0
}

/// Go's `log.Fatal`: a timestamped line on stderr, status 1.
fn fatal(message: &str) -> i32 {
    log_error(message);
    1
}

fn main_loop(console: &mut Console) {
    let mig_prompt = prompt(GREEN, "mig>");
    loop {
        let Some(line) = console.read(&mig_prompt, MIG_WORDS) else {
            println!("exit");
            return;
        };
        let line = line.trim().to_owned();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split(' ').filter(|word| !word.is_empty()).collect();
        let order = words[0];
        if order == "exit" {
            println!("exit");
            return;
        }
        if let Err(message) = mig_order(console, &line, &words) {
            log_error(message);
        }
        // The original adds the line once the order has run.
        console.input.remember(&line);
    }
}

fn mig_order(console: &mut Console, line: &str, words: &[&str]) -> Result<(), String> {
    let order = words[0];
    let id_of = |what: &str, usage: &str| -> Result<u64, String> {
        if words.len() != 2 {
            return Err(format!("error: missing {what} id in '{usage}'"));
        }
        parse_id(words[1], what)
    };
    match order {
        "action" => {
            let id = id_of("action", "action <id>")?;
            modes::action_reader(console, id)
        }
        "agent" => {
            let id = id_of("agent", "agent <id>")?;
            modes::agent_reader(console, id)
        }
        "command" => {
            let id = id_of("command", "command <id>")?;
            modes::command_reader(console, id)
        }
        "investigator" => {
            let id = id_of("investigator", "investigator <id>")?;
            modes::investigator_reader(console, id)
        }
        "manifest" => {
            let id = id_of("manifest", "manifest <id>")?;
            create::manifest_reader(console, id)
        }
        "loader" => {
            let id = id_of("loader", "loader <id>")?;
            create::loader_reader(console, id)
        }
        "create" => match words.get(1) {
            None => Err("error: missing order, must be 'create <action|investigator>'".to_owned()),
            Some(&"action") => launcher::launcher(console, mig_protocol::Action::default()),
            Some(&"investigator") => create::create_investigator(console),
            Some(&"loader") => create::create_loader(console),
            Some(&"manifest") => create::create_manifest(console),
            Some(other) => Err(format!("unknown order 'create {other}'")),
        },
        "search" => search::search(console, line, words),
        "query" => {
            let Some(uri) = words.get(1) else {
                return Err("error: missing uri in 'query <uri>'".to_owned());
            };
            println!("querying {uri}");
            let (_, body) = console
                .client
                .query_raw(uri)
                .map_err(|err| format!("query() -> {err}"))?;
            println!("{}", String::from_utf8_lossy(&body));
            Ok(())
        }
        "status" => print_status(&console.client).map_err(|err| err.to_string()),
        "showcfg" => {
            let home = std::env::var("HOME").unwrap_or_default();
            println!(
                "homedir = {home}\n[api]\n    url = {}\n[gpg]\n    home = {}\n    keyid = {}",
                console.migrc.api_url,
                console
                    .migrc
                    .gpg_home
                    .as_ref()
                    .map(|home| home.display().to_string())
                    .unwrap_or_default(),
                console.migrc.gpg_keyid
            );
            Ok(())
        }
        "history" => {
            let count = match words.get(1) {
                None => 10,
                Some(text) => text
                    .parse::<usize>()
                    .map_err(|_| format!("invalid history count '{text}'"))?,
            };
            for line in console.input.history().iter().rev().take(count) {
                println!("{line}");
            }
            Ok(())
        }
        "help" => {
            println!("{HELP}");
            Ok(())
        }
        other => {
            println!("Unknown order '{other}'");
            Ok(())
        }
    }
}

/// The status dashboard (clients.md §3.2).
pub fn print_status(client: &Client) -> Result<(), ClientError> {
    let dashboard = client.dashboard()?;
    let bar = |text: &str| format!("{RED}{text}{RESET}");
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(bar("+------"));
    line(bar("| Agents & Endpoints summary:"));
    let stats = dashboard.stats.unwrap_or_default();
    let count = |n: f64| format!("{n:.0}");
    line(format!(
        "{} * {} online agents on {} endpoints",
        bar("|"),
        count(stats.onlineagents),
        count(stats.onlineendpoints)
    ));
    line(format!(
        "{} * {} idle agents on {} endpoints",
        bar("|"),
        count(stats.idleagents),
        count(stats.idleendpoints)
    ));
    line(format!(
        "{} * {} endpoints are running 2 or more agents",
        bar("|"),
        count(stats.multiagentsendpoints)
    ));
    line(format!(
        "{} * {} endpoints appeared over the last 7 days",
        bar("|"),
        count(stats.newendpoints)
    ));
    line(format!(
        "{} * {} endpoints disappeared over the last 7 days",
        bar("|"),
        count(stats.disappearedendpoints)
    ));
    line(format!(
        "{} * {} endpoints have been flapping",
        bar("|"),
        count(stats.flappingendpoints)
    ));
    for (title, versions) in [
        ("Online", &stats.onlineagentsbyversion),
        ("Idle", &stats.idleagentsbyversion),
    ] {
        line(bar(&format!("| {title} agents by version:")));
        for sum in versions.as_deref().unwrap_or(&[]) {
            let plural = if sum.count > 1.0 { "s" } else { "" };
            line(format!(
                "{} * version {}: {:.0} agent{plural}",
                bar("|"),
                sum.version,
                sum.count
            ));
        }
    }
    line(bar("|"));
    line(format!("{} Latest Actions:", bar("|")));
    line(format!(
        "{} ----  ID  ---- + ----         Name         ---- + -Sent- + ----    Date    ---- + ---- Investigators ----",
        bar("|")
    ));
    for action in &dashboard.actions {
        line(format!(
            "{} {}   {}   {:6}   {}   {}",
            bar("|"),
            column(&action.id.0.to_string(), 14),
            column(&action.name, 30),
            action.counters.sent,
            column(&rfc3339(&action.lastupdatetime), 20),
            column(&fmt::investigator_names(&action.investigators), 23)
        ));
    }
    line(bar("+------"));
    print!("{out}");
    Ok(())
}
