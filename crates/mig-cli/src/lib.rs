//! MIG's command-line tools: shared pieces and the tools' libraries.
//!
//! - [`goflag`] — flags parsed as Go's `flag` package does, so the tools keep
//!   the original interface;
//! - [`verifier`] — `mig-action-verifier`.

pub mod goflag;
pub mod verifier;
