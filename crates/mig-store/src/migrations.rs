//! The embedded schema migrations of both backends.
//!
//! Built at run time from `include_str!` rather than with `sqlx::migrate!`:
//! the macro needs sqlx's `macros` feature, which compiles the whole of sqlx
//! (the bundled SQLite C library included) a second time for the host. The
//! version, description and checksum are exactly what the macro derived from
//! the file names and contents, so databases migrated by earlier builds are
//! recognised as up to date.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The PostgreSQL migrations (`migrations/postgres`).
pub(crate) fn postgres() -> Migrator {
    migrator(include_str!("../migrations/postgres/0001_mig_schema.sql"))
}

/// The SQLite migrations (`migrations/sqlite`).
pub(crate) fn sqlite() -> Migrator {
    migrator(include_str!("../migrations/sqlite/0001_mig_schema.sql"))
}

fn migrator(schema_0001: &'static str) -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "mig schema".into(),
        MigrationType::Simple,
        schema_0001.into_sql_str(),
        false,
    )])
}
