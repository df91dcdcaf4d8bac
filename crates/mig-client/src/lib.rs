//! The investigator's side of MIG.
//!
//! For now this holds [`migrc`], the loader of `~/.migrc`; the typed REST
//! client and action signing arrive with the client issue.

pub mod migrc;
