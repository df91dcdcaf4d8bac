//! The PostgreSQL store: the original MIG schema, shared with the original Go
//! components if need be, plus the mig-rs tables `outbox` and `action_claims`.
//!
//! Ids are `numeric` in the original schema; they are bound as `int8` and read
//! back with `::int8` casts (every MIG id is below 2^53). JSON columns are
//! written from Go-encoded text with `::json` and read back with `::text`, so
//! the stored bytes are exactly Go's. Batches use `UNNEST` over arrays.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use mig_protocol::agent::{AgentsStats, AgentsVersionsSum};
use mig_protocol::{Action, Agent, Command, GoTime, Id, Investigator};
use sqlx::postgres::{PgArguments, PgListener, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, PgPool, Postgres, Row};
use tokio::sync::Notify;

use crate::common::{
    self, ActionColumns, ActionRow, AgentRow, CommandRow, ExistingAgent, InvestigatorRow, Targets,
    before, counters_from, db_error, db_time, id_of, ids_i64, pid_i32, round_micros,
};
use crate::roles::RoleNames;
use crate::store::{
    ActionProgress, AgentTimeouts, AgentTransitions, HeartbeatOutcome, OutboxEntry, Store,
    StoreError, StoreResult,
};
#[path = "postgres_api.rs"]
mod api;

use crate::target::{self, Dialect, TargetParam};

/// The notification channel of new actions (a trigger on `actions` sends it).
pub const NEW_ACTION_CHANNEL: &str = "mig_new_action";

/// How to connect to PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    /// Size of the connection pool.
    pub max_connections: u32,
    /// Prefix of the MIG role names (empty in production).
    pub role_prefix: String,
    /// Whether target queries run under `SET LOCAL ROLE migreadonly`; `None` decides
    /// at connection time: yes when the role exists and the connected user may use it.
    pub use_readonly_role: Option<bool>,
}

impl PgConfig {
    /// A configuration with the standard role names and automatic read-only role use.
    pub fn new(url: impl Into<String>, max_connections: u32) -> Self {
        Self {
            url: url.into(),
            max_connections,
            role_prefix: String::new(),
            use_readonly_role: None,
        }
    }
}

/// Aborts the listener task when the store goes away.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The MIG database on PostgreSQL.
#[derive(Debug)]
pub struct PgStore {
    pool: PgPool,
    new_action: Arc<Notify>,
    /// `SET LOCAL ROLE` statement run before target queries, if any.
    readonly_role: Option<String>,
    _listener: AbortOnDrop,
}

/// Column list of an action row with aliases `<prefix>id`, `<prefix>name`, ….
fn action_columns(table: &str, prefix: &str) -> String {
    format!(
        "{t}.id::int8 AS {p}id, {t}.name AS {p}name, {t}.target AS {p}target, \
         {t}.description::text AS {p}description, {t}.threat::text AS {p}threat, \
         {t}.operations::text AS {p}operations, {t}.validfrom AS {p}validfrom, \
         {t}.expireafter AS {p}expireafter, {t}.starttime AS {p}starttime, \
         {t}.finishtime AS {p}finishtime, {t}.lastupdatetime AS {p}lastupdatetime, \
         {t}.status AS {p}status, {t}.syntaxversion AS {p}syntaxversion, \
         {t}.pgpsignatures AS {p}pgpsignatures",
        t = table,
        p = prefix
    )
}

/// Column list of an agent row with aliases `<prefix>id`, `<prefix>name`, ….
fn agent_columns(table: &str, prefix: &str) -> String {
    format!(
        "{t}.id::int8 AS {p}id, {t}.name AS {p}name, {t}.queueloc AS {p}queueloc, \
         {t}.mode AS {p}mode, {t}.version AS {p}version, {t}.pid AS {p}pid, \
         {t}.starttime AS {p}starttime, {t}.destructiontime AS {p}destructiontime, \
         {t}.heartbeattime AS {p}heartbeattime, {t}.refreshtime AS {p}refreshtime, \
         {t}.status AS {p}status, {t}.environment::text AS {p}environment, \
         {t}.tags::text AS {p}tags, {t}.loadername AS {p}loadername",
        t = table,
        p = prefix
    )
}

const INVESTIGATOR_COLUMNS: &str = "id::int8 AS id, name, pgpfingerprint, publickey, \
     status, createdat, lastmodified, permissions";

fn get<'r, T>(row: &'r PgRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(name).map_err(|error| StoreError::Corrupt {
        what: "column",
        reason: format!("{name}: {error}"),
    })
}

fn read_action(row: &PgRow, p: &str) -> StoreResult<Action> {
    ActionRow {
        id: get(row, &format!("{p}id"))?,
        name: get(row, &format!("{p}name"))?,
        target: get(row, &format!("{p}target"))?,
        description: get(row, &format!("{p}description"))?,
        threat: get(row, &format!("{p}threat"))?,
        operations: get(row, &format!("{p}operations"))?,
        validfrom: get(row, &format!("{p}validfrom"))?,
        expireafter: get(row, &format!("{p}expireafter"))?,
        starttime: get(row, &format!("{p}starttime"))?,
        finishtime: get(row, &format!("{p}finishtime"))?,
        lastupdatetime: get(row, &format!("{p}lastupdatetime"))?,
        status: get(row, &format!("{p}status"))?,
        syntaxversion: get(row, &format!("{p}syntaxversion"))?,
        pgpsignatures: get(row, &format!("{p}pgpsignatures"))?,
    }
    .into_action()
}

fn read_agent(row: &PgRow, p: &str) -> StoreResult<Agent> {
    AgentRow {
        id: get(row, &format!("{p}id"))?,
        name: get(row, &format!("{p}name"))?,
        queueloc: get(row, &format!("{p}queueloc"))?,
        mode: get(row, &format!("{p}mode"))?,
        version: get(row, &format!("{p}version"))?,
        pid: get(row, &format!("{p}pid"))?,
        starttime: get(row, &format!("{p}starttime"))?,
        destructiontime: get(row, &format!("{p}destructiontime"))?,
        heartbeattime: get(row, &format!("{p}heartbeattime"))?,
        refreshtime: get(row, &format!("{p}refreshtime"))?,
        status: get(row, &format!("{p}status"))?,
        environment: get(row, &format!("{p}environment"))?,
        tags: get(row, &format!("{p}tags"))?,
        loadername: get(row, &format!("{p}loadername"))?,
    }
    .into_agent()
}

fn read_investigator(row: &PgRow, with_private_key: bool) -> StoreResult<Investigator> {
    InvestigatorRow {
        id: get(row, "id")?,
        name: get(row, "name")?,
        pgpfingerprint: get(row, "pgpfingerprint")?,
        publickey: get(row, "publickey")?,
        privatekey: if with_private_key {
            get(row, "privatekey")?
        } else {
            None
        },
        status: get(row, "status")?,
        createdat: get(row, "createdat")?,
        lastmodified: get(row, "lastmodified")?,
        permissions: get(row, "permissions")?,
    }
    .into_investigator()
}

fn read_ids(rows: &[PgRow], what: &'static str) -> StoreResult<Vec<Id>> {
    rows.iter()
        .map(|row| id_of(what, get::<i64>(row, "id")?))
        .collect()
}

fn bind_target<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    params: &[TargetParam],
) -> Query<'q, Postgres, PgArguments> {
    for param in params {
        query = match param {
            TargetParam::Text(text) => query.bind(text.clone()),
            TargetParam::Int(value) => query.bind(*value),
            TargetParam::Float(value) | TargetParam::IntervalSeconds(value) => query.bind(*value),
            TargetParam::Bool(value) => query.bind(*value),
            TargetParam::Timestamp(time) => query.bind(*time),
        };
    }
    query
}

impl PgStore {
    /// Connects with the standard role names (see [`PgConfig::new`]).
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        Self::connect_with(PgConfig::new(url, max_connections)).await
    }

    /// Connects, decides whether target queries use the read-only role, and starts
    /// the `LISTEN mig_new_action` task (waiting up to 5 s for it to be listening).
    pub async fn connect_with(config: PgConfig) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect(&config.url)
            .await
            .map_err(db_error("connect"))?;
        let names = RoleNames::with_prefix(config.role_prefix.clone())?;
        let readonly = names.readonly();
        let use_readonly = match config.use_readonly_role {
            Some(choice) => choice,
            None => sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) \
                 AND pg_has_role(current_user, (SELECT oid FROM pg_catalog.pg_roles \
                 WHERE rolname = $1), 'MEMBER')",
            )
            .bind(&readonly)
            .fetch_one(&pool)
            .await
            .map_err(db_error("check the read-only role"))?,
        };
        let new_action = Arc::new(Notify::new());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(listen_for_new_actions(
            config.url.clone(),
            new_action.clone(),
            ready_tx,
        ));
        let listener = AbortOnDrop(task.abort_handle());
        // A listener that is not up yet only delays wake-ups until the next sweep.
        let _ = tokio::time::timeout(Duration::from_secs(5), ready_rx).await;
        Ok(Self {
            pool,
            new_action,
            readonly_role: use_readonly.then(|| format!("SET LOCAL ROLE \"{readonly}\"")),
            _listener: listener,
        })
    }

    /// Applies the embedded migrations (the MIG schema and the mig-rs additions).
    ///
    /// When every migration is already applied nothing is written, so the
    /// scheduler and the API, whose roles may not create tables (§9.2), start
    /// on a database `mig-dbinit` prepared.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = crate::migrations::postgres();
        if self.migrations_applied(&migrator).await {
            return Ok(());
        }
        migrator.run(&self.pool).await.map_err(|error| {
            StoreError::Database(format!(
                "migrate: {error} (the schema is not up to date and this role cannot update it: \
                 run mig-dbinit as a PostgreSQL superuser)"
            ))
        })
    }

    /// Whether `_sqlx_migrations` records every embedded migration, with its
    /// checksum, as applied; false also when it cannot be read.
    async fn migrations_applied(&self, migrator: &sqlx::migrate::Migrator) -> bool {
        let Ok(rows) = sqlx::query_as::<_, (i64, Vec<u8>)>(
            "SELECT version, checksum FROM _sqlx_migrations WHERE success",
        )
        .fetch_all(&self.pool)
        .await
        else {
            return false;
        };
        migrator.iter().all(|migration| {
            rows.iter().any(|(version, checksum)| {
                *version == migration.version && checksum[..] == migration.checksum[..]
            })
        })
    }

    /// A transaction for target evaluation: under `SET LOCAL ROLE migreadonly`
    /// when the role is in use, so a compiled target can only read.
    async fn readonly_transaction(&self) -> StoreResult<sqlx::Transaction<'_, sqlx::Postgres>> {
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        if let Some(set_role) = &self.readonly_role {
            sqlx::raw_sql(AssertSqlSafe(set_role.clone()))
                .execute(&mut *tx)
                .await
                .map_err(db_error("set the read-only role"))?;
        }
        Ok(tx)
    }

    /// The connection pool, for administration and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether target queries run under the read-only role.
    pub fn uses_readonly_role(&self) -> bool {
        self.readonly_role.is_some()
    }

    async fn insert_action_tx(
        tx: &mut sqlx::PgConnection,
        action: &Action,
        signatures: &[(Id, String)],
    ) -> StoreResult<()> {
        let columns = ActionColumns::of(action);
        sqlx::query(
            "INSERT INTO actions (id, name, target, description, threat, operations, validfrom, \
             expireafter, starttime, finishtime, lastupdatetime, status, syntaxversion, \
             pgpsignatures) VALUES ($1, $2, $3, $4::json, $5::json, $6::json, $7, $8, $9, $10, \
             $11, $12, $13, $14)",
        )
        .bind(action.id.as_i64())
        .bind(&action.name)
        .bind(&action.target)
        .bind(&columns.description)
        .bind(&columns.threat)
        .bind(&columns.operations)
        .bind(db_time(&action.validfrom))
        .bind(db_time(&action.expireafter))
        .bind(db_time(&action.starttime))
        .bind(db_time(&action.finishtime))
        .bind(db_time(&action.lastupdatetime))
        .bind(action.status.as_str())
        .bind(i32::from(action.syntaxversion))
        .bind(&columns.pgpsignatures)
        .execute(&mut *tx)
        .await
        .map_err(db_error("insert action"))?;
        if !signatures.is_empty() {
            let investigators: Vec<i64> = signatures.iter().map(|(id, _)| id.as_i64()).collect();
            let texts: Vec<&str> = signatures.iter().map(|(_, text)| text.as_str()).collect();
            sqlx::query(
                "INSERT INTO signatures (actionid, investigatorid, pgpsignature) \
                 SELECT $1, investigator, signature FROM UNNEST($2::int8[], $3::text[]) \
                 AS s(investigator, signature)",
            )
            .bind(action.id.as_i64())
            .bind(&investigators)
            .bind(&texts)
            .execute(&mut *tx)
            .await
            .map_err(db_error("insert signatures"))?;
        }
        Ok(())
    }

    async fn counters(&self, action_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<(String, i64)>>> {
        let rows = sqlx::query(
            "SELECT actionid::int8 AS actionid, status, COUNT(*) AS count FROM commands \
             WHERE actionid = ANY($1::int8[]::numeric[]) GROUP BY actionid, status",
        )
        .bind(action_ids)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("count commands"))?;
        let mut by_action: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
        for row in &rows {
            by_action
                .entry(get(row, "actionid")?)
                .or_default()
                .push((get(row, "status")?, get(row, "count")?));
        }
        Ok(by_action)
    }

    async fn commands_where(&self, condition: &str, id: i64) -> StoreResult<Vec<Command>> {
        let sql = format!(
            "SELECT c.id::int8 AS id, c.status, c.results::text AS results, c.starttime, \
             c.finishtime, c.actionid::int8 AS actionid, {agent} FROM commands c \
             JOIN agents g ON g.id = c.agentid WHERE {condition} ORDER BY c.id",
            agent = agent_columns("g", "g_"),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select commands"))?;
        let mut actions: HashMap<i64, Action> = HashMap::new();
        let mut commands = Vec::with_capacity(rows.len());
        for row in &rows {
            let action_id: i64 = get(row, "actionid")?;
            if let std::collections::hash_map::Entry::Vacant(slot) = actions.entry(action_id) {
                let sql = format!(
                    "SELECT {} FROM actions a WHERE a.id = $1",
                    action_columns("a", "")
                );
                let action_row = sqlx::query(AssertSqlSafe(sql))
                    .bind(action_id)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error("select the action of a command"))?;
                slot.insert(read_action(&action_row, "")?);
            }
            let action = actions.get(&action_id).cloned().unwrap_or_default();
            let agent = read_agent(row, "g_")?;
            let command = CommandRow {
                id: get(row, "id")?,
                status: get(row, "status")?,
                results: get(row, "results")?,
                starttime: get(row, "starttime")?,
                finishtime: get(row, "finishtime")?,
            }
            .into_command(action, agent)?;
            commands.push(command);
        }
        Ok(commands)
    }

    async fn targets(
        &self,
        target: &str,
        now: DateTime<Utc>,
        wanted: Targets,
    ) -> StoreResult<(Vec<Agent>, u64)> {
        let count_only = wanted == Targets::Count;
        // A number of ours, not user text: formatted into the statement.
        let limit = match wanted {
            Targets::First(limit) => format!(" LIMIT {limit}"),
            Targets::All | Targets::Count => String::new(),
        };
        let compiled = target::compile_at(target, Dialect::Postgres, 1, now)?;
        let sql = if count_only {
            format!(
                "SELECT COUNT(DISTINCT queueloc) AS count FROM agents \
                 WHERE agents.status IN ('online', 'idle') AND ({})",
                compiled.sql
            )
        } else {
            format!(
                "SELECT DISTINCT ON (queueloc) {} FROM agents \
                 WHERE agents.status IN ('online', 'idle') AND ({}) \
                 ORDER BY agents.queueloc ASC{limit}",
                agent_columns("agents", ""),
                compiled.sql
            )
        };
        let mut tx = self.readonly_transaction().await?;
        if matches!(wanted, Targets::First(_)) {
            // The planner cannot estimate a target's selectivity over the json
            // columns (it guesses one row), so it would read and sort every
            // matching agent before the limit. Walking the queueloc index in
            // order and stopping at the limit is 20 times faster for a page of
            // a common target (10,000 agents: 21 ms -> 1 ms), at worst 1.5 times
            // slower for a target that matches one agent (5 ms -> 8 ms).
            sqlx::query("SET LOCAL enable_sort = off")
                .execute(&mut *tx)
                .await
                .map_err(db_error("plan the target search"))?;
        }
        let rows = bind_target(sqlx::query(AssertSqlSafe(sql)), &compiled.params)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error("select target agents"))?;
        tx.commit().await.map_err(db_error("commit target query"))?;
        if count_only {
            let count: i64 = match rows.first() {
                Some(row) => get(row, "count")?,
                None => 0,
            };
            return Ok((Vec::new(), u64::try_from(count).unwrap_or(0)));
        }
        let agents = rows
            .iter()
            .map(|row| read_agent(row, ""))
            .collect::<StoreResult<Vec<_>>>()?;
        let count = agents.len() as u64;
        Ok((agents, count))
    }
}

/// Keeps a `LISTEN mig_new_action` open and turns each notification into a wake-up;
/// after a connection loss it reconnects, listens again and wakes the waiter once
/// (notifications sent meanwhile are lost, so the caller should look).
async fn listen_for_new_actions(
    url: String,
    new_action: Arc<Notify>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    loop {
        let listener = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(NEW_ACTION_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match listener {
            Ok(listener) => listener,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        } else {
            new_action.notify_one();
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => new_action.notify_one(),
                // The connection was lost; try_recv reconnects and listens again.
                Ok(None) => new_action.notify_one(),
                Err(_) => break,
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl Store for PgStore {
    async fn insert_action(&self, action: &Action, signatures: &[(Id, String)]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        Self::insert_action_tx(&mut tx, action, signatures).await?;
        tx.commit().await.map_err(db_error("commit action"))?;
        self.new_action.notify_one();
        Ok(())
    }

    async fn get_action(&self, id: Id) -> StoreResult<Option<Action>> {
        let sql = format!(
            "SELECT {} FROM actions a WHERE a.id = $1",
            action_columns("a", "")
        );
        let Some(row) = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_i64())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("select action"))?
        else {
            return Ok(None);
        };
        let mut action = read_action(&row, "")?;
        let counters = self.counters(&[id.as_i64()]).await?;
        action.counters = counters_from(counters.get(&id.as_i64()).map_or(&[], Vec::as_slice));
        let rows = sqlx::query(
            "SELECT i.id::int8 AS id, i.name, i.pgpfingerprint, NULL::bytea AS publickey, \
             i.status, i.createdat, i.lastmodified, 0::int8 AS permissions \
             FROM signatures s JOIN investigators i ON i.id = s.investigatorid \
             WHERE s.actionid = $1 ORDER BY i.id",
        )
        .bind(id.as_i64())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("select signers"))?;
        action.investigators = rows
            .iter()
            .map(|row| read_investigator(row, false))
            .collect::<StoreResult<_>>()?;
        Ok(Some(action))
    }

    async fn claim_runnable_actions(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<Action>> {
        let now = round_micros(now);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        // Stale claims first: both rows are locked so that a concurrent claimer
        // re-checks the claim time of the latest row version.
        let stale = sqlx::query(
            "SELECT a.id::int8 AS id FROM actions a JOIN action_claims c ON c.action_id = a.id \
             WHERE a.status = 'scheduled' AND c.claimed_at < $2 \
             AND a.validfrom <= $1 AND a.expireafter > $1 \
             ORDER BY a.validfrom, a.id LIMIT $3 FOR UPDATE OF a, c SKIP LOCKED",
        )
        .bind(now)
        .bind(before(now, lease))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("select stale claims"))?;
        let mut ids = ids_i64(&read_ids(&stale, "action id")?);
        let remaining = limit - ids.len() as i64;
        if remaining > 0 {
            let pending = sqlx::query(
                "SELECT id::int8 AS id FROM actions WHERE status = 'pending' \
                 AND validfrom <= $1 AND expireafter > $1 \
                 ORDER BY validfrom, id LIMIT $2 FOR UPDATE SKIP LOCKED",
            )
            .bind(now)
            .bind(remaining)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error("select pending actions"))?;
            ids.extend(ids_i64(&read_ids(&pending, "action id")?));
        }
        if ids.is_empty() {
            tx.commit().await.map_err(db_error("commit claim"))?;
            return Ok(Vec::new());
        }
        let sql = format!(
            "UPDATE actions a SET status = 'scheduled' WHERE a.id = ANY($1::int8[]::numeric[]) \
             RETURNING {}",
            action_columns("a", "")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error("mark actions scheduled"))?;
        sqlx::query(
            "INSERT INTO action_claims (action_id, claimed_at) \
             SELECT id, $2 FROM UNNEST($1::int8[]) AS u(id) \
             ON CONFLICT (action_id) DO UPDATE SET claimed_at = EXCLUDED.claimed_at",
        )
        .bind(&ids)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error("record claims"))?;
        tx.commit().await.map_err(db_error("commit claim"))?;
        let mut actions = rows
            .iter()
            .map(|row| read_action(row, ""))
            .collect::<StoreResult<Vec<_>>>()?;
        actions.sort_by_key(|action| (action.validfrom, action.id));
        Ok(actions)
    }

    async fn invalidate_stale_actions(&self, now: DateTime<Utc>) -> StoreResult<Vec<Id>> {
        let now = round_micros(now);
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        let rows = sqlx::query(
            "UPDATE actions SET status = 'invalid', lastupdatetime = $1 \
             WHERE status IN ('pending', 'scheduled') AND expireafter <= $1 RETURNING id::int8 AS id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("invalidate stale actions"))?;
        let ids = read_ids(&rows, "action id")?;
        sqlx::query("DELETE FROM action_claims WHERE action_id = ANY($1::int8[]::numeric[])")
            .bind(ids_i64(&ids))
            .execute(&mut *tx)
            .await
            .map_err(db_error("delete claims"))?;
        tx.commit().await.map_err(db_error("commit invalidation"))?;
        let mut ids = ids;
        ids.sort();
        Ok(ids)
    }

    async fn invalidate_action(&self, id: Id, now: DateTime<Utc>) -> StoreResult<()> {
        let now = round_micros(now);
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        let done = sqlx::query(
            "UPDATE actions SET status = 'invalid', starttime = $2, lastupdatetime = $2 \
             WHERE id = $1",
        )
        .bind(id.as_i64())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error("invalidate action"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "action", id });
        }
        sqlx::query("DELETE FROM action_claims WHERE action_id = $1")
            .bind(id.as_i64())
            .execute(&mut *tx)
            .await
            .map_err(db_error("delete claim"))?;
        tx.commit().await.map_err(db_error("commit invalidation"))
    }

    async fn dispatch_action(
        &self,
        action: &Action,
        commands: &[Command],
        signatures: &[(Id, String)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = round_micros(now);
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        let status: Option<Option<String>> =
            sqlx::query_scalar("SELECT status FROM actions WHERE id = $1 FOR UPDATE")
                .bind(action.id.as_i64())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error("lock action"))?;
        match status {
            None => Self::insert_action_tx(&mut tx, action, signatures).await?,
            Some(Some(status)) if status == "scheduled" => {}
            Some(status) => {
                return Err(StoreError::Conflict(format!(
                    "action {} is {} and not scheduled",
                    action.id,
                    status.unwrap_or_default()
                )));
            }
        }
        sqlx::query(
            "UPDATE actions SET status = 'inflight', starttime = $2, lastupdatetime = $2 \
             WHERE id = $1",
        )
        .bind(action.id.as_i64())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_error("mark action inflight"))?;
        sqlx::query("DELETE FROM action_claims WHERE action_id = $1")
            .bind(action.id.as_i64())
            .execute(&mut *tx)
            .await
            .map_err(db_error("delete claim"))?;
        if !commands.is_empty() {
            let sentinel = db_time(&GoTime::sentinel_unfinished());
            let mut ids = Vec::with_capacity(commands.len());
            let mut agent_ids = Vec::with_capacity(commands.len());
            let mut starts = Vec::with_capacity(commands.len());
            let mut results = Vec::with_capacity(commands.len());
            let mut queuelocs = Vec::with_capacity(commands.len());
            let mut bodies = Vec::with_capacity(commands.len());
            let expiration = i64::try_from(mig_protocol::relay::command_expiration_ms(action))
                .unwrap_or(i64::MAX);
            let started = std::time::Instant::now();
            for command in commands {
                ids.push(command.id.as_i64());
                agent_ids.push(command.agent.id.as_i64());
                starts.push(if command.starttime.is_zero() {
                    now
                } else {
                    db_time(&command.starttime)
                });
                results.push(common::results_json(&command.results));
                queuelocs.push(command.agent.queueloc.as_str());
                bodies.push(command.to_json());
            }
            let encoded = started.elapsed();
            sqlx::query(
                "INSERT INTO commands (id, actionid, agentid, status, starttime, finishtime, results) \
                 SELECT id, $1, agentid, 'sent', starttime, $2, results::json \
                 FROM UNNEST($3::int8[], $4::int8[], $5::timestamptz[], $6::text[]) \
                 AS u(id, agentid, starttime, results)",
            )
            .bind(action.id.as_i64())
            .bind(sentinel)
            .bind(&ids)
            .bind(&agent_ids)
            .bind(&starts)
            .bind(&results)
            .execute(&mut *tx)
            .await
            .map_err(db_error("insert commands"))?;
            let inserted_commands = started.elapsed();
            sqlx::query(
                "INSERT INTO outbox (command_id, action_id, queueloc, body, expiration_ms, created_at) \
                 SELECT id, $1, queueloc, body, $2, $3 \
                 FROM UNNEST($4::int8[], $5::text[], $6::text[]) AS u(id, queueloc, body)",
            )
            .bind(action.id.as_i64())
            .bind(expiration)
            .bind(now)
            .bind(&ids)
            .bind(&queuelocs)
            .bind(&bodies)
            .execute(&mut *tx)
            .await
            .map_err(db_error("insert outbox entries"))?;
            tracing::debug!(
                commands = commands.len(),
                body_bytes = bodies.iter().map(String::len).sum::<usize>(),
                encode_ms = encoded.as_millis(),
                commands_ms = (inserted_commands - encoded).as_millis(),
                outbox_ms = (started.elapsed() - inserted_commands).as_millis(),
                "dispatch written"
            );
        }
        tx.commit().await.map_err(db_error("commit dispatch"))
    }

    async fn take_outbox(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let now = round_micros(now);
        let rows = sqlx::query(
            "UPDATE outbox SET claimed_at = $1 WHERE command_id IN (\
               SELECT command_id FROM outbox WHERE claimed_at IS NULL OR claimed_at < $2 \
               ORDER BY created_at, command_id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING command_id::int8 AS command_id, action_id::int8 AS action_id, queueloc, \
               body, expiration_ms, created_at",
        )
        .bind(now)
        .bind(before(now, lease))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("take outbox entries"))?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let created: DateTime<Utc> = get(row, "created_at")?;
            entries.push((
                created,
                OutboxEntry {
                    command_id: id_of("command id", get(row, "command_id")?)?,
                    action_id: id_of("action id", get(row, "action_id")?)?,
                    queueloc: get(row, "queueloc")?,
                    body: get(row, "body")?,
                    expiration_ms: u64::try_from(get::<i64>(row, "expiration_ms")?).unwrap_or(0),
                },
            ));
        }
        entries.sort_by_key(|(created, entry)| (*created, entry.command_id));
        Ok(entries.into_iter().map(|(_, entry)| entry).collect())
    }

    async fn ack_outbox(&self, command_ids: &[Id]) -> StoreResult<()> {
        sqlx::query("DELETE FROM outbox WHERE command_id = ANY($1::int8[]::numeric[])")
            .bind(ids_i64(command_ids))
            .execute(&self.pool)
            .await
            .map_err(db_error("delete outbox entries"))?;
        Ok(())
    }

    async fn finish_command(&self, returned: &Command, now: DateTime<Utc>) -> StoreResult<bool> {
        let Ok(pid) = pid_i32(returned.agent.pid) else {
            return Ok(false);
        };
        let done = sqlx::query(
            "UPDATE commands SET status = $2, results = $3::json, finishtime = $4 \
             WHERE id = $1 AND status = 'sent' AND agentid IN (SELECT id FROM agents \
             WHERE agents.queueloc = $5 AND agents.pid = $6 AND status IN ('online', 'idle'))",
        )
        .bind(returned.id.as_i64())
        .bind(returned.status.as_str())
        .bind(common::results_json(&returned.results))
        .bind(round_micros(now))
        .bind(&returned.agent.queueloc)
        .bind(pid)
        .execute(&self.pool)
        .await
        .map_err(db_error("finish command"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_command(&self, id: Id) -> StoreResult<Option<Command>> {
        Ok(self
            .commands_where("c.id = $1", id.as_i64())
            .await?
            .into_iter()
            .next())
    }

    async fn commands_of_action(&self, action_id: Id) -> StoreResult<Vec<Command>> {
        self.commands_where("c.actionid = $1", action_id.as_i64())
            .await
    }

    async fn expire_commands(&self, now: DateTime<Utc>) -> StoreResult<Vec<Id>> {
        let rows = sqlx::query(
            "WITH expired AS (UPDATE commands c SET status = 'expired', finishtime = $1 \
               FROM actions a WHERE a.id = c.actionid AND c.status = 'sent' \
               AND a.expireafter < $1 RETURNING c.actionid) \
             SELECT DISTINCT actionid::int8 AS id FROM expired ORDER BY 1",
        )
        .bind(round_micros(now))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("expire commands"))?;
        read_ids(&rows, "action id")
    }

    async fn complete_actions(
        &self,
        action_ids: &[Id],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ActionProgress>> {
        if action_ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = round_micros(now);
        let mut ids = ids_i64(action_ids);
        ids.sort_unstable();
        ids.dedup();
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        // Lock the actions so that two accountants do not both complete one.
        let existing = sqlx::query(
            "SELECT id::int8 AS id, status FROM actions WHERE id = ANY($1::int8[]::numeric[]) \
             ORDER BY id FOR UPDATE",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("lock actions"))?;
        let counts = self.counters(&ids).await?;
        let mut progress = Vec::new();
        let mut to_complete = Vec::new();
        for row in &existing {
            let id: i64 = get(row, "id")?;
            let status: Option<String> = get(row, "status")?;
            let counters = counters_from(counts.get(&id).map_or(&[], Vec::as_slice));
            let running = matches!(status.as_deref(), Some("inflight" | "preparing"));
            let completed = running && counters.sent > 0 && counters.done == counters.sent;
            if completed {
                to_complete.push(id);
            }
            progress.push(ActionProgress {
                action_id: id_of("action id", id)?,
                counters,
                completed,
            });
        }
        sqlx::query("UPDATE actions SET lastupdatetime = $2 WHERE id = ANY($1::int8[]::numeric[])")
            .bind(&ids)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error("update lastupdatetime"))?;
        if !to_complete.is_empty() {
            sqlx::query(
                "UPDATE actions SET status = 'completed', finishtime = $2 \
                 WHERE id = ANY($1::int8[]::numeric[])",
            )
            .bind(&to_complete)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error("complete actions"))?;
        }
        tx.commit().await.map_err(db_error("commit completion"))?;
        Ok(progress)
    }

    async fn inflight_actions(&self) -> StoreResult<Vec<Id>> {
        let rows = sqlx::query(
            "SELECT id::int8 AS id FROM actions WHERE status IN ('inflight', 'preparing') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("select inflight actions"))?;
        read_ids(&rows, "action id")
    }

    async fn upsert_heartbeats(
        &self,
        heartbeats: &[Agent],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<HeartbeatOutcome>> {
        if heartbeats.is_empty() {
            return Ok(Vec::new());
        }
        let now = round_micros(now);
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        let queuelocs: Vec<&str> = heartbeats
            .iter()
            .map(|agent| agent.queueloc.as_str())
            .collect();
        let pids: Vec<i32> = heartbeats
            .iter()
            .map(|agent| pid_i32(agent.pid))
            .collect::<StoreResult<_>>()?;
        // The most recent non-offline row of each (queueloc, pid).
        let rows = sqlx::query(
            "SELECT DISTINCT ON (a.queueloc, a.pid) a.id::int8 AS id, a.queueloc, a.pid, \
             a.status, a.refreshtime FROM agents a \
             JOIN (SELECT DISTINCT queueloc, pid FROM UNNEST($1::text[], $2::int4[]) \
                   AS k(queueloc, pid)) k ON a.queueloc = k.queueloc AND a.pid = k.pid \
             WHERE a.status IS DISTINCT FROM 'offline' \
             ORDER BY a.queueloc, a.pid, a.heartbeattime DESC, a.id DESC",
        )
        .bind(&queuelocs)
        .bind(&pids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("select heartbeat agents"))?;
        let mut existing = HashMap::with_capacity(rows.len());
        for row in &rows {
            let pid: i32 = get(row, "pid")?;
            existing.insert(
                (get::<String>(row, "queueloc")?, i64::from(pid)),
                ExistingAgent {
                    id: id_of("agent id", get(row, "id")?)?,
                    status: get::<Option<String>>(row, "status")?.unwrap_or_default(),
                    refreshtime: get(row, "refreshtime")?,
                },
            );
        }
        let plan = common::plan_heartbeats(heartbeats, existing)?;
        if !plan.refresh.is_empty() {
            sqlx::query(
                "UPDATE agents SET status = 'online', heartbeattime = $2, loadername = \
                 (SELECT loadername FROM loaders WHERE loaders.queueloc = agents.queueloc LIMIT 1) \
                 WHERE id = ANY($1::int8[]::numeric[])",
            )
            .bind(ids_i64(&plan.refresh))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error("update heartbeats"))?;
        }
        if !plan.insert.is_empty() {
            let sentinel = db_time(&GoTime::sentinel_unfinished());
            let ids: Vec<i64> = plan.insert.iter().map(|row| row.id.as_i64()).collect();
            let names: Vec<&str> = plan.insert.iter().map(|row| row.name.as_str()).collect();
            let queuelocs: Vec<&str> = plan
                .insert
                .iter()
                .map(|row| row.queueloc.as_str())
                .collect();
            let modes: Vec<&str> = plan.insert.iter().map(|row| row.mode.as_str()).collect();
            let versions: Vec<&str> = plan.insert.iter().map(|row| row.version.as_str()).collect();
            let pids: Vec<i32> = plan.insert.iter().map(|row| row.pid).collect();
            let refreshes: Vec<DateTime<Utc>> =
                plan.insert.iter().map(|row| row.refreshtime).collect();
            let environments: Vec<&str> = plan
                .insert
                .iter()
                .map(|row| row.environment.as_str())
                .collect();
            let tags: Vec<&str> = plan.insert.iter().map(|row| row.tags.as_str()).collect();
            sqlx::query(
                "INSERT INTO agents (id, name, queueloc, mode, version, pid, starttime, \
                 destructiontime, heartbeattime, refreshtime, status, environment, tags, loadername) \
                 SELECT u.id, u.name, u.queueloc, u.mode, u.version, u.pid, $1, $2, $1, \
                 u.refreshtime, 'online', u.environment::json, u.tags::json, \
                 (SELECT loadername FROM loaders WHERE loaders.queueloc = u.queueloc LIMIT 1) \
                 FROM UNNEST($3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], \
                 $8::int4[], $9::timestamptz[], $10::text[], $11::text[]) \
                 AS u(id, name, queueloc, mode, version, pid, refreshtime, environment, tags)",
            )
            .bind(now)
            .bind(sentinel)
            .bind(&ids)
            .bind(&names)
            .bind(&queuelocs)
            .bind(&modes)
            .bind(&versions)
            .bind(&pids)
            .bind(&refreshes)
            .bind(&environments)
            .bind(&tags)
            .execute(&mut *tx)
            .await
            .map_err(db_error("insert agents"))?;
        }
        if !plan.offline.is_empty() {
            sqlx::query(
                "UPDATE agents SET status = 'offline' WHERE id = ANY($1::int8[]::numeric[])",
            )
            .bind(ids_i64(&plan.offline))
            .execute(&mut *tx)
            .await
            .map_err(db_error("set replaced agents offline"))?;
        }
        tx.commit().await.map_err(db_error("commit heartbeats"))?;
        Ok(plan.outcomes)
    }

    crate::forward::forward_target_methods!();

    async fn get_agent(&self, id: Id) -> StoreResult<Option<Agent>> {
        let sql = format!(
            "SELECT {} FROM agents a WHERE a.id = $1",
            agent_columns("a", "")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_i64())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("select agent"))?
            .map(|row| read_agent(&row, ""))
            .transpose()
    }

    async fn mark_inactive_agents(
        &self,
        now: DateTime<Utc>,
        timeouts: AgentTimeouts,
    ) -> StoreResult<AgentTransitions> {
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        let offline = sqlx::query(
            "UPDATE agents SET status = 'offline' WHERE heartbeattime < $1 AND status = 'idle'",
        )
        .bind(before(now, timeouts.offline_after))
        .execute(&mut *tx)
        .await
        .map_err(db_error("mark agents offline"))?;
        let idle = sqlx::query(
            "UPDATE agents SET status = 'idle' WHERE heartbeattime < $1 AND status = 'online'",
        )
        .bind(before(now, timeouts.idle_after))
        .execute(&mut *tx)
        .await
        .map_err(db_error("mark agents idle"))?;
        tx.commit()
            .await
            .map_err(db_error("commit agent transitions"))?;
        Ok(AgentTransitions {
            to_idle: idle.rows_affected(),
            to_offline: offline.rows_affected(),
        })
    }

    async fn record_agents_stats(
        &self,
        now: DateTime<Utc>,
        count_new_endpoints: bool,
    ) -> StoreResult<AgentsStats> {
        use common::stats_sql as q;
        let now = round_micros(now);
        let day_ago = now - TimeDelta::hours(24);
        let week_ago = now - TimeDelta::days(7);
        let mut tx = self.pool.begin().await.map_err(db_error("begin"))?;
        let mut by_version = Vec::new();
        for sql in [q::ONLINE_BY_VERSION, q::IDLE_BY_VERSION] {
            let rows = sqlx::query(sql)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error("count agents by version"))?;
            let sums = rows
                .iter()
                .map(|row| {
                    Ok(AgentsVersionsSum {
                        version: row.try_get(0).map_err(db_error("agents by version"))?,
                        count: row
                            .try_get::<i64, _>(1)
                            .map_err(db_error("agents by version"))?
                            as f64,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            by_version.push(sums);
        }
        let mut counts = Vec::new();
        for sql in [
            q::ONLINE_ENDPOINTS,
            q::IDLE_ENDPOINTS,
            q::NEW_ENDPOINTS,
            q::MULTI_AGENTS_ENDPOINTS,
            q::DISAPPEARED_ENDPOINTS,
            q::FLAPPING_ENDPOINTS,
        ] {
            if sql == q::NEW_ENDPOINTS && !count_new_endpoints {
                counts.push(0.0);
                continue;
            }
            let mut query = sqlx::query_scalar::<_, i64>(sql);
            if sql.contains("$2") {
                query = query.bind(day_ago).bind(week_ago);
            }
            let count = query
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error("count endpoints"))?;
            counts.push(count as f64);
        }
        let idle_by_version = by_version.pop().unwrap_or_default();
        let online_by_version = by_version.pop().unwrap_or_default();
        let stats = AgentsStats {
            timestamp: GoTime::from(now),
            onlineagents: online_by_version.iter().map(|sum| sum.count).sum(),
            // Go's nil slice: `null` when no agent, as the original stored it.
            onlineagentsbyversion: (!online_by_version.is_empty()).then_some(online_by_version),
            onlineendpoints: counts[0],
            idleagents: idle_by_version.iter().map(|sum| sum.count).sum(),
            idleagentsbyversion: (!idle_by_version.is_empty()).then_some(idle_by_version),
            idleendpoints: counts[1],
            newendpoints: counts[2],
            multiagentsendpoints: counts[3],
            disappearedendpoints: counts[4],
            flappingendpoints: counts[5],
        };
        sqlx::query(
            "INSERT INTO agents_stats (\"timestamp\", online_agents, online_agents_by_version, \
             online_endpoints, idle_agents, idle_agents_by_version, idle_endpoints, new_endpoints, \
             multi_agents_endpoints, disappeared_endpoints, flapping_endpoints) \
             VALUES ($1, $2::numeric, $3::json, $4::numeric, $5::numeric, $6::json, $7::numeric, \
             $8::numeric, $9::numeric, $10::numeric, $11::numeric)",
        )
        .bind(now)
        .bind(stats.onlineagents)
        .bind(mig_protocol::gojson::to_string(
            &stats.onlineagentsbyversion,
        ))
        .bind(stats.onlineendpoints)
        .bind(stats.idleagents)
        .bind(mig_protocol::gojson::to_string(&stats.idleagentsbyversion))
        .bind(stats.idleendpoints)
        .bind(stats.newendpoints)
        .bind(stats.multiagentsendpoints)
        .bind(stats.disappearedendpoints)
        .bind(stats.flappingendpoints)
        .execute(&mut *tx)
        .await
        .map_err(db_error("insert agents stats"))?;
        tx.commit().await.map_err(db_error("commit agents stats"))?;
        Ok(stats)
    }

    async fn duplicate_queuelocs(&self, since: DateTime<Utc>) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "SELECT queueloc FROM agents WHERE heartbeattime > $1 AND mode != 'checkin' \
             GROUP BY queueloc HAVING COUNT(queueloc) > 1 ORDER BY queueloc",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("select duplicate queuelocs"))
    }

    async fn agents_of_queueloc(
        &self,
        queueloc: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<Agent>> {
        let sql = format!(
            "SELECT {} FROM agents a WHERE a.heartbeattime > $1 AND a.queueloc = $2 \
             AND a.status IS DISTINCT FROM 'offline' ORDER BY a.starttime, a.id",
            agent_columns("a", "")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(since)
            .bind(queueloc)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select agents of a queueloc"))?;
        rows.iter().map(|row| read_agent(row, "")).collect()
    }

    async fn mark_agent_destroyed(&self, id: Id, now: DateTime<Utc>) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE agents SET status = 'destroyed', destructiontime = $2 WHERE id = $1",
        )
        .bind(id.as_i64())
        .bind(round_micros(now))
        .execute(&self.pool)
        .await
        .map_err(db_error("mark agent destroyed"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "agent", id });
        }
        Ok(())
    }

    async fn stale_queuelocs(&self, oldest: DateTime<Utc>) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "SELECT queueloc FROM agents WHERE status = 'offline' AND heartbeattime > $1 \
             AND queueloc NOT IN (SELECT queueloc FROM agents WHERE status = 'idle' \
             OR status = 'online' GROUP BY queueloc) GROUP BY queueloc ORDER BY queueloc",
        )
        .bind(oldest)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error("select stale queuelocs"))
    }

    async fn active_investigators(&self) -> StoreResult<Vec<Investigator>> {
        let sql = format!(
            "SELECT {INVESTIGATOR_COLUMNS} FROM investigators WHERE status = 'active' ORDER BY id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select active investigators"))?;
        rows.iter()
            .map(|row| read_investigator(row, false))
            .collect()
    }

    async fn scheduler_identity(&self) -> StoreResult<Option<Investigator>> {
        let sql = format!(
            "SELECT {INVESTIGATOR_COLUMNS}, privatekey FROM investigators \
             WHERE name = 'migscheduler' AND status = 'active' ORDER BY id LIMIT 1"
        );
        sqlx::query(AssertSqlSafe(sql))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error("select the scheduler identity"))?
            .map(|row| read_investigator(&row, true))
            .transpose()
    }

    async fn insert_investigator(&self, investigator: &Investigator) -> StoreResult<Id> {
        // The API role may not write `privatekey`: name it only when there is one.
        let with_private_key = !investigator.privatekey.is_empty();
        let sql = if with_private_key {
            "INSERT INTO investigators (name, pgpfingerprint, publickey, status, createdat, \
             lastmodified, permissions, privatekey) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING id::int8"
        } else {
            "INSERT INTO investigators (name, pgpfingerprint, publickey, status, createdat, \
             lastmodified, permissions) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id::int8"
        };
        let fingerprint = (!investigator.pgpfingerprint.is_empty())
            .then_some(investigator.pgpfingerprint.as_str());
        let public_key = (!investigator.publickey.is_empty()).then_some(&investigator.publickey);
        let mut query = sqlx::query_scalar::<_, i64>(sql)
            .bind(&investigator.name)
            .bind(fingerprint)
            .bind(public_key)
            .bind(investigator.status.as_str())
            .bind(db_time(&investigator.createdat))
            .bind(db_time(&investigator.lastmodified))
            .bind(i64::try_from(investigator.permissions.0).unwrap_or(0));
        if with_private_key {
            query = query.bind(&investigator.privatekey);
        }
        let id = query
            .fetch_one(&self.pool)
            .await
            .map_err(db_error("insert investigator"))?;
        id_of("investigator id", id)
    }

    // ---- API (bodies in the `*_api` child module) -----------------------------
    crate::forward::forward_api_methods!();

    async fn wait_for_new_action(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.new_action.notified()).await;
    }
}
