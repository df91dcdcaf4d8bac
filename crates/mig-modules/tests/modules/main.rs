//! The integration tests of mig-modules, one module per subject, linked into one
//! test binary (`cargo test -p mig-modules --test modules [module::]`).

#![allow(clippy::unwrap_used)]

mod client_flags;
mod memory;
