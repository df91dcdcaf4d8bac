//! The integration tests of mig-protocol, one module per subject, linked into one
//! test binary (`cargo test -p mig-protocol --test protocol [module::]`).

#![allow(clippy::unwrap_used)]

mod acl;
mod auth;
mod gcfg;
mod pgp;
mod signing;
mod wire_compat;
