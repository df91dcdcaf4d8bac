//! The integration tests of mig-agent, one module per subject, linked into one
//! test binary (`cargo test -p mig-agent --test agent [module::]`).

#![allow(clippy::unwrap_used)]

mod support;

mod agent;
mod modules;
mod persist;
mod syslog;
mod with_scheduler;
