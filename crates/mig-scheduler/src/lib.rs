//! The MIG scheduler: turns signed actions into one command per targeted agent,
//! routes them through the relay, collects results and keeps the fleet's state.
//!
//! Every piece of state lives in the [`Store`]; the scheduler holds none that a
//! restart would lose. Its tasks, each a loop until shutdown:
//!
//! ```text
//! actions    wait_for_new_action (NOTIFY, or the collector sweep) → claim → expand
//!            target → dispatch (commands + outbox, one transaction) → wake publisher
//! publisher  outbox → relay (confirmed) → ack outbox
//! results    relay mig.agt.results → finish_command (durable) → ack delivery → complete
//! heartbeats relay mig.agt.heartbeats (legacy agents) → batched upsert → ack
//! collector  every [collector] freq: stale actions invalid, expired commands, completion
//! periodic   every [periodic] freq: idle/offline marking, agents_stats, duplicates
//! cleanup    every [periodic] queuescleanupfreq: delete relay queues of departed agents
//! ```
//!
//! Several schedulers may share one database: claims and outbox entries are
//! taken with row locks and leases, so no action is prepared twice and no
//! command is published twice while its lease holds.

mod actions;
pub mod config;
mod heartbeats;
mod identity;
mod periodic;
mod results;

use std::sync::Arc;
use std::time::Duration;

use mig_protocol::Id;
use mig_protocol::pgp::SecretKeySigner;
use mig_relay::Relay;
use mig_store::Store;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use config::SchedulerConfig;
pub use heartbeats::Whitelist;
pub use identity::ensure_identity;
pub use periodic::kill_action;

/// Knobs that are not in `scheduler.cfg`: leases and batch sizes.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// A `scheduled` action whose claim is older is claimed again (its scheduler died).
    pub claim_lease: Duration,
    /// An outbox entry taken but not acknowledged for this long is taken again.
    pub outbox_lease: Duration,
    /// Outbox entries taken per round.
    pub outbox_batch: usize,
    /// Publishes in flight at once.
    pub publish_concurrency: usize,
    /// Result deliveries processed per batch.
    pub result_batch: usize,
    /// Heartbeats upserted per batch.
    pub heartbeat_batch: usize,
    /// Pause after a database or relay failure before trying again.
    pub retry_pause: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            claim_lease: Duration::from_secs(60),
            outbox_lease: Duration::from_secs(30),
            outbox_batch: 2048,
            publish_concurrency: 512,
            result_batch: 1024,
            heartbeat_batch: 4096,
            retry_pause: Duration::from_secs(1),
        }
    }
}

/// Why the scheduler stopped.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("scheduler identity: {0}")]
    Identity(String),
    #[error("a scheduler task failed: {0}")]
    Task(String),
}

/// What every task shares.
pub(crate) struct Shared<S, R> {
    pub store: Arc<S>,
    pub relay: R,
    pub config: SchedulerConfig,
    pub tuning: Tuning,
    pub signer: SecretKeySigner,
    pub identity_id: Id,
    pub outbox_wake: Notify,
    pub shutdown: CancellationToken,
}

impl<S: Store, R: Relay> Shared<S, R> {
    /// Sleeps `duration`, returning false if shutdown came first.
    pub(crate) async fn pause(&self, duration: Duration) -> bool {
        tokio::select! {
            () = self.shutdown.cancelled() => false,
            () = tokio::time::sleep(duration) => true,
        }
    }
}

/// Runs the scheduler until `shutdown` is cancelled; returns when every task
/// has stopped.
pub async fn run<S: Store, R: Relay>(
    config: SchedulerConfig,
    tuning: Tuning,
    store: Arc<S>,
    relay: R,
    shutdown: CancellationToken,
) -> Result<(), SchedulerError> {
    let (signer, identity_id) = ensure_identity(store.as_ref())
        .await
        .map_err(|err| SchedulerError::Identity(err.to_string()))?;
    tracing::info!(fingerprint = %mig_protocol::pgp::Signer::fingerprint(&signer), "scheduler identity loaded");
    let shared = Arc::new(Shared {
        store,
        relay,
        config,
        tuning,
        signer,
        identity_id,
        outbox_wake: Notify::new(),
        shutdown,
    });
    actions::declare_topology(&shared).await;
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(actions::action_loop(shared.clone()));
    tasks.spawn(actions::publisher_loop(shared.clone()));
    tasks.spawn(actions::collector_loop(shared.clone()));
    tasks.spawn(results::result_loop(shared.clone()));
    tasks.spawn(heartbeats::heartbeat_loop(shared.clone()));
    tasks.spawn(periodic::periodic_loop(shared.clone()));
    tasks.spawn(periodic::queue_cleanup_loop(shared.clone()));
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        if let Err(err) = joined {
            tracing::error!(error = %err, "scheduler task ended abnormally");
            failure.get_or_insert_with(|| err.to_string());
            shared.shutdown.cancel();
        }
    }
    match failure {
        Some(reason) => Err(SchedulerError::Task(reason)),
        None => Ok(()),
    }
}
