//! The MIG wire protocol, shared by every mig-rs component.
//!
//! Everything that crosses a process boundary is defined here, once:
//! - [`gojson`], [`gotime`], [`id`] — JSON, times and IDs the way Go's
//!   `encoding/json` writes and reads them (field order, HTML-safe escaping,
//!   float formatting, case-insensitive keys);
//! - [`action`], [`command`], [`agent`], [`investigator`], [`status`] — the
//!   entities and their wire forms;
//! - [`action::Action::signing_string`] — the exact bytes investigators sign;
//! - [`pgp`] — MIG's single-line detached signatures, keyrings, signers;
//! - [`acl`] — the agent's authorization of a signed action, and
//!   [`acl::verify_action`], the whole verification procedure;
//! - [`auth`] — the API's `X-PGPAUTHORIZATION` tokens and API-key hashes;
//! - [`relay`] — exchange, queue and routing-key names, message properties;
//! - [`gcfg`] — the INI dialect of MIG's configuration files.
//!
//! The crate opens no sockets. It reads files only where a file format is the
//! protocol (a directory of armored keys) and runs `gpg` only for an
//! investigator who signs with it.

pub mod acl;
pub mod action;
pub mod agent;
pub mod auth;
pub mod collection;
pub mod command;
pub mod gcfg;
pub mod gojson;
pub mod gotime;
pub mod id;
pub mod investigator;
pub mod manifest;
pub mod pgp;
pub mod relay;
pub mod search;
pub mod status;

pub use action::{Action, Operation};
pub use agent::{Agent, AgentEnv, Heartbeat};
pub use command::{Command, ModuleResult};
pub use gotime::GoTime;
pub use id::{Id, gen_id};
pub use investigator::{Investigator, Permissions};
