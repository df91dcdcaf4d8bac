//! The conformance suite: one set of checks that every [`Relay`] backend must pass.
//!
//! Each check takes a fresh relay (connected to a clean place, or sharing one
//! with other checks: every check uses its own agent queues) and panics on
//! failure. `all_conformance_tests!(make)` turns them into `#[tokio::test]`s,
//! where `make().await` returns `(relay, guard)`; the guard lives until the
//! end of the test.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mig_protocol::relay::{
    EXCHANGE_TO_AGENTS, EXCHANGE_TO_SCHEDULERS, QUEUE_HEARTBEATS, QUEUE_RESULTS, agent_queue,
};
use mig_relay::{Delivery, PublishOptions, QueueState, Relay, RelayError, Subscription};

/// How long a check waits for a delivery that must come.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long a check waits to be confident that a delivery does not come.
pub const QUIET: Duration = Duration::from_millis(300);

/// A queueloc no other check (or run) uses.
pub fn unique_queueloc(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random: u32 = rand::random();
    format!("test.{tag}.{}.{n}.{random:08x}", std::process::id())
}

/// The next delivery, failing the test if none comes within [`WAIT`].
pub async fn next(subscription: &mut Subscription) -> Delivery {
    match tokio::time::timeout(WAIT, subscription.next()).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => panic!("subscription ended while a delivery was expected"),
        Err(_) => panic!("no delivery within {WAIT:?}"),
    }
}

/// Fails the test if a delivery comes within [`QUIET`].
pub async fn nothing(subscription: &mut Subscription) {
    if let Ok(delivery) = tokio::time::timeout(QUIET, subscription.next()).await {
        panic!("unexpected delivery: {delivery:?}");
    }
}

async fn command(relay: &impl Relay, queueloc: &str, body: &[u8]) {
    relay
        .publish(
            EXCHANGE_TO_AGENTS,
            &agent_queue(queueloc),
            body.to_vec(),
            PublishOptions::default(),
        )
        .await
        .unwrap();
}

async fn agent_with_queue<R: Relay>(relay: &R, tag: &str) -> String {
    relay.declare_scheduler_topology().await.unwrap();
    let queueloc = unique_queueloc(tag);
    relay.declare_agent_queue(&queueloc).await.unwrap();
    queueloc
}

/// The scheduler's topology exists and is idempotent; results flow to the scheduler.
pub async fn scheduler_topology_and_results<R: Relay>(relay: R) {
    relay.declare_scheduler_topology().await.unwrap();
    relay.declare_scheduler_topology().await.unwrap();
    for queue in [QUEUE_RESULTS, QUEUE_HEARTBEATS] {
        let state = relay.queue_state(queue).await.unwrap();
        assert!(state.is_some(), "{queue} not declared");
    }
    let mut results = relay.consume(QUEUE_RESULTS, 0).await.unwrap();
    let body = br#"{"id":1234,"results":[]}"#.to_vec();
    let options = PublishOptions {
        expiration_ms: Some(300_000),
    };
    relay
        .publish(EXCHANGE_TO_SCHEDULERS, QUEUE_RESULTS, body.clone(), options)
        .await
        .unwrap();
    let delivery = next(&mut results).await;
    assert_eq!(delivery.body, body);
    assert!(!delivery.redelivered);
    delivery.ack().await.unwrap();
    nothing(&mut results).await;
}

/// An agent queue is declared, bound to `toagents`, and receives commands.
pub async fn command_reaches_agent<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "cmd").await;
    let queue = agent_queue(&queueloc);
    // Idempotent.
    relay.declare_agent_queue(&queueloc).await.unwrap();
    let state = relay.queue_state(&queue).await.unwrap();
    assert_eq!(
        state,
        Some(QueueState {
            messages: 0,
            consumers: 0
        })
    );
    let mut agent = relay.consume(&queue, 1).await.unwrap();
    command(&relay, &queueloc, br#"{"id":1}"#).await;
    let delivery = next(&mut agent).await;
    assert_eq!(delivery.body, br#"{"id":1}"#);
    assert!(!delivery.redelivered);
    delivery.ack().await.unwrap();
    nothing(&mut agent).await;
    drop(agent);
    relay.delete_queue(&queue).await.unwrap();
}

/// A message whose TTL passes before it is consumed is gone.
pub async fn ttl_expiry<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "ttl").await;
    let queue = agent_queue(&queueloc);
    let short = PublishOptions {
        expiration_ms: Some(200),
    };
    let long = PublishOptions {
        expiration_ms: Some(60_000),
    };
    relay
        .publish(EXCHANGE_TO_AGENTS, &queue, b"short".to_vec(), short)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let state = relay.queue_state(&queue).await.unwrap().unwrap();
    assert_eq!(state.messages, 0, "expired message still counted");
    relay
        .publish(EXCHANGE_TO_AGENTS, &queue, b"long".to_vec(), long)
        .await
        .unwrap();
    let mut agent = relay.consume(&queue, 1).await.unwrap();
    let delivery = next(&mut agent).await;
    assert_eq!(delivery.body, b"long");
    delivery.ack().await.unwrap();
    nothing(&mut agent).await;
    drop(agent);
    relay.delete_queue(&queue).await.unwrap();
}

/// Mandatory publishes that no queue takes are not confirmed; a missing
/// exchange is refused; the relay keeps working after both.
pub async fn unroutable_and_missing_exchange<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "mandatory").await;
    let nobody = agent_queue(&unique_queueloc("nobody"));
    let error = relay
        .publish(
            EXCHANGE_TO_AGENTS,
            &nobody,
            b"{}".to_vec(),
            PublishOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, RelayError::NotConfirmed { .. }),
        "unexpected {error:?}"
    );
    let missing = format!("missing.{}", unique_queueloc("exchange"));
    let error = relay
        .publish(&missing, "key", b"{}".to_vec(), PublishOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, RelayError::Refused { .. }),
        "unexpected {error:?}"
    );
    // Still usable.
    command(&relay, &queueloc, b"after").await;
    let mut agent = relay.consume(&agent_queue(&queueloc), 1).await.unwrap();
    let delivery = next(&mut agent).await;
    assert_eq!(delivery.body, b"after");
    delivery.ack().await.unwrap();
    drop(agent);
    relay.delete_queue(&agent_queue(&queueloc)).await.unwrap();
}

/// Unacknowledged deliveries come back, marked redelivered, once their
/// subscription is dropped; acknowledged ones do not.
pub async fn unacked_redelivered_after_drop<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "redeliver").await;
    let queue = agent_queue(&queueloc);
    for body in [b"one", b"two"] {
        command(&relay, &queueloc, body).await;
    }
    let mut agent = relay.consume(&queue, 0).await.unwrap();
    let first = next(&mut agent).await;
    let second = next(&mut agent).await;
    assert_eq!(
        (first.body.as_slice(), second.body.as_slice()),
        (&b"one"[..], &b"two"[..])
    );
    first.ack().await.unwrap();
    // Dropping a delivery does not settle it...
    drop(second);
    nothing(&mut agent).await;
    // ...dropping its subscription does.
    drop(agent);
    let mut agent = relay.consume(&queue, 0).await.unwrap();
    let again = next(&mut agent).await;
    assert_eq!(again.body, b"two");
    assert!(again.redelivered);
    again.ack().await.unwrap();
    nothing(&mut agent).await;
    drop(agent);
    relay.delete_queue(&queue).await.unwrap();
}

/// `ack_multiple` settles the delivery and every earlier one of its
/// subscription in one go; later deliveries stay unacknowledged.
pub async fn ack_multiple_settles_earlier<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "ackmulti").await;
    let queue = agent_queue(&queueloc);
    for body in [b"1", b"2", b"3", b"4"] {
        command(&relay, &queueloc, body).await;
    }
    let mut agent = relay.consume(&queue, 0).await.unwrap();
    let mut deliveries = Vec::new();
    for _ in 0..4 {
        deliveries.push(next(&mut agent).await);
    }
    let bodies: Vec<&[u8]> = deliveries.iter().map(|d| d.body.as_slice()).collect();
    assert_eq!(bodies, [&b"1"[..], &b"2"[..], &b"3"[..], &b"4"[..]]);
    let fourth = deliveries.pop().unwrap();
    let third = deliveries.pop().unwrap();
    // The first two are settled by the third's `ack_multiple`, never on their own.
    drop(deliveries);
    third.ack_multiple().await.unwrap();
    drop(fourth);
    let state = relay.queue_state(&queue).await.unwrap().unwrap();
    assert_eq!(state.messages, 0, "the fourth is delivered, unacknowledged");
    // Dropping the subscription gives back only the unacknowledged fourth.
    drop(agent);
    let mut agent = relay.consume(&queue, 0).await.unwrap();
    let again = next(&mut agent).await;
    assert_eq!(again.body, b"4");
    assert!(again.redelivered);
    again.ack_multiple().await.unwrap();
    nothing(&mut agent).await;
    drop(agent);
    let state = relay.queue_state(&queue).await.unwrap().unwrap();
    assert_eq!(state.messages, 0);
    relay.delete_queue(&queue).await.unwrap();
}

/// `reject(true)` puts the message back; `reject(false)` drops it.
pub async fn reject_requeue<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "reject").await;
    let queue = agent_queue(&queueloc);
    command(&relay, &queueloc, b"again").await;
    let mut agent = relay.consume(&queue, 1).await.unwrap();
    let delivery = next(&mut agent).await;
    assert!(!delivery.redelivered);
    delivery.reject(true).await.unwrap();
    let delivery = next(&mut agent).await;
    assert_eq!(delivery.body, b"again");
    assert!(delivery.redelivered);
    delivery.reject(false).await.unwrap();
    nothing(&mut agent).await;
    let state = relay.queue_state(&queue).await.unwrap().unwrap();
    assert_eq!(state.messages, 0);
    drop(agent);
    relay.delete_queue(&queue).await.unwrap();
}

/// With prefetch 1 the second message waits for the first one's ack.
pub async fn prefetch_one<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "prefetch").await;
    let queue = agent_queue(&queueloc);
    let mut agent = relay.consume(&queue, 1).await.unwrap();
    for body in [b"one", b"two"] {
        command(&relay, &queueloc, body).await;
    }
    let first = next(&mut agent).await;
    assert_eq!(first.body, b"one");
    nothing(&mut agent).await;
    first.ack().await.unwrap();
    let second = next(&mut agent).await;
    assert_eq!(second.body, b"two");
    second.ack().await.unwrap();
    drop(agent);
    relay.delete_queue(&queue).await.unwrap();
}

/// Several consumers of one queue share its messages round-robin.
pub async fn round_robin<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "rr").await;
    let queue = agent_queue(&queueloc);
    let mut a = relay.consume(&queue, 0).await.unwrap();
    let mut b = relay.consume(&queue, 0).await.unwrap();
    for body in [b"1", b"2", b"3", b"4"] {
        command(&relay, &queueloc, body).await;
    }
    let mut got = Vec::new();
    for _ in 0..2 {
        for subscription in [&mut a, &mut b] {
            let delivery = next(subscription).await;
            got.push(delivery.body.clone());
            delivery.ack().await.unwrap();
        }
    }
    got.sort();
    assert_eq!(
        got,
        vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec(), b"4".to_vec()]
    );
    nothing(&mut a).await;
    nothing(&mut b).await;
    drop((a, b));
    relay.delete_queue(&queue).await.unwrap();
}

/// `queue_state` counts ready messages and consumers; a missing queue is `None`.
pub async fn queue_state_counts<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "state").await;
    let queue = agent_queue(&queueloc);
    for body in [b"1", b"2", b"3"] {
        command(&relay, &queueloc, body).await;
    }
    let state = relay.queue_state(&queue).await.unwrap();
    assert_eq!(
        state,
        Some(QueueState {
            messages: 3,
            consumers: 0
        })
    );
    let agent = relay.consume(&queue, 1).await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let state = relay.queue_state(&queue).await.unwrap().unwrap();
        if state.consumers == 1 && state.messages == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "state stuck at {state:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let missing = agent_queue(&unique_queueloc("missing"));
    assert_eq!(relay.queue_state(&missing).await.unwrap(), None);
    // The relay still works after a passive declare of a missing queue.
    assert!(relay.queue_state(&queue).await.unwrap().is_some());
    drop(agent);
    relay.delete_queue(&queue).await.unwrap();
}

/// A deleted queue is gone with its messages; deleting it again is fine.
pub async fn delete_queue<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "delete").await;
    let queue = agent_queue(&queueloc);
    command(&relay, &queueloc, b"doomed").await;
    relay.delete_queue(&queue).await.unwrap();
    assert_eq!(relay.queue_state(&queue).await.unwrap(), None);
    relay.delete_queue(&queue).await.unwrap();
    let error = relay
        .publish(
            EXCHANGE_TO_AGENTS,
            &queue,
            b"{}".to_vec(),
            PublishOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, RelayError::NotConfirmed { .. }),
        "unexpected {error:?}"
    );
    let error = relay.consume(&queue, 1).await.unwrap_err();
    assert!(
        matches!(error, RelayError::Refused { .. }),
        "unexpected {error:?}"
    );
    // The relay still works after that error.
    assert_eq!(relay.queue_state(&queue).await.unwrap(), None);
}

/// Closing the relay ends its subscriptions and later operations fail.
pub async fn close_ends_subscriptions<R: Relay>(relay: R) {
    let queueloc = agent_with_queue(&relay, "close").await;
    let queue = agent_queue(&queueloc);
    let mut agent = relay.consume(&queue, 1).await.unwrap();
    relay.delete_queue(&queue).await.unwrap_or(());
    relay.close().await;
    let end = tokio::time::timeout(WAIT, agent.next()).await;
    assert!(matches!(end, Ok(None)), "subscription did not end");
    let error = relay
        .publish(
            EXCHANGE_TO_AGENTS,
            &queue,
            b"{}".to_vec(),
            PublishOptions::default(),
        )
        .await;
    assert!(error.is_err(), "publish after close succeeded");
}

/// Many concurrent publishes of ~2 KiB, all in flight before any is awaited.
/// Prints the rate; every message arrives.
pub async fn concurrent_publishes<R: Relay>(relay: R) {
    const COUNT: usize = 10_000;
    let queueloc = agent_with_queue(&relay, "burst").await;
    let queue = agent_queue(&queueloc);
    let body = vec![b'x'; 2048];
    let start = Instant::now();
    let publishes = (0..COUNT).map(|_| {
        relay.publish(
            EXCHANGE_TO_AGENTS,
            &queue,
            body.clone(),
            PublishOptions {
                expiration_ms: Some(360_000),
            },
        )
    });
    let results = futures_util::future::join_all(publishes).await;
    let elapsed = start.elapsed();
    for result in results {
        result.unwrap();
    }
    println!(
        "{COUNT} confirmed publishes of 2 KiB in {elapsed:?}: {:.0} msg/s",
        COUNT as f64 / elapsed.as_secs_f64()
    );
    let state = relay.queue_state(&queue).await.unwrap().unwrap();
    assert_eq!(state.messages, COUNT as u64);
    relay.delete_queue(&queue).await.unwrap();
}

/// Declares one `#[tokio::test]` per conformance check; `$make().await`
/// returns `(relay, guard)`.
#[macro_export]
macro_rules! all_conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(
            $make;
            scheduler_topology_and_results,
            command_reaches_agent,
            ttl_expiry,
            unroutable_and_missing_exchange,
            unacked_redelivered_after_drop,
            reject_requeue,
            ack_multiple_settles_earlier,
            prefetch_one,
            round_robin,
            queue_state_counts,
            delete_queue,
            close_ends_subscriptions,
            concurrent_publishes,
        );
    };
}

#[macro_export]
macro_rules! conformance_tests {
    ($make:path; $($name:ident),* $(,)?) => {
        /// How many conformance tests this module declares (read by the AMQP
        /// run, which counts its tests to know when to drop the shared vhost).
        #[allow(dead_code)]
        pub const CONFORMANCE_TESTS: usize = [$(stringify!($name)),*].len();
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (relay, _guard) = $make().await;
                conformance::$name(relay).await;
            }
        )*
    };
}
