//! The integration tests of mig-scheduler, one module per subject, linked into one
//! test binary (`cargo test -p mig-scheduler --test scheduler [module::]`);
//! `relay_restart` restarts RabbitMQ and so has a binary of its own.

#![allow(clippy::unwrap_used)]

mod scenarios;
mod support;

mod crash;
mod embedded;
mod services;
