//! MIG's agent: the program that runs on every host.
//!
//! The binary (`src/bin/mig-agent.rs`) parses [`flags::Flags`], loads
//! [`config::AgentConfig`] and either runs one module as a child process
//! ([`runner::child_main`], `-m <module>`), answers a stat-socket query
//! ([`stat::query`], `-q`), or calls [`agent::run`] with a shutdown token.
//!
//! [`agent::run`] discovers who and where the agent is ([`identity`],
//! [`environment`]), loads its keyring and ACL, connects to the relay and
//! starts three things: the heartbeat loop ([`heartbeat`]), the stat socket
//! ([`stat`]) and the command loop. Each command goes through the
//! [`pipeline`]: decode → verify signatures, window and ACL → refuse replays
//! ([`replay`]) → run each operation's module in a child process of this same
//! binary with a deadline ([`runner`]) → aggregate → publish the command back
//! with its results.
//!
//! [`http`] is the agent's small HTTP client and server (API heartbeats and
//! public IP, stat socket); [`service`] installs the systemd unit; [`logging`]
//! sets up `tracing`, with [`syslog`] as one of its outputs.

pub mod agent;
pub mod cli;
pub mod config;
pub mod environment;
pub mod flags;
pub mod heartbeat;
pub mod http;
pub mod identity;
pub mod local;
pub mod logging;
pub mod persist;
pub mod pipeline;
pub mod replay;
pub mod runner;
pub mod service;
pub mod stat;
pub mod syslog;

pub use agent::{Mode, RunOptions, run};
pub use config::AgentConfig;
pub use flags::Flags;
