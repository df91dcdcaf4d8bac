//! The MIG database layer.
//!
//! [`Store`] is every read and write the scheduler and the API make. It has two
//! implementations checked by one conformance suite (`tests/store/conformance`):
//! [`PgStore`] on PostgreSQL, with the original MIG schema so the original Go
//! components can share the database, and [`SqliteStore`], an embedded database
//! for a single-process platform. Both are created from the migrations in
//! `migrations/` (embedded in the binary); [`roles`] creates the PostgreSQL roles
//! and grants of the original deployment.
//!
//! Action targets never reach the database as text: [`target`] parses a target
//! (`status='online' AND environment->>'os'='linux'`) into a [`target::Expr`] and
//! [`target::compile`] renders it for a [`target::Dialect`] as a
//! [`target::CompiledTarget`], a SQL boolean expression over `agents` with
//! placeholders and the [`target::TargetParam`]s the stores bind.

mod common;
pub mod config;
mod dialect;
mod forward;
mod migrations;
pub mod postgres;
pub mod roles;
pub mod search;
pub mod sqlite;
pub mod store;
pub mod target;

pub use config::PostgresSection;
pub use postgres::{PgConfig, PgStore};
pub use sqlite::SqliteStore;
pub use store::{
    ActionProgress, AgentTimeouts, AgentTransitions, ApiKeyHolder, HeartbeatOutcome,
    LoaderKeyHolder, LoaderManifest, OutboxEntry, Store, StoreError, StoreResult,
};
