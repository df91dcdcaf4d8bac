//! mig-console driven through a pseudo-terminal (rexpect) against a real
//! in-process mig-api on SQLite, one module per subject
//! (`cargo test --workspace --test console [module::]`).

#![allow(clippy::unwrap_used)]

mod harness;

mod admin;
mod create_investigator;
mod errors;
mod golden;
mod launcher;
mod pipe;
mod readers;
mod search;
mod startup;
