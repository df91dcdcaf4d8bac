//! [`AnyRelay`]: a relay chosen at run time.

use crate::amqp::AmqpRelay;
use crate::memory::MemoryRelay;
use crate::relay::{PublishOptions, QueueState, Relay, RelayResult, Subscription};

/// Either backend, for binaries that choose from their configuration.
#[derive(Clone, Debug)]
pub enum AnyRelay {
    /// RabbitMQ.
    Amqp(AmqpRelay),
    /// The in-process broker of the embedded mode.
    Memory(MemoryRelay),
}

impl From<AmqpRelay> for AnyRelay {
    fn from(relay: AmqpRelay) -> Self {
        Self::Amqp(relay)
    }
}

impl From<MemoryRelay> for AnyRelay {
    fn from(relay: MemoryRelay) -> Self {
        Self::Memory(relay)
    }
}

macro_rules! delegate {
    ($self:ident, $relay:ident => $call:expr) => {
        match $self {
            AnyRelay::Amqp($relay) => $call.await,
            AnyRelay::Memory($relay) => $call.await,
        }
    };
}

impl Relay for AnyRelay {
    async fn declare_scheduler_topology(&self) -> RelayResult<()> {
        delegate!(self, relay => relay.declare_scheduler_topology())
    }

    async fn declare_agent_queue(&self, queueloc: &str) -> RelayResult<()> {
        delegate!(self, relay => relay.declare_agent_queue(queueloc))
    }

    async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        options: PublishOptions,
    ) -> RelayResult<()> {
        delegate!(self, relay => relay.publish(exchange, routing_key, body, options))
    }

    async fn consume(&self, queue: &str, prefetch: u16) -> RelayResult<Subscription> {
        delegate!(self, relay => relay.consume(queue, prefetch))
    }

    async fn queue_state(&self, queue: &str) -> RelayResult<Option<QueueState>> {
        delegate!(self, relay => relay.queue_state(queue))
    }

    async fn delete_queue(&self, queue: &str) -> RelayResult<()> {
        delegate!(self, relay => relay.delete_queue(queue))
    }

    async fn close(&self) {
        delegate!(self, relay => relay.close())
    }
}
