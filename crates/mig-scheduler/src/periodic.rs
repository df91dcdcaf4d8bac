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
