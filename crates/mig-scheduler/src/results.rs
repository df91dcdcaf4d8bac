//! Results from agents (spec protocol.md §7.5).
//!
//! A delivery is acknowledged only after its result is durable in the store, so
//! a crash loses nothing; a redelivered result finds its command no longer
//! `sent` and is dropped, so nothing is counted twice.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use mig_protocol::Command;
use mig_protocol::relay::{QUEUE_RESULTS, is_plausible_result_body};
use mig_relay::{Delivery, Relay, Subscription};
use mig_store::Store;

use crate::Shared;
use crate::actions::complete;

/// How long a batch waits for more deliveries once it has one.
const BATCH_WINDOW: Duration = Duration::from_millis(5);
/// How long a batch gathers at most: under a steady stream the window never
/// closes, and a full batch would take `max` deliveries' worth of time.
const BATCH_MAX_WAIT: Duration = Duration::from_millis(50);

pub(crate) async fn subscribe<S: Store, R: Relay>(
    shared: &Shared<S, R>,
    queue: &str,
    prefetch: u16,
) -> Option<Subscription> {
    loop {
        match shared.relay.consume(queue, prefetch).await {
            Ok(subscription) => return Some(subscription),
            Err(err) => tracing::warn!(%queue, error = %err, "cannot consume yet"),
        }
        if !shared.pause(shared.tuning.retry_pause).await {
            return None;
        }
    }
}

/// Waits for one delivery, then gathers what else arrives within a short window.
pub(crate) async fn next_batch<S: Store, R: Relay>(
    shared: &Shared<S, R>,
    subscription: &mut Subscription,
    max: usize,
) -> Option<Vec<Delivery>> {
    let first = tokio::select! {
        () = shared.shutdown.cancelled() => return None,
        delivery = subscription.next() => delivery?,
    };
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + BATCH_MAX_WAIT;
    while batch.len() < max {
        let wait =
            BATCH_WINDOW.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        if wait.is_zero() {
            break;
        }
        match tokio::time::timeout(wait, subscription.next()).await {
            Ok(Some(delivery)) => batch.push(delivery),
            Ok(None) | Err(_) => break,
        }
    }
    Some(batch)
}

pub(crate) async fn result_loop<S: Store, R: Relay>(shared: Arc<Shared<S, R>>) {
    let prefetch = u16::try_from(shared.tuning.result_batch).unwrap_or(u16::MAX);
    let Some(mut subscription) = subscribe(&shared, QUEUE_RESULTS, prefetch).await else {
        return;
    };
    while let Some(batch) = next_batch(&shared, &mut subscription, shared.tuning.result_batch).await
    {
        if !process_results(&shared, batch).await && !shared.pause(shared.tuning.retry_pause).await
        {
            return;
        }
    }
}

/// Stores a batch of results; returns false when the store failed (the failed
/// deliveries are put back for a later attempt).
async fn process_results<S: Store, R: Relay>(shared: &Shared<S, R>, batch: Vec<Delivery>) -> bool {
    let mut touched = BTreeSet::new();
    let mut healthy = true;
    for delivery in batch {
        if !healthy {
            requeue(delivery).await;
            continue;
        }
        let Some(command) = decode(&delivery.body) else {
            ack(delivery).await;
            continue;
        };
        match shared.store.finish_command(&command, Utc::now()).await {
            Ok(true) => {
                tracing::debug!(command_id = %command.id, action_id = %command.action.id, status = %command.status, "result stored");
                touched.insert(command.action.id);
                ack(delivery).await;
            }
            Ok(false) => {
                tracing::warn!(
                    command_id = %command.id,
                    action_id = %command.action.id,
                    queueloc = %command.agent.queueloc,
                    pid = command.agent.pid,
                    "result dropped: unknown command, already answered, or not from the addressed agent process"
                );
                ack(delivery).await;
            }
            Err(err) => {
                tracing::error!(command_id = %command.id, error = %err, "cannot store a result; it goes back to the queue");
                requeue(delivery).await;
                healthy = false;
            }
        }
    }
    if !touched.is_empty() {
        complete(shared, touched).await;
    }
    healthy
}

/// Decodes a result body, logging why one is unusable (such bodies are dropped).
fn decode(body: &[u8]) -> Option<Command> {
    if !is_plausible_result_body(body) {
        tracing::warn!(
            bytes = body.len(),
            "result body is not a JSON object, dropped"
        );
        return None;
    }
    let command = match Command::from_json(body) {
        Ok(command) => command,
        Err(err) => {
            tracing::warn!(error = %err, "result is not a command, dropped");
            return None;
        }
    };
    if let Err(err) = command.check_returned() {
        tracing::warn!(error = %err, "returned command is incomplete, dropped");
        return None;
    }
    Some(command)
}

pub(crate) async fn ack(delivery: Delivery) {
    if let Err(err) = delivery.ack().await {
        tracing::warn!(error = %err, "cannot acknowledge a delivery; the relay will redeliver it");
    }
}

pub(crate) async fn requeue(delivery: Delivery) {
    if let Err(err) = delivery.reject(true).await {
        tracing::warn!(error = %err, "cannot requeue a delivery; the relay will redeliver it");
    }
}
