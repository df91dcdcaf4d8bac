//! Printing an action's results (`PrintActionResults`, clients.md §1.7) in
//! the original's text form, or as NDJSON or CSV (`mig -render`).

use std::io::Write;

use mig_modules::ModuleName;
use mig_protocol::{Command, ModuleResult};
use serde::Serialize;

use crate::client::{Client, ClientResult, CommandFilter};

/// Which results to print (`-show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    Found,
    NotFound,
    All,
}

impl Show {
    /// `found`, `notfound` or `all`; anything else is `invalid parameter '<x>'`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "found" => Ok(Show::Found),
            "notfound" => Ok(Show::NotFound),
            "all" => Ok(Show::All),
            other => Err(format!("invalid parameter '{other}'")),
        }
    }

    /// The word printed in `N agents have <show> results`.
    pub fn as_str(self) -> &'static str {
        match self {
            Show::Found => "found",
            Show::NotFound => "notfound",
            Show::All => "all",
        }
    }
}

/// How results are written on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// The original's lines, `<agent> <line>`.
    Text,
    /// One JSON object per module result and line of output (NDJSON).
    Json,
    /// `agent,agentid,commandid,status,module,foundanything,line`, with a header.
    Csv,
}

impl Render {
    /// `text`, `json` or `csv`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "text" => Ok(Render::Text),
            "json" => Ok(Render::Json),
            "csv" => Ok(Render::Csv),
            other => Err(format!(
                "invalid value '{other}' for -render: use text, json or csv"
            )),
        }
    }
}

/// One module result as `-render json` writes it.
#[derive(Serialize)]
struct JsonResult<'a> {
    agent: &'a str,
    agentid: u64,
    commandid: u64,
    actionid: u64,
    status: &'a str,
    operation: usize,
    module: &'a str,
    foundanything: bool,
    success: bool,
    lines: &'a [String],
    elements: &'a serde_json::Value,
    statistics: &'a serde_json::Value,
    errors: &'a [String],
}

/// One command without usable results, as `-render json` writes it.
#[derive(Serialize)]
struct JsonStatus<'a> {
    agent: &'a str,
    agentid: u64,
    commandid: u64,
    actionid: u64,
    status: &'a str,
}

/// Writes command results in one of the [`Render`] forms.
pub struct ResultPrinter<'a> {
    render: Render,
    stdout: &'a mut dyn Write,
    stderr: &'a mut dyn Write,
    csv_header: bool,
}

/// The printed lines of one module result: `Err` is the `[error] …` message.
pub fn module_lines(
    module: &str,
    result: &ModuleResult,
    found_only: bool,
) -> Result<Vec<String>, String> {
    let Some(name) = ModuleName::from_name(module) else {
        return Err(format!("unknown module '{module}'"));
    };
    mig_modules::print_result(name, result, found_only)
}

impl<'a> ResultPrinter<'a> {
    /// A printer writing results on `stdout` and diagnostics on `stderr`.
    pub fn new(render: Render, stdout: &'a mut dyn Write, stderr: &'a mut dyn Write) -> Self {
        Self {
            render,
            stdout,
            stderr,
            csv_header: false,
        }
    }

    /// Writes a line on stderr.
    pub fn note(&mut self, line: &str) {
        let _ = writeln!(self.stderr, "{line}");
    }

    /// `PrintCommandResults(cmd, onlyFound, showAgent)`.
    pub fn command(&mut self, cmd: &Command, only_found: bool, show_agent: bool) {
        let prefix = if show_agent {
            format!("{} ", cmd.agent.name)
        } else {
            String::new()
        };
        let status = cmd.status.as_str();
        if status != "success" {
            if !only_found {
                let _ = writeln!(
                    self.stderr,
                    "{prefix}command did not succeed. status={status}"
                );
                if self.render == Render::Json {
                    self.json_line(&JsonStatus {
                        agent: &cmd.agent.name,
                        agentid: cmd.agent.id.0,
                        commandid: cmd.id.0,
                        actionid: cmd.action.id.0,
                        status,
                    });
                }
            }
            return;
        }
        let operations = cmd.action.operations();
        for (index, result) in cmd.results.as_deref().unwrap_or(&[]).iter().enumerate() {
            let Some(operation) = operations.get(index) else {
                if !only_found {
                    let _ = writeln!(
                        self.stderr,
                        "{prefix}[error] operation {index} did not return results"
                    );
                }
                continue;
            };
            let lines = match module_lines(&operation.module, result, only_found) {
                Ok(lines) => lines,
                Err(message) => {
                    let _ = writeln!(self.stderr, "{prefix}[error] {message}");
                    continue;
                }
            };
            match self.render {
                Render::Text => {
                    for line in &lines {
                        let _ = writeln!(self.stdout, "{prefix}{line}");
                    }
                }
                Render::Json => self.json_line(&JsonResult {
                    agent: &cmd.agent.name,
                    agentid: cmd.agent.id.0,
                    commandid: cmd.id.0,
                    actionid: cmd.action.id.0,
                    status,
                    operation: index,
                    module: &operation.module,
                    foundanything: result.foundanything,
                    success: result.success,
                    lines: &lines,
                    elements: &result.elements,
                    statistics: &result.statistics,
                    errors: result.errors.as_deref().unwrap_or(&[]),
                }),
                Render::Csv => {
                    for line in &lines {
                        self.csv_row(cmd, &operation.module, result.foundanything, line);
                    }
                }
            }
        }
        if !only_found && self.render == Render::Text {
            let _ = writeln!(self.stdout, "{prefix}command {status}");
        }
    }

    fn json_line<T: Serialize>(&mut self, value: &T) {
        let _ = writeln!(self.stdout, "{}", mig_protocol::gojson::to_string(value));
    }

    fn csv_row(&mut self, cmd: &Command, module: &str, found: bool, line: &str) {
        if !self.csv_header {
            let _ = writeln!(
                self.stdout,
                "agent,agentid,commandid,status,module,foundanything,line"
            );
            self.csv_header = true;
        }
        let _ = writeln!(
            self.stdout,
            "{},{},{},{},{},{},{}",
            csv_field(&cmd.agent.name),
            cmd.agent.id.0,
            cmd.id.0,
            csv_field(cmd.status.as_str()),
            csv_field(module),
            found,
            csv_field(line)
        );
    }
}

/// RFC 4180 quoting when needed.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// `PrintActionResults(action, show)`: pages through the action's commands
/// (filtered by `show`), prints each, then the count and, unless `show` is
/// `all`, the agents whose command ended cancelled, expired, failed or timed out.
pub fn print_action_results(
    client: &Client,
    action_id: u64,
    show: Show,
    printer: &mut ResultPrinter<'_>,
) -> ClientResult<usize> {
    let filter = match show {
        Show::Found => CommandFilter::Found(true),
        Show::NotFound => CommandFilter::Found(false),
        Show::All => CommandFilter::All,
    };
    let mut count = 0;
    let mut offset = 0;
    loop {
        let page = client.action_commands_page(action_id, offset, filter)?;
        if page.is_empty() {
            break;
        }
        offset += page.len();
        for cmd in &page {
            printer.command(cmd, show == Show::Found, true);
            count += 1;
        }
    }
    let verb = if count > 1 {
        "agents have"
    } else {
        "agent has"
    };
    printer.note(&format!(
        "\x1b[31m{count} {verb} {} results\x1b[0m",
        show.as_str()
    ));
    if show != Show::All {
        for status in ["cancelled", "expired", "failed", "timeout"] {
            let commands = client.action_commands(action_id, CommandFilter::Status(status))?;
            if !commands.is_empty() {
                let names: Vec<&str> = commands.iter().map(|cmd| cmd.agent.name.as_str()).collect();
                printer.note(&format!("\x1b[35m{status}: {}\x1b[0m", names.join(", ")));
            }
        }
    }
    Ok(count)
}
