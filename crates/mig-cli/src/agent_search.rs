//! `mig-agent-search` (spec clients.md §6): lists agents matching a console
//! style query (`-p "status=online and name=web1"`) or a target (`-t
//! "environment->>'os'='linux'"` or a `.migrc` macro), one line per agent:
//!
//! ```text
//! name; id; status; version; mode; os; arch; pid; starttime; heartbeattime; tags; environment
//! ```
//!
//! Scripts parse this output: it is the original's, byte for byte. The
//! header is printed even when nothing matches. Errors: `error: <chain>` on
//! stderr, exit 1. Unlike the original, the usage text ends with the flags'
//! descriptions (it ended with an empty "Command line flags:"), and no
//! throw-away token is signed before the first request.

use std::io::{BufRead, Write};
use std::path::Path;

use mig_client::client::ClientError;
use mig_client::configure::read_configuration;
use mig_client::migrc::Migrc;
use mig_client::signer::signer_from_migrc;
use mig_client::{Auth, Client};
use mig_goflag::{FlagError, FlagSet};
use mig_protocol::search::SearchParameters;
use mig_protocol::{Agent, GoTime, gojson};

use crate::mig::VERSION;

const HEADER: &str =
    "name; id; status; version; mode; os; arch; pid; starttime; heartbeattime; tags; environment";

const USAGE: &str = include_str!("agent_search_usage.txt");

fn flags() -> FlagSet {
    FlagSet::named("mig-agent-search")
        .string(
            "c",
            &Migrc::default_path().display().to_string(),
            "Load configuration from file",
        )
        .bool("V", "Show build version and exit")
        .string("p", "", "Search using mig-console search style query")
        .string("t", "", "Search using agent targeting string")
}

/// Where the tool reads and writes.
pub struct Io<'a> {
    /// Answers to the `.migrc` generator when the configuration is missing.
    pub stdin: &'a mut dyn BufRead,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

/// The usage text (stderr on `-h` and flag errors).
pub fn usage() -> String {
    format!("{USAGE}\n{}", flags().defaults())
}

/// Runs the tool with `args` (without the program name); returns the exit code.
pub fn run(args: &[String], io: &mut Io<'_>) -> i32 {
    let parsed = match flags().parse(args.iter().cloned()) {
        Ok(parsed) => parsed,
        Err(FlagError::Help) => {
            let _ = write!(io.stderr, "{}", usage());
            return 0;
        }
        Err(err) => {
            let _ = write!(io.stderr, "{err}\n{}", usage());
            return 2;
        }
    };
    if parsed.bool("V") {
        let _ = writeln!(io.stdout, "{VERSION}");
        return 0;
    }
    match search(&parsed, io) {
        Ok(()) => 0,
        Err(message) => {
            let _ = io.stdout.flush();
            let _ = writeln!(io.stderr, "error: {message}");
            1
        }
    }
}

fn search(parsed: &mig_goflag::Parsed, io: &mut Io<'_>) -> Result<(), String> {
    let migrc = read_configuration(
        Path::new(parsed.string("c")),
        io.stdin,
        io.stdout,
        io.stderr,
    )
    .map_err(|err| format!("ReadConfiguration() -> {err}"))?;
    if migrc.api_url.len() <= 1 {
        return Err(format!(
            "ReadConfiguration() -> config API URL too short or undefined: len {}",
            migrc.api_url.len()
        ));
    }
    let tool = format!("agent-search-{VERSION}");
    let client = if migrc.api_key.is_empty() {
        let signer = signer_from_migrc(&migrc).map_err(|err| format!("NewClient() -> {err}"))?;
        Client::from_migrc(&migrc, signer, &tool)
    } else {
        Client::new(
            &migrc.api_url,
            Auth::ApiKey(migrc.api_key.clone()),
            migrc.skip_verify_cert,
            &tool,
        )
    };
    let query = parsed.string("p");
    let target = parsed.string("t");
    let agents = if !query.is_empty() {
        let parameters =
            parse_query(query).map_err(|err| format!("parsing search query: {err}"))?;
        match client.get_resource(&format!("search?{}", parameters.query_string())) {
            Ok(resource) => agents_of(&resource)?,
            Err(err) if is_no_results(&err) => Vec::new(),
            Err(err) => return Err(format!("GetAPIResource() -> {err}")),
        }
    } else if !target.is_empty() {
        client
            .evaluate_agent_target(migrc.expand_target(target))
            .map_err(|err| err.to_string())?
    } else {
        return Err("must specify -p or -t, see help".to_owned());
    };
    let _ = writeln!(io.stdout, "{HEADER}");
    for agent in &agents {
        let _ = writeln!(io.stdout, "{}", agent_line(agent));
    }
    io.stdout.flush().map_err(|err| err.to_string())
}

fn is_no_results(err: &ClientError) -> bool {
    matches!(err.root(), ClientError::Api { message, .. } if message.contains("no results found"))
}

fn agents_of(resource: &mig_protocol::collection::Envelope) -> Result<Vec<Agent>, String> {
    let mut agents = Vec::new();
    for data in resource
        .collection
        .items
        .iter()
        .flat_map(|item| item.data.iter())
        .filter(|data| data.name == "agent")
    {
        let raw = data.value.as_ref().map_or("null", |raw| raw.get());
        agents.push(gojson::from_str(raw).map_err(|err| format!("cannot decode an agent: {err}"))?);
    }
    Ok(agents)
}

/// One output line: `%s; %.0f; %s; %s; %s; %s; %s; %d; %s; %s; %s; %s`.
pub fn agent_line(agent: &Agent) -> String {
    let tags = if agent.tags.is_empty() {
        "null".to_owned()
    } else {
        gojson::to_string(&agent.tags)
    };
    format!(
        "{}; {}; {}; {}; {}; {}; {}; {}; {}; {}; {}; {}",
        agent.name,
        agent.id.0,
        agent.status.as_str(),
        agent.version,
        agent.mode,
        agent.environment.os,
        agent.environment.arch,
        agent.pid,
        rfc3339(&agent.starttime),
        rfc3339(&agent.heartbeatts),
        tags,
        gojson::to_string(&agent.environment),
    )
}

/// Go's `time.RFC3339` layout (whole seconds).
fn rfc3339(time: &GoTime) -> String {
    let t = &time.0;
    let offset = t.offset().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_owned()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.unsigned_abs();
        format!("{sign}{:02}:{:02}", offset / 3600, (offset % 3600) / 60)
    };
    format!("{}{zone}", t.format("%Y-%m-%dT%H:%M:%S"))
}

/// The console-style query: `key=value` words, optionally joined by `and`.
pub fn parse_query(query: &str) -> Result<SearchParameters, String> {
    let mut parameters = SearchParameters::defaults(chrono::Utc::now());
    parameters.kind = "agent".to_owned();
    for word in query.split(' ') {
        if word == "and" {
            continue;
        }
        let parts: Vec<&str> = word.split('=').collect();
        let [key, value] = parts[..] else {
            return Err(format!("Invalid `key=value` in search parameter '{word}'"));
        };
        match key {
            "after" => {
                parameters.after = GoTime::parse(value).map_err(|_| {
                    "after date not in RFC3339 format, ex: 2015-09-23T14:14:16Z".to_owned()
                })?
            }
            "before" => {
                parameters.before = GoTime::parse(value).map_err(|_| {
                    "before date not in RFC3339 format, ex: 2015-09-23T14:14:16Z".to_owned()
                })?
            }
            "agentid" => parameters.agentid = value.to_owned(),
            "agentname" | "name" => parameters.agentname = value.to_owned(),
            "agentversion" => parameters.agentversion = value.to_owned(),
            "limit" => {
                parameters.limit = mig_goflag::parse_go_float(value)
                    .ok_or_else(|| "invalid limit parameter".to_owned())?
            }
            "status" => parameters.status = value.to_owned(),
            _ => return Err(format!("unknown search key {key:?}")),
        }
    }
    Ok(parameters)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn queries() {
        let p = parse_query("name=vm and status=online").unwrap();
        assert_eq!((p.agentname.as_str(), p.status.as_str()), ("vm", "online"));
        assert!(
            p.query_string()
                .ends_with("&agentname=vm&limit=100&status=online"),
            "{}",
            p.query_string()
        );
        assert_eq!(
            parse_query("bogus=1").unwrap_err(),
            "unknown search key \"bogus\""
        );
        assert_eq!(
            parse_query("status").unwrap_err(),
            "Invalid `key=value` in search parameter 'status'"
        );
        assert_eq!(
            parse_query("a=b=c").unwrap_err(),
            "Invalid `key=value` in search parameter 'a=b=c'"
        );
        assert_eq!(
            parse_query("limit=x").unwrap_err(),
            "invalid limit parameter"
        );
        assert_eq!(parse_query("limit=5").unwrap().limit, 5.0);
        assert!(
            parse_query("after=yesterday")
                .unwrap_err()
                .starts_with("after date not in RFC3339")
        );
    }
}
