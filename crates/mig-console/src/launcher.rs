//! The action launcher, `launcher>` (clients.md §3.10).

use std::sync::atomic::AtomicBool;

use mig_client::follow::{FollowOptions, follow_action};
use mig_modules::ModuleName;
use mig_protocol::{Action, Agent, GoTime, Operation, gojson};

use crate::fmt::{go_time, indent_json};
use crate::modes::{Flow, action_json, mode_loop};
use crate::{Console, YELLOW, prompt};

const WORDS: &[&str] = &[
    "addoperation ",
    "compress false",
    "compress true",
    "deloperation ",
    "details",
    "exit",
    "help",
    "json",
    "json pack",
    "launch",
    "launch nofollow",
    "listagents",
    "load ",
    "setname ",
    "settarget ",
    "settimes ",
    "settimes now ",
    "sign",
    "times",
];

const HELP: &str = "The following orders are available:
addoperation <module> [flags]   append a new operation of type <module> to the action operations;
                                the module's flags (as `mig <module>` takes them) are given on the
                                line or asked for
compress <true|false>           request parameters compression in operations stored in action
deloperation <opnum>            remove operation numbered <opnum> (0-based) from list of operations
details                         display the action details
exit                            exit this mode
help                            show this help
json <pack>                     show the json of the action, compact if <pack> is set
launch <nofollow>               launch the action. to return before completion, add \"nofollow\"
listagents                      list agents targetted by an action
load <path>                     load an action from a file at <path>
setname <name>                  set the name of the action
settarget <target>              set the target
settimes <start> <stop>         set the validity and expiration dates (RFC 3339)
settimes now <duration>         valid from now (minus 60s) for <duration> (e.g. 10m)
sign                            sign the action and add it to the list of signatures
times                           show the various timestamps of the action";

/// Enters the launcher with `action` as the template; after a launch, the
/// action reader of the new action.
pub fn launcher(console: &mut Console, template: Action) -> Result<(), String> {
    println!(
        "Entering action launcher with template '{}'.\nType {}exit{} or press {}ctrl+d{} to leave. {}help{} may help.",
        template.name,
        crate::GREEN,
        crate::RESET,
        crate::GREEN,
        crate::RESET,
        crate::GREEN,
        crate::RESET
    );
    let mut state = Launcher {
        action: template,
        agents: None,
        signed: false,
        launched: None,
    };
    let prompt = prompt(YELLOW, "launcher>");
    mode_loop(
        console,
        &prompt,
        WORDS,
        "action launcher",
        |console, line, words| state.order(console, line, words),
    );
    if let Some(id) = state.launched {
        crate::modes::action_reader(console, id)?;
    }
    Ok(())
}

struct Launcher {
    action: Action,
    /// The agents the target was evaluated to.
    agents: Option<Vec<Agent>>,
    signed: bool,
    launched: Option<u64>,
}

fn rest_of(line: &str, words: usize) -> String {
    line.split(' ')
        .filter(|word| !word.is_empty())
        .skip(words)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Launcher {
    fn unsign(&mut self) {
        if self.signed {
            self.action.pgpsignatures = None;
            self.signed = false;
            println!("(the action changed: its signatures were removed)");
        }
    }

    fn order(
        &mut self,
        console: &mut Console,
        line: &str,
        words: &[&str],
    ) -> Result<Option<Flow>, String> {
        match words[0] {
            "addoperation" => {
                let Some(module) = words.get(1) else {
                    return Err("error: missing module in 'addoperation <module>'".to_owned());
                };
                let parser = ModuleName::from_name(module).and_then(ModuleName::params_parser);
                let Some(parser) = parser else {
                    return Err(format!(
                        "module '{module}' has no parameter creator: write the action's JSON and use `load`"
                    ));
                };
                let mut args: Vec<String> = words[2..].iter().map(|w| (*w).to_owned()).collect();
                if args.is_empty() {
                    println!(
                        "Enter the {module} module's flags as `mig {module}` takes them (`help` lists them)."
                    );
                    let Some(answer) = console.read(&format!("{module} flags> "), &[]) else {
                        return Ok(Some(Flow::Stay));
                    };
                    args = answer.split_whitespace().map(str::to_owned).collect();
                }
                let mut stdout = std::io::stdout().lock();
                let mut stderr = std::io::stderr().lock();
                let parameters = match parser(&args, &mut stdout, &mut stderr) {
                    Ok(Some(json)) => json,
                    Ok(None) => return Ok(Some(Flow::Stay)),
                    Err(message) => return Err(format!("error: {message}")),
                };
                drop(stdout);
                drop(stderr);
                let value = gojson::parse_value(parameters.as_bytes())
                    .map_err(|err| format!("invalid parameters: {err}"))?;
                println!(
                    "Inserting {module} operation with parameters:\n{}",
                    indent_json(&parameters, "  ")
                );
                self.unsign();
                self.action
                    .operations
                    .get_or_insert_with(Vec::new)
                    .push(Operation::new(*module, value));
            }
            "deloperation" => {
                let index: usize = words
                    .get(1)
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| "error: usage is 'deloperation <opnum>'".to_owned())?;
                let operations = self.action.operations.get_or_insert_with(Vec::new);
                if index >= operations.len() {
                    return Err(format!(
                        "error: no operation {index} (the action has {})",
                        operations.len()
                    ));
                }
                operations.remove(index);
                self.unsign();
                println!("Operation {index} removed");
            }
            "compress" => {
                let want = match words.get(1) {
                    Some(&"true") => true,
                    Some(&"false") => false,
                    _ => return Err("error: usage is 'compress <true|false>'".to_owned()),
                };
                for operation in self.action.operations.get_or_insert_with(Vec::new) {
                    operation.want_compressed = want;
                    if !want && operation.is_compressed {
                        operation.parameters = operation.decompressed_parameters()?;
                        operation.is_compressed = false;
                    }
                }
                if !want {
                    self.unsign();
                }
            }
            "setname" => {
                self.action.name = rest_of(line, 1);
                self.unsign();
                println!("Name set to '{}'", self.action.name);
            }
            "settarget" => {
                let target = rest_of(line, 1);
                self.action.target = console.migrc.expand_target(&target).to_owned();
                self.unsign();
                let agents = console
                    .client
                    .evaluate_agent_target(&self.action.target)
                    .map_err(|err| err.to_string())?;
                println!(
                    "{} agents will be targetted. To get the list, use 'listagents'",
                    agents.len()
                );
                self.agents = Some(agents);
            }
            "listagents" => {
                let Some(agents) = &self.agents else {
                    return Err("error: set a target first with 'settarget'".to_owned());
                };
                println!("----    ID      ---- + ----         Name         -------");
                for agent in agents {
                    println!("{:20}   {}", agent.id.0, agent.name);
                }
            }
            "settimes" => {
                match words.get(1..) {
                    Some(["now", duration]) => {
                        let nanos = mig_modules::duration::parse_go_duration(duration)
                            .map_err(|err| format!("invalid duration '{duration}': {err}"))?;
                        let validfrom = chrono::Utc::now() - chrono::Duration::seconds(60);
                        let span =
                            chrono::Duration::nanoseconds(i64::try_from(nanos).unwrap_or(i64::MAX));
                        self.action.validfrom = GoTime::from(validfrom);
                        self.action.expireafter =
                            GoTime::from(validfrom + span + chrono::Duration::seconds(60));
                    }
                    Some([start, stop]) => {
                        let parse = |text: &str| {
                            GoTime::parse(text).map_err(|_| {
                                format!("invalid time '{text}': RFC 3339 expected, ex: 2015-09-23T14:14:16Z")
                            })
                        };
                        self.action.validfrom = parse(start)?;
                        self.action.expireafter = parse(stop)?;
                    }
                    _ => {
                        return Err(
                            "error: usage is 'settimes <start> <stop>' or 'settimes now <duration>'"
                                .to_owned(),
                        );
                    }
                }
                self.unsign();
                self.print_times();
            }
            "times" => self.print_times(),
            "details" => {
                let modules: String = self
                    .action
                    .operations()
                    .iter()
                    .map(|op| format!("{}; ", op.module))
                    .collect();
                println!(
                    "ID       {}\nName     {}\nTarget   {}\nAuthor   {} <{}>\nRevision {:.0}\nURL      {}\nThreat Type {}, Level {}, Family {}, Reference {}\nOperations: {} -> {modules}\nSignatures: {}",
                    self.action.id.0,
                    self.action.name,
                    self.action.target,
                    self.action.description.author,
                    self.action.description.email,
                    self.action.description.revision,
                    self.action.description.url,
                    self.action.threat.kind,
                    self.action.threat.level,
                    self.action.threat.family,
                    self.action.threat.reference,
                    self.action.operations().len(),
                    self.action.signatures().len()
                );
            }
            "json" => {
                if words.get(1) == Some(&"pack") {
                    println!("{}", self.action.to_json());
                } else {
                    println!("{}", action_json(&self.action));
                }
            }
            "load" => {
                let Some(path) = words.get(1) else {
                    return Err("error: missing path in 'load <path>'".to_owned());
                };
                let bytes =
                    std::fs::read(path).map_err(|err| format!("cannot read {path}: {err}"))?;
                self.action = Action::from_json(&bytes)
                    .map_err(|err| format!("{path} is not an action: {err}"))?;
                self.signed = !self.action.signatures().is_empty();
                self.agents = None;
                println!("Loaded action '{}' from {path}", self.action.name);
            }
            "sign" => {
                if self.action.validfrom.is_zero() || self.action.expireafter.is_zero() {
                    return Err("Times must be set prior to signing".to_owned());
                }
                console
                    .client
                    .sign_action(&mut self.action)
                    .map_err(|err| err.to_string())?;
                self.signed = true;
                println!("Action signed");
            }
            "launch" => {
                let follow = words.get(1) != Some(&"nofollow");
                return self.launch(console, follow).map(Some);
            }
            "help" => println!("{HELP}"),
            _ => return Ok(None),
        }
        Ok(Some(Flow::Stay))
    }

    fn print_times(&self) {
        println!(
            "Valid from   '{}'\nExpire after '{}'",
            go_time(&self.action.validfrom),
            go_time(&self.action.expireafter)
        );
    }

    fn launch(&mut self, console: &mut Console, follow: bool) -> Result<Flow, String> {
        if self.action.name.is_empty() {
            return Err("Action has no name. Define one using 'setname <name>'".to_owned());
        }
        if self.action.target.is_empty() {
            return Err("Action has no target. Define one using 'settarget <target>'".to_owned());
        }
        if self.agents.is_none() {
            let agents = console
                .client
                .evaluate_agent_target(&self.action.target)
                .map_err(|err| err.to_string())?;
            if agents.is_empty() {
                println!("0 agents match this target. launch aborted");
                return Ok(Flow::Stay);
            }
            println!(
                "{} agents will be targeted by search \"{}\"",
                agents.len(),
                self.action.target
            );
            let answer = console.ask("continue? (y/n)> ");
            if answer.as_deref() != Some("y") {
                println!("launch aborted");
                return Ok(Flow::Stay);
            }
            self.agents = Some(agents);
        }
        if self.action.validfrom.is_zero() || self.action.expireafter.is_zero() {
            println!("Times are not defined. Setting validity from now until +300s");
            let validfrom = chrono::Utc::now() - chrono::Duration::seconds(60);
            self.action.validfrom = GoTime::from(validfrom);
            self.action.expireafter = GoTime::from(validfrom + chrono::Duration::seconds(360));
            self.unsign();
        }
        if !self.signed {
            console
                .client
                .sign_action(&mut self.action)
                .map_err(|err| err.to_string())?;
            self.signed = true;
        }
        let created = console
            .client
            .post_action(&self.action)
            .map_err(|err| err.to_string())?;
        println!(
            "Action '{}' successfully launched with ID '{}' on target '{}'",
            created.name, created.id.0, created.target
        );
        if follow {
            let targeted = self.agents.as_ref().map_or(0, Vec::len);
            let stop = AtomicBool::new(false);
            let options = FollowOptions {
                terminal: crate::term::stdin_is_terminal(),
                ..FollowOptions::default()
            };
            let mut stderr = std::io::stderr().lock();
            follow_action(
                &console.client,
                &created,
                targeted,
                &stop,
                &options,
                &mut stderr,
            )
            .map_err(|err| err.to_string())?;
        }
        self.launched = Some(created.id.0);
        Ok(Flow::Leave)
    }
}
