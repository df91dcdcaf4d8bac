//! The relay trait.
//!
//! Topology (spec protocol.md §5): the scheduler declares the direct durable
//! exchanges `toagents` and `toschedulers` and the queues `mig.agt.results` and
//! `mig.agt.heartbeats` bound to `toschedulers` with their own names as routing
//! keys; each agent declares `mig.agt.<queueloc>` bound to `toagents` with the
//! same routing key. Every publish is persistent, `text/plain`, mandatory,
//! timestamped, with an optional per-message TTL.

use std::future::Future;

/// Errors of the relay.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The broker cannot be reached now; the relay keeps reconnecting.
    #[error("relay unavailable: {0}")]
    Unavailable(String),
    /// The broker refused an operation (missing exchange, access refused, …).
    #[error("relay refused {operation}: {reason}")]
    Refused { operation: String, reason: String },
    /// The broker did not confirm a publish (nack, or unroutable while mandatory).
    #[error("publish to {exchange}/{routing_key} not confirmed: {reason}")]
    NotConfirmed {
        exchange: String,
        routing_key: String,
        reason: String,
    },
    /// Bad configuration (URL, certificates).
    #[error("relay configuration: {0}")]
    Config(String),
}

/// Results of the relay.
pub type RelayResult<T> = Result<T, RelayError>;

/// Per-message options of a publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishOptions {
    /// The AMQP `expiration` property in milliseconds (per-message TTL).
    pub expiration_ms: Option<u64>,
}

/// Messages and consumers of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueState {
    pub messages: u64,
    pub consumers: u64,
}

/// A received message, to be acknowledged once its work is durable.
///
/// Dropping a delivery without acknowledging it leaves it unacknowledged: the
/// broker redelivers it when the subscription (or connection) goes away.
pub struct Delivery {
    /// The message body.
    pub body: Vec<u8>,
    /// Whether the broker delivered it before (to this or another consumer).
    pub redelivered: bool,
    pub(crate) acker: Box<dyn Acker>,
}

/// How a delivery is settled (implemented by each backend).
pub(crate) trait Acker: Send + Sync {
    fn ack(self: Box<Self>) -> std::pin::Pin<Box<dyn Future<Output = RelayResult<()>> + Send>>;
    /// Acknowledges this delivery and every earlier unsettled one of its consumer.
    fn ack_multiple(
        self: Box<Self>,
    ) -> std::pin::Pin<Box<dyn Future<Output = RelayResult<()>> + Send>>;
    fn reject(
        self: Box<Self>,
        requeue: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = RelayResult<()>> + Send>>;
}

impl Delivery {
    /// Acknowledges the message: the broker forgets it.
    pub async fn ack(self) -> RelayResult<()> {
        self.acker.ack().await
    }

    /// Acknowledges this delivery and, in the same frame, every delivery of
    /// the same subscription handed out before it and not settled yet (AMQP
    /// `basic.ack` with `multiple`): one acknowledgement for a whole batch.
    ///
    /// The earlier deliveries must not be settled again afterwards (RabbitMQ
    /// closes the channel on an unknown delivery tag): drop them. Deliveries
    /// received before a reconnection belong to a channel that is gone; they
    /// are not acknowledged by this and the broker delivers them again.
    pub async fn ack_multiple(self) -> RelayResult<()> {
        self.acker.ack_multiple().await
    }

    /// Rejects the message, putting it back in the queue when `requeue`.
    pub async fn reject(self, requeue: bool) -> RelayResult<()> {
        self.acker.reject(requeue).await
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("bytes", &self.body.len())
            .field("redelivered", &self.redelivered)
            .finish()
    }
}

/// A stream of deliveries from one queue. It survives reconnections: the
/// relay re-creates the consumer and keeps feeding the same subscription.
/// It ends (`None`) only when the relay is closed or its queue is deleted.
/// Dropping it cancels the consumer: the broker requeues its unacknowledged
/// deliveries.
pub struct Subscription {
    pub(crate) receiver: tokio::sync::mpsc::Receiver<Delivery>,
    /// Run when the subscription is dropped: the backend cancels the consumer
    /// and gives its unacknowledged deliveries back to the queue.
    pub(crate) on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(on_drop) = self.on_drop.take() {
            on_drop();
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("buffered", &self.receiver.len())
            .finish()
    }
}

impl Subscription {
    /// The next delivery, or `None` once the relay is closed (or the queue deleted).
    pub async fn next(&mut self) -> Option<Delivery> {
        self.receiver.recv().await
    }
}

/// What the scheduler and the agents need from the relay.
pub trait Relay: Clone + Send + Sync + 'static {
    /// Declares the scheduler's side of the topology: both exchanges, the results
    /// and heartbeats queues and their bindings. Idempotent. Redone by the relay
    /// itself after a reconnection.
    fn declare_scheduler_topology(&self) -> impl Future<Output = RelayResult<()>> + Send;

    /// Declares `mig.agt.<queueloc>` (durable) and binds it to `toagents`.
    /// Idempotent; redone after a reconnection.
    fn declare_agent_queue(&self, queueloc: &str) -> impl Future<Output = RelayResult<()>> + Send;

    /// Publishes one message and resolves once the broker has confirmed it
    /// (publisher confirms; a mandatory message that no queue takes is an error).
    /// Many publishes may be in flight at once.
    fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        options: PublishOptions,
    ) -> impl Future<Output = RelayResult<()>> + Send;

    /// Consumes a queue with manual acknowledgements and at most `prefetch`
    /// unacknowledged deliveries (0 = unlimited).
    fn consume(
        &self,
        queue: &str,
        prefetch: u16,
    ) -> impl Future<Output = RelayResult<Subscription>> + Send;

    /// The state of a queue, or `None` when it does not exist (passive declare).
    fn queue_state(
        &self,
        queue: &str,
    ) -> impl Future<Output = RelayResult<Option<QueueState>>> + Send;

    /// Deletes a queue (and its messages); deleting a missing queue is not an error.
    fn delete_queue(&self, queue: &str) -> impl Future<Output = RelayResult<()>> + Send;

    /// Closes the connection; subscriptions end.
    fn close(&self) -> impl Future<Output = ()> + Send;
}
