//! MIG's agent modules.
//!
//! A module is a folder (`file/`, `agentdestroy/`, …) implementing [`Module`]:
//! typed parameters in, a [`TypedResult`] out, a printer for `mig` and
//! `mig-agent -p`, and optionally a privacy filter. [`ModuleName`] is the closed
//! registry: a `match` that fails to compile when a module is missing.
//!
//! The agent runs each operation in a child process (`mig-agent -m <module>`);
//! [`child_main`] is that child's whole life: read one `parameters` message
//! from stdin, run, print the result JSON (struct field order, Go encoding).
//! The agent decodes the child's output into the generic
//! [`mig_protocol::ModuleResult`] before publishing it (so on the wire every
//! object inside `elements` has sorted keys), and [`print_result`] decodes
//! either form back into the module's types for printing.

pub mod agentdestroy;
pub mod cli;
pub mod duration;
pub mod example;
pub mod file;
pub mod memory;
pub mod netstat;
pub mod persist;
pub mod ping;
pub mod pkg;
pub mod registry;
pub mod result;
pub mod scribe;
pub mod sshkey;
pub mod timedrift;
pub mod yara;

pub use registry::{ModuleName, child_main, print_result, run_module};
pub use result::{Module, ModuleContext, TypedResult};
