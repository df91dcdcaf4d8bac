//! MIG's relay: how commands reach agents and results come back.
//!
//! [`Relay`] is what the scheduler and the agent need from a message broker:
//! declare the topology, publish with confirms, consume with manual acks,
//! inspect and delete queues. Two backends implement it:
//!
//! - [`AmqpRelay`] speaks AMQP 0-9-1 to RabbitMQ with lapin: a supervisor
//!   task owns the connection and reconnects with jittered exponential
//!   backoff, re-declaring the topology and re-creating every consumer behind
//!   the same [`Subscription`]s; TLS ([`TlsConfig`], rustls with ring) and
//!   HTTP CONNECT proxies ([`dial()`]) are part of connecting.
//! - [`MemoryRelay`] is an in-process broker with the same semantics
//!   (bindings, TTLs, mandatory, prefetch, requeue on drop) for the embedded mode.
//!
//! [`AnyRelay`] picks one at run time. One conformance suite
//! (`tests/relay/conformance`) checks both. Names of exchanges and queues come from
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
