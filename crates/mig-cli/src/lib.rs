//! MIG's command-line tools: shared pieces and the tools' libraries.
//!
//! - [`goflag`] — flags parsed as Go's `flag` package does, so the tools keep
//!   the original interface;
//! - [`mig`] — `mig`, the command-line investigation tool;
//! - [`verifier`] — `mig-action-verifier`;
//! - [`generator`] — `mig-action-generator`;
//! - [`agent_search`] — `mig-agent-search`.

pub use mig_goflag as goflag;
pub mod agent_search;
pub mod generator;
pub mod mig;
pub mod verifier;
