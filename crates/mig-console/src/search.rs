//! `search <type> where <k>=<v> [and <k>=<v> …]` (clients.md §3.11).

use mig_protocol::manifest::{LoaderEntry, ManifestRecord};
use mig_protocol::search::SearchParameters;
use mig_protocol::{Action, Agent, Command, GoTime, Investigator};

use crate::Console;
use crate::fmt::{column, describe_permissions, investigator_names, rfc3339};

const HELP: &str = include_str!("help/search.txt");

const TYPES: [&str; 6] = [
    "action",
    "agent",
    "command",
    "investigator",
    "manifest",
    "loader",
];

/// Parses the words of a search order into the API's parameters.
pub fn parse_search(line: &str, words: &[&str]) -> Result<SearchParameters, String> {
    if words.len() < 4 {
        return Err("Invalid search syntax. try `search help`.".to_owned());
    }
    let kind = words[1];
    if !TYPES.contains(&kind) {
        return Err(format!("Invalid search '{line}'. Try `search help`.\n"));
    }
    if words[2] != "where" {
        return Err(format!(
            "Expected keyword 'where' after search type. Got '{}'",
            words[2]
        ));
    }
    let mut p = SearchParameters::defaults(chrono::Utc::now());
    p.kind = kind.to_owned();
    for word in &words[3..] {
        if *word == "and" {
            continue;
        }
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("parseSearchQuery() -> Invalid search parameter '{word}'"))?;
        let value = value.to_owned();
        let unknown = || format!("parseSearchQuery() -> Unknown search key '{key}'");
        match key {
            "actionname" => p.actionname = value,
            "actionid" => p.actionid = value,
            "agentid" => p.agentid = value,
            "agentname" => p.agentname = value,
            "agentversion" => p.agentversion = value,
            "commandid" => p.commandid = value,
            "investigatorid" => p.investigatorid = value,
            "investigatorname" => p.investigatorname = value,
            "loadername" => p.loadername = value,
            "loaderid" => p.loaderid = value,
            "manifestname" => p.manifestname = value,
            "manifestid" => p.manifestid = value,
            "status" => p.status = value,
            "after" | "before" => {
                let time = GoTime::parse(&value).map_err(|_| {
                    format!(
                        "parseSearchQuery() -> {key} date not in RFC3339 format, ex: 2015-09-23T14:14:16Z"
                    )
                })?;
                if key == "after" {
                    p.after = time;
                } else {
                    p.before = time;
                }
            }
            "limit" => {
                p.limit = value
                    .parse::<f64>()
                    .ok()
                    .filter(|limit| limit.is_finite() && *limit > 0.0)
                    .ok_or_else(|| {
                        format!("parseSearchQuery() -> invalid limit '{value}': a positive number")
                    })?;
            }
            "name" => match kind {
                "action" | "command" => p.actionname = value,
                "agent" => p.agentname = value,
                "investigator" => p.investigatorname = value,
                _ => {}
            },
            _ => return Err(unknown()),
        }
    }
    Ok(p)
}

/// `search …`.
pub fn search(console: &mut Console, line: &str, words: &[&str]) -> Result<(), String> {
    if words.len() == 1 || words.get(1) == Some(&"help") {
        println!("{HELP}");
        return Ok(());
    }
    let p = parse_search(line, words).map_err(|err| {
        if err.starts_with("parseSearchQuery()") {
            format!("search() -> {err}")
        } else {
            err
        }
    })?;
    println!(
        "Searching {} after {} and before {}, limited to {:.0} results",
        p.kind,
        rfc3339(&p.after),
        rfc3339(&p.before),
        p.limit
    );
    let query = p.query_string();
    let client = &console.client;
    let fail = |err: mig_client::ClientError| format!("search() -> {err}");
    let none = || println!("No results found for search query: {query}");
    match p.kind.as_str() {
        "agent" => {
            let agents: Vec<Agent> = client.search(&query, "agent").map_err(fail)?;
            if agents.is_empty() {
                none();
                return Ok(());
            }
            println!(
                "---   ID  ---- + ----         Name         ---- + -- Status -- + -- Last Heartbeat --"
            );
            for agent in agents {
                println!(
                    "{:20}   {}   {}   {}",
                    agent.id.0,
                    column(&agent.name, 30),
                    column(agent.status.as_str(), 12),
                    rfc3339(&agent.heartbeatts)
                );
            }
        }
        "action" => {
            let actions: Vec<Action> = client.search(&query, "action").map_err(fail)?;
            if actions.is_empty() {
                none();
                return Ok(());
            }
            println!(
                "----- ID ----- + --------   Action Name ------- + ----------- Target  ---------- + ---- Investigators ---- + - Sent - + - Status - + --- Last Updated --- "
            );
            for action in actions {
                println!(
                    "{}   {}   {}   {}   {:8}   {}   {}",
                    column(&action.id.0.to_string(), 14),
                    column(&action.name, 30),
                    column(&action.target, 30),
                    column(&investigator_names(&action.investigators), 23),
                    action.counters.sent,
                    column(action.status.as_str(), 10),
                    rfc3339(&action.lastupdatetime)
                );
            }
        }
        "command" => {
            let commands: Vec<Command> = client.search(&query, "command").map_err(fail)?;
            if commands.is_empty() {
                none();
                return Ok(());
            }
            println!("----  ID  ---- + ----         Name         ---- + --- Last Updated ---");
            for command in commands {
                println!(
                    "{:14}   {}   {}",
                    command.id.0,
                    column(&command.action.name, 30),
                    rfc3339(&command.finishtime)
                );
            }
        }
        "investigator" => {
            let investigators: Vec<Investigator> =
                client.search(&query, "investigator").map_err(fail)?;
            if investigators.is_empty() {
                none();
                return Ok(());
            }
            println!(
                "- ID - + ----         Name         ---- + --- Status --- + --- Permissions ---"
            );
            for inv in investigators {
                println!(
                    "{:6}   {}   {} {}",
                    inv.id.0,
                    column(&inv.name, 30),
                    column(inv.status.as_str(), 16),
                    describe_permissions(inv.permissions)
                );
            }
        }
        "manifest" => {
            let manifests: Vec<ManifestRecord> = client.search(&query, "manifest").map_err(fail)?;
            if manifests.is_empty() {
                none();
                return Ok(());
            }
            println!(
                "- ID - + ----      Name      ---- + -- Status -- + -------------- Target -------- + ---- Timestamp ---"
            );
            for manifest in manifests {
                println!(
                    "{:6}   {}   {}   {}   {}",
                    manifest.id.0,
                    column(&manifest.name, 24),
                    column(&manifest.status, 12),
                    column(&manifest.target, 30),
                    rfc3339(&manifest.timestamp)
                );
            }
        }
        _ => {
            let loaders: Vec<LoaderEntry> = client.search(&query, "loader").map_err(fail)?;
            if loaders.is_empty() {
                none();
                return Ok(());
            }
            println!(
                "- ID - + ----      Name      ---- + ----   Agent Name   ---- + -- Enabled - + -- Last Used ---"
            );
            for loader in loaders {
                println!(
                    "{:6}   {}   {}   {}   {}",
                    loader.id.0,
                    column(&loader.name, 24),
                    column(&loader.agentname, 24),
                    column(&loader.enabled.to_string(), 12),
                    rfc3339(&loader.lastseen)
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn words(line: &str) -> Vec<&str> {
        line.split(' ').collect()
    }

    #[test]
    fn parses_keys_and_names() {
        let line = "search agent where name=vm and status=online";
        let p = parse_search(line, &words(line)).unwrap();
        let query = p.query_string();
        assert!(query.starts_with("type=agent&after="), "{query}");
        assert!(
            query.ends_with("&agentname=vm&limit=100&status=online"),
            "{query}"
        );
        let line = "search action where name=%passwd% limit=3";
        let p = parse_search(line, &words(line)).unwrap();
        assert!(
            p.query_string()
                .ends_with("&actionname=%25passwd%25&limit=3"),
            "{}",
            p.query_string()
        );
    }

    #[test]
    fn errors_as_the_original() {
        let line = "search agent where version=2024%";
        assert_eq!(
            parse_search(line, &words(line)).unwrap_err(),
            "parseSearchQuery() -> Unknown search key 'version'"
        );
        let line = "search bogus where name=x";
        assert_eq!(
            parse_search(line, &words(line)).unwrap_err(),
            "Invalid search 'search bogus where name=x'. Try `search help`.\n"
        );
        let line = "search agent with name=x";
        assert_eq!(
            parse_search(line, &words(line)).unwrap_err(),
            "Expected keyword 'where' after search type. Got 'with'"
        );
        let line = "search agent where";
        assert_eq!(
            parse_search(line, &words(line)).unwrap_err(),
            "Invalid search syntax. try `search help`."
        );
    }
}
