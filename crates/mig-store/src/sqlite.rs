//! The SQLite store: the MIG schema in one file (or in memory), for a platform
//! that runs in one process.
//!
//! The pool holds a single connection, so every statement is serialized and two
//! claimers can never take the same action; write transactions still start with
//! `BEGIN IMMEDIATE` so that another process sharing the file waits for the write
//! lock instead of failing half-way. Times are TEXT in the fixed-width UTC form of
//! [`target::sqlite_timestamp`], rounded to the microsecond like PostgreSQL. Id
//! lists are bound as one JSON array and read with `json_each`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use mig_protocol::agent::{AgentsStats, AgentsVersionsSum};
use mig_protocol::{Action, Agent, Command, GoTime, Id, Investigator};
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, Sqlite, SqlitePool};
use tokio::sync::Notify;

use crate::common::{
    self, ActionColumns, ActionRow, AgentRow, CommandRow, ExistingAgent, InvestigatorRow, Targets,
    before, counters_from, db_error, db_time, id_of, pid_i32, round_micros,
};
use crate::store::{
    ActionProgress, AgentTimeouts, AgentTransitions, HeartbeatOutcome, OutboxEntry, Store,
    StoreError, StoreResult,
};
#[path = "sqlite_api.rs"]
mod api;

use crate::target::{self, Dialect, TargetParam, sqlite_timestamp};

/// The MIG database on SQLite.
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    new_action: Arc<Notify>,
}

/// A time as stored: rounded to the microsecond, fixed-width UTC text.
fn ts(time: DateTime<Utc>) -> String {
    sqlite_timestamp(&round_micros(time))
}

fn go_ts(time: &GoTime) -> String {
    sqlite_timestamp(&db_time(time))
}

/// A JSON array of ids, for `json_each`.
fn id_array(ids: &[Id]) -> String {
    serde_json::Value::from(ids.iter().map(|id| id.0).collect::<Vec<u64>>()).to_string()
}

fn parse_time(name: &str, text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| StoreError::Corrupt {
            what: "timestamp",
            reason: format!("{name}: {text:?}: {error}"),
        })
}

fn get<'r, T>(row: &'r SqliteRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(name).map_err(|error| StoreError::Corrupt {
        what: "column",
        reason: format!("{name}: {error}"),
    })
}

fn get_time(row: &SqliteRow, name: &str) -> StoreResult<DateTime<Utc>> {
    parse_time(name, &get::<String>(row, name)?)
}

fn get_opt_time(row: &SqliteRow, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
    get::<Option<String>>(row, name)?
        .map(|text| parse_time(name, &text))
        .transpose()
}

fn action_columns(table: &str, prefix: &str) -> String {
    [
        "id",
        "name",
        "target",
        "description",
        "threat",
        "operations",
        "validfrom",
        "expireafter",
        "starttime",
        "finishtime",
        "lastupdatetime",
        "status",
        "syntaxversion",
        "pgpsignatures",
    ]
    .iter()
    .map(|column| format!("{table}.{column} AS {prefix}{column}"))
    .collect::<Vec<_>>()
    .join(", ")
}

fn agent_columns(table: &str, prefix: &str) -> String {
    [
        "id",
        "name",
        "queueloc",
        "mode",
        "version",
        "pid",
        "starttime",
        "destructiontime",
        "heartbeattime",
        "refreshtime",
        "status",
        "environment",
        "tags",
        "loadername",
    ]
    .iter()
    .map(|column| format!("{table}.{column} AS {prefix}{column}"))
    .collect::<Vec<_>>()
    .join(", ")
}

const INVESTIGATOR_COLUMNS: &str =
    "id, name, pgpfingerprint, publickey, status, createdat, lastmodified, permissions";

fn read_action(row: &SqliteRow, p: &str) -> StoreResult<Action> {
    ActionRow {
        id: get(row, &format!("{p}id"))?,
        name: get(row, &format!("{p}name"))?,
        target: get(row, &format!("{p}target"))?,
        description: get(row, &format!("{p}description"))?,
        threat: get(row, &format!("{p}threat"))?,
        operations: get(row, &format!("{p}operations"))?,
        validfrom: get_time(row, &format!("{p}validfrom"))?,
        expireafter: get_time(row, &format!("{p}expireafter"))?,
        starttime: get_opt_time(row, &format!("{p}starttime"))?,
        finishtime: get_opt_time(row, &format!("{p}finishtime"))?,
        lastupdatetime: get_opt_time(row, &format!("{p}lastupdatetime"))?,
        status: get(row, &format!("{p}status"))?,
        syntaxversion: get(row, &format!("{p}syntaxversion"))?,
        pgpsignatures: get(row, &format!("{p}pgpsignatures"))?,
    }
    .into_action()
}

fn read_agent(row: &SqliteRow, p: &str) -> StoreResult<Agent> {
    AgentRow {
        id: get(row, &format!("{p}id"))?,
        name: get(row, &format!("{p}name"))?,
        queueloc: get(row, &format!("{p}queueloc"))?,
        mode: get(row, &format!("{p}mode"))?,
        version: get(row, &format!("{p}version"))?,
        pid: get(row, &format!("{p}pid"))?,
        starttime: get_time(row, &format!("{p}starttime"))?,
        destructiontime: get_opt_time(row, &format!("{p}destructiontime"))?,
        heartbeattime: get_time(row, &format!("{p}heartbeattime"))?,
        refreshtime: get_time(row, &format!("{p}refreshtime"))?,
        status: get(row, &format!("{p}status"))?,
        environment: get(row, &format!("{p}environment"))?,
        tags: get(row, &format!("{p}tags"))?,
        loadername: get(row, &format!("{p}loadername"))?,
    }
    .into_agent()
}

fn read_investigator(row: &SqliteRow, with_private_key: bool) -> StoreResult<Investigator> {
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
        createdat: get_time(row, "createdat")?,
        lastmodified: get_time(row, "lastmodified")?,
        permissions: get(row, "permissions")?,
    }
    .into_investigator()
}

fn read_ids(rows: &[SqliteRow], what: &'static str) -> StoreResult<Vec<Id>> {
    rows.iter()
        .map(|row| id_of(what, get::<i64>(row, "id")?))
        .collect()
}

fn bind_target<'q>(
    mut query: Query<'q, Sqlite, SqliteArguments>,
    params: &[TargetParam],
) -> Query<'q, Sqlite, SqliteArguments> {
    for param in params {
        query = match param {
            TargetParam::Text(text) => query.bind(text.clone()),
            TargetParam::Int(value) => query.bind(*value),
            TargetParam::Float(value) | TargetParam::IntervalSeconds(value) => query.bind(*value),
            TargetParam::Bool(value) => query.bind(*value),
            TargetParam::Timestamp(time) => query.bind(sqlite_timestamp(time)),
        };
    }
    query
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, or a private in-memory
    /// database for `":memory:"`, and applies the migrations.
    pub async fn open(path: &str) -> StoreResult<Self> {
        let in_memory = path == ":memory:";
        let options = if in_memory {
            SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(db_error("parse sqlite options"))?
        } else {
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        }
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
        // One connection: an in-memory database lives only as long as it, and it
        // serializes the writers.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db_error("open sqlite database"))?;
        crate::migrations::sqlite()
            .run(&pool)
            .await
            .map_err(|error| StoreError::Database(format!("migrate: {error}")))?;
        Ok(Self {
            pool,
            new_action: Arc::new(Notify::new()),
        })
    }

    /// The connection pool, for administration and tests.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error("begin"))
    }

    async fn insert_action_tx(
        tx: &mut sqlx::SqliteConnection,
        action: &Action,
        signatures: &[(Id, String)],
    ) -> StoreResult<()> {
        let columns = ActionColumns::of(action);
        sqlx::query(
            "INSERT INTO actions (id, name, target, description, threat, operations, validfrom, \
             expireafter, starttime, finishtime, lastupdatetime, status, syntaxversion, \
             pgpsignatures) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .bind(action.id.as_i64())
        .bind(&action.name)
        .bind(&action.target)
        .bind(&columns.description)
        .bind(&columns.threat)
        .bind(&columns.operations)
        .bind(go_ts(&action.validfrom))
        .bind(go_ts(&action.expireafter))
        .bind(go_ts(&action.starttime))
        .bind(go_ts(&action.finishtime))
        .bind(go_ts(&action.lastupdatetime))
        .bind(action.status.as_str())
        .bind(i32::from(action.syntaxversion))
        .bind(&columns.pgpsignatures)
        .execute(&mut *tx)
        .await
        .map_err(db_error("insert action"))?;
        for (investigator, signature) in signatures {
            sqlx::query(
                "INSERT INTO signatures (actionid, investigatorid, pgpsignature) VALUES (?1, ?2, ?3)",
            )
            .bind(action.id.as_i64())
            .bind(investigator.as_i64())
            .bind(signature)
            .execute(&mut *tx)
            .await
            .map_err(db_error("insert signature"))?;
        }
        Ok(())
    }

    async fn counters(
        tx: &mut sqlx::SqliteConnection,
        action_ids: &[Id],
    ) -> StoreResult<HashMap<i64, Vec<(String, i64)>>> {
        let rows = sqlx::query(
            "SELECT actionid, status, COUNT(*) AS count FROM commands \
             WHERE actionid IN (SELECT value FROM json_each(?1)) GROUP BY actionid, status",
        )
        .bind(id_array(action_ids))
        .fetch_all(&mut *tx)
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
            "SELECT c.id AS id, c.status AS status, c.results AS results, c.starttime AS starttime, \
             c.finishtime AS finishtime, c.actionid AS actionid, {agent} FROM commands c \
             JOIN agents g ON g.id = c.agentid WHERE {condition} ORDER BY c.id",
            agent = agent_columns("g", "g_"),
        );
        let mut conn = self.pool.acquire().await.map_err(db_error("acquire"))?;
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error("select commands"))?;
        let mut actions: HashMap<i64, Action> = HashMap::new();
        let mut commands = Vec::with_capacity(rows.len());
        for row in &rows {
            let action_id: i64 = get(row, "actionid")?;
            if let std::collections::hash_map::Entry::Vacant(slot) = actions.entry(action_id) {
                let sql = format!(
                    "SELECT {} FROM actions a WHERE a.id = ?1",
                    action_columns("a", "")
                );
                let action_row = sqlx::query(AssertSqlSafe(sql))
                    .bind(action_id)
                    .fetch_one(&mut *conn)
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
                starttime: get_time(row, "starttime")?,
                finishtime: get_opt_time(row, "finishtime")?,
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
        let compiled = target::compile_at(target, Dialect::Sqlite, 1, now)?;
        let filtered = format!(
            "SELECT * FROM agents WHERE agents.status IN ('online', 'idle') AND ({})",
            compiled.sql
        );
        if count_only {
            let sql = format!("SELECT COUNT(DISTINCT queueloc) FROM ({filtered})");
            let count: i64 = bind_target(sqlx::query(AssertSqlSafe(sql)), &compiled.params)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error("count target agents"))?
                .try_get(0)
                .map_err(db_error("count target agents"))?;
            return Ok((Vec::new(), u64::try_from(count).unwrap_or(0)));
        }
        // One row per queueloc, the lowest id (PostgreSQL's DISTINCT ON picks any).
        let sql = format!(
            "SELECT {} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY queueloc ORDER BY id) \
             AS mig_rank FROM ({filtered})) AS agents WHERE mig_rank = 1 ORDER BY queueloc{limit}",
            agent_columns("agents", "")
        );
        let rows = bind_target(sqlx::query(AssertSqlSafe(sql)), &compiled.params)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select target agents"))?;
        let agents = rows
            .iter()
            .map(|row| read_agent(row, ""))
            .collect::<StoreResult<Vec<_>>>()?;
        let count = agents.len() as u64;
        Ok((agents, count))
    }
}

impl Store for SqliteStore {
    async fn insert_action(&self, action: &Action, signatures: &[(Id, String)]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        Self::insert_action_tx(&mut tx, action, signatures).await?;
        tx.commit().await.map_err(db_error("commit action"))?;
        self.new_action.notify_one();
        Ok(())
    }

    async fn get_action(&self, id: Id) -> StoreResult<Option<Action>> {
        let mut conn = self.pool.acquire().await.map_err(db_error("acquire"))?;
        let sql = format!(
            "SELECT {} FROM actions a WHERE a.id = ?1",
            action_columns("a", "")
        );
        let Some(row) = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_i64())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error("select action"))?
        else {
            return Ok(None);
        };
        let mut action = read_action(&row, "")?;
        let counters = Self::counters(&mut conn, &[id]).await?;
        action.counters = counters_from(counters.get(&id.as_i64()).map_or(&[], Vec::as_slice));
        let rows = sqlx::query(
            "SELECT i.id AS id, i.name AS name, i.pgpfingerprint AS pgpfingerprint, \
             NULL AS publickey, i.status AS status, i.createdat AS createdat, \
             i.lastmodified AS lastmodified, 0 AS permissions \
             FROM signatures s JOIN investigators i ON i.id = s.investigatorid \
             WHERE s.actionid = ?1 ORDER BY i.id",
        )
        .bind(id.as_i64())
        .fetch_all(&mut *conn)
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
        let now_text = ts(now);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut tx = self.begin().await?;
        let sql = format!(
            "SELECT {} FROM actions a LEFT JOIN action_claims c ON c.action_id = a.id \
             WHERE a.validfrom <= ?1 AND a.expireafter > ?1 AND (a.status = 'pending' \
             OR (a.status = 'scheduled' AND c.claimed_at < ?2)) \
             ORDER BY a.status = 'pending', a.validfrom, a.id LIMIT ?3",
            action_columns("a", "")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&now_text)
            .bind(ts(before(now, lease)))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error("select runnable actions"))?;
        let mut actions = rows
            .iter()
            .map(|row| read_action(row, ""))
            .collect::<StoreResult<Vec<_>>>()?;
        if actions.is_empty() {
            tx.commit().await.map_err(db_error("commit claim"))?;
            return Ok(actions);
        }
        let ids: Vec<Id> = actions.iter().map(|action| action.id).collect();
        sqlx::query(
            "UPDATE actions SET status = 'scheduled' WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(id_array(&ids))
        .execute(&mut *tx)
        .await
        .map_err(db_error("mark actions scheduled"))?;
        sqlx::query(
            "INSERT INTO action_claims (action_id, claimed_at) \
             SELECT value, ?2 FROM json_each(?1) WHERE true \
             ON CONFLICT (action_id) DO UPDATE SET claimed_at = excluded.claimed_at",
        )
        .bind(id_array(&ids))
        .bind(&now_text)
        .execute(&mut *tx)
        .await
        .map_err(db_error("record claims"))?;
        tx.commit().await.map_err(db_error("commit claim"))?;
        for action in &mut actions {
            action.status = mig_protocol::status::ActionStatus::Scheduled;
        }
        actions.sort_by_key(|action| (action.validfrom, action.id));
        Ok(actions)
    }

    async fn invalidate_stale_actions(&self, now: DateTime<Utc>) -> StoreResult<Vec<Id>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "UPDATE actions SET status = 'invalid', lastupdatetime = ?1 \
             WHERE status IN ('pending', 'scheduled') AND expireafter <= ?1 RETURNING id",
        )
        .bind(ts(now))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("invalidate stale actions"))?;
        let mut ids = read_ids(&rows, "action id")?;
        sqlx::query(
            "DELETE FROM action_claims WHERE action_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(id_array(&ids))
        .execute(&mut *tx)
        .await
        .map_err(db_error("delete claims"))?;
        tx.commit().await.map_err(db_error("commit invalidation"))?;
        ids.sort();
        Ok(ids)
    }

    async fn invalidate_action(&self, id: Id, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE actions SET status = 'invalid', starttime = ?2, lastupdatetime = ?2 \
             WHERE id = ?1",
        )
        .bind(id.as_i64())
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db_error("invalidate action"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "action", id });
        }
        sqlx::query("DELETE FROM action_claims WHERE action_id = ?1")
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
        let now_text = ts(now);
        let mut tx = self.begin().await?;
        let status: Option<Option<String>> =
            sqlx::query_scalar("SELECT status FROM actions WHERE id = ?1")
                .bind(action.id.as_i64())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error("read action status"))?;
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
            "UPDATE actions SET status = 'inflight', starttime = ?2, lastupdatetime = ?2 \
             WHERE id = ?1",
        )
        .bind(action.id.as_i64())
        .bind(&now_text)
        .execute(&mut *tx)
        .await
        .map_err(db_error("mark action inflight"))?;
        sqlx::query("DELETE FROM action_claims WHERE action_id = ?1")
            .bind(action.id.as_i64())
            .execute(&mut *tx)
            .await
            .map_err(db_error("delete claim"))?;
        let sentinel = go_ts(&GoTime::sentinel_unfinished());
        let expiration =
            i64::try_from(mig_protocol::relay::command_expiration_ms(action)).unwrap_or(i64::MAX);
        for command in commands {
            let start = if command.starttime.is_zero() {
                now_text.clone()
            } else {
                go_ts(&command.starttime)
            };
            sqlx::query(
                "INSERT INTO commands (id, actionid, agentid, status, starttime, finishtime, results) \
                 VALUES (?1, ?2, ?3, 'sent', ?4, ?5, ?6)",
            )
            .bind(command.id.as_i64())
            .bind(action.id.as_i64())
            .bind(command.agent.id.as_i64())
            .bind(start)
            .bind(&sentinel)
            .bind(common::results_json(&command.results))
            .execute(&mut *tx)
            .await
            .map_err(db_error("insert command"))?;
            sqlx::query(
                "INSERT INTO outbox (command_id, action_id, queueloc, body, expiration_ms, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(command.id.as_i64())
            .bind(action.id.as_i64())
            .bind(&command.agent.queueloc)
            .bind(command.to_json())
            .bind(expiration)
            .bind(&now_text)
            .execute(&mut *tx)
            .await
            .map_err(db_error("insert outbox entry"))?;
        }
        tx.commit().await.map_err(db_error("commit dispatch"))
    }

    async fn take_outbox(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "UPDATE outbox SET claimed_at = ?1 WHERE command_id IN (\
               SELECT command_id FROM outbox WHERE claimed_at IS NULL OR claimed_at < ?2 \
               ORDER BY created_at, command_id LIMIT ?3) \
             RETURNING command_id, action_id, queueloc, body, expiration_ms, created_at",
        )
        .bind(ts(now))
        .bind(ts(before(now, lease)))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("take outbox entries"))?;
        tx.commit().await.map_err(db_error("commit outbox take"))?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let created: String = get(row, "created_at")?;
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
        entries.sort_by(|a, b| (&a.0, a.1.command_id).cmp(&(&b.0, b.1.command_id)));
        Ok(entries.into_iter().map(|(_, entry)| entry).collect())
    }

    async fn ack_outbox(&self, command_ids: &[Id]) -> StoreResult<()> {
        sqlx::query("DELETE FROM outbox WHERE command_id IN (SELECT value FROM json_each(?1))")
            .bind(id_array(command_ids))
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
            "UPDATE commands SET status = ?2, results = ?3, finishtime = ?4 \
             WHERE id = ?1 AND status = 'sent' AND agentid IN (SELECT id FROM agents \
             WHERE agents.queueloc = ?5 AND agents.pid = ?6 AND status IN ('online', 'idle'))",
        )
        .bind(returned.id.as_i64())
        .bind(returned.status.as_str())
        .bind(common::results_json(&returned.results))
        .bind(ts(now))
        .bind(&returned.agent.queueloc)
        .bind(pid)
        .execute(&self.pool)
        .await
        .map_err(db_error("finish command"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_command(&self, id: Id) -> StoreResult<Option<Command>> {
        Ok(self
            .commands_where("c.id = ?1", id.as_i64())
            .await?
            .into_iter()
            .next())
    }

    async fn commands_of_action(&self, action_id: Id) -> StoreResult<Vec<Command>> {
        self.commands_where("c.actionid = ?1", action_id.as_i64())
            .await
    }

    async fn expire_commands(&self, now: DateTime<Utc>) -> StoreResult<Vec<Id>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "UPDATE commands SET status = 'expired', finishtime = ?1 WHERE status = 'sent' \
             AND actionid IN (SELECT id FROM actions WHERE expireafter < ?1) RETURNING actionid AS id",
        )
        .bind(ts(now))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("expire commands"))?;
        tx.commit().await.map_err(db_error("commit expiry"))?;
        let mut ids = read_ids(&rows, "action id")?;
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    async fn complete_actions(
        &self,
        action_ids: &[Id],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ActionProgress>> {
        if action_ids.is_empty() {
            return Ok(Vec::new());
        }
        let now_text = ts(now);
        let mut ids = action_ids.to_vec();
        ids.sort();
        ids.dedup();
        let mut tx = self.begin().await?;
        let existing = sqlx::query(
            "SELECT id, status FROM actions WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id",
        )
        .bind(id_array(&ids))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("read actions"))?;
        let counts = Self::counters(&mut tx, &ids).await?;
        let mut progress = Vec::new();
        let mut to_complete = Vec::new();
        for row in &existing {
            let id: i64 = get(row, "id")?;
            let status: Option<String> = get(row, "status")?;
            let counters = counters_from(counts.get(&id).map_or(&[], Vec::as_slice));
            let running = matches!(status.as_deref(), Some("inflight" | "preparing"));
            let completed = running && counters.sent > 0 && counters.done == counters.sent;
            let action_id = id_of("action id", id)?;
            if completed {
                to_complete.push(action_id);
            }
            progress.push(ActionProgress {
                action_id,
                counters,
                completed,
            });
        }
        sqlx::query(
            "UPDATE actions SET lastupdatetime = ?2 WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(id_array(&ids))
        .bind(&now_text)
        .execute(&mut *tx)
        .await
        .map_err(db_error("update lastupdatetime"))?;
        if !to_complete.is_empty() {
            sqlx::query(
                "UPDATE actions SET status = 'completed', finishtime = ?2 \
                 WHERE id IN (SELECT value FROM json_each(?1))",
            )
            .bind(id_array(&to_complete))
            .bind(&now_text)
            .execute(&mut *tx)
            .await
            .map_err(db_error("complete actions"))?;
        }
        tx.commit().await.map_err(db_error("commit completion"))?;
        Ok(progress)
    }

    async fn inflight_actions(&self) -> StoreResult<Vec<Id>> {
        let rows = sqlx::query(
            "SELECT id FROM actions WHERE status IN ('inflight', 'preparing') ORDER BY id",
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
        let now_text = ts(now);
        let keys = serde_json::Value::from(
            heartbeats
                .iter()
                .map(|agent| serde_json::json!([agent.queueloc, agent.pid]))
                .collect::<Vec<_>>(),
        )
        .to_string();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT a.id AS id, a.queueloc AS queueloc, a.pid AS pid, a.status AS status, \
             a.refreshtime AS refreshtime FROM agents a \
             JOIN (SELECT DISTINCT json_extract(value, '$[0]') AS queueloc, \
                   json_extract(value, '$[1]') AS pid FROM json_each(?1)) k \
               ON a.queueloc = k.queueloc AND a.pid = k.pid \
             WHERE a.status IS NOT 'offline' \
             ORDER BY a.heartbeattime ASC, a.id ASC",
        )
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error("select heartbeat agents"))?;
        // Later rows (more recent heartbeats) win, as on PostgreSQL.
        let mut existing = HashMap::with_capacity(rows.len());
        for row in &rows {
            let pid: i64 = get(row, "pid")?;
            existing.insert(
                (get::<String>(row, "queueloc")?, pid),
                ExistingAgent {
                    id: id_of("agent id", get(row, "id")?)?,
                    status: get::<Option<String>>(row, "status")?.unwrap_or_default(),
                    refreshtime: get_time(row, "refreshtime")?,
                },
            );
        }
        let plan = common::plan_heartbeats(heartbeats, existing)?;
        if !plan.refresh.is_empty() {
            sqlx::query(
                "UPDATE agents SET status = 'online', heartbeattime = ?2, loadername = \
                 (SELECT loadername FROM loaders WHERE loaders.queueloc = agents.queueloc LIMIT 1) \
                 WHERE id IN (SELECT value FROM json_each(?1))",
            )
            .bind(id_array(&plan.refresh))
            .bind(&now_text)
            .execute(&mut *tx)
            .await
            .map_err(db_error("update heartbeats"))?;
        }
        if !plan.insert.is_empty() {
            let rows = serde_json::Value::from(
                plan.insert
                    .iter()
                    .map(|row| {
                        serde_json::json!([
                            row.id.0,
                            row.name,
                            row.queueloc,
                            row.mode,
                            row.version,
                            row.pid,
                            ts(row.refreshtime),
                            row.environment,
                            row.tags
                        ])
                    })
                    .collect::<Vec<_>>(),
            )
            .to_string();
            sqlx::query(
                "INSERT INTO agents (id, name, queueloc, mode, version, pid, starttime, \
                 destructiontime, heartbeattime, refreshtime, status, environment, tags, loadername) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
                 json_extract(value, '$[2]') AS queueloc, json_extract(value, '$[3]'), \
                 json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?1, ?2, ?1, \
                 json_extract(value, '$[6]'), 'online', json_extract(value, '$[7]'), \
                 json_extract(value, '$[8]'), (SELECT loadername FROM loaders \
                 WHERE loaders.queueloc = json_extract(value, '$[2]') LIMIT 1) \
                 FROM json_each(?3)",
            )
            .bind(&now_text)
            .bind(go_ts(&GoTime::sentinel_unfinished()))
            .bind(rows)
            .execute(&mut *tx)
            .await
            .map_err(db_error("insert agents"))?;
        }
        if !plan.offline.is_empty() {
            sqlx::query(
                "UPDATE agents SET status = 'offline' WHERE id IN (SELECT value FROM json_each(?1))",
            )
            .bind(id_array(&plan.offline))
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
            "SELECT {} FROM agents a WHERE a.id = ?1",
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
        let mut tx = self.begin().await?;
        let offline = sqlx::query(
            "UPDATE agents SET status = 'offline' WHERE heartbeattime < ?1 AND status = 'idle'",
        )
        .bind(ts(before(now, timeouts.offline_after)))
        .execute(&mut *tx)
        .await
        .map_err(db_error("mark agents offline"))?;
        let idle = sqlx::query(
            "UPDATE agents SET status = 'idle' WHERE heartbeattime < ?1 AND status = 'online'",
        )
        .bind(ts(before(now, timeouts.idle_after)))
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
        let day_ago = ts(now - TimeDelta::hours(24));
        let week_ago = ts(now - TimeDelta::days(7));
        let mut tx = self.begin().await?;
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
            let text = crate::dialect::placeholders(crate::target::Dialect::Sqlite, sql);
            let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(text));
            if sql.contains("$2") {
                query = query.bind(day_ago.clone()).bind(week_ago.clone());
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .bind(ts(now))
        .bind(stats.onlineagents as i64)
        .bind(mig_protocol::gojson::to_string(
            &stats.onlineagentsbyversion,
        ))
        .bind(stats.onlineendpoints as i64)
        .bind(stats.idleagents as i64)
        .bind(mig_protocol::gojson::to_string(&stats.idleagentsbyversion))
        .bind(stats.idleendpoints as i64)
        .bind(stats.newendpoints as i64)
        .bind(stats.multiagentsendpoints as i64)
        .bind(stats.disappearedendpoints as i64)
        .bind(stats.flappingendpoints as i64)
        .execute(&mut *tx)
        .await
        .map_err(db_error("insert agents stats"))?;
        tx.commit().await.map_err(db_error("commit agents stats"))?;
        Ok(stats)
    }

    async fn duplicate_queuelocs(&self, since: DateTime<Utc>) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "SELECT queueloc FROM agents WHERE heartbeattime > ?1 AND mode != 'checkin' \
             GROUP BY queueloc HAVING COUNT(queueloc) > 1 ORDER BY queueloc",
        )
        .bind(ts(since))
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
            "SELECT {} FROM agents a WHERE a.heartbeattime > ?1 AND a.queueloc = ?2 \
             AND a.status IS NOT 'offline' ORDER BY a.starttime, a.id",
            agent_columns("a", "")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(ts(since))
            .bind(queueloc)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error("select agents of a queueloc"))?;
        rows.iter().map(|row| read_agent(row, "")).collect()
    }

    async fn mark_agent_destroyed(&self, id: Id, now: DateTime<Utc>) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE agents SET status = 'destroyed', destructiontime = ?2 WHERE id = ?1",
        )
        .bind(id.as_i64())
        .bind(ts(now))
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
            "SELECT queueloc FROM agents WHERE status = 'offline' AND heartbeattime > ?1 \
             AND queueloc NOT IN (SELECT queueloc FROM agents WHERE status = 'idle' \
             OR status = 'online' GROUP BY queueloc) GROUP BY queueloc ORDER BY queueloc",
        )
        .bind(ts(oldest))
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
        let fingerprint = (!investigator.pgpfingerprint.is_empty())
            .then_some(investigator.pgpfingerprint.as_str());
        let public_key = (!investigator.publickey.is_empty()).then_some(&investigator.publickey);
        let private_key = (!investigator.privatekey.is_empty()).then_some(&investigator.privatekey);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO investigators (name, pgpfingerprint, publickey, status, createdat, \
             lastmodified, permissions, privatekey) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             RETURNING id",
        )
        .bind(&investigator.name)
        .bind(fingerprint)
        .bind(public_key)
        .bind(investigator.status.as_str())
        .bind(go_ts(&investigator.createdat))
        .bind(go_ts(&investigator.lastmodified))
        .bind(i64::try_from(investigator.permissions.0).unwrap_or(0))
        .bind(private_key)
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
