//! An in-process broker with the semantics MIG relies on from RabbitMQ.
//!
//! [`MemoryRelay`] keeps direct exchanges, their bindings and FIFO queues in
//! one mutex-protected `State`. Every event that can make a message
//! deliverable (publish, ack, reject, new consumer, dropped subscription)
//! runs `State::dispatch` on the queue under the lock, so nothing polls: a message
//! leaves its queue as soon as a consumer has credit for it.
//!
//! Deliveries handed to a consumer stay in that consumer's `unacked` map until
//! acknowledged; when the subscription is dropped, or on `reject(true)`, they
//! go back to the front of their queue marked `redelivered`, in their
//! original order. Per-message TTLs are checked when a message reaches the
//! head of its queue (at delivery time and by `queue_state`), as RabbitMQ does.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use mig_protocol::relay::{
    EXCHANGE_TO_AGENTS, EXCHANGE_TO_SCHEDULERS, QUEUE_HEARTBEATS, QUEUE_RESULTS, agent_queue,
};

use crate::relay::{
    Acker, Delivery, PublishOptions, QueueState, Relay, RelayError, RelayResult, Subscription,
};

/// Credit of a consumer that asked for an unlimited prefetch (0): the size of
/// its delivery buffer. Further messages wait in the queue until it drains.
const UNLIMITED_PREFETCH_CREDIT: usize = 4096;

/// An in-process relay. Clones share the same broker.
#[derive(Clone)]
pub struct MemoryRelay {
    broker: Arc<Broker>,
}

impl Default for MemoryRelay {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRelay").finish_non_exhaustive()
    }
}

struct Broker {
    state: Mutex<State>,
}

struct State {
    /// The broker itself, for the ackers of the deliveries it hands out.
    broker: Weak<Broker>,
    closed: bool,
    /// Direct exchanges: routing key → bound queues.
    exchanges: HashMap<String, BTreeMap<String, BTreeSet<String>>>,
    queues: HashMap<String, Queue>,
    next_consumer_id: u64,
    next_delivery_tag: u64,
}

#[derive(Default)]
struct Queue {
    messages: VecDeque<Message>,
    consumers: Vec<Consumer>,
    /// Index of the consumer that gets the next message (round-robin).
    next_consumer: usize,
}

#[derive(Clone)]
struct Message {
    body: Vec<u8>,
    expires_at: Option<Instant>,
    redelivered: bool,
}

impl Message {
    fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
}

struct Consumer {
    id: u64,
    credit: usize,
    sender: mpsc::Sender<Delivery>,
    /// Deliveries not yet settled, by delivery tag (tags grow with time).
    unacked: BTreeMap<u64, Message>,
}

impl Broker {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in
        // a way that matters more than losing the broker: keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn closed_error() -> RelayError {
    RelayError::Unavailable("relay closed".to_string())
}

impl State {
    fn ensure_open(&self) -> RelayResult<()> {
        if self.closed {
            Err(closed_error())
        } else {
            Ok(())
        }
    }

    fn declare_exchange(&mut self, name: &str) {
        self.exchanges.entry(name.to_string()).or_default();
    }

    fn declare_queue(&mut self, name: &str) {
        self.queues.entry(name.to_string()).or_default();
    }

    fn bind(&mut self, queue: &str, exchange: &str, routing_key: &str) -> RelayResult<()> {
        if !self.queues.contains_key(queue) {
            return Err(RelayError::Refused {
                operation: format!("bind of queue {queue}"),
                reason: format!("no queue '{queue}'"),
            });
        }
        let Some(bindings) = self.exchanges.get_mut(exchange) else {
            return Err(RelayError::Refused {
                operation: format!("bind of queue {queue}"),
                reason: format!("no exchange '{exchange}'"),
            });
        };
        bindings
            .entry(routing_key.to_string())
            .or_default()
            .insert(queue.to_string());
        Ok(())
    }

    /// Removes a consumer and puts its unacknowledged deliveries back at the
    /// front of the queue, in their original order.
    fn remove_consumer(&mut self, queue_name: &str, consumer_id: u64) {
        let Some(queue) = self.queues.get_mut(queue_name) else {
            return;
        };
        let Some(index) = queue.consumers.iter().position(|c| c.id == consumer_id) else {
            return;
        };
        let consumer = queue.consumers.remove(index);
        if queue.next_consumer > index {
            queue.next_consumer -= 1;
        }
        for (_, mut message) in consumer.unacked.into_iter().rev() {
            message.redelivered = true;
            queue.messages.push_front(message);
        }
        self.dispatch(queue_name);
    }

    /// Hands messages of a queue to its consumers while some have credit.
    fn dispatch(&mut self, queue_name: &str) {
        let Some(queue) = self.queues.get_mut(queue_name) else {
            return;
        };
        let now = Instant::now();
        loop {
            while queue.messages.front().is_some_and(|m| m.expired(now)) {
                queue.messages.pop_front();
            }
            if queue.messages.is_empty() || queue.consumers.is_empty() {
                return;
            }
            let count = queue.consumers.len();
            let chosen = (0..count)
                .map(|offset| (queue.next_consumer + offset) % count)
                .find(|&index| {
                    let consumer = &queue.consumers[index];
                    consumer.unacked.len() < consumer.credit
                });
            let Some(index) = chosen else {
                return;
            };
            let Some(message) = queue.messages.pop_front() else {
                return;
            };
            self.next_delivery_tag += 1;
            let tag = self.next_delivery_tag;
            let consumer = &mut queue.consumers[index];
            let delivery = Delivery {
                body: message.body.clone(),
                redelivered: message.redelivered,
                acker: Box::new(MemoryAcker {
                    broker: self.broker.clone(),
                    queue: queue_name.to_string(),
                    consumer_id: consumer.id,
                    tag,
                }),
            };
            match consumer.sender.try_send(delivery) {
                Ok(()) => {
                    consumer.unacked.insert(tag, message);
                    queue.next_consumer = (index + 1) % count;
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Cannot happen (the buffer holds `credit` deliveries), but
                    // keep the message rather than lose it.
                    queue.messages.push_front(message);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    // The subscription is gone; its drop hook removes the
                    // consumer too, do it now to keep dispatching.
                    queue.messages.push_front(message);
                    let consumer = queue.consumers.remove(index);
                    for (_, mut unacked) in consumer.unacked.into_iter().rev() {
                        unacked.redelivered = true;
                        queue.messages.push_front(unacked);
                    }
                    queue.next_consumer = 0;
                }
            }
        }
    }
}

/// Settles a memory delivery.
struct MemoryAcker {
    broker: Weak<Broker>,
    queue: String,
    consumer_id: u64,
    tag: u64,
}

impl MemoryAcker {
    /// Settles this delivery (ack when `requeue` is `None`, otherwise reject),
    /// and with `multiple` acknowledges every earlier unsettled delivery of the
    /// consumer too.
    fn settle(self, requeue: Option<bool>, multiple: bool) -> RelayResult<()> {
        let Some(broker) = self.broker.upgrade() else {
            return Err(closed_error());
        };
        let mut state = broker.lock();
        state.ensure_open()?;
        let gone = || {
            RelayError::Unavailable(format!(
                "delivery {} of queue {} belongs to a closed subscription; the broker redelivers it",
                self.tag, self.queue
            ))
        };
        let queue = state.queues.get_mut(&self.queue).ok_or_else(gone)?;
        let consumer = queue
            .consumers
            .iter_mut()
            .find(|c| c.id == self.consumer_id)
            .ok_or_else(gone)?;
        let mut message =
            consumer
                .unacked
                .remove(&self.tag)
                .ok_or_else(|| RelayError::Refused {
                    operation: "ack".to_string(),
                    reason: format!("unknown delivery tag {}", self.tag),
                })?;
        if multiple {
            let later = consumer.unacked.split_off(&self.tag);
            consumer.unacked = later;
        }
        if requeue == Some(true) {
            message.redelivered = true;
            queue.messages.push_front(message);
        }
        state.dispatch(&self.queue);
        Ok(())
    }
}

impl Acker for MemoryAcker {
    fn ack(self: Box<Self>) -> Pin<Box<dyn Future<Output = RelayResult<()>> + Send>> {
        let result = self.settle(None, false);
        Box::pin(async move { result })
    }

    fn ack_multiple(self: Box<Self>) -> Pin<Box<dyn Future<Output = RelayResult<()>> + Send>> {
        let result = self.settle(None, true);
        Box::pin(async move { result })
    }

    fn reject(
        self: Box<Self>,
        requeue: bool,
    ) -> Pin<Box<dyn Future<Output = RelayResult<()>> + Send>> {
        let result = self.settle(Some(requeue), false);
        Box::pin(async move { result })
    }
}

impl MemoryRelay {
    /// A new, empty broker.
    pub fn new() -> Self {
        let broker = Arc::new_cyclic(|weak| Broker {
            state: Mutex::new(State {
                broker: weak.clone(),
                closed: false,
                exchanges: HashMap::new(),
                queues: HashMap::new(),
                next_consumer_id: 0,
                next_delivery_tag: 0,
            }),
        });
        Self { broker }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.broker.lock()
    }

    fn publish_now(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        options: &PublishOptions,
    ) -> RelayResult<()> {
        let mut state = self.state();
        state.ensure_open()?;
        let targets: Vec<String> = if exchange.is_empty() {
            // The default exchange routes to the queue named by the key.
            state
                .queues
                .contains_key(routing_key)
                .then(|| routing_key.to_string())
                .into_iter()
                .collect()
        } else {
            let bindings = state
                .exchanges
                .get(exchange)
                .ok_or_else(|| RelayError::Refused {
                    operation: format!("publish to {exchange}"),
                    reason: format!("no exchange '{exchange}'"),
                })?;
            bindings
                .get(routing_key)
                .map(|queues| queues.iter().cloned().collect())
                .unwrap_or_default()
        };
        if targets.is_empty() {
            return Err(RelayError::NotConfirmed {
                exchange: exchange.to_string(),
                routing_key: routing_key.to_string(),
                reason: "unroutable: no queue is bound to this key".to_string(),
            });
        }
        let message = Message {
            body,
            expires_at: options
                .expiration_ms
                .map(|ms| Instant::now() + Duration::from_millis(ms)),
            redelivered: false,
        };
        for target in &targets {
            if let Some(queue) = state.queues.get_mut(target) {
                queue.messages.push_back(message.clone());
                tracing::trace!(
                    queue = %target,
                    queued = queue.messages.len(),
                    consumers = queue.consumers.len(),
                    "memory relay: published"
                );
            }
            state.dispatch(target);
        }
        Ok(())
    }
}

impl Relay for MemoryRelay {
    async fn declare_scheduler_topology(&self) -> RelayResult<()> {
        let mut state = self.state();
        state.ensure_open()?;
        state.declare_exchange(EXCHANGE_TO_AGENTS);
        state.declare_exchange(EXCHANGE_TO_SCHEDULERS);
        for queue in [QUEUE_RESULTS, QUEUE_HEARTBEATS] {
            state.declare_queue(queue);
            state.bind(queue, EXCHANGE_TO_SCHEDULERS, queue)?;
        }
        Ok(())
    }

    async fn declare_agent_queue(&self, queueloc: &str) -> RelayResult<()> {
        let mut state = self.state();
        state.ensure_open()?;
        let queue = agent_queue(queueloc);
        if !state.exchanges.contains_key(EXCHANGE_TO_AGENTS) {
            // As on RabbitMQ, agents cannot declare `toagents`: the scheduler must have.
            return Err(RelayError::Refused {
                operation: format!("bind of queue {queue}"),
                reason: format!("no exchange '{EXCHANGE_TO_AGENTS}'"),
            });
        }
        state.declare_queue(&queue);
        state.bind(&queue, EXCHANGE_TO_AGENTS, &queue)
    }

    async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        options: PublishOptions,
    ) -> RelayResult<()> {
        self.publish_now(exchange, routing_key, body, &options)
    }

    async fn consume(&self, queue: &str, prefetch: u16) -> RelayResult<Subscription> {
        let mut state = self.state();
        state.ensure_open()?;
        let credit = if prefetch == 0 {
            UNLIMITED_PREFETCH_CREDIT
        } else {
            usize::from(prefetch)
        };
        state.next_consumer_id += 1;
        let id = state.next_consumer_id;
        let (sender, receiver) = mpsc::channel(credit);
        let Some(entry) = state.queues.get_mut(queue) else {
            return Err(RelayError::Refused {
                operation: format!("consume of {queue}"),
                reason: format!("no queue '{queue}'"),
            });
        };
        entry.consumers.push(Consumer {
            id,
            credit,
            sender,
            unacked: BTreeMap::new(),
        });
        state.dispatch(queue);
        drop(state);
        let broker = Arc::downgrade(&self.broker);
        let queue = queue.to_string();
        Ok(Subscription {
            receiver,
            on_drop: Some(Box::new(move || {
                if let Some(broker) = broker.upgrade() {
                    broker.lock().remove_consumer(&queue, id);
                }
            })),
        })
    }

    async fn queue_state(&self, queue: &str) -> RelayResult<Option<QueueState>> {
        let mut state = self.state();
        state.ensure_open()?;
        let Some(entry) = state.queues.get_mut(queue) else {
            return Ok(None);
        };
        let now = Instant::now();
        entry.messages.retain(|message| !message.expired(now));
        Ok(Some(QueueState {
            messages: entry.messages.len() as u64,
            consumers: entry.consumers.len() as u64,
        }))
    }

    async fn delete_queue(&self, queue: &str) -> RelayResult<()> {
        let mut state = self.state();
        state.ensure_open()?;
        // Dropping the consumers drops their senders: their subscriptions end.
        state.queues.remove(queue);
        for bindings in state.exchanges.values_mut() {
            for queues in bindings.values_mut() {
                queues.remove(queue);
            }
            bindings.retain(|_, queues| !queues.is_empty());
        }
        Ok(())
    }

    async fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        for queue in state.queues.values_mut() {
            queue.consumers.clear();
        }
    }
}
