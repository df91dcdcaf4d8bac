//! Periodic jobs (spec protocol.md §7.7, §7.9, §7.10): agent status
//! transitions, fleet statistics, duplicate agents, relay queue cleanup.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mig_protocol::pgp::Signer;
use mig_protocol::relay::agent_queue;
use mig_protocol::status::{ActionStatus, AgentStatus};
use mig_protocol::{Action, Agent, GoTime, Operation, gen_id};
use mig_relay::Relay;
use mig_store::Store;
use mig_store::store::AgentTimeouts;
use serde_json::json;

use crate::Shared;

fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

pub(crate) async fn periodic_loop<S: Store, R: Relay>(shared: Arc<Shared<S, R>>) {
    let mut last_new_endpoints: Option<DateTime<Utc>> = None;
    loop {
        let now = Utc::now();
        let count_new =
            last_new_endpoints.is_none_or(|last| now - last >= chrono::Duration::hours(1));
        if count_new {
            last_new_endpoints = Some(now);
        }
        run_periodic(&shared, now, count_new).await;
        if !shared.pause(shared.config.periodic.freq).await {
            return;
        }
    }
}

/// One run of the periodic jobs at `now`.
pub(crate) async fn run_periodic<S: Store, R: Relay>(
    shared: &Shared<S, R>,
    now: DateTime<Utc>,
    count_new_endpoints: bool,
) {
    let timeouts = AgentTimeouts {
        idle_after: shared.config.agent.heartbeat_freq * 5,
        offline_after: shared.config.agent.timeout,
    };
    match shared.store.mark_inactive_agents(now, timeouts).await {
        Ok(changes) if changes.to_idle + changes.to_offline > 0 => tracing::info!(
            idle = changes.to_idle,
            offline = changes.to_offline,
            "agents marked inactive"
        ),
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "cannot mark inactive agents"),
    }
    if let Err(err) = shared
        .store
        .record_agents_stats(now, count_new_endpoints)
        .await
    {
        tracing::error!(error = %err, "cannot record agent statistics");
    }
    if !shared.config.agent.detect_multi_agents {
        return;
    }
    let since = now - chrono_duration(shared.config.agent.heartbeat_freq);
    match shared.store.duplicate_queuelocs(since).await {
        Ok(queuelocs) => {
            for queueloc in queuelocs {
                handle_duplicate_queueloc(shared, &queueloc, now).await;
            }
        }
        Err(err) => tracing::error!(error = %err, "cannot look for duplicate agents"),
    }
}

/// Deals with several agent processes on one endpoint (§7.9): destroyed rows
/// still heartbeating are killed again after 3 heartbeat periods, and if more
/// than one live process remains the oldest online one is killed (with
/// `killdupagents`) or reported.
pub(crate) async fn handle_duplicate_queueloc<S: Store, R: Relay>(
    shared: &Shared<S, R>,
    queueloc: &str,
    now: DateTime<Utc>,
) {
    let heartbeat_freq = chrono_duration(shared.config.agent.heartbeat_freq);
    let rows = match shared
        .store
        .agents_of_queueloc(queueloc, now - heartbeat_freq)
        .await
    {
        Ok(rows) => rows,
        Err(err) => {
            tracing::error!(%queueloc, error = %err, "cannot read agents of a queueloc");
            return;
        }
    };
    if rows.len() < 2 {
        return;
    }
    let mut handled = 0;
    for row in rows
        .iter()
        .filter(|row| row.status == AgentStatus::Destroyed)
    {
        handled += 1;
        // Fixed: the original did not load destructiontime and re-killed every run.
        if row.destructiontime.to_utc() < now - heartbeat_freq * 3 {
            issue_kill(shared, row, now).await;
        }
    }
    let remaining = rows.len() - handled;
    if remaining <= 1 {
        return;
    }
    let live: Vec<&Agent> = rows
        .iter()
        .filter(|row| row.status != AgentStatus::Destroyed)
        .collect();
    if shared.config.agent.kill_dup_agents {
        let oldest = live
            .iter()
            .filter(|row| row.status == AgentStatus::Online)
            .min_by_key(|row| row.starttime)
            .or(live.first());
        if let Some(victim) = oldest {
            tracing::warn!(%queueloc, agent_id = %victim.id, pid = victim.pid, "duplicate agents on one endpoint: killing the oldest");
            issue_kill(shared, victim, now).await;
        }
    } else {
        let names: Vec<String> = live
            .iter()
            .map(|row| format!("{} (pid {})", row.name, row.pid))
            .collect();
        tracing::warn!(%queueloc, agents = ?names, "several agents share one endpoint; killdupagents is off, inspect them");
    }
}

/// The `agentdestroy` action the scheduler issues against one agent process,
/// signed with its own key (§7.9).
pub fn kill_action(
    agent: &Agent,
    now: DateTime<Utc>,
    signer: &dyn Signer,
) -> Result<Action, mig_protocol::pgp::PgpError> {
    let now = GoTime::from(now).trunc_seconds();
    let mut action = Action {
        id: gen_id(),
        name: format!("Kill agent {}", agent.name),
        target: format!("queueloc='{}'", agent.queueloc.replace('\'', "''")),
        validfrom: GoTime(now.0 - chrono::Duration::seconds(60)),
        expireafter: GoTime(now.0 + chrono::Duration::minutes(30)),
        operations: Some(vec![Operation::new(
            "agentdestroy",
            json!({"pid": agent.pid, "version": agent.version}),
        )]),
        status: ActionStatus::Pending,
        starttime: GoTime::sentinel_unstarted(),
        finishtime: GoTime::sentinel_unfinished(),
        lastupdatetime: GoTime::sentinel_unstarted(),
        syntaxversion: mig_protocol::action::ACTION_VERSION,
        ..Action::default()
    };
    action.pgpsignatures = Some(vec![signer.sign(action.signing_string().as_bytes())?]);
    Ok(action)
}

async fn issue_kill<S: Store, R: Relay>(shared: &Shared<S, R>, agent: &Agent, now: DateTime<Utc>) {
    let action = match kill_action(agent, now, &shared.signer) {
        Ok(action) => action,
        Err(err) => {
            tracing::error!(agent_id = %agent.id, error = %err, "cannot sign a kill action");
            return;
        }
    };
    let signatures = vec![(
        shared.identity_id,
        action.signatures().first().cloned().unwrap_or_default(),
    )];
    if let Err(err) = shared.store.insert_action(&action, &signatures).await {
        tracing::error!(agent_id = %agent.id, error = %err, "cannot store a kill action");
        return;
    }
    if let Err(err) = shared.store.mark_agent_destroyed(agent.id, now).await {
        tracing::error!(agent_id = %agent.id, error = %err, "cannot mark an agent destroyed");
    }
    tracing::info!(agent_id = %agent.id, action_id = %action.id, queueloc = %agent.queueloc, pid = agent.pid, "kill action issued");
}

/// Deletes the relay queues of endpoints whose agents are all gone (§7.10).
pub(crate) async fn queue_cleanup_loop<S: Store, R: Relay>(shared: Arc<Shared<S, R>>) {
    loop {
        let now = Utc::now();
        let window = shared.config.agent.timeout
            + shared.config.periodic.queues_cleanup_freq
            + Duration::from_secs(2 * 3600);
        match shared
            .store
            .stale_queuelocs(now - chrono_duration(window))
            .await
        {
            Ok(queuelocs) => {
                for queueloc in queuelocs {
                    let queue = agent_queue(&queueloc);
                    match shared.relay.queue_state(&queue).await {
                        Ok(Some(_)) => match shared.relay.delete_queue(&queue).await {
                            Ok(()) => {
                                tracing::info!(%queue, "deleted the queue of a departed agent")
                            }
                            Err(err) => {
                                tracing::warn!(%queue, error = %err, "cannot delete a queue")
                            }
                        },
                        Ok(None) => {}
                        Err(err) => tracing::warn!(%queue, error = %err, "cannot inspect a queue"),
                    }
                    if !shared.pause(Duration::from_millis(100)).await {
                        return;
                    }
                }
            }
            Err(err) => tracing::error!(error = %err, "cannot list departed agents"),
        }
        if !shared
            .pause(shared.config.periodic.queues_cleanup_freq)
            .await
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    //! Agent life-cycle and duplicate handling on a fake clock: every step gets
    //! an explicit `now`, nothing sleeps.
    use std::sync::Arc;

    use mig_protocol::pgp::Keyring;
    use mig_protocol::{Agent, AgentEnv, GoTime};
    use mig_relay::MemoryRelay;
    use mig_store::SqliteStore;
    use tokio::sync::Notify;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::{SchedulerConfig, Shared, Tuning};

    async fn shared(
        kill_dup_agents: bool,
    ) -> (tempfile::TempDir, Arc<Shared<SqliteStore, MemoryRelay>>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("mig.db").to_str().unwrap())
            .await
            .unwrap();
        let mut config = SchedulerConfig::parse("test.cfg", "").unwrap();
        config.agent.kill_dup_agents = kill_dup_agents;
        let (signer, identity_id) = crate::ensure_identity(&store).await.unwrap();
        let shared = Shared {
            store: Arc::new(store),
            relay: MemoryRelay::new(),
            config,
            tuning: Tuning::default(),
            signer,
            identity_id,
            outbox_wake: Notify::new(),
            shutdown: CancellationToken::new(),
        };
        (dir, Arc::new(shared))
    }

    /// Minutes from a base instant taken once per test process: the kill
    /// actions issued on this fake clock must be valid on the real one.
    fn at(minutes: i64) -> DateTime<Utc> {
        static BASE: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
        *BASE.get_or_init(|| Utc::now() - chrono::Duration::minutes(2))
            + chrono::Duration::minutes(minutes)
    }

    fn agent(queueloc: &str, pid: i64, heartbeat: DateTime<Utc>) -> Agent {
        Agent {
            name: "host1".into(),
            queueloc: queueloc.into(),
            mode: "daemon".into(),
            version: "v1".into(),
            pid,
            heartbeatts: GoTime::from(heartbeat),
            refreshts: GoTime::from(at(-60)),
            environment: AgentEnv {
                os: "linux".into(),
                ..AgentEnv::default()
            },
            ..Agent::default()
        }
    }

    async fn status_of(
        shared: &Shared<SqliteStore, MemoryRelay>,
        queueloc: &str,
        pid: i64,
        now: DateTime<Utc>,
    ) -> AgentStatus {
        let rows = shared
            .store
            .agents_of_queueloc(queueloc, now - chrono::Duration::days(1))
            .await
            .unwrap();
        rows.into_iter()
            .find(|row| row.pid == pid)
            .map(|row| row.status)
            .unwrap_or(AgentStatus::Offline)
    }

    #[tokio::test]
    async fn silent_agents_go_idle_then_offline() {
        let (_dir, shared) = shared(false).await;
        shared
            .store
            .upsert_heartbeats(&[agent("linux.a", 10, at(0))], at(0))
            .await
            .unwrap();
        run_periodic(&shared, at(24), false).await;
        assert_eq!(
            status_of(&shared, "linux.a", 10, at(24)).await,
            AgentStatus::Online,
            "idle only after 5 heartbeat periods (25 min)"
        );
        run_periodic(&shared, at(26), false).await;
        assert_eq!(
            status_of(&shared, "linux.a", 10, at(26)).await,
            AgentStatus::Idle
        );
        // Offline needs idle and a heartbeat older than [agent] timeout (20 min): the next run.
        run_periodic(&shared, at(27), false).await;
        assert_eq!(
            status_of(&shared, "linux.a", 10, at(27)).await,
            AgentStatus::Offline
        );
        // A heartbeat from the same process now makes a new row.
        shared
            .store
            .upsert_heartbeats(&[agent("linux.a", 10, at(28))], at(28))
            .await
            .unwrap();
        assert_eq!(
            status_of(&shared, "linux.a", 10, at(28)).await,
            AgentStatus::Online
        );
    }

    #[tokio::test]
    async fn duplicate_agents_the_oldest_is_killed_with_a_signed_action() {
        let (_dir, shared) = shared(true).await;
        let store = shared.store.clone();
        store
            .upsert_heartbeats(&[agent("linux.dup", 100, at(-10))], at(-10))
            .await
            .unwrap();
        store
            .upsert_heartbeats(
                &[
                    agent("linux.dup", 100, at(0)),
                    agent("linux.dup", 200, at(0)),
                ],
                at(0),
            )
            .await
            .unwrap();
        run_periodic(&shared, at(1), false).await;
        assert_eq!(
            status_of(&shared, "linux.dup", 100, at(1)).await,
            AgentStatus::Destroyed,
            "the oldest process is killed"
        );
        assert_eq!(
            status_of(&shared, "linux.dup", 200, at(1)).await,
            AgentStatus::Online
        );
        let kills = store
            .claim_runnable_actions(Utc::now(), std::time::Duration::from_secs(60), 10)
            .await
            .unwrap();
        assert_eq!(kills.len(), 1);
        let kill = &kills[0];
        assert_eq!(kill.name, "Kill agent host1");
        assert_eq!(kill.target, "queueloc='linux.dup'");
        assert_eq!(kill.operations()[0].module, "agentdestroy");
        assert_eq!(
            kill.operations()[0].parameters,
            serde_json::json!({"pid": 100, "version": "v1"})
        );
        // Agents accept it: it verifies with the scheduler's public key.
        let mut keyring = Keyring::new();
        keyring.add(shared.signer.public_key());
        let signers = mig_protocol::acl::verify_signatures(kill, &keyring).unwrap();
        assert_eq!(signers, vec![shared.signer.fingerprint()]);

        // The next run leaves the freshly destroyed row alone: no second kill.
        store
            .upsert_heartbeats(&[agent("linux.dup", 200, at(2))], at(2))
            .await
            .unwrap();
        run_periodic(&shared, at(2), false).await;
        assert!(
            store
                .claim_runnable_actions(Utc::now(), std::time::Duration::from_secs(60), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn duplicates_are_only_reported_without_killdupagents() {
        let (_dir, shared) = shared(false).await;
        shared
            .store
            .upsert_heartbeats(
                &[agent("linux.two", 1, at(0)), agent("linux.two", 2, at(0))],
                at(0),
            )
            .await
            .unwrap();
        run_periodic(&shared, at(1), false).await;
        assert_eq!(
            status_of(&shared, "linux.two", 1, at(1)).await,
            AgentStatus::Online
        );
        assert_eq!(
            status_of(&shared, "linux.two", 2, at(1)).await,
            AgentStatus::Online
        );
        assert!(
            shared
                .store
                .claim_runnable_actions(Utc::now(), std::time::Duration::from_secs(60), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn checkin_agents_are_not_duplicates() {
        let (_dir, shared) = shared(true).await;
        let mut one = agent("linux.chk", 1, at(0));
        one.mode = "checkin".into();
        let mut two = agent("linux.chk", 2, at(0));
        two.mode = "checkin".into();
        shared
            .store
            .upsert_heartbeats(&[one, two], at(0))
            .await
            .unwrap();
        run_periodic(&shared, at(1), false).await;
        assert!(
            shared
                .store
                .claim_runnable_actions(Utc::now(), std::time::Duration::from_secs(60), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
