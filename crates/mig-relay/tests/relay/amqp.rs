//! The conformance suite against the machine's RabbitMQ (127.0.0.1:5672,
//! guest/guest), plus what only AMQP has: the wire properties, the topology
//! as `rabbitmqctl` lists it, reconnection after a forced close, and CONNECT
//! proxies. RabbitMQ being down is a failure, not a skip.
//!
//! The conformance checks share one vhost per run (`mig_relay_test_<pid>_<random>`,
//! deleted by the last check to finish, and by the next run if a filter left
//! it behind); each uses its own agent queues. Checks that close connections
//! from the broker side get a vhost of their own.

use crate::conformance;
use crate::rabbit;

use mig_testkit::{Vhost, rabbitmqctl};
use rabbit::{create_vhost, sweep_stale_vhosts};

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use mig_protocol::relay::{EXCHANGE_TO_AGENTS, QUEUE_HEARTBEATS, QUEUE_RESULTS, agent_queue};
use mig_relay::{AmqpConfig, AmqpRelay, PublishOptions, Relay};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Tests of this binary that use the shared vhost besides the conformance suite.
const EXTRA_SHARED_TESTS: usize = 3;

struct Shared {
    vhost: Option<Vhost>,
    remaining: usize,
}

fn shared() -> &'static Mutex<Shared> {
    static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();
    SHARED.get_or_init(|| {
        sweep_stale_vhosts();
        Mutex::new(Shared {
            vhost: Some(create_vhost()),
            remaining: CONFORMANCE_TESTS + EXTRA_SHARED_TESTS,
        })
    })
}

/// A use of the shared vhost; the last one deletes it.
struct SharedUse;

impl Drop for SharedUse {
    fn drop(&mut self) {
        let mut shared = shared()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shared.remaining -= 1;
        if shared.remaining == 0 {
            shared.vhost.take();
        }
    }
}

fn shared_url() -> (String, SharedUse) {
    let shared = shared()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let url = shared
        .vhost
        .as_ref()
        .expect("shared vhost already deleted")
        .url();
    (url, SharedUse)
}

fn config(url: String) -> AmqpConfig {
    AmqpConfig {
        heartbeat: Duration::from_secs(10),
        reconnect_min: Duration::from_millis(50),
        reconnect_max: Duration::from_secs(2),
        unavailable_timeout: Duration::from_secs(15),
        ..AmqpConfig::new(url)
    }
}

async fn make() -> (AmqpRelay, SharedUse) {
    let (url, guard) = tokio::task::spawn_blocking(shared_url).await.unwrap();
    let relay = AmqpRelay::connect_and_wait(config(url), Duration::from_secs(10))
        .await
        .unwrap();
    (relay, guard)
}

all_conformance_tests!(make);

/// The topology as `rabbitmqctl` lists it matches the reference capture of the
/// original: direct durable exchanges, durable non-exclusive queues, bindings
/// named after the queues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_matches_reference_listing() {
    let (relay, _guard) = make().await;
    let queueloc = conformance::unique_queueloc("topology");
    relay.declare_scheduler_topology().await.unwrap();
    relay.declare_agent_queue(&queueloc).await.unwrap();
    let vhost = relay_vhost();
    let queue = agent_queue(&queueloc);
    let listings = tokio::task::spawn_blocking(move || {
        let exchanges = std::thread::spawn({
            let vhost = vhost.clone();
            move || {
                rabbitmqctl(&[
                    "-q",
                    "list_exchanges",
                    "-p",
                    &vhost,
                    "name",
                    "type",
                    "durable",
                    "auto_delete",
                    "internal",
                    "arguments",
                ])
            }
        });
        let queues = std::thread::spawn({
            let vhost = vhost.clone();
            move || {
                rabbitmqctl(&[
                    "-q",
                    "list_queues",
                    "-p",
                    &vhost,
                    "name",
                    "durable",
                    "auto_delete",
                    "exclusive",
                    "arguments",
                ])
            }
        });
        let bindings = rabbitmqctl(&[
            "-q",
            "list_bindings",
            "-p",
            &vhost,
            "source_name",
            "destination_name",
            "routing_key",
        ]);
        (exchanges.join().unwrap(), queues.join().unwrap(), bindings)
    })
    .await
    .unwrap();
    let (exchanges, queues, bindings) = listings;
    let lines = |text: &str| text.lines().map(str::to_string).collect::<BTreeSet<_>>();
    let (exchanges, queues, bindings) = (lines(&exchanges), lines(&queues), lines(&bindings));
    for line in [
        "toagents\tdirect\ttrue\tfalse\tfalse\t[]",
        "toschedulers\tdirect\ttrue\tfalse\tfalse\t[]",
    ] {
        assert!(
            exchanges.contains(line),
            "missing exchange line {line:?} in {exchanges:?}"
        );
    }
    for name in [QUEUE_HEARTBEATS, QUEUE_RESULTS, queue.as_str()] {
        let line = format!("{name}\ttrue\tfalse\tfalse\t[]");
        assert!(
            queues.contains(&line),
            "missing queue line {line:?} in {queues:?}"
        );
    }
    for line in [
        format!("toschedulers\t{QUEUE_HEARTBEATS}\t{QUEUE_HEARTBEATS}"),
        format!("toschedulers\t{QUEUE_RESULTS}\t{QUEUE_RESULTS}"),
        format!("toagents\t{queue}\t{queue}"),
    ] {
        assert!(
            bindings.contains(&line),
            "missing binding line {line:?} in {bindings:?}"
        );
    }
    relay.delete_queue(&queue).await.unwrap();
}

fn relay_vhost() -> String {
    let shared = shared()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    shared.vhost.as_ref().unwrap().name.clone()
}

/// Messages carry the original's properties: persistent, `text/plain`, a
/// timestamp in seconds, the expiration as a decimal string, nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_on_the_wire() {
    let (relay, _guard) = make().await;
    let queueloc = conformance::unique_queueloc("props");
    relay.declare_scheduler_topology().await.unwrap();
    relay.declare_agent_queue(&queueloc).await.unwrap();
    let queue = agent_queue(&queueloc);
    let url = shared().lock().unwrap().vhost.as_ref().unwrap().url();
    let raw = lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = raw.create_channel().await.unwrap();
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "".into(),
            lapin::options::BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = br#"{"id":4,"action":{}}"#.to_vec();
    relay
        .publish(
            EXCHANGE_TO_AGENTS,
            &queue,
            body.clone(),
            PublishOptions {
                expiration_ms: Some(360_000),
            },
        )
        .await
        .unwrap();
    relay
        .publish(
            EXCHANGE_TO_AGENTS,
            &queue,
            body.clone(),
            PublishOptions::default(),
        )
        .await
        .unwrap();
    for expected_expiration in [Some("360000"), None] {
        let delivery = tokio::time::timeout(conformance::WAIT, consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(delivery.data, body);
        assert_eq!(delivery.exchange.as_str(), EXCHANGE_TO_AGENTS);
        assert_eq!(delivery.routing_key.as_str(), queue);
        let properties = &delivery.properties;
        assert_eq!(*properties.delivery_mode(), Some(2));
        assert_eq!(
            properties.content_type().as_ref().map(|c| c.as_str()),
            Some("text/plain")
        );
        assert_eq!(
            properties.expiration().as_ref().map(|e| e.as_str()),
            expected_expiration
        );
        let timestamp = properties.timestamp().unwrap();
        assert!(
            timestamp.abs_diff(now) <= 5,
            "timestamp {timestamp} far from {now}"
        );
        assert!(properties.headers().is_none());
        assert!(properties.priority().is_none());
        assert!(properties.correlation_id().is_none());
        assert!(properties.reply_to().is_none());
        assert!(properties.content_encoding().is_none());
    }
    raw.close(200, "done".into()).await.unwrap();
    relay.delete_queue(&queue).await.unwrap();
}

/// A minimal HTTP CONNECT proxy on 127.0.0.1; `refuse` answers 403.
async fn start_proxy(refuse: bool) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                assert!(head.starts_with("CONNECT "), "not a CONNECT: {head:?}");
                assert!(
                    head.contains(&format!("\r\nHost: {target}\r\n")),
                    "no Host header: {head:?}"
                );
                if refuse {
                    let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
                    return;
                }
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (address, task)
}

/// Proxies are tried in order: a dead one and a refusing one are skipped,
/// the working one carries the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_through_connect_proxy() {
    let (url, _guard) = tokio::task::spawn_blocking(shared_url).await.unwrap();
    let (refusing, refusing_task) = start_proxy(true).await;
    let (working, working_task) = start_proxy(false).await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let config = AmqpConfig {
        proxies: vec![dead, refusing, format!("http://{working}")],
        ..config(url)
    };
    let relay = AmqpRelay::connect_and_wait(config, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(relay.proxy_in_use(), Some(format!("http://{working}")));
    let queueloc = conformance::unique_queueloc("proxy");
    relay.declare_scheduler_topology().await.unwrap();
    relay.declare_agent_queue(&queueloc).await.unwrap();
    let queue = agent_queue(&queueloc);
    let mut agent = relay.consume(&queue, 1).await.unwrap();
    relay
        .publish(
            EXCHANGE_TO_AGENTS,
            &queue,
            b"via proxy".to_vec(),
            PublishOptions::default(),
        )
        .await
        .unwrap();
    let delivery = conformance::next(&mut agent).await;
    assert_eq!(delivery.body, b"via proxy");
    delivery.ack().await.unwrap();
    drop(agent);
    relay.delete_queue(&queue).await.unwrap();
    relay.close().await;
    refusing_task.abort();
    working_task.abort();

    // The dialer alone, as the agent uses it.
    let dialed = mig_relay::dial("127.0.0.1", 5672, &[], Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(dialed.proxy, None);
}

/// After the broker closes the relay's connection: an existing subscription
/// keeps receiving, a publish issued during the outage completes, the
/// unacknowledged delivery comes back (its ack fails) and the acknowledged one
/// does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_forced_close() {
    const BURST: usize = 500;
    let vhost = tokio::task::spawn_blocking(create_vhost).await.unwrap();
    let relay = AmqpRelay::connect_and_wait(config(vhost.url()), Duration::from_secs(10))
        .await
        .unwrap();
    let queueloc = conformance::unique_queueloc("reconnect");
    relay.declare_scheduler_topology().await.unwrap();
    relay.declare_agent_queue(&queueloc).await.unwrap();
    let queue = agent_queue(&queueloc);
    let mut agent = relay.consume(&queue, 0).await.unwrap();
    let publish = {
        let (relay, queue) = (relay.clone(), queue.clone());
        move |body: &'static [u8]| {
            let relay = relay.clone();
            let queue = queue.clone();
            async move {
                relay
                    .publish(
                        EXCHANGE_TO_AGENTS,
                        &queue,
                        body.to_vec(),
                        PublishOptions::default(),
                    )
                    .await
            }
        }
    };
    publish(b"acked").await.unwrap();
    publish(b"unacked").await.unwrap();
    let acked = conformance::next(&mut agent).await;
    assert_eq!(acked.body, b"acked");
    acked.ack().await.unwrap();
    let unacked = conformance::next(&mut agent).await;
    assert_eq!(unacked.body, b"unacked");
    assert_eq!(relay.generation(), 1);

    // Publish as soon as the relay notices the loss, i.e. during the outage.
    let during = tokio::spawn({
        let relay = relay.clone();
        let publish = publish.clone();
        async move {
            while relay.is_connected() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let lost_at = Instant::now();
            let result = publish(b"during outage").await;
            (lost_at, result, Instant::now())
        }
    });
    // And a stream of publishes in flight across the close.
    let burst = tokio::spawn({
        let relay = relay.clone();
        let queue = queue.clone();
        async move {
            let publishes = (0..BURST).map(|n| {
                let relay = relay.clone();
                let queue = queue.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(n as u64 * 3)).await;
                    relay
                        .publish(
                            EXCHANGE_TO_AGENTS,
                            &queue,
                            format!("burst {n}").into_bytes(),
                            PublishOptions::default(),
                        )
                        .await
                }
            });
            futures_util::future::join_all(publishes).await
        }
    });
    let name = vhost.name.clone();
    tokio::task::spawn_blocking(move || {
        rabbitmqctl(&[
            "close_all_connections",
            "-p",
            &name,
            "forced by mig-relay test",
        ])
    })
    .await
    .unwrap();
    let (lost_at, result, published_at) = tokio::time::timeout(Duration::from_secs(20), during)
        .await
        .unwrap()
        .unwrap();
    result.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay.generation() < 2 {
        assert!(Instant::now() < deadline, "no reconnection");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "reconnected and published {:?} after the loss was noticed",
        published_at - lost_at
    );
    assert!(
        unacked.ack().await.is_err(),
        "ack on a dead channel succeeded"
    );
    publish(b"after").await.unwrap();

    for result in burst.await.unwrap() {
        result.unwrap();
    }

    // Publishes interrupted by the close are retried: a message may come
    // twice (at least once), none is missing.
    let mut expected: BTreeSet<String> = ["unacked", "during outage", "after"]
        .map(String::from)
        .into();
    expected.extend((0..BURST).map(|n| format!("burst {n}")));
    let mut received = BTreeSet::new();
    let mut deliveries = 0;
    while received != expected {
        let delivery = conformance::next(&mut agent).await;
        deliveries += 1;
        let body = String::from_utf8(delivery.body.clone()).unwrap();
        assert!(expected.contains(&body), "unexpected {body:?}");
        if body == "unacked" {
            assert!(delivery.redelivered);
        }
        received.insert(body);
        // Deliveries buffered from the channel that died cannot be acked:
        // the broker redelivers them (counted as duplicates below).
        let _ = delivery.ack().await;
    }
    while let Ok(Some(delivery)) = tokio::time::timeout(conformance::QUIET, agent.next()).await {
        let body = String::from_utf8(delivery.body.clone()).unwrap();
        assert!(body.starts_with("burst "), "{body:?} delivered twice");
        deliveries += 1;
        let _ = delivery.ack().await;
    }
    println!(
        "{} messages, {deliveries} deliveries (redeliveries of unackable buffered ones and republished ones)",
        expected.len()
    );
    relay.close().await;
    assert!(agent.next().await.is_none());
}

/// With no broker, `connect` still succeeds (only bad configuration fails
/// it), while waiting for the connection and publishing fail after their
/// bounds with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_broker_is_unavailable_not_fatal() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = AmqpConfig {
        unavailable_timeout: Duration::from_millis(300),
        ..config(format!("amqp://guest:guest@127.0.0.1:{port}/mig"))
    };
    let relay = AmqpRelay::connect(config.clone()).unwrap();
    let error = relay
        .publish(
            EXCHANGE_TO_AGENTS,
            "mig.agt.x",
            b"{}".to_vec(),
            PublishOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, mig_relay::RelayError::Unavailable(reason) if reason.contains("cannot connect")),
        "{error:?}"
    );
    let error = AmqpRelay::connect_and_wait(config, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("refused"), "{error}");
    relay.close().await;
}
