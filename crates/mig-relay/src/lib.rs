//! MIG's relay: how commands reach agents and results come back.
//!
//! [`Relay`] is what the scheduler and the agent need from a message broker;
//! `AmqpRelay` speaks AMQP 0-9-1 to RabbitMQ (TLS with client certificates,
//! publisher confirms, reconnection with backoff), `MemoryRelay` is an
//! in-process broker with the same semantics for the embedded mode. One
//! conformance suite checks both. Names of exchanges and queues come from
//! `mig_protocol::relay`.

pub mod amqp;
pub mod any;
pub mod dial;
pub mod memory;
pub mod relay;
pub mod tls;

pub use amqp::{AmqpConfig, AmqpRelay};
pub use any::AnyRelay;
pub use dial::{Dialed, connect_via_proxy, dial, environment_proxy, proxy_for};
pub use memory::MemoryRelay;
pub use tls::TlsConfig;

pub use relay::{
    Delivery, PublishOptions, QueueState, Relay, RelayError, RelayResult, Subscription,
};
