//! The real `mig-quickstart` binary, run as a user would: its finding, a second
//! investigation by `mig` with the migrc it wrote, a clean stop on SIGINT and
//! SIGTERM, and the state reused by a second run.

#![allow(clippy::unwrap_used)]

mod run;
