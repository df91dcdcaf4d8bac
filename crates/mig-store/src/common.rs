//! What both stores share: time rounding, JSON columns, row assembly, error
//! mapping, the heartbeat plan and the counters of an action.
//!
//! Each backend reads its columns into the plain `*Row` structs below (times
//! already as UTC, JSON as text) and this module turns them into wire types, so
//! that PostgreSQL and SQLite produce identical values.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use mig_protocol::action::{ActionCounters, Description, Threat};
use mig_protocol::agent::AgentEnv;
use mig_protocol::status::{ActionStatus, AgentStatus, CommandStatus, InvestigatorStatus};
use mig_protocol::{Action, Agent, Command, GoTime, Id, Investigator, ModuleResult, Permissions};
use serde::de::DeserializeOwned;

use crate::store::{HeartbeatOutcome, StoreError, StoreResult};

/// A refresh time later than the stored one by more than this replaces the row (§7.8).
pub(crate) const REFRESH_MARGIN: TimeDelta = TimeDelta::seconds(15);

/// Rounds a time to the microsecond, half up, as PostgreSQL stores it; both stores
/// write every time through this function so that they read back the same values.
pub(crate) fn round_micros(time: DateTime<Utc>) -> DateTime<Utc> {
    let remainder = i64::from(time.timestamp_subsec_nanos() % 1000);
    let base = time - TimeDelta::nanoseconds(remainder);
    if remainder >= 500 {
        base + TimeDelta::microseconds(1)
    } else {
        base
    }
}

/// The UTC instant of a wire time, rounded to the microsecond.
pub(crate) fn db_time(time: &GoTime) -> DateTime<Utc> {
    round_micros(time.to_utc())
}

/// A stored time as a wire time in UTC.
pub(crate) fn go_time(time: DateTime<Utc>) -> GoTime {
    GoTime::from(time)
}

/// A nullable stored time; NULL reads as Go's zero time.
pub(crate) fn go_time_or_zero(time: Option<DateTime<Utc>>) -> GoTime {
    time.map(go_time).unwrap_or_default()
}

/// `now - duration`, saturating at the earliest representable time.
pub(crate) fn before(now: DateTime<Utc>, duration: std::time::Duration) -> DateTime<Utc> {
    TimeDelta::from_std(duration)
        .ok()
        .and_then(|delta| now.checked_sub_signed(delta))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Maps a sqlx error to a store error, naming the statement that failed.
pub(crate) fn db_error(context: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| {
        if let Some(database_error) = error.as_database_error() {
            match database_error.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    return StoreError::Conflict(format!("{context}: {database_error}"));
                }
                sqlx::error::ErrorKind::ForeignKeyViolation => {
                    return StoreError::Conflict(format!("{context}: {database_error}"));
                }
                _ => {}
            }
        }
        StoreError::Database(format!("{context}: {error}"))
    }
}

/// Decodes a JSON column; NULL gives the type's default.
pub(crate) fn decode_json<T: DeserializeOwned + Default>(
    what: &'static str,
    text: Option<&str>,
) -> StoreResult<T> {
    match text {
        None => Ok(T::default()),
        Some(text) => mig_protocol::gojson::from_str(text).map_err(|error| StoreError::Corrupt {
            what,
            reason: error.to_string(),
        }),
    }
}

/// An id column as an [`Id`].
pub(crate) fn id_of(what: &'static str, value: i64) -> StoreResult<Id> {
    u64::try_from(value)
        .map(Id)
        .map_err(|_| StoreError::Corrupt {
            what,
            reason: format!("negative id {value}"),
        })
}

/// Ids as the 64-bit integers both databases bind.
pub(crate) fn ids_i64(ids: &[Id]) -> Vec<i64> {
    ids.iter().map(Id::as_i64).collect()
}

/// An agent pid as the `integer` column holds it.
pub(crate) fn pid_i32(pid: i64) -> StoreResult<i32> {
    i32::try_from(pid)
        .map_err(|_| StoreError::Conflict(format!("agent pid {pid} does not fit the pid column")))
}

/// Results of a returned command as stored: Go JSON with every `\u0000` escape
/// replaced by the text `NULL`, as the original does [COMPAT].
pub(crate) fn results_json(results: &Option<Vec<ModuleResult>>) -> String {
    mig_protocol::gojson::to_string(results).replace("\\u0000", "NULL")
}

/// The columns of an `actions` row.
pub(crate) struct ActionRow {
    pub id: i64,
    pub name: String,
    pub target: String,
    pub description: Option<String>,
    pub threat: Option<String>,
    pub operations: Option<String>,
    pub validfrom: DateTime<Utc>,
    pub expireafter: DateTime<Utc>,
    pub starttime: Option<DateTime<Utc>>,
    pub finishtime: Option<DateTime<Utc>>,
    pub lastupdatetime: Option<DateTime<Utc>>,
    pub status: Option<String>,
    pub syntaxversion: Option<i32>,
    pub pgpsignatures: String,
}

impl ActionRow {
    /// The action, without counters and investigators.
    pub(crate) fn into_action(self) -> StoreResult<Action> {
        Ok(Action {
            id: id_of("action id", self.id)?,
            name: self.name,
            target: self.target,
            description: decode_json::<Description>(
                "action description",
                self.description.as_deref(),
            )?,
            threat: decode_json::<Threat>("action threat", self.threat.as_deref())?,
            validfrom: go_time(self.validfrom),
            expireafter: go_time(self.expireafter),
            operations: decode_json("action operations", self.operations.as_deref())?,
            pgpsignatures: decode_json("action signatures", Some(&self.pgpsignatures))?,
            investigators: Vec::new(),
            status: ActionStatus::from(self.status.as_deref().unwrap_or("")),
            starttime: go_time_or_zero(self.starttime),
            finishtime: go_time_or_zero(self.finishtime),
            lastupdatetime: go_time_or_zero(self.lastupdatetime),
            counters: ActionCounters::default(),
            syntaxversion: self
                .syntaxversion
                .and_then(|version| u16::try_from(version).ok())
                .unwrap_or(0),
        })
    }
}

/// The columns written for a new action, encoded once for both stores.
pub(crate) struct ActionColumns {
    pub description: String,
    pub threat: String,
    pub operations: String,
    pub pgpsignatures: String,
}

impl ActionColumns {
    pub(crate) fn of(action: &Action) -> Self {
        Self {
            description: mig_protocol::gojson::to_string(&action.description),
            threat: mig_protocol::gojson::to_string(&action.threat),
            operations: mig_protocol::gojson::to_string(&action.operations),
            pgpsignatures: mig_protocol::gojson::to_string(&action.pgpsignatures),
        }
    }
}

/// The columns of an `agents` row.
pub(crate) struct AgentRow {
    pub id: i64,
    pub name: String,
    pub queueloc: String,
    pub mode: String,
    pub version: String,
    pub pid: i32,
    pub starttime: DateTime<Utc>,
    pub destructiontime: Option<DateTime<Utc>>,
    pub heartbeattime: DateTime<Utc>,
    pub refreshtime: DateTime<Utc>,
    pub status: Option<String>,
    pub environment: Option<String>,
    pub tags: Option<String>,
    pub loadername: Option<String>,
}

impl AgentRow {
    pub(crate) fn into_agent(self) -> StoreResult<Agent> {
        let tags: Option<std::collections::BTreeMap<String, String>> =
            decode_json("agent tags", self.tags.as_deref())?;
        Ok(Agent {
            id: id_of("agent id", self.id)?,
            name: self.name,
            queueloc: self.queueloc,
            mode: self.mode,
            version: self.version,
            pid: i64::from(self.pid),
            loadername: self.loadername.unwrap_or_default(),
            starttime: go_time(self.starttime),
            destructiontime: go_time_or_zero(self.destructiontime),
            heartbeatts: go_time(self.heartbeattime),
            refreshts: go_time(self.refreshtime),
            status: AgentStatus::from(self.status.as_deref().unwrap_or("")),
            authorized: false,
            environment: decode_json::<AgentEnv>("agent environment", self.environment.as_deref())?,
            tags: tags.unwrap_or_default(),
        })
    }
}

/// The columns of a `commands` row.
pub(crate) struct CommandRow {
    pub id: i64,
    pub status: String,
    pub results: Option<String>,
    pub starttime: DateTime<Utc>,
    pub finishtime: Option<DateTime<Utc>>,
}

impl CommandRow {
    pub(crate) fn into_command(self, action: Action, agent: Agent) -> StoreResult<Command> {
        Ok(Command {
            id: id_of("command id", self.id)?,
            action,
            agent,
            status: CommandStatus::from(self.status.as_str()),
            results: decode_json("command results", self.results.as_deref())?,
            starttime: go_time(self.starttime),
            finishtime: go_time_or_zero(self.finishtime),
        })
    }
}

/// The columns of an `investigators` row.
pub(crate) struct InvestigatorRow {
    pub id: i64,
    pub name: String,
    pub pgpfingerprint: Option<String>,
    pub publickey: Option<Vec<u8>>,
    pub privatekey: Option<Vec<u8>>,
    pub status: String,
    pub createdat: DateTime<Utc>,
    pub lastmodified: DateTime<Utc>,
    pub permissions: i64,
}

impl InvestigatorRow {
    pub(crate) fn into_investigator(self) -> StoreResult<Investigator> {
        Ok(Investigator {
            id: id_of("investigator id", self.id)?,
            name: self.name,
            pgpfingerprint: self.pgpfingerprint.unwrap_or_default(),
            publickey: self.publickey.unwrap_or_default(),
            privatekey: self.privatekey.unwrap_or_default(),
            status: InvestigatorStatus::from(self.status.as_str()),
            createdat: go_time(self.createdat),
            lastmodified: go_time(self.lastmodified),
            apikey: String::new(),
            permissions: Permissions(u64::try_from(self.permissions).unwrap_or(0)),
        })
    }
}

/// Counters of an action from `(status, count)` pairs of its commands (§2.1).
pub(crate) fn counters_from(statuses: &[(String, i64)]) -> ActionCounters {
    let mut counters = ActionCounters::default();
    for (status, count) in statuses {
        match CommandStatus::from(status.as_str()) {
            CommandStatus::Sent => counters.inflight += count,
            CommandStatus::Success => counters.success += count,
            CommandStatus::Cancelled => counters.cancelled += count,
            CommandStatus::Expired => counters.expired += count,
            CommandStatus::Failed => counters.failed += count,
            CommandStatus::Timeout => counters.timeout += count,
            CommandStatus::Other(_) => {}
        }
    }
    counters.done = counters.success
        + counters.cancelled
        + counters.expired
        + counters.failed
        + counters.timeout;
    counters.sent = counters.inflight + counters.done;
    counters
}

/// A non-offline agent row found for a heartbeat's `(queueloc, pid)`.
pub(crate) struct ExistingAgent {
    pub id: Id,
    pub status: String,
    pub refreshtime: DateTime<Utc>,
}

/// An agent row to insert for a heartbeat.
pub(crate) struct NewAgent {
    pub id: Id,
    pub name: String,
    pub queueloc: String,
    pub mode: String,
    pub version: String,
    pub pid: i32,
    pub refreshtime: DateTime<Utc>,
    pub environment: String,
    pub tags: String,
}

/// What a batch of heartbeats does to the agents table.
#[derive(Default)]
pub(crate) struct HeartbeatPlan {
    /// Existing rows whose heartbeat is refreshed (status `online`).
    pub refresh: Vec<Id>,
    /// New rows.
    pub insert: Vec<NewAgent>,
    /// Rows replaced after an environment refresh (status `offline`); applied after the inserts.
    pub offline: Vec<Id>,
    /// One outcome per heartbeat, in order.
    pub outcomes: Vec<HeartbeatOutcome>,
}

/// Decides, heartbeat by heartbeat, what the batch does (§7.8), given the rows
/// found for its `(queueloc, pid)` keys. Later heartbeats of the batch see the
/// effect of earlier ones.
pub(crate) fn plan_heartbeats(
    heartbeats: &[Agent],
    mut existing: HashMap<(String, i64), ExistingAgent>,
) -> StoreResult<HeartbeatPlan> {
    let mut plan = HeartbeatPlan::default();
    for heartbeat in heartbeats {
        let key = (heartbeat.queueloc.clone(), heartbeat.pid);
        let refreshtime = db_time(&heartbeat.refreshts);
        let outcome = match existing.get(&key) {
            None => {
                let id = mig_protocol::id::gen_id();
                plan.insert.push(new_agent(id, heartbeat, refreshtime)?);
                existing.insert(key, fresh(id, refreshtime));
                HeartbeatOutcome::Inserted(id)
            }
            Some(found)
                if !heartbeat.refreshts.is_zero()
                    && refreshtime > found.refreshtime + REFRESH_MARGIN =>
            {
                let old = found.id;
                let id = mig_protocol::id::gen_id();
                plan.offline.push(old);
                plan.insert.push(new_agent(id, heartbeat, refreshtime)?);
                existing.insert(key, fresh(id, refreshtime));
                HeartbeatOutcome::Replaced { old, new: id }
            }
            Some(found) => {
                plan.refresh.push(found.id);
                let id = found.id;
                let destroyed = found.status == AgentStatus::Destroyed.as_str();
                existing.insert(key, fresh(id, found.refreshtime));
                if destroyed {
                    HeartbeatOutcome::RevivedDestroyed(id)
                } else {
                    HeartbeatOutcome::Updated(id)
                }
            }
        };
        plan.outcomes.push(outcome);
    }
    // A row refreshed and then replaced within the batch ends offline.
    if !plan.offline.is_empty() {
        let offline: std::collections::HashSet<Id> = plan.offline.iter().copied().collect();
        plan.refresh.retain(|id| !offline.contains(id));
    }
    Ok(plan)
}

fn fresh(id: Id, refreshtime: DateTime<Utc>) -> ExistingAgent {
    ExistingAgent {
        id,
        status: AgentStatus::Online.as_str().to_string(),
        refreshtime,
    }
}

fn new_agent(id: Id, heartbeat: &Agent, refreshtime: DateTime<Utc>) -> StoreResult<NewAgent> {
    Ok(NewAgent {
        id,
        name: heartbeat.name.clone(),
        queueloc: heartbeat.queueloc.clone(),
        mode: heartbeat.mode.clone(),
        version: heartbeat.version.clone(),
        pid: pid_i32(heartbeat.pid)?,
        refreshtime,
        environment: mig_protocol::gojson::to_string(&heartbeat.environment),
        tags: mig_protocol::gojson::to_string(&heartbeat.tags),
    })
}

/// The SQL text of the agent-statistics queries (§7.7), shared by both stores.
/// `$1` is `now - 24h`, `$2` is `now - 7d`.
pub(crate) mod stats_sql {
    pub const ONLINE_BY_VERSION: &str = "SELECT version, COUNT(*) FROM agents \
         WHERE status = 'online' GROUP BY version ORDER BY version";
    pub const IDLE_BY_VERSION: &str = "SELECT version, COUNT(*) FROM agents \
         WHERE status = 'idle' AND queueloc NOT IN \
         (SELECT queueloc FROM agents WHERE status = 'online') \
         GROUP BY version ORDER BY version";
    pub const ONLINE_ENDPOINTS: &str =
        "SELECT COUNT(DISTINCT queueloc) FROM agents WHERE status = 'online'";
    pub const IDLE_ENDPOINTS: &str = "SELECT COUNT(DISTINCT queueloc) FROM agents \
         WHERE status = 'idle' AND queueloc NOT IN \
         (SELECT queueloc FROM agents WHERE status = 'online')";
    pub const NEW_ENDPOINTS: &str = "SELECT COUNT(DISTINCT queueloc) FROM agents \
         WHERE starttime > $1 AND queueloc NOT IN \
         (SELECT queueloc FROM agents WHERE heartbeattime > $2 AND heartbeattime < $1)";
    pub const MULTI_AGENTS_ENDPOINTS: &str = "SELECT COUNT(*) FROM (SELECT queueloc FROM agents \
         WHERE status = 'online' GROUP BY queueloc HAVING COUNT(*) > 1) AS multi";
    pub const DISAPPEARED_ENDPOINTS: &str = "SELECT COUNT(DISTINCT queueloc) FROM agents \
         WHERE heartbeattime > $2 AND queueloc NOT IN \
         (SELECT queueloc FROM agents WHERE status IN ('online', 'idle'))";
    pub const FLAPPING_ENDPOINTS: &str = "SELECT COUNT(*) FROM (SELECT queueloc FROM agents \
         WHERE status IN ('online', 'idle') GROUP BY queueloc HAVING COUNT(*) > 1) AS flapping";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_up_to_the_microsecond() {
        let time = |nanos: u32| GoTime::utc(2024, 1, 2, 3, 4, 5, nanos).to_utc();
        assert_eq!(round_micros(time(1_499)), time(1_000));
        assert_eq!(round_micros(time(1_500)), time(2_000));
        assert_eq!(
            round_micros(time(999_999_700)),
            time(0) + TimeDelta::seconds(1)
        );
        let zero = GoTime::zero().to_utc();
        assert_eq!(round_micros(zero), zero);
        let sentinel = GoTime::sentinel_unfinished().to_utc();
        assert_eq!(
            round_micros(sentinel),
            GoTime::utc(9998, 1, 11, 11, 11, 11, 0).to_utc()
        );
    }

    #[test]
    fn nul_escapes_become_null_text() {
        let results = Some(vec![ModuleResult {
            elements: serde_json::json!({"text": "a\u{0}b"}),
            ..ModuleResult::default()
        }]);
        assert!(results_json(&results).contains("aNULLb"));
    }
}

/// What a target evaluation returns (both backends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Targets {
    /// Every matching agent (one per queueloc), for dispatching an action.
    All,
    /// The first `n` of them in queueloc order, for a search.
    First(u64),
    /// Only how many there are (dry run).
    Count,
}
