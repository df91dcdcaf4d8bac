//! The MIG wire protocol, shared by every mig-rs component.
//!
//! Everything that crosses a process boundary is defined here, once:
//! - [`gojson`]: JSON encoded and decoded the way Go's `encoding/json` does it
//!   (field order, HTML-safe escaping, float formatting, case-insensitive keys);
//! - [`action`], [`command`], [`agent`], [`investigator`]: the entities and their wire forms;
//! - [`action::Action::signing_string`]: the exact bytes investigators sign;
//! - [`pgp`]: MIG's single-line detached signatures, keyrings, signers;
//! - [`acl`]: the agent's authorization of a signed action;
//! - [`auth`]: the API's `X-PGPAUTHORIZATION` tokens and API-key hashes;
//! - [`gcfg`]: the INI dialect of MIG's configuration files.
//!
//! The crate opens no sockets. It reads files only where a file format is the
//! protocol (a directory of armored keys, `acl.cfg`).

pub mod gcfg;
pub mod pgp;
