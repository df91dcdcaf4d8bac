//! The MIG database layer.
//!
//! For now it holds one piece: [`target`], the safe compiler of action targets. A target
//! (`status='online' AND environment->>'os'='linux'`) goes through [`target::parse`] into an
//! [`target::Expr`], then [`target::compile`] renders it for a [`target::Dialect`] as a
//! [`target::CompiledTarget`]: a SQL boolean expression over `agents` with placeholders and the
//! [`target::TargetParam`]s to bind. The compiler is pure (no database, no I/O); the store built
//! on top of it binds the parameters with sqlx.

pub mod store;
pub mod target;

pub use store::{Store, StoreError, StoreResult};
