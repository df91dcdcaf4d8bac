//! The integration tests of mig-modules, one module per subject, linked into one
//! test binary (`cargo test -p mig-modules --test modules [module::]`).

#![allow(clippy::unwrap_used)]

mod client_flags;
mod memory;
mod yara;

/// The memory and yara tests read large child processes and measure
/// heartbeat gaps and peak RSS: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
