//! The reader modes: action (§3.3), agent (§3.4), command (§3.5) and
//! investigator (§3.6).

use std::io::Write;

use mig_client::ClientError;
use mig_client::print::{Render, ResultPrinter, Show, print_action_results};
use mig_protocol::{Action, Agent, Command, Investigator, Permissions, gojson};

use crate::fmt::{
    column, describe_permissions, go_duration_between, go_time, indent_json, rfc3339,
};
use crate::{BLUE, CYAN, Console, GREEN, MAGENTA, RED, RESET, log_error, parse_id, prompt};

/// What an order asks of its mode's loop.
pub enum Flow {
    Stay,
    /// Leave the mode (back to the caller).
    Leave,
}

/// `Entering <what> mode. Type exit or press ctrl+d to leave. help may help.`
pub fn entering(what: &str) {
    println!(
        "Entering {what} mode. Type {GREEN}exit{RESET} or press {GREEN}ctrl+d{RESET} to leave. {GREEN}help{RESET} may help."
    );
}

/// The loop of a sub-mode: reads orders at `prompt`, `exit` or ctrl+d
/// leaves, unknown orders are reported as in the original.
pub fn mode_loop(
    console: &mut Console,
    prompt: &str,
    words: &'static [&'static str],
    mode: &str,
    mut order: impl FnMut(&mut Console, &str, &[&str]) -> Result<Option<Flow>, String>,
) {
    loop {
        let Some(line) = console.read(prompt, words) else {
            println!();
            return;
        };
        let line = line.trim().to_owned();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split(' ').filter(|word| !word.is_empty()).collect();
        if words[0] == "exit" {
            println!("exit");
            return;
        }
        console.input.remember(&line);
        match order(console, &line, &words) {
            Ok(Some(Flow::Stay)) => {}
            Ok(Some(Flow::Leave)) => return,
            Ok(None) => println!(
                "Unknown order '{}'. You are in {mode} mode. Try `help`.",
                words[0]
            ),
            Err(message) => log_error(message),
        }
    }
}

fn err_string(err: ClientError) -> String {
    err.to_string()
}

const ACTION_WORDS: &[&str] = &[
    "command ",
    "copy",
    "counters",
    "details",
    "exit",
    "help",
    "investigators",
    "json",
    "list",
    "list all",
    "list found",
    "list notfound",
    "r",
    "results",
    "results all",
    "results found",
    "results notfound",
    "times",
];

fn counters_to_stderr(action: &Action) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", mig_client::follow::counters_line(action));
}

/// `action <id>`: the action reader.
pub fn action_reader(console: &mut Console, id: u64) -> Result<(), String> {
    let mut action = console.client.get_action(id).map_err(err_string)?;
    entering("action reader");
    println!(
        "Action: '{}'.\nLaunched by '{}' on '{}'.\nStatus '{}'.",
        action.name,
        column(&crate::fmt::investigator_names(&action.investigators), 80),
        go_time(&action.starttime),
        action.status.as_str()
    );
    counters_to_stderr(&action);
    let prompt = prompt(RED, &format!("action {}>", id % 1000));
    let mut copy: Option<Action> = None;
    mode_loop(
        console,
        &prompt,
        ACTION_WORDS,
        "action reader",
        |console, line, words| {
            match words[0] {
                "command" => {
                    let Some(text) = words.get(1) else {
                        return Err("error: missing command id in 'command <id>'".to_owned());
                    };
                    command_reader(console, parse_id(text, "command")?)?;
                }
                "copy" => {
                    copy = Some(Action {
                        name: action.name.clone(),
                        target: action.target.clone(),
                        description: action.description.clone(),
                        threat: action.threat.clone(),
                        operations: action.operations.clone(),
                        ..Action::default()
                    });
                    return Ok(Some(Flow::Leave));
                }
                "counters" => {
                    action = console.client.get_action(id).map_err(err_string)?;
                    counters_to_stderr(&action);
                }
                "details" => {
                    action = console.client.get_action(id).map_err(err_string)?;
                    print_action_details(&action);
                }
                "help" => println!("{}", include_str!("help/action.txt")),
                "investigators" => {
                    for inv in &action.investigators {
                        println!("{} - Key ID: {}", inv.name, inv.pgpfingerprint);
                    }
                }
                "json" => println!("{}", action_json(&action)),
                "list" => list_commands(console, id, line)?,
                "r" => {
                    action = console.client.get_action(id).map_err(err_string)?;
                    println!("reloaded");
                }
                "results" => {
                    let show = match words.get(1) {
                        None => Show::All,
                        Some(word) => Show::parse(word)?,
                    };
                    let mut stdout = std::io::stdout().lock();
                    let mut stderr = std::io::stderr().lock();
                    let mut printer = ResultPrinter::new(Render::Text, &mut stdout, &mut stderr);
                    print_action_results(&console.client, id, show, &mut printer)
                        .map_err(err_string)?;
                }
                "times" => {
                    println!(
                        "Valid from   '{}' until '{}'\nStarted on   '{}'\nLast updated '{}'\nFinished on  '{}'",
                        go_time(&action.validfrom),
                        go_time(&action.expireafter),
                        go_time(&action.starttime),
                        go_time(&action.lastupdatetime),
                        go_time(&action.finishtime)
                    );
                }
                _ => return Ok(None),
            }
            Ok(Some(Flow::Stay))
        },
    );
    if let Some(template) = copy {
        crate::launcher::launcher(console, template)?;
    }
    Ok(())
}

/// The action's JSON, 2-space indented, compressed parameters shown
/// decompressed (`is_compressed` stays true).
pub fn action_json(action: &Action) -> String {
    let mut shown = action.clone();
    if let Some(operations) = shown.operations.as_mut() {
        for operation in operations.iter_mut() {
            if operation.is_compressed
                && let Ok(parameters) = operation.decompressed_parameters()
            {
                operation.parameters = parameters;
            }
        }
    }
    indent_json(&shown.to_json(), "  ")
}

/// `details` of the action reader.
pub fn print_action_details(a: &Action) {
    let c = &a.counters;
    let mut out = String::new();
    out.push_str(&format!("\nID             {}\n", a.id.0));
    out.push_str(&format!("Name           {}\n", a.name));
    out.push_str(&format!("Target         {}\n", a.target));
    out.push_str(&format!(
        "Desc           author '{} <{}>'; revision '{:.0}';\n               url '{}'\n",
        a.description.author, a.description.email, a.description.revision, a.description.url
    ));
    out.push_str(&format!(
        "Threat         type '{}'; level '{}'; family '{}'; reference '{}'\n",
        a.threat.kind, a.threat.level, a.threat.family, a.threat.reference
    ));
    out.push_str(&format!("Status         {}\n", a.status.as_str()));
    out.push_str(&format!(
        "Times          valid from {} until {}\n               started {}; last updated {}; finished {}\n               duration: {}\n",
        go_time(&a.validfrom),
        go_time(&a.expireafter),
        go_time(&a.starttime),
        go_time(&a.lastupdatetime),
        go_time(&a.finishtime),
        go_duration_between(&a.starttime, &a.lastupdatetime)
    ));
    for (index, inv) in a.investigators.iter().enumerate() {
        let label = if index == 0 {
            "Investigators  "
        } else {
            "               "
        };
        out.push_str(&format!(
            "{label}{} - keyid: {}\n",
            inv.name, inv.pgpfingerprint
        ));
    }
    let operations: String = a
        .operations()
        .iter()
        .map(|op| format!("{}; ", op.module))
        .collect();
    out.push_str(&format!(
        "Operations     count={} => {operations}\n",
        a.operations().len()
    ));
    out.push_str(&format!(
        "Counters       sent={}; done={}; in flight={}\n               success={}; cancelled={}; expired={}; failed={}; timeout={}",
        c.sent, c.done, c.inflight, c.success, c.cancelled, c.expired, c.failed, c.timeout
    ));
    println!("{out}");
}

/// `list [all|found|notfound] [| grep [-v] <re> …]`.
fn list_commands(console: &Console, id: u64, line: &str) -> Result<(), String> {
    let mut stages = line.split('|');
    let head: Vec<&str> = stages
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let show = match head.get(1) {
        None => Show::All,
        Some(word) => Show::parse(word)?,
    };
    let mut filters = Vec::new();
    for stage in stages {
        let words: Vec<&str> = stage.split_whitespace().collect();
        let (invert, pattern) = match words.as_slice() {
            ["grep", "-v", pattern @ ..] if !pattern.is_empty() => (true, pattern.join(" ")),
            ["grep", pattern @ ..] if !pattern.is_empty() => (false, pattern.join(" ")),
            _ => {
                return Err(format!(
                    "invalid filter '{}': use '| grep [-v] <regex>'",
                    stage.trim()
                ));
            }
        };
        let regex = regex::Regex::new(&pattern)
            .map_err(|err| format!("invalid filter regex '{pattern}': {err}"))?;
        filters.push((invert, regex));
    }
    let found = match show {
        Show::All => String::new(),
        Show::Found => "&foundanything=true".to_owned(),
        Show::NotFound => "&foundanything=false".to_owned(),
    };
    let mut commands: Vec<Command> = Vec::new();
    loop {
        let query = format!(
            "type=command&actionid={id}{found}&limit=50&offset={}",
            commands.len()
        );
        print!(".");
        let _ = std::io::stdout().flush();
        let page: Vec<Command> = console
            .client
            .search(&query, "command")
            .map_err(err_string)?;
        if page.is_empty() {
            break;
        }
        commands.extend(page);
    }
    println!();
    println!("---- Command ID ----    ---- Agent Name & ID----");
    let mut count = 0;
    for cmd in &commands {
        let row = format!("{:20}    {} [{}]", cmd.id.0, cmd.agent.name, cmd.agent.id.0);
        if filters
            .iter()
            .all(|(invert, regex)| regex.is_match(&row) != *invert)
        {
            println!("{row}");
            count += 1;
        }
    }
    let what = match show {
        Show::All => "have returned",
        Show::Found => "have found things",
        Show::NotFound => "have found nothing",
    };
    println!("{count} agents {what}");
    Ok(())
}

const AGENT_WORDS: &[&str] = &[
    "details",
    "exit",
    "help",
    "json",
    "json pretty",
    "lastactions",
    "r",
];

/// `agent <id>`: the agent reader.
pub fn agent_reader(console: &mut Console, id: u64) -> Result<(), String> {
    let mut agent = console.client.get_agent(id).map_err(err_string)?;
    entering("agent reader");
    println!("Agent {} named '{}'", agent.id.0, agent.name);
    let prompt = prompt(BLUE, &format!("agent {}>", id % 1000));
    mode_loop(
        console,
        &prompt,
        AGENT_WORDS,
        "agent reader",
        |console, _line, words| {
            match words[0] {
                "details" => {
                    agent = console.client.get_agent(id).map_err(err_string)?;
                    print_agent_details(&agent);
                }
                "help" => println!("{}", include_str!("help/agent.txt")),
                "json" => {
                    let compact = gojson::to_string(&agent);
                    if words.get(1) == Some(&"pretty") {
                        println!("{}", indent_json(&compact, "  "));
                    } else {
                        println!("{compact}");
                    }
                }
                "lastactions" => {
                    let limit = limit_arg(words)?;
                    let commands: Vec<Command> = console
                        .client
                        .search(
                            &format!("type=command&agentid={id}&limit={limit}"),
                            "command",
                        )
                        .map_err(err_string)?;
                    println!(
                        "-------  ID  ------- + --------    Action Name ------- + ----    Date    ---- +  -- Status --"
                    );
                    for cmd in commands {
                        println!(
                            "{:20}     {}   {}    {}",
                            cmd.id.0,
                            column(&cmd.action.name, 30),
                            rfc3339(&cmd.starttime),
                            cmd.status.as_str()
                        );
                    }
                }
                "r" => {
                    agent = console.client.get_agent(id).map_err(err_string)?;
                    println!("Reload succeeded");
                }
                _ => return Ok(None),
            }
            Ok(Some(Flow::Stay))
        },
    );
    Ok(())
}

fn limit_arg(words: &[&str]) -> Result<u64, String> {
    match words.get(1) {
        None => Ok(10),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|limit| *limit > 0)
            .ok_or_else(|| format!("invalid limit '{text}': a positive integer")),
    }
}

/// `details` of the agent reader.
pub fn print_agent_details(agent: &Agent) {
    let now = mig_protocol::GoTime::now();
    println!(
        "Agent ID {}\nname       {}\nlast seen  {} ago\nversion    {}\nmode       {}\nlocation   {}\nplatform   {} {}\npid        {}\nstarttime  {}\nstatus     {}\nenvironment {}\ntags {}",
        agent.id.0,
        agent.name,
        go_duration_between(&agent.heartbeatts, &now),
        agent.version,
        agent.mode,
        agent.queueloc,
        agent.environment.os,
        agent.environment.arch,
        agent.pid,
        go_time(&agent.starttime),
        agent.status.as_str(),
        indent_json(&gojson::to_string(&agent.environment), "    "),
        indent_json(&gojson::to_string(&agent.tags), "    ")
    );
}

const COMMAND_WORDS: &[&str] = &["exit", "help", "json", "r", "results", "results found"];

const COMMAND_HELP: &str = "The following orders are available:
exit            exit this mode
help            show this help
json            show the json of the command
r               refresh the command (get latest version from upstream)
results <found> print the results. if \"found\" is set, only print results that have at least one found";

/// `command <id>`: the command reader.
pub fn command_reader(console: &mut Console, id: u64) -> Result<(), String> {
    let mut cmd = console.client.get_command(id).map_err(err_string)?;
    entering("command reader");
    println!(
        "Command {} ran on agent '{}' based on action '{}'",
        cmd.id.0, cmd.agent.name, cmd.action.name
    );
    let prompt = prompt(CYAN, &format!("command {}>", id % 1000));
    mode_loop(
        console,
        &prompt,
        COMMAND_WORDS,
        "command reader",
        |console, _line, words| {
            match words[0] {
                "help" => println!("{COMMAND_HELP}"),
                "json" => println!("{}", indent_json(&cmd.to_json(), "  ")),
                "r" => {
                    cmd = console.client.get_command(id).map_err(err_string)?;
                    println!("Reload succeeded");
                }
                "results" => {
                    let found = match words.get(1) {
                        None => false,
                        Some(&"found") => true,
                        Some(other) => return Err(format!("invalid parameter '{other}'")),
                    };
                    let mut stdout = std::io::stdout().lock();
                    let mut stderr = std::io::stderr().lock();
                    ResultPrinter::new(Render::Text, &mut stdout, &mut stderr)
                        .command(&cmd, found, false);
                }
                _ => return Ok(None),
            }
            Ok(Some(Flow::Stay))
        },
    );
    Ok(())
}

const INVESTIGATOR_WORDS: &[&str] = &[
    "apikey active",
    "apikey disabled",
    "details",
    "exit",
    "help",
    "lastactions",
    "pubkey",
    "r",
    "setperms",
    "setperms PermAdmin",
    "setperms PermLoader",
    "setperms PermManifest",
    "setstatus active",
    "setstatus disabled",
    "showperms",
];

/// `investigator <id>`: investigator mode.
pub fn investigator_reader(console: &mut Console, id: u64) -> Result<(), String> {
    let mut inv = console.client.get_investigator(id).map_err(err_string)?;
    entering("investigator");
    println!("Investigator {} named '{}'", inv.id.0, inv.name);
    let prompt = prompt(MAGENTA, &format!("inv {id}>"));
    mode_loop(
        console,
        &prompt,
        INVESTIGATOR_WORDS,
        "investigator",
        |console, _line, words| {
            match words[0] {
                "apikey" => {
                    let status = match words.get(1) {
                        Some(&"active") => "active",
                        Some(&"disabled") => "disabled",
                        _ => return Err("error: usage is 'apikey <active|disabled>'".to_owned()),
                    };
                    if status == "active" && !inv.apikey.is_empty() {
                        println!("investigator already has an assigned API key");
                        let answer = console.ask("generate new key? (y/n)> ");
                        if answer.as_deref() != Some("y") {
                            println!("aborted");
                            return Ok(Some(Flow::Stay));
                        }
                    }
                    let echo = console
                        .client
                        .post_investigator_update(id, "apikey", status)
                        .map_err(err_string)?;
                    if status == "active" && !echo.apikey.is_empty() {
                        println!("API key for investigator set to \"{}\"", echo.apikey);
                    } else {
                        println!("API key for investigator disabled");
                    }
                    inv = console.client.get_investigator(id).map_err(err_string)?;
                }
                "details" => {
                    inv = console.client.get_investigator(id).map_err(err_string)?;
                    print_investigator_details(&inv);
                }
                "help" => println!("{}", include_str!("help/investigator.txt")),
                "lastactions" => {
                    let limit = limit_arg(words)?;
                    let actions: Vec<Action> = console
                        .client
                        .search(
                            &format!("type=action&investigatorid={id}&limit={limit}"),
                            "action",
                        )
                        .map_err(err_string)?;
                    println!(
                        "----- ID ----- + --------    Action Name ------- + ----------- Target   ---------- + ----    Date    ---- +  -- Status --"
                    );
                    for action in actions {
                        println!(
                            "{}   {}   {}   {}    {}",
                            column(&action.id.0.to_string(), 14),
                            column(&action.name, 30),
                            column(&action.target, 30),
                            rfc3339(&action.starttime),
                            action.status.as_str()
                        );
                    }
                }
                "pubkey" => {
                    if inv.publickey.is_empty() {
                        println!("Investigator has no public key");
                    } else {
                        println!("{}", String::from_utf8_lossy(&inv.publickey).trim_end());
                    }
                }
                "r" => {
                    inv = console.client.get_investigator(id).map_err(err_string)?;
                    println!("Reload succeeded");
                }
                "setperms" => {
                    let mut permissions = Permissions::DEFAULT;
                    for name in &words[1..] {
                        let set = match *name {
                            "PermManifest" | "PermLoader" | "PermAdmin" => {
                                Permissions::from_set_name(name)
                            }
                            _ => None,
                        }
                        .ok_or_else(|| format!("invalid permission \"{name}\""))?;
                        permissions = permissions.union(set);
                    }
                    console
                        .client
                        .post_investigator_update(
                            id,
                            "permissions",
                            &gojson::to_string(&permissions),
                        )
                        .map_err(err_string)?;
                    println!(
                        "Investigator permissions set to {}",
                        describe_permissions(permissions)
                    );
                    inv = console.client.get_investigator(id).map_err(err_string)?;
                }
                "setstatus" => {
                    let status = match words.get(1) {
                        Some(&"active") => "active",
                        Some(&"disabled") => "disabled",
                        _ => {
                            return Err("error: usage is 'setstatus <active|disabled>'".to_owned());
                        }
                    };
                    console
                        .client
                        .post_investigator_update(id, "status", status)
                        .map_err(err_string)?;
                    println!("Investigator status set to {status}");
                    inv = console.client.get_investigator(id).map_err(err_string)?;
                }
                "showperms" => println!("PermManifest\nPermLoader\nPermAdmin"),
                _ => return Ok(None),
            }
            Ok(Some(Flow::Stay))
        },
    );
    Ok(())
}

/// `details` of investigator mode.
pub fn print_investigator_details(inv: &Investigator) {
    let key = if inv.pgpfingerprint.is_empty() {
        "No PGP key assigned".to_owned()
    } else {
        inv.pgpfingerprint.clone()
    };
    println!(
        "Investigator ID {}\nname           {}\nstatus         {}\npermissions    {}\nkey id         {}\ncreated        {}\nmodified       {}\napi key set    {}",
        inv.id.0,
        inv.name,
        inv.status.as_str(),
        describe_permissions(inv.permissions),
        key,
        go_time(&inv.createdat),
        go_time(&inv.lastmodified),
        !inv.apikey.is_empty()
    );
}
