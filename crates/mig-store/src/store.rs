//! The store trait: every read and write the scheduler and the API make, with one
//! implementation on PostgreSQL (`PgStore`) and one on SQLite (`SqliteStore`), both
//! checked by the same conformance suite.
//!
//! Life of an action in the store (§3.1 of the protocol spec):
//!
//! ```text
//! insert_action (API)           -> pending   (+ NOTIFY / local wake-up)
//! claim_runnable_actions        -> scheduled (row lock, SKIP LOCKED: one scheduler wins)
//! dispatch_action (one txn)     -> inflight  + commands (sent) + outbox rows
//!     or invalidate_action      -> invalid   (no agent, expired before scheduling)
//! take_outbox / ack_outbox      publisher loop; rows deleted after the relay confirmed
//! finish_command                a result from the addressed agent process, once
//! expire_commands               sent commands of expired actions -> expired (any agent state)
//! complete_actions              inflight actions whose commands are all terminal -> completed
//! ```
//!
//! Every state change is one transaction, so a scheduler killed at any point
//! resumes from the database: `scheduled` actions whose claim is older than the
//! lease are claimable again, outbox rows not yet acknowledged are published again
//! (agents refuse a replayed action id, and `finish_command` accepts one result
//! per command).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mig_protocol::action::ActionCounters;
use mig_protocol::agent::AgentsStats;
use mig_protocol::manifest::{LoaderEntry, ManifestRecord};
use mig_protocol::{Action, Agent, Command, Id, Investigator, Permissions};

use crate::target::TargetError;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The target could not be compiled; a client error (the API answers 400).
    #[error("invalid target: {0}")]
    Target(#[from] TargetError),
    /// A row that must exist does not.
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: Id },
    /// A uniqueness rule was violated (for example the same investigator signing twice).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored value could not be decoded (bad JSON in a column, and the like).
    #[error("corrupt {what} in the database: {reason}")]
    Corrupt { what: &'static str, reason: String },
    /// The database failed or is unreachable; the caller may retry.
    #[error("database: {0}")]
    Database(String),
}

/// Results of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// One command ready to be published, kept in the outbox until the relay confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub command_id: Id,
    pub action_id: Id,
    /// The agent's queueloc; the routing key is `mig.agt.<queueloc>`.
    pub queueloc: String,
    /// The Command JSON exactly as it must be published (Go encoding).
    pub body: String,
    /// The AMQP `expiration` property: the action's window in milliseconds.
    pub expiration_ms: u64,
}

/// What happened to one heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatOutcome {
    /// No non-offline row had this `(queueloc, pid)`: a row was inserted.
    Inserted(Id),
    /// The existing row's heartbeat (and status `online`) was updated.
    Updated(Id),
    /// The environment changed (`refreshtime` later than stored + 15 s): the old
    /// row was set offline and a new one inserted, in one transaction.
    Replaced { old: Id, new: Id },
    /// The existing row was `destroyed`: updated (the original revives it) and
    /// reported so that duplicate detection looks at its queueloc.
    RevivedDestroyed(Id),
}

/// Thresholds of the periodic agent-status job (§3.3).
#[derive(Debug, Clone, Copy)]
pub struct AgentTimeouts {
    /// `online` rows whose last heartbeat is older become `idle` (5 × heartbeatfreq).
    pub idle_after: Duration,
    /// `idle` rows whose last heartbeat is older become `offline` (`[agent] timeout`).
    pub offline_after: Duration,
}

/// How many rows the periodic job changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentTransitions {
    pub to_idle: u64,
    pub to_offline: u64,
}

/// Counters of an action and whether it just completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionProgress {
    pub action_id: Id,
    pub counters: ActionCounters,
    /// True when this call moved the action to `completed`.
    pub completed: bool,
}

/// An active investigator who holds an API key (`X-MIGAPIKEY`, §3.3 of the API spec).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyHolder {
    pub investigator: Investigator,
    /// PBKDF2-HMAC-SHA256 of the key (32 bytes).
    pub hash: Vec<u8>,
    /// The 16-byte salt of the hash.
    pub salt: Vec<u8>,
}

/// An enabled loader's key material, for `X-LOADERKEY` (api.md §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaderKeyHolder {
    pub id: Id,
    /// The entry name (DB `loadername`).
    pub name: String,
    /// PBKDF2-HMAC-SHA256 of the key part (32 bytes).
    pub hash: Vec<u8>,
    /// The 16-byte salt of the hash.
    pub salt: Vec<u8>,
}

/// The manifest served to one loader (api.md §4.15).
#[derive(Debug, Clone, PartialEq)]
pub struct LoaderManifest {
    /// The loader entry's name (`loader_name` of the answer).
    pub loader_name: String,
    /// The newest active manifest whose target matches the loader, with content
    /// and signatures.
    pub manifest: ManifestRecord,
}

/// The database of MIG, as the scheduler and the API use it.
///
/// Times are passed in by the caller (`now`) so that tests can run on a paused or
/// fake clock; implementations never read the wall clock for state decisions.
pub trait Store: Send + Sync + 'static {
    // ---- actions -----------------------------------------------------------------

    /// Inserts a new action (status as given, normally `pending`) with one
    /// `signatures` row per `(investigator id, signature)`; wakes schedulers
    /// (PostgreSQL `NOTIFY mig_new_action`, SQLite a local notification).
    fn insert_action(
        &self,
        action: &Action,
        signatures: &[(Id, String)],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Reads one action with its counters computed from `commands` and the
    /// investigators who signed it; `None` when absent.
    fn get_action(&self, id: Id) -> impl Future<Output = StoreResult<Option<Action>>> + Send;

    /// Atomically moves up to `limit` actions that are `pending` with
    /// `validfrom <= now < expireafter` — or `scheduled` with a claim older than
    /// `lease` (a scheduler died holding them) — to `scheduled`, and returns them.
    /// Concurrent callers never receive the same action (row locks, SKIP LOCKED).
    fn claim_runnable_actions(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Action>>> + Send;

    /// Marks `pending` or `scheduled` actions whose `expireafter` has passed as
    /// `invalid` (the original left them forever); returns their ids.
    fn invalidate_stale_actions(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<Id>>> + Send;

    /// Marks one action `invalid` (no agent matched, or it could not be prepared).
    fn invalidate_action(
        &self,
        id: Id,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// In one transaction: sets the action `inflight` with `starttime = now` and
    /// `counters.sent`, inserts its `commands` rows (status `sent`, finishtime
    /// sentinel, results = the empty results of each command) and one outbox entry
    /// per command (body = `command.to_json()`, expiration =
    /// `mig_protocol::relay::command_expiration_ms`). If the action is not in the
    /// database (a scheduler-generated action) it is inserted first, with
    /// `signatures`. Fails with `Conflict` if the action is no longer `scheduled`.
    fn dispatch_action(
        &self,
        action: &Action,
        commands: &[Command],
        signatures: &[(Id, String)],
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Up to `limit` outbox entries not yet confirmed, oldest first. Entries taken
    /// by one caller are not handed to another for `lease` (SKIP LOCKED + a
    /// claim timestamp), so two schedulers do not publish the same command.
    fn take_outbox(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<OutboxEntry>>> + Send;

    /// Deletes confirmed outbox entries.
    fn ack_outbox(&self, command_ids: &[Id]) -> impl Future<Output = StoreResult<()>> + Send;

    // ---- commands ----------------------------------------------------------------

    /// Records a returned command: `UPDATE commands SET status, results, finishtime`
    /// only if the command is still `sent` and its agent row is the one of the
    /// returned `agent.queueloc` and `agent.pid` and is `online` or `idle`.
    /// `\u0000` in the results JSON is stored as the text `NULL` [COMPAT].
    /// Returns whether the command was updated (false = dropped: wrong agent
    /// process, second result, unknown command).
    fn finish_command(
        &self,
        returned: &Command,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Reads one command with its action and agent.
    fn get_command(&self, id: Id) -> impl Future<Output = StoreResult<Option<Command>>> + Send;

    /// Commands of one action, ordered by id.
    fn commands_of_action(
        &self,
        action_id: Id,
    ) -> impl Future<Output = StoreResult<Vec<Command>>> + Send;

    /// Sets every `sent` command whose action's `expireafter` is before `now` to
    /// `expired` with `finishtime = now`, whatever its agent's state (the original
    /// never finished those of agents that went away); returns the affected action ids.
    fn expire_commands(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<Id>>> + Send;

    /// For each action id: recomputes the counters from `commands`, updates
    /// `lastupdatetime`, and if every command is terminal sets the action
    /// `completed` with `finishtime = now`.
    fn complete_actions(
        &self,
        action_ids: &[Id],
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<ActionProgress>>> + Send;

    /// Ids of actions still `inflight`, to resume accounting after a restart.
    fn inflight_actions(&self) -> impl Future<Output = StoreResult<Vec<Id>>> + Send;

    // ---- agents ------------------------------------------------------------------

    /// Applies a batch of heartbeats in one transaction (§7.8): an agent is found
    /// by `(queueloc, pid)` among non-offline rows. `now` is the server time written
    /// as `heartbeattime` (and `starttime` of new rows). New rows get a fresh id.
    fn upsert_heartbeats(
        &self,
        heartbeats: &[Agent],
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<HeartbeatOutcome>>> + Send;

    /// The agents an action targets: rows `online` or `idle` matching the target
    /// (compiled safely, never pasted), at most one per queueloc, ordered by queueloc.
    fn target_agents(
        &self,
        target: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<Agent>>> + Send;

    /// The first `limit` agents of `target_agents` (the API's agent search): the
    /// database stops at `limit` instead of reading every matching row.
    fn search_target_agents(
        &self,
        target: &str,
        now: DateTime<Utc>,
        limit: u64,
    ) -> impl Future<Output = StoreResult<Vec<Agent>>> + Send;

    /// How many agents `target_agents` would return (dry run).
    fn count_target_agents(
        &self,
        target: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Reads one agent row.
    fn get_agent(&self, id: Id) -> impl Future<Output = StoreResult<Option<Agent>>> + Send;

    /// The periodic transitions: `idle` → `offline` first, then `online` → `idle`.
    fn mark_inactive_agents(
        &self,
        now: DateTime<Utc>,
        timeouts: AgentTimeouts,
    ) -> impl Future<Output = StoreResult<AgentTransitions>> + Send;

    /// Computes the fleet statistics of §7.7 and inserts them as an `agents_stats`
    /// row; `count_new_endpoints` false stores 0 there (computed hourly) [QUIRK].
    fn record_agents_stats(
        &self,
        now: DateTime<Utc>,
        count_new_endpoints: bool,
    ) -> impl Future<Output = StoreResult<AgentsStats>> + Send;

    /// Queuelocs with more than one row whose heartbeat is newer than `since` and
    /// whose mode is not `checkin` (duplicate agents).
    fn duplicate_queuelocs(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    /// Non-offline rows of one queueloc whose heartbeat is newer than `since`,
    /// with their `destructiontime`.
    fn agents_of_queueloc(
        &self,
        queueloc: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<Agent>>> + Send;

    /// Sets an agent `destroyed` with `destructiontime = now`.
    fn mark_agent_destroyed(
        &self,
        id: Id,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Queuelocs whose rows are all offline and whose last heartbeat is newer than
    /// `oldest` (their relay queues can be deleted, §7.10).
    fn stale_queuelocs(
        &self,
        oldest: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    // ---- investigators -----------------------------------------------------------

    /// Active investigators (with their public keys), for signature checks.
    fn active_investigators(&self) -> impl Future<Output = StoreResult<Vec<Investigator>>> + Send;

    /// The scheduler's own identity (name `migscheduler`, active, with its private key).
    fn scheduler_identity(&self) -> impl Future<Output = StoreResult<Option<Investigator>>> + Send;

    /// Inserts an investigator; returns its id (from the sequence).
    fn insert_investigator(
        &self,
        investigator: &Investigator,
    ) -> impl Future<Output = StoreResult<Id>> + Send;

    // ---- API ---------------------------------------------------------------------
    // Reads and writes only the API makes (spec api.md §4, §6). Every value is bound.

    /// Reads one investigator with its public key (no private key); `apikey` is
    /// `"set"` when a key hash is stored.
    fn get_investigator(
        &self,
        id: Id,
    ) -> impl Future<Output = StoreResult<Option<Investigator>>> + Send;

    /// Active investigators holding an API key hash and salt, ordered by id.
    fn api_key_holders(&self) -> impl Future<Output = StoreResult<Vec<ApiKeyHolder>>> + Send;

    /// Stores (`Some((hash, salt))`) or clears (`None`) an investigator's API key;
    /// `NotFound` when the investigator does not exist.
    fn set_investigator_api_key(
        &self,
        id: Id,
        key: Option<(&[u8], &[u8])>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Sets an investigator's status (`active` or `disabled`); `NotFound` when absent.
    fn set_investigator_status(
        &self,
        id: Id,
        status: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Replaces an investigator's permission mask. When the new mask lacks the
    /// `investigator` or `investigator_update` bit, another investigator must hold
    /// an admin bit, else `Conflict("will not remove last admin")`; one transaction.
    fn set_investigator_permissions(
        &self,
        id: Id,
        permissions: Permissions,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The active or disabled investigator whose fingerprint matches (case-insensitive).
    fn investigator_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> impl Future<Output = StoreResult<Option<Investigator>>> + Send;

    /// The latest `agents_stats` row (dashboard), `None` when there is none.
    fn latest_agents_stats(&self) -> impl Future<Output = StoreResult<Option<AgentsStats>>> + Send;

    /// The `limit` most recently started actions (`starttime DESC`), with their
    /// counters and investigators (dashboard).
    fn recent_actions(&self, limit: u32) -> impl Future<Output = StoreResult<Vec<Action>>> + Send;

    /// The ids of the rows a search matches, in the original's order, limited and
    /// offset (§5.2); every filter value is bound.
    fn search_ids(
        &self,
        kind: crate::search::SearchType,
        filter: &crate::search::SearchFilter,
    ) -> impl Future<Output = StoreResult<Vec<Id>>> + Send;

    // ---- manifests and loaders (api.md §4.13–4.15) --------------------------------
    // Manifest targets and loader `expectenv` are expressions over `loaders`, compiled
    // by the safe target compiler (`target::compile_loader_expression`), never pasted.

    /// Inserts a manifest with status `staged` and `timestamp = now`; returns its id.
    fn insert_manifest(
        &self,
        manifest: &ManifestRecord,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Id>> + Send;

    /// Reads one manifest with its content and signatures (`None` when it has none).
    fn get_manifest(
        &self,
        id: Id,
    ) -> impl Future<Output = StoreResult<Option<ManifestRecord>>> + Send;

    /// Adds `investigator`'s signature to a manifest that exists and is not disabled
    /// (`NotFound` otherwise; `Conflict` when this investigator already signed), then
    /// sets it `active` when it holds at least `required` signatures, else `staged`.
    fn sign_manifest(
        &self,
        id: Id,
        investigator: Id,
        signature: &str,
        required: u32,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// `staged`: deletes every signature and recomputes the status against
    /// `required` (a disabled manifest stays disabled); `disabled`: disables it for
    /// good. `NotFound` when the manifest does not exist.
    fn set_manifest_status(
        &self,
        id: Id,
        status: &str,
        required: u32,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The enabled loaders a manifest's target matches, ordered by id; `NotFound` when
    /// the manifest does not exist or is disabled, `Target` when its target does not compile.
    fn manifest_loaders(
        &self,
        id: Id,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<LoaderEntry>>> + Send;

    /// Inserts a loader entry (`enabled` false, `lastseen = now`, `expectenv` NULL when
    /// empty) with its key prefix and hashed key; `Conflict` on a duplicate name or prefix.
    fn insert_loader(
        &self,
        entry: &LoaderEntry,
        prefix: &str,
        key: (&[u8], &[u8]),
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Id>> + Send;

    /// Reads one loader entry (`key` empty; `agentname` and `expectenv` `""` when NULL).
    fn get_loader(&self, id: Id) -> impl Future<Output = StoreResult<Option<LoaderEntry>>> + Send;

    /// Enables or disables a loader; `NotFound` when absent.
    fn set_loader_enabled(
        &self,
        id: Id,
        enabled: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Sets (`Some`) or clears (`None`) a loader's expected environment; `NotFound` when absent.
    fn set_loader_expectenv(
        &self,
        id: Id,
        expectenv: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Replaces a loader's key hash and salt; returns its (unchanged) prefix.
    fn set_loader_key(
        &self,
        id: Id,
        key: (&[u8], &[u8]),
    ) -> impl Future<Output = StoreResult<String>> + Send;

    /// The enabled loader whose key prefix is `prefix`.
    fn loader_key_holder(
        &self,
        prefix: &str,
    ) -> impl Future<Output = StoreResult<Option<LoaderKeyHolder>>> + Send;

    /// The loader-facing "locate" step (api.md §4.15): records what the loader's agent
    /// reported (`name`, `env`, `tags`, `queueloc`, `lastseen = now`), checks the
    /// loader's `expectenv`, and picks the newest active manifest whose target matches
    /// the loader. `None` when the environment is not the expected one or no manifest matches.
    fn loader_manifest(
        &self,
        loader: Id,
        agent: &Agent,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<LoaderManifest>>> + Send;

    // ---- wake-ups ----------------------------------------------------------------

    /// Resolves when a new action may be runnable (PostgreSQL `LISTEN
    /// mig_new_action`, re-established after a connection loss; SQLite a local
    /// notification), or after `timeout` — the slow sweep that makes a missed
    /// notification harmless.
    fn wait_for_new_action(&self, timeout: Duration) -> impl Future<Output = ()> + Send;
}
