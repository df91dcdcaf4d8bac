//! The integration tests of mig-cli, one module per subject, linked into one
//! test binary (`cargo test -p mig-cli --test cli [module::]`).

#![allow(clippy::unwrap_used)]

mod agent_search;
mod deployment;
mod generator;
mod mig;
mod migrc_setup;
mod support;
mod verifier;
