//! The integration tests of mig-api, one module per subject, linked into one
//! test binary (`cargo test -p mig-api --test api [module::]`).

#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

mod actions;
mod auth;
mod investigators;
mod manifests;
mod openapi;
mod schemathesis;
mod search;
mod service;
