//! The investigator's side of MIG, shared by `mig` and `mig-console`.
//!
//! - [`migrc`] — `~/.migrc`;
//! - [`configure`] — `ReadConfiguration` and the interactive `.migrc`
//!   generator run when the file is missing;
//! - [`client`] — the typed REST client (token per request, one retry on 401,
//!   API-key mode, the calls of clients.md §1.5) and action signing;
//! - [`follow`] — `FollowAction` and the progress bar;
//! - [`print`] — `PrintActionResults` in text, NDJSON or CSV;
//! - [`signer`] — the investigator's signer from `.migrc` (their `gpg`) or
//!   from an armored secret-key file.

pub mod admin;
pub mod client;
pub mod configure;
pub mod follow;
pub mod migrc;
pub mod print;
pub mod signer;

pub use client::{Auth, Client, ClientError, ClientResult, CommandFilter};
pub use follow::{FollowEnd, FollowOptions, follow_action};
pub use print::{Render, ResultPrinter, Show, print_action_results};
