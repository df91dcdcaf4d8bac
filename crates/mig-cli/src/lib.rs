//! Shared pieces of MIG's command-line tools.
