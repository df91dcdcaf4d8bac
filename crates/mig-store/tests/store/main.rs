//! The integration tests of mig-store, one module per subject, linked into one
//! test binary (`cargo test -p mig-store --test store [module::]`).

#![allow(clippy::unwrap_used)]

#[macro_use]
mod conformance;

mod dbinit;
mod store_postgres;
mod store_sqlite;
mod target;
mod target_props;
