//! The integration tests of mig-relay, one module per subject, linked into one
//! test binary (`cargo test -p mig-relay --test relay [module::]`).

#![allow(clippy::unwrap_used)]

#[macro_use]
mod conformance;
mod rabbit;

mod amqp;
mod memory;
mod tls;
