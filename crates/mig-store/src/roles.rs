//! PostgreSQL roles and grants (protocol spec §9.2).
//!
//! `migadmin` owns the tables, `migapi` and `migscheduler` get exactly the
//! original's grants (plus the scheduler's rights on the mig-rs tables `outbox` and
//! `action_claims`), and `migreadonly` is the role target queries run under. Role
//! names are global to a PostgreSQL cluster, so a prefix can be given (tests use
//! `t<random>_`); the statements are idempotent.

use sqlx::{AssertSqlSafe, PgPool};

use crate::store::{StoreError, StoreResult};

/// The names of MIG's roles, with an optional common prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleNames {
    /// Put before every role name; lower-case letters, digits and `_` only.
    pub prefix: String,
}

impl RoleNames {
    /// Role names with `prefix` (empty for the standard names).
    pub fn with_prefix(prefix: impl Into<String>) -> StoreResult<Self> {
        let prefix = prefix.into();
        if !prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Conflict(format!(
                "role prefix {prefix:?} may hold only lower-case letters, digits and '_'"
            )));
        }
        Ok(Self { prefix })
    }

    /// The table owner.
    pub fn admin(&self) -> String {
        format!("{}migadmin", self.prefix)
    }

    /// The API's login role.
    pub fn api(&self) -> String {
        format!("{}migapi", self.prefix)
    }

    /// The scheduler's login role.
    pub fn scheduler(&self) -> String {
        format!("{}migscheduler", self.prefix)
    }

    /// The role target queries run under.
    pub fn readonly(&self) -> String {
        format!("{}migreadonly", self.prefix)
    }
}

/// Passwords of the login roles; `None` leaves a role without one (or unchanged).
#[derive(Debug, Clone, Default)]
pub struct RolePasswords {
    pub admin: Option<String>,
    pub api: Option<String>,
    pub scheduler: Option<String>,
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The statements that create the roles and grant §9.2, in order. Run them as a
/// superuser (or a role with CREATEROLE) connected to the MIG database, after the
/// migrations.
pub fn role_statements(names: &RoleNames, passwords: &RolePasswords) -> Vec<String> {
    let admin = names.admin();
    let api = names.api();
    let scheduler = names.scheduler();
    let readonly = names.readonly();
    let mut statements = Vec::new();
    let login = "LOGIN NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB";
    for (role, attributes, password) in [
        (&admin, login, &passwords.admin),
        (&api, login, &passwords.api),
        (&scheduler, login, &passwords.scheduler),
        (&readonly, "NOLOGIN", &None),
    ] {
        statements.push(format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {literal}) \
             THEN CREATE ROLE \"{role}\" {attributes}; END IF; END $$",
            literal = quote_literal(role),
        ));
        if let Some(password) = password {
            statements.push(format!(
                "ALTER ROLE \"{role}\" PASSWORD {}",
                quote_literal(password)
            ));
        }
    }
    let tables = [
        "actions",
        "agents",
        "agents_stats",
        "agtmodreq",
        "commands",
        "invagtmodperm",
        "investigators",
        "loaders",
        "manifests",
        "manifestsig",
        "modules",
        "signatures",
        "outbox",
        "action_claims",
    ];
    for table in tables {
        statements.push(format!("ALTER TABLE {table} OWNER TO \"{admin}\""));
    }
    for sequence in ["investigators_id_seq", "manifests_id_seq", "loaders_id_seq"] {
        statements.push(format!("ALTER SEQUENCE {sequence} OWNER TO \"{admin}\""));
    }
    statements.push(format!(
        "ALTER FUNCTION mig_notify_new_action() OWNER TO \"{admin}\""
    ));
    statements.push(format!(
        "GRANT \"{readonly}\" TO \"{api}\", \"{scheduler}\""
    ));
    // mig-rs: the API and the scheduler check that the schema is up to date.
    statements.push(format!(
        "GRANT SELECT ON _sqlx_migrations TO \"{api}\", \"{scheduler}\""
    ));

    // migscheduler: SELECT everywhere; INSERT, UPDATE on the tables it writes; no
    // DELETE on the original tables. mig-rs: full rights on outbox and action_claims.
    statements.push(format!(
        "GRANT SELECT ON actions, agents, agents_stats, agtmodreq, commands, invagtmodperm, \
         investigators, loaders, manifests, manifestsig, modules, signatures TO \"{scheduler}\""
    ));
    statements.push(format!(
        "GRANT INSERT, UPDATE ON actions, commands, agents, agents_stats, signatures TO \"{scheduler}\""
    ));
    statements.push(format!("GRANT INSERT ON investigators TO \"{scheduler}\""));
    statements.push(format!(
        "GRANT USAGE ON SEQUENCE investigators_id_seq TO \"{scheduler}\""
    ));
    statements.push(format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, action_claims TO \"{scheduler}\""
    ));

    // migapi
    statements.push(format!(
        "GRANT SELECT ON actions, agents, agents_stats, agtmodreq, commands, invagtmodperm, \
         loaders, manifests, manifestsig, modules, signatures TO \"{api}\""
    ));
    statements.push(format!(
        "GRANT SELECT (id, name, pgpfingerprint, publickey, status, createdat, lastmodified, \
         permissions, apikey, apisalt) ON investigators TO \"{api}\""
    ));
    statements.push(format!(
        "GRANT INSERT ON agents, actions, signatures, manifests, manifestsig, loaders TO \"{api}\""
    ));
    statements.push(format!("GRANT UPDATE ON agents TO \"{api}\""));
    statements.push(format!("GRANT DELETE ON manifestsig TO \"{api}\""));
    statements.push(format!(
        "GRANT INSERT (name, pgpfingerprint, publickey, status, createdat, lastmodified, \
         permissions) ON investigators TO \"{api}\""
    ));
    statements.push(format!(
        "GRANT UPDATE (permissions, status, lastmodified, apikey, apisalt) ON investigators TO \"{api}\""
    ));
    statements.push(format!(
        "GRANT UPDATE (name, env, tags, loaderkey, salt, lastseen, enabled, expectenv, queueloc) \
         ON loaders TO \"{api}\""
    ));
    statements.push(format!("GRANT UPDATE (status) ON manifests TO \"{api}\""));
    statements.push(format!(
        "GRANT USAGE ON SEQUENCE investigators_id_seq, manifests_id_seq, loaders_id_seq TO \"{api}\""
    ));

    // migreadonly
    statements.push(format!(
        "GRANT SELECT ON actions, agents, agtmodreq, commands, invagtmodperm, modules, signatures \
         TO \"{readonly}\""
    ));
    statements.push(format!(
        "GRANT SELECT (id, env, tags, expectenv, loadername, queueloc) ON loaders TO \"{readonly}\""
    ));
    statements.push(format!(
        "GRANT SELECT (id, name, pgpfingerprint, publickey, status, createdat, lastmodified) \
         ON investigators TO \"{readonly}\""
    ));
    statements
}

/// Creates the roles (if absent) and grants §9.2 on the database `admin_pool`
/// is connected to; `admin_pool` must be a superuser's (or a CREATEROLE owner's).
pub async fn create_roles(
    admin_pool: &PgPool,
    names: &RoleNames,
    passwords: &RolePasswords,
) -> StoreResult<()> {
    for statement in role_statements(names, passwords) {
        sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(admin_pool)
            .await
            .map_err(|error| StoreError::Database(format!("create roles: {error}")))?;
    }
    Ok(())
}

/// Drops the roles (tests use it with their prefix once their database is gone).
pub async fn drop_roles(admin_pool: &PgPool, names: &RoleNames) -> StoreResult<()> {
    for role in [
        names.api(),
        names.scheduler(),
        names.readonly(),
        names.admin(),
    ] {
        sqlx::raw_sql(AssertSqlSafe(format!("DROP ROLE IF EXISTS \"{role}\"")))
            .execute(admin_pool)
            .await
            .map_err(|error| StoreError::Database(format!("drop role {role}: {error}")))?;
    }
    Ok(())
}
