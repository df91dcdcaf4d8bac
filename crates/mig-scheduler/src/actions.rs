//! From a stored action to published commands, and the collector sweep.
//!
//! ```text
//! pending ──claim──▶ scheduled ──expand target──▶ inflight (commands + outbox, one txn)
//!    │                   │ no agent / bad target
//!    │                   ▼
//!    └──expired──▶    invalid
//! inflight ──every command terminal──▶ completed
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
use tracing::Instrument;

use chrono::Utc;
use futures_util::StreamExt;
use mig_protocol::action::ActionCounters;
use mig_protocol::relay::{EXCHANGE_TO_AGENTS, agent_queue};
use mig_protocol::status::{ActionStatus, CommandStatus};
use mig_protocol::{Action, Command, GoTime, ModuleResult, gen_id};
use mig_relay::{PublishOptions, Relay, RelayError};
use mig_store::{Store, StoreError};

use crate::Shared;

/// Declares the scheduler's exchanges and queues, retrying until it works or
/// shutdown (agents cannot bind their queues before this happened).
pub(crate) async fn declare_topology<S: Store, R: Relay>(shared: &Shared<S, R>) {
    loop {
        match shared.relay.declare_scheduler_topology().await {
            Ok(()) => return,
            Err(err) => tracing::warn!(error = %err, "cannot declare the relay topology yet"),
        }
        if !shared.pause(shared.tuning.retry_pause).await {
            return;
        }
    }
}

/// Claims runnable actions as soon as they are stored (or at each sweep) and
/// prepares them.
pub(crate) async fn action_loop<S: Store, R: Relay>(shared: Arc<Shared<S, R>>) {
    loop {
        loop {
            let claimed = shared
                .store
                .claim_runnable_actions(Utc::now(), shared.tuning.claim_lease, 64)
                .await;
            match claimed {
                Ok(actions) if actions.is_empty() => break,
                Ok(actions) => {
                    for action in actions {
                        prepare_action(&shared, action).await;
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "cannot claim runnable actions");
                    if !shared.pause(shared.tuning.retry_pause).await {
                        return;
                    }
                    break;
                }
            }
        }
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            () = shared.store.wait_for_new_action(shared.config.collector_freq) => {}
        }
    }
}

/// Expands the target of a claimed action and dispatches one command per agent.
/// On a database failure the action stays `scheduled`; its claim lease lets this
/// or another scheduler try again.
pub(crate) async fn prepare_action<S: Store, R: Relay>(shared: &Shared<S, R>, action: Action) {
    // Instrumented, never `span.enter()` across an await: a guard held while the
    // task is suspended leaves the span entered on the worker thread for other
    // tasks, and tracing's registry then panics in whichever task touches it
    // (here sqlx's connection return, which lost the pool's only SQLite connection).
    let span = tracing::info_span!("action", action_id = %action.id, name = %action.name);
    prepare_action_in_span(shared, action)
        .instrument(span)
        .await
}

async fn prepare_action_in_span<S: Store, R: Relay>(shared: &Shared<S, R>, mut action: Action) {
    let now = Utc::now();
    // Where the time of a large dispatch goes, logged with the outcome.
    let started = std::time::Instant::now();
    let agents = match shared.store.target_agents(&action.target, now).await {
        Ok(agents) => agents,
        Err(StoreError::Target(err)) => {
            tracing::warn!(target = %action.target, error = %err, "invalid target, action invalidated");
            invalidate(shared, &action).await;
            return;
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot expand the target; will retry after the claim lease");
            return;
        }
    };
    if agents.is_empty() {
        tracing::info!(target = %action.target, "no agent matches the target, action invalidated");
        invalidate(shared, &action).await;
        return;
    }
    let expanded = started.elapsed();
    let operations = action.operations().len();
    action.status = ActionStatus::Preparing;
    action.starttime = GoTime::from(now);
    action.counters = ActionCounters {
        sent: i64::try_from(agents.len()).unwrap_or(i64::MAX),
        ..ActionCounters::default()
    };
    let starttime = GoTime::from(now);
    let commands: Vec<Command> = agents
        .into_iter()
        .map(|agent| {
            if shared.config.agent.log_actions {
                tracing::info!(
                    "Agent action: agent=\"{}\" loader=\"{}\" name=\"{}\"",
                    agent.name,
                    agent.loadername,
                    action.name
                );
            }
            Command {
                id: gen_id(),
                action: action.clone(),
                agent,
                status: CommandStatus::Sent,
                results: Some(vec![ModuleResult::default(); operations]),
                starttime,
                finishtime: GoTime::zero(),
            }
        })
        .collect();
    let built = started.elapsed();
    match shared
        .store
        .dispatch_action(&action, &commands, &[], now)
        .await
    {
        Ok(()) => {
            let stored = started.elapsed();
            tracing::info!(
                commands = commands.len(),
                target_ms = expanded.as_millis(),
                build_ms = (built - expanded).as_millis(),
                store_ms = (stored - built).as_millis(),
                "action dispatched"
            );
            shared.outbox_wake.notify_one();
        }
        Err(StoreError::Conflict(reason)) => {
            tracing::warn!(%reason, "action changed state while being prepared; left as it is")
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot dispatch the action; will retry after the claim lease")
        }
    }
}

async fn invalidate<S: Store, R: Relay>(shared: &Shared<S, R>, action: &Action) {
    if let Err(err) = shared.store.invalidate_action(action.id, Utc::now()).await {
        tracing::error!(action_id = %action.id, error = %err, "cannot invalidate the action");
    }
}

/// Publishes outbox entries as soon as they are written, and acknowledges them
/// once the relay confirmed.
pub(crate) async fn publisher_loop<S: Store, R: Relay>(shared: Arc<Shared<S, R>>) {
    loop {
        loop {
            match publish_outbox_round(&shared).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(()) => {
                    if !shared.pause(shared.tuning.retry_pause).await {
                        return;
                    }
                    break;
                }
            }
        }
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            () = shared.outbox_wake.notified() => {}
            () = tokio::time::sleep(shared.config.collector_freq) => {}
        }
    }
}

/// One round of the publisher; returns how many entries it settled, or `Err`
/// when nothing could be done (database or relay down).
async fn publish_outbox_round<S: Store, R: Relay>(shared: &Shared<S, R>) -> Result<usize, ()> {
    let entries = match shared
        .store
        .take_outbox(
            Utc::now(),
            shared.tuning.outbox_lease,
            shared.tuning.outbox_batch,
        )
        .await
    {
        Ok(entries) => entries,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the outbox");
            return Err(());
        }
    };
    if entries.is_empty() {
        return Ok(0);
    }
    let outcomes: Vec<_> = futures_util::stream::iter(entries)
        .map(|entry| async move {
            let routing_key = agent_queue(&entry.queueloc);
            let options = PublishOptions {
                expiration_ms: Some(entry.expiration_ms),
            };
            let outcome = shared
                .relay
                .publish(
                    EXCHANGE_TO_AGENTS,
                    &routing_key,
                    entry.body.into_bytes(),
                    options,
                )
                .await;
            (entry.command_id, entry.action_id, outcome)
        })
        .buffer_unordered(shared.tuning.publish_concurrency.max(1))
        .collect()
        .await;
    let mut settled = Vec::with_capacity(outcomes.len());
    let mut unavailable = 0;
    for (command_id, action_id, outcome) in outcomes {
        match outcome {
            Ok(()) => settled.push(command_id),
            // Unroutable: the agent's queue is gone. The original dropped such
            // messages too; the command will expire with its action.
            Err(RelayError::NotConfirmed { reason, .. }) => {
                tracing::warn!(%command_id, %action_id, %reason, "command not accepted by the relay, it will expire");
                settled.push(command_id);
            }
            Err(err) => {
                unavailable += 1;
                tracing::debug!(%command_id, error = %err, "publish failed, will retry");
            }
        }
    }
    if !settled.is_empty()
        && let Err(err) = shared.store.ack_outbox(&settled).await
    {
        // The entries will be published again after their lease: agents refuse a
        // replayed action and the store accepts one result per command.
        tracing::error!(error = %err, "cannot acknowledge published commands");
        return Err(());
    }
    tracing::debug!(
        published = settled.len(),
        failed = unavailable,
        "outbox round"
    );
    if settled.is_empty() && unavailable > 0 {
        tracing::warn!(
            failed = unavailable,
            "relay unavailable, commands kept in the outbox"
        );
        return Err(());
    }
    Ok(settled.len())
}

/// The collector sweep: stale actions, expired commands and completion.
pub(crate) async fn collector_loop<S: Store, R: Relay>(shared: Arc<Shared<S, R>>) {
    // After a restart, finish the accounting of actions whose last result was
    // stored just before the previous process died.
    match shared.store.inflight_actions().await {
        Ok(ids) if !ids.is_empty() => complete(&shared, ids.into_iter().collect()).await,
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "cannot list inflight actions"),
    }
    loop {
        collect_once(&shared).await;
        if !shared.pause(shared.config.collector_freq).await {
            return;
        }
    }
}

pub(crate) async fn collect_once<S: Store, R: Relay>(shared: &Shared<S, R>) {
    let now = Utc::now();
    match shared.store.invalidate_stale_actions(now).await {
        Ok(ids) if !ids.is_empty() => {
            tracing::info!(actions = ?ids, "actions expired before they could be scheduled: invalidated")
        }
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "cannot invalidate stale actions"),
    }
    match shared.store.expire_commands(now).await {
        Ok(ids) if !ids.is_empty() => {
            tracing::info!(actions = ?ids, "commands expired");
            complete(shared, ids.into_iter().collect()).await;
        }
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "cannot expire commands"),
    }
}

/// Recomputes counters and completes the actions whose commands all finished.
pub(crate) async fn complete<S: Store, R: Relay>(
    shared: &Shared<S, R>,
    action_ids: BTreeSet<mig_protocol::Id>,
) {
    let ids: Vec<_> = action_ids.into_iter().collect();
    match shared.store.complete_actions(&ids, Utc::now()).await {
        Ok(progress) => {
            for item in progress.iter().filter(|p| p.completed) {
                tracing::info!(action_id = %item.action_id, counters = ?item.counters, "action completed");
            }
        }
        Err(err) => tracing::error!(error = %err, "cannot update action counters"),
    }
}
