//! The integration tests of mig-cli, one module per subject, linked into one
//! test binary (`cargo test -p mig-cli --test cli [module::]`).

#![allow(clippy::unwrap_used)]

mod deployment;
mod mig;
mod verifier;
