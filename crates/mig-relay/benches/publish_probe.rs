//! What RabbitMQ pays for when one message goes to each of many durable queues
//! (the scheduler's dispatch of one action to 10,000 agents), measured with
//! lapin directly, in a vhost of its own, so that each variable can be changed
//! alone: delivery mode, publisher confirms, message size, channels and
//! connections in parallel, fresh queues or queues that already held a message.
//!
//! ```text
//! cargo bench -p mig-relay --bench publish_probe -- [--queues N] [--size BYTES]
//!     [--transient] [--no-confirm] [--channels K] [--connections C] [--passes P]
//!     [--policy '<policy definition JSON>']   (set on the agent queues)
//! ```
//!
//! Every queue is declared durable and bound to the direct exchange `toagents`
//! as an agent does; each pass publishes one message (mandatory, `text/plain`)
//! to every queue and waits until the broker confirmed all of them (or, without
//! confirms, until the queues hold them all).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

struct Args {
    queues: usize,
    size: usize,
    transient: bool,
    confirm: bool,
    channels: usize,
    connections: usize,
    passes: usize,
    policy: Option<String>,
}

fn parse() -> Args {
    let mut args = Args {
        queues: 10_000,
        size: 1500,
        transient: false,
        confirm: true,
        channels: 1,
        connections: 1,
        passes: 2,
        policy: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut value = || words.next().expect("a value").parse::<usize>().expect("N");
        match word.as_str() {
            "--queues" => args.queues = value(),
            "--size" => args.size = value(),
            "--transient" => args.transient = true,
            "--no-confirm" => args.confirm = false,
            "--channels" => args.channels = value(),
            "--connections" => args.connections = value(),
            "--passes" => args.passes = value(),
            "--policy" => args.policy = Some(words.next().expect("a policy definition")),
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    args
}

fn queue(i: usize) -> String {
    format!("mig.agt.linux.probe{i:06}")
}

async fn publish_all(channels: &[Channel], args: &Args, body: &[u8]) {
    let properties = BasicProperties::default()
        .with_delivery_mode(if args.transient { 1 } else { 2 })
        .with_content_type("text/plain".into());
    let count = args.queues;
    futures_util::stream::iter(0..count)
        .map(|i| {
            let channel = &channels[i % channels.len()];
            let properties = properties.clone();
            async move {
                let name = queue(i);
                let confirm = channel
                    .basic_publish(
                        "toagents".into(),
                        name.as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            immediate: false,
                        },
                        body,
                        properties,
                    )
                    .await
                    .expect("publish");
                if args.confirm {
                    let confirmation = confirm.await.expect("confirmation");
                    assert!(confirmation.is_ack(), "nacked");
                }
            }
        })
        .buffer_unordered(4096)
        .collect::<Vec<()>>()
        .await;
}

async fn queued(channel: &Channel, count: usize) -> u64 {
    futures_util::stream::iter(0..count)
        .map(|i| async move {
            let state = channel
                .queue_declare(
                    queue(i).as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .expect("passive declare");
            u64::from(state.message_count())
        })
        .buffer_unordered(64)
        .fold(0, |sum, n| async move { sum + n })
        .await
}

fn main() {
    let args = parse();
    let vhost = mig_testkit::Vhost::create("wtbench_probe_");
    if let Some(definition) = &args.policy {
        mig_testkit::rabbitmqctl(&[
            "set_policy",
            "-p",
            &vhost.name,
            "--apply-to",
            "queues",
            "probe",
            "^mig\\.agt\\.",
            definition,
        ]);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut connections = Vec::new();
        for _ in 0..args.connections {
            connections.push(
                Connection::connect(&vhost.url(), ConnectionProperties::default())
                    .await
                    .expect("connect"),
            );
        }
        let admin = connections[0].create_channel().await.unwrap();
        admin
            .exchange_declare(
                "toagents".into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let started = Instant::now();
        for i in 0..args.queues {
            let name = queue(i);
            admin
                .queue_declare(
                    name.as_str().into(),
                    QueueDeclareOptions::durable(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
            admin
                .queue_bind(
                    name.as_str().into(),
                    "toagents".into(),
                    name.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
        }
        println!(
            "{} queues declared and bound in {:.2} s",
            args.queues,
            started.elapsed().as_secs_f64()
        );
        let mut channels = Vec::new();
        for k in 0..args.channels {
            let channel = connections[k % connections.len()]
                .create_channel()
                .await
                .unwrap();
            if args.confirm {
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await
                    .unwrap();
            }
            channels.push(channel);
        }
        let body = vec![b'x'; args.size];
        for pass in 1..=args.passes {
            let started = Instant::now();
            publish_all(&channels, &args, &body).await;
            let published = started.elapsed();
            let mut total = queued(&admin, args.queues).await;
            while total < (pass * args.queues) as u64 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                total = queued(&admin, args.queues).await;
            }
            println!(
                "pass {pass}: {} messages of {} bytes, {}, {}, {} channel(s) on {} connection(s): \
                 published{} in {:.2} s, in the queues after {:.2} s ({total} queued)",
                args.queues,
                args.size,
                if args.transient {
                    "transient"
                } else {
                    "persistent"
                },
                if args.confirm {
                    "confirms"
                } else {
                    "no confirms"
                },
                args.channels,
                args.connections,
                if args.confirm { " and confirmed" } else { "" },
                published.as_secs_f64(),
                started.elapsed().as_secs_f64(),
            );
        }
        for connection in connections {
            let _ = connection.close(200, "done".into()).await;
        }
    });
    drop(vhost);
}
