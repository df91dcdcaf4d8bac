//! The closed set of modules compiled into this build.
//!
//! Adding a module: a folder implementing [`Module`], a variant here, and one
//! arm in [`with_module!`]; the compiler points at every other place.

use std::io::{BufRead, Write};

use mig_protocol::ModuleResult;
use mig_protocol::command::ModuleMessage;
use mig_protocol::gojson;

use crate::agentdestroy::AgentDestroy;
use crate::example::Example;
use crate::file::File;
use crate::memory::Memory;
use crate::netstat::Netstat;
use crate::persist::audit::Audit;
use crate::persist::dispatch::Dispatch;
use crate::persist::examplepersist::ExamplePersist;
use crate::persist::fswatch::Fswatch;
use crate::ping::Ping;
use crate::pkg::Pkg;
use crate::result::{Module, ModuleContext, TypedResult, typed_from_wire};
use crate::scribe::Scribe;
use crate::sshkey::Sshkey;
use crate::timedrift::Timedrift;
use crate::yara::Yara;

/// A module of this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleName {
    AgentDestroy,
    Audit,
    Dispatch,
    Example,
    ExamplePersist,
    File,
    Fswatch,
    Memory,
    Netstat,
    Ping,
    Pkg,
    Scribe,
    Sshkey,
    Timedrift,
    Yara,
}

/// Runs `$body` with `$module` bound to the module type of `$name`.
macro_rules! with_module {
    ($name:expr, $module:ident => $body:expr) => {
        match $name {
            ModuleName::AgentDestroy => {
                type $module = AgentDestroy;
                $body
            }
            ModuleName::Audit => {
                type $module = Audit;
                $body
            }
            ModuleName::Dispatch => {
                type $module = Dispatch;
                $body
            }
            ModuleName::Example => {
                type $module = Example;
                $body
            }
            ModuleName::ExamplePersist => {
                type $module = ExamplePersist;
                $body
            }
            ModuleName::File => {
                type $module = File;
                $body
            }
            ModuleName::Fswatch => {
                type $module = Fswatch;
                $body
            }
            ModuleName::Memory => {
                type $module = Memory;
                $body
            }
            ModuleName::Netstat => {
                type $module = Netstat;
                $body
            }
            ModuleName::Ping => {
                type $module = Ping;
                $body
            }
            ModuleName::Pkg => {
                type $module = Pkg;
                $body
            }
            ModuleName::Scribe => {
                type $module = Scribe;
                $body
            }
            ModuleName::Sshkey => {
                type $module = Sshkey;
                $body
            }
            ModuleName::Timedrift => {
                type $module = Timedrift;
                $body
            }
            ModuleName::Yara => {
                type $module = Yara;
                $body
            }
        }
    };
}

impl ModuleName {
    /// Every module of this build, as advertised in the agent's environment:
    /// the original's default pack (the persistent `fswatch` and `dispatch`
    /// and the reference `examplepersist` included), the optional `audit`
    /// (started by the agent only when `audit.cfg` exists), plus `example`
    /// with the `modexample` feature.
    pub const ALL: &'static [ModuleName] = &[
        ModuleName::AgentDestroy,
        ModuleName::Audit,
        ModuleName::Dispatch,
        ModuleName::ExamplePersist,
        ModuleName::File,
        ModuleName::Fswatch,
        ModuleName::Memory,
        ModuleName::Netstat,
        ModuleName::Ping,
        ModuleName::Pkg,
        ModuleName::Scribe,
        ModuleName::Sshkey,
        ModuleName::Timedrift,
        ModuleName::Yara,
        #[cfg(feature = "modexample")]
        ModuleName::Example,
    ];

    /// Every module compiled into this crate, whether or not the agent
    /// advertises it: what `mig` can print results of and build actions for,
    /// in the order of the original's `mig` usage (its modules first).
    pub const EVERY: &'static [ModuleName] = &[
        ModuleName::File,
        ModuleName::Netstat,
        ModuleName::Ping,
        ModuleName::Pkg,
        ModuleName::Timedrift,
        ModuleName::AgentDestroy,
        ModuleName::Fswatch,
        ModuleName::Scribe,
        ModuleName::Sshkey,
        ModuleName::Memory,
        ModuleName::Dispatch,
        ModuleName::ExamplePersist,
        ModuleName::Audit,
        ModuleName::Yara,
        ModuleName::Example,
    ];

    /// The module called `name` among [`ModuleName::EVERY`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::EVERY
            .iter()
            .copied()
            .find(|module| module.as_str() == name)
    }

    /// The module's `mig <module>` flag parser; `None` for a module without
    /// command-line support (`agentdestroy`, `example`).
    pub fn params_parser(self) -> Option<crate::cli::ParamsParser> {
        match self {
            ModuleName::AgentDestroy | ModuleName::Example => None,
            ModuleName::Audit | ModuleName::Dispatch | ModuleName::Fswatch => {
                Some(crate::persist::client::no_params)
            }
            ModuleName::ExamplePersist => Some(crate::persist::client::examplepersist_params),
            ModuleName::File => Some(crate::file::client::parse_params),
            ModuleName::Memory => Some(crate::memory::client::parse_params),
            ModuleName::Netstat => Some(crate::netstat::client::parse_params),
            ModuleName::Ping => Some(crate::ping::client::parse_params),
            ModuleName::Pkg => Some(crate::pkg::client::parse_params),
            ModuleName::Scribe => Some(crate::scribe::client::parse_params),
            ModuleName::Sshkey => Some(crate::sshkey::client::parse_params),
            ModuleName::Timedrift => Some(crate::timedrift::client::parse_params),
            ModuleName::Yara => Some(crate::yara::client::parse_params),
        }
    }

    /// The registry name.
    pub fn as_str(self) -> &'static str {
        with_module!(self, M => M::NAME)
    }

    /// The module called `name` (case-sensitive, as the original's registry).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|module| module.as_str() == name)
    }

    /// The names of every module of this build.
    pub fn names() -> Vec<String> {
        Self::ALL
            .iter()
            .map(|module| module.as_str().to_owned())
            .collect()
    }
}

fn run_typed<M: Module>(
    parameters: &serde_json::Value,
    context: &ModuleContext,
) -> TypedResult<M::Elements, M::Statistics> {
    let mut result = M::run(parameters, context);
    if context.extra_privacy {
        M::enhance_privacy(&mut result);
    }
    result
}

/// Runs a module in this process and returns its result JSON as the module
/// process prints it (struct field order, Go encoding).
pub fn run_module(
    name: ModuleName,
    parameters: &serde_json::Value,
    context: &ModuleContext,
) -> String {
    with_module!(name, M => gojson::to_string(&run_typed::<M>(parameters, context)))
}

/// The printed lines of a result as received from an agent (either key order).
pub fn print_result(
    name: ModuleName,
    result: &ModuleResult,
    found_only: bool,
) -> Result<Vec<String>, String> {
    with_module!(name, M => Ok(M::print(&typed_from_wire::<M>(result)?, found_only)))
}

/// Reads the one input message of a module process.
fn read_parameters(input: &mut dyn BufRead) -> Result<(serde_json::Value, String), String> {
    let mut line = Vec::new();
    input
        .read_until(b'\n', &mut line)
        .map_err(|err| format!("ReadInputParameters() -> ReadInput() -> {err}"))?;
    let message: ModuleMessage = gojson::from_slice(&line)
        .map_err(|err| format!("ReadInputParameters() -> ReadInput() -> {err}"))?;
    if message.class != "parameters" {
        return Err(
            "ReadInputParameters() -> unexpected input is not module parameters".to_owned(),
        );
    }
    Ok((message.parameters, message.persistsock))
}

/// The whole life of a module child process (`mig-agent -m <module> [-p]`):
/// read one `parameters` message, run, print the result JSON — or, with
/// `pretty`, the module's printed lines. Returns the exit code.
pub fn child_main(
    module: &str,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    context: &ModuleContext,
    pretty: bool,
) -> i32 {
    let Some(name) = ModuleName::parse(module) else {
        // The original's hand-written answer, spaces included; stdin is not read.
        let _ = write!(
            output,
            "{{\"errors\": [\"module '{module}' is not available\"]}}"
        );
        return 0;
    };
    with_module!(name, M => {
        let result = match read_parameters(input) {
            Ok((parameters, persistsock)) => {
                let context = ModuleContext {
                    persistsock: (!persistsock.is_empty()).then_some(persistsock),
                    ..context.clone()
                };
                run_typed::<M>(&parameters, &context)
            }
            Err(message) => M::input_error(message),
        };
        let written = if pretty {
            M::print(&result, false).iter().try_for_each(|line| writeln!(output, "{line}"))
        } else {
            output.write_all(gojson::to_string(&result).as_bytes())
        };
        if written.and_then(|()| output.flush()).is_err() {
            return 1;
        }
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(module: &str, input: &str, pretty: bool) -> (i32, String) {
        let mut output = Vec::new();
        let code = child_main(
            module,
            &mut input.as_bytes(),
            &mut output,
            &ModuleContext::default(),
            pretty,
        );
        (code, String::from_utf8(output).unwrap())
    }

    #[test]
    fn unknown_module_answer_is_the_originals() {
        assert_eq!(
            child("nosuchmodule", "", false),
            (
                0,
                r#"{"errors": ["module 'nosuchmodule' is not available"]}"#.to_owned()
            )
        );
    }

    #[test]
    fn agentdestroy_vectors() {
        let input =
            r#"{"class":"parameters","parameters":{"pid":1,"version":"20240101-0.9e7e4f52.ref"}}"#;
        assert_eq!(
            child("agentdestroy", input, false).1,
            r#"{"foundanything":false,"success":false,"elements":null,"statistics":null,"errors":["PID '1' is not in the range [2:65535]"]}"#
        );
        assert_eq!(
            child("agentdestroy", input, true).1,
            "[error] PID '1' is not in the range [2:65535]\nagentdestroy module has failed\n"
        );
    }

    #[test]
    fn bad_input_is_a_result_not_a_crash() {
        let (code, output) = child("agentdestroy", "this is not json", false);
        assert_eq!(code, 0);
        assert!(output.starts_with(r#"{"foundanything":false,"success":false,"elements":null,"statistics":null,"errors":["ReadInputParameters() -\u003e ReadInput() -\u003e"#), "{output}");
        let (_, output) = child("agentdestroy", r#"{"class":"stop"}"#, false);
        assert!(
            output.contains("unexpected input is not module parameters"),
            "{output}"
        );
    }

    #[test]
    fn registry_names() {
        assert_eq!(
            ModuleName::parse("agentdestroy"),
            Some(ModuleName::AgentDestroy)
        );
        assert_eq!(ModuleName::parse("AgentDestroy"), None);
        assert!(ModuleName::names().contains(&"agentdestroy".to_owned()));
    }

    /// Every default-pack module the agent can run is advertised and found by
    /// name (the modules merged after ping had been left out).
    #[test]
    fn default_pack_is_registered() {
        for name in [
            "agentdestroy",
            "audit",
            "dispatch",
            "examplepersist",
            "file",
            "fswatch",
            "memory",
            "netstat",
            "ping",
            "pkg",
            "scribe",
            "sshkey",
            "timedrift",
        ] {
            let module = ModuleName::parse(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(module.as_str(), name);
        }
        assert_eq!(
            ModuleName::parse("example").is_some(),
            cfg!(feature = "modexample")
        );
    }
}
