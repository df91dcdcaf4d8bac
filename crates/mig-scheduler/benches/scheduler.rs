//! Scheduler benchmarks against the machine's PostgreSQL and RabbitMQ (each
//! measurement in a database and a vhost of its own, dropped afterwards), or
//! with `--embedded` against SQLite and the in-process relay. The scheduler
//! runs in this process; the load generator has a relay connection of its own.
//!
//! ```text
//! cargo bench -p mig-scheduler --bench scheduler                 # PostgreSQL + RabbitMQ
//! cargo bench -p mig-scheduler --bench scheduler -- --embedded   # SQLite + memory relay
//! options: --heartbeats N (100000)  --rate N (20000, the paced run)
//!          --agents N (10000)  --runs N (50)
//!          --only heartbeats|backlog|dispatch|latency
//!          --publish-concurrency N (the scheduler's `Tuning` default)
//!          --generators N (4: the heartbeat generator's relay connections)
//! ```
//!
//! 1. Legacy heartbeats published on `toschedulers`/`mig.agt.heartbeats`, each
//!    from a new agent: first as fast as the generator can (capacity), then
//!    paced at `--rate` (is the lag below 1 s at that rate?). The `agents`
//!    table is counted every 20 ms; a heartbeat's lag is bounded above by the
//!    first count that includes it minus its publish time (rows are taken in
//!    publish order). Then a backlog of as many heartbeats published while
//!    the scheduler is stopped, and the rate at which it writes them once
//!    restarted (its capacity, whatever the generator's speed).
//! 2. An action targeting `--agents` registered agents whose queues exist:
//!    from `insert_action` to every command created and confirmed by the relay
//!    (outbox empty), then the messages in the agents' queues are counted.
//! 3. One agent consuming its queue: `insert_action` (by another store handle,
//!    as the API would) → command received, `--runs` times.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/scheduler/support/mod.rs"]
mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::{FutureExt, StreamExt};
use mig_protocol::relay::{EXCHANGE_TO_SCHEDULERS, QUEUE_HEARTBEATS, agent_queue};
use mig_protocol::{Agent, Id, gojson};
use mig_relay::{AmqpConfig, AmqpRelay, MemoryRelay, PublishOptions, Relay};
use mig_scheduler::{SchedulerConfig, Tuning};
use mig_store::{PgStore, SqliteStore, Store};
use tokio_util::sync::CancellationToken;

/// How often the `agents` table is counted during the heartbeat runs.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// Heartbeat publishes in flight at once on each generator connection.
const GENERATOR_WINDOW: usize = 256;

#[derive(Debug, Clone)]
struct Args {
    embedded: bool,
    heartbeats: usize,
    rate: f64,
    agents: usize,
    runs: usize,
    only: Option<String>,
    publish_concurrency: Option<usize>,
    generators: usize,
}

impl Args {
    fn parse() -> Self {
        let mut args = Args {
            embedded: false,
            heartbeats: 100_000,
            rate: 20_000.0,
            agents: 10_000,
            runs: 50,
            only: None,
            publish_concurrency: None,
            generators: 4,
        };
        let mut words = std::env::args().skip(1);
        while let Some(word) = words.next() {
            let mut value = || words.next().expect("a value after the option");
            match word.as_str() {
                "--embedded" => args.embedded = true,
                "--heartbeats" => args.heartbeats = value().parse().expect("--heartbeats N"),
                "--rate" => args.rate = value().parse().expect("--rate N"),
                "--agents" => args.agents = value().parse().expect("--agents N"),
                "--runs" => args.runs = value().parse().expect("--runs N"),
                "--only" => args.only = Some(value()),
                "--generators" => args.generators = value().parse().expect("--generators N"),
                "--publish-concurrency" => {
                    args.publish_concurrency =
                        Some(value().parse().expect("--publish-concurrency N"));
                }
                // What cargo bench passes to every bench binary.
                "--bench" => {}
                other => panic!("unknown option {other}; see the header of benches/scheduler.rs"),
            }
        }
        args
    }

    fn wants(&self, measurement: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == measurement)
    }
}

/// What the benchmark reads besides the `Store` trait.
trait BenchStore: Store {
    fn count(&self, table: &'static str) -> impl Future<Output = i64> + Send;
}

macro_rules! bench_store {
    ($store:ty) => {
        impl BenchStore for $store {
            async fn count(&self, table: &'static str) -> i64 {
                let sql = format!("SELECT COUNT(*) FROM {table}");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(self.pool())
                    .await
                    .expect("count rows")
            }
        }
    };
}

bench_store!(PgStore);
bench_store!(SqliteStore);

/// A scheduler running in this process, and the handles of the load generator.
struct Bench<S, R> {
    /// The generator's (the API's) store handle.
    api: Arc<S>,
    /// The generator's (the agents') relay connection.
    agents: R,
    /// The heartbeat generator's connections (the fleet has thousands); the
    /// first is `agents`.
    generators: Vec<R>,
    shutdown: CancellationToken,
    scheduler: tokio::task::JoinHandle<Result<(), mig_scheduler::SchedulerError>>,
    /// What the scheduler is started with again after `stop_scheduler`.
    restart: (Arc<S>, R, SchedulerConfig, Tuning),
}

impl<S: BenchStore, R: Relay> Bench<S, R> {
    fn start(
        store: Arc<S>,
        api: Arc<S>,
        scheduler_relay: R,
        generators: Vec<R>,
        args: &Args,
    ) -> Self {
        let agents = generators[0].clone();
        let mut config = SchedulerConfig::parse("bench.cfg", "").expect("default configuration");
        // The periodic jobs (idle/offline marking, statistics, queue cleanup)
        // are not measured here.
        config.periodic.freq = Duration::from_secs(3600);
        config.periodic.queues_cleanup_freq = Duration::from_secs(3600);
        let mut tuning = Tuning::default();
        if let Some(concurrency) = args.publish_concurrency {
            tuning.publish_concurrency = concurrency;
        }
        let shutdown = CancellationToken::new();
        let scheduler = tokio::spawn(mig_scheduler::run(
            config.clone(),
            tuning.clone(),
            store.clone(),
            scheduler_relay.clone(),
            shutdown.clone(),
        ));
        Self {
            api,
            agents,
            generators,
            shutdown,
            scheduler,
            restart: (store, scheduler_relay, config, tuning),
        }
    }

    /// Stops the scheduler (its relay connection stays open).
    async fn stop_scheduler(&mut self) {
        self.shutdown.cancel();
        (&mut self.scheduler)
            .await
            .expect("the scheduler task")
            .expect("the scheduler");
    }

    /// Starts the scheduler again, on the same store and relay connection.
    fn start_scheduler(&mut self) {
        let (store, relay, config, tuning) = self.restart.clone();
        self.shutdown = CancellationToken::new();
        self.scheduler = tokio::spawn(mig_scheduler::run(
            config,
            tuning,
            store,
            relay,
            self.shutdown.clone(),
        ));
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.scheduler)
            .await
            .expect("the scheduler stops")
            .expect("the scheduler task")
            .expect("the scheduler");
        for generator in &self.generators {
            generator.close().await;
        }
    }

    /// Waits until the scheduler consumes its queues. The topology is declared
    /// here too (idempotent), so that the passive declares of the wait do not
    /// fail (and close channels) before the scheduler got to it.
    async fn wait_ready(&self) {
        self.agents
            .declare_scheduler_topology()
            .await
            .expect("declare the topology");
        let deadline = Instant::now() + Duration::from_secs(60);
        while self
            .agents
            .queue_state(QUEUE_HEARTBEATS)
            .await
            .ok()
            .flatten()
            .is_none_or(|state| state.consumers == 0)
        {
            assert!(Instant::now() < deadline, "the scheduler never started");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A heartbeat of `queueloc` (the test agents' row with another queueloc).
fn agent(queueloc: String, pid: i64) -> Agent {
    Agent {
        queueloc,
        ..support::agent_row("bench", pid)
    }
}

/// Stores a pending action on every online agent, valid for an hour; returns
/// its id and when the insert started.
async fn insert_action<S: BenchStore, R: Relay>(bench: &Bench<S, R>) -> (Id, Instant) {
    let action = support::new_action("status='online'", Duration::from_secs(3600));
    let started = Instant::now();
    bench
        .api
        .insert_action(&action, &[])
        .await
        .expect("insert the action");
    (action.id, started)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

// ---- 1. heartbeats -------------------------------------------------------------

struct HeartbeatRun {
    published_in: Duration,
    /// First publish to the last row visible.
    total: Duration,
    /// Last publish to the last row visible.
    drain: Duration,
    /// Highest rows/s over a one-second window.
    best_second: f64,
    lag_p50: Duration,
    lag_p99: Duration,
    lag_max: Duration,
    missing: usize,
}

/// Legacy heartbeats of `count` new agents (queuelocs tagged with `tag`).
fn heartbeat_bodies(tag: &str, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let pid = 1000 + i64::try_from(i % 50_000).unwrap();
            gojson::to_vec(&agent(format!("linux.bench{tag}{i:07}"), pid))
        })
        .collect()
}

/// Publishes `bodies` on the generator connections (each confirmed), at
/// `rate` per second from `started` or as fast as possible; returns when each
/// was published.
async fn publish_heartbeats<S: BenchStore, R: Relay>(
    bench: &Bench<S, R>,
    bodies: Vec<Vec<u8>>,
    started: Instant,
    rate: Option<f64>,
) -> Vec<Instant> {
    let generators = &bench.generators;
    futures_util::stream::iter(bodies.into_iter().enumerate())
        .map(|(i, body)| {
            let relay = generators[i % generators.len()].clone();
            async move {
                if let Some(rate) = rate {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let at = Instant::now();
                relay
                    .publish(
                        EXCHANGE_TO_SCHEDULERS,
                        QUEUE_HEARTBEATS,
                        body,
                        PublishOptions::default(),
                    )
                    .await
                    .expect("publish a heartbeat");
                at
            }
        })
        .buffered(GENERATOR_WINDOW * generators.len())
        .collect()
        .await
}

/// Publishes `count` heartbeats of new agents (at `rate` per second, or as fast
/// as possible) and follows the `agents` table until they are all there.
async fn heartbeat_run<S: BenchStore, R: Relay>(
    bench: &Bench<S, R>,
    tag: &str,
    count: usize,
    rate: Option<f64>,
) -> HeartbeatRun {
    let bodies = heartbeat_bodies(tag, count);
    let baseline = bench.api.count("agents").await;
    let done = CancellationToken::new();
    let sampler = {
        let api = bench.api.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = done.cancelled() => break,
                }
                let rows = usize::try_from(api.count("agents").await - baseline).unwrap_or(0);
                samples.push((Instant::now(), rows));
                if rows >= count {
                    break;
                }
            }
            samples
        })
    };
    let started = Instant::now();
    let published = publish_heartbeats(bench, bodies, started, rate).await;
    let published_in = started.elapsed();
    let last_publish = published.iter().max().copied().unwrap_or(started);
    let samples = tokio::select! {
        samples = sampler => samples.expect("sampler"),
        () = tokio::time::sleep(published_in + Duration::from_secs(120)) => {
            done.cancel();
            Vec::new()
        }
    };
    // Lag of heartbeat i: the first sample counting more than i rows, minus its publish.
    let mut lags = Vec::with_capacity(count);
    let mut sample = samples.iter().peekable();
    for (i, at) in published.iter().enumerate() {
        while sample.peek().is_some_and(|(_, rows)| *rows <= i) {
            sample.next();
        }
        match sample.peek() {
            Some((seen, _)) => lags.push(seen.saturating_duration_since(*at)),
            None => break,
        }
    }
    let missing = count - lags.len();
    lags.sort();
    let (last_seen, _) = samples.last().copied().unwrap_or((started, 0));
    let mut best_second = 0.0f64;
    for (i, (at, rows)) in samples.iter().enumerate() {
        if let Some((later, later_rows)) = samples[i..]
            .iter()
            .find(|(later, _)| later.duration_since(*at) >= Duration::from_secs(1))
        {
            let per_second = (later_rows - rows) as f64 / later.duration_since(*at).as_secs_f64();
            best_second = best_second.max(per_second);
        }
    }
    HeartbeatRun {
        published_in,
        total: last_seen.saturating_duration_since(started),
        drain: last_seen.saturating_duration_since(last_publish),
        best_second,
        lag_p50: percentile(&lags, 0.5),
        lag_p99: percentile(&lags, 0.99),
        lag_max: lags.last().copied().unwrap_or_default(),
        missing,
    }
}

async fn heartbeats<S: BenchStore, R: Relay>(bench: &Bench<S, R>, args: &Args, label: &str) {
    let count = args.heartbeats;
    let flat = heartbeat_run(bench, "a", count, None).await;
    let sustained = count as f64 / flat.total.as_secs_f64();
    println!(
        "[{label}] heartbeats, flat out ({} generator connection(s), {GENERATOR_WINDOW} publishes in flight on each): {count} published in {:.2} s ({:.0}/s); all {} rows in {:.2} s \
         => {sustained:.0} heartbeats/s sustained (best 1 s window {:.0}/s); drain after the last publish {}; \
         lag p50 {} p99 {} max {}{}",
        bench.generators.len(),
        flat.published_in.as_secs_f64(),
        count as f64 / flat.published_in.as_secs_f64(),
        count - flat.missing,
        flat.total.as_secs_f64(),
        flat.best_second,
        ms(flat.drain),
        ms(flat.lag_p50),
        ms(flat.lag_p99),
        ms(flat.lag_max),
        if flat.missing > 0 {
            format!("; {} ROWS NEVER APPEARED", flat.missing)
        } else {
            String::new()
        }
    );
    let paced = heartbeat_run(bench, "b", count, Some(args.rate)).await;
    let achieved = count as f64 / paced.published_in.as_secs_f64();
    let met = args.rate >= 20_000.0
        && achieved >= 0.99 * args.rate
        && paced.lag_max < Duration::from_secs(1)
        && paced.missing == 0;
    println!(
        "[{label}] heartbeats, paced at {:.0}/s: published at {achieved:.0}/s, lag p50 {} p99 {} max {} \
         (drain {}) — goal >= 20000 heartbeats/s with lag < 1 s: {}",
        args.rate,
        ms(paced.lag_p50),
        ms(paced.lag_p99),
        ms(paced.lag_max),
        ms(paced.drain),
        if met { "MET" } else { "NOT MET" }
    );
}

/// A backlog: `--heartbeats` heartbeats published while the scheduler is
/// stopped (as after a scheduler restart in a large fleet), then the rate at
/// which the restarted scheduler writes them, from its first row to its last:
/// its own capacity, which the live runs cannot show when the generator is
/// slower than the scheduler.
async fn backlog<S: BenchStore, R: Relay>(bench: &mut Bench<S, R>, args: &Args, label: &str) {
    let count = args.heartbeats;
    bench.stop_scheduler().await;
    let baseline = usize::try_from(bench.api.count("agents").await).unwrap();
    let started = Instant::now();
    publish_heartbeats(bench, heartbeat_bodies("c", count), started, None).await;
    let published_in = started.elapsed();
    bench.start_scheduler();
    let restarted = Instant::now();
    let mut first = None;
    let finished = loop {
        let rows = usize::try_from(bench.api.count("agents").await).unwrap() - baseline;
        let now = Instant::now();
        if rows > 0 && first.is_none() {
            first = Some((now, rows));
        }
        if rows >= count {
            break now;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(300),
            "only {rows} of {count} rows after 300 s"
        );
        tokio::time::sleep(SAMPLE_EVERY).await;
    };
    let (first_at, first_rows) = first.unwrap();
    let writing = finished.duration_since(first_at);
    let rate = (count - first_rows) as f64 / writing.as_secs_f64().max(1e-3);
    println!(
        "[{label}] heartbeats, backlog: {count} published while the scheduler was stopped ({:.2} s); \
         restarted, first row after {}, all rows after {:.2} s; first row to last {:.2} s \
         => {rate:.0} heartbeats/s written — scheduler capacity >= 20000/s: {}",
        published_in.as_secs_f64(),
        ms(first_at.duration_since(restarted)),
        finished.duration_since(restarted).as_secs_f64(),
        writing.as_secs_f64(),
        if rate >= 20_000.0 { "MET" } else { "NOT MET" }
    );
}

// ---- 2. dispatch to many agents ------------------------------------------------

async fn dispatch<S: BenchStore, R: Relay>(bench: &Bench<S, R>, args: &Args, label: &str) {
    let count = args.agents;
    let agents: Vec<Agent> = (0..count)
        .map(|i| agent(format!("linux.fleet{i:06}"), 4242))
        .collect();
    let started = Instant::now();
    for chunk in agents.chunks(2000) {
        bench
            .api
            .upsert_heartbeats(chunk, Utc::now())
            .await
            .expect("register agents");
    }
    let registered = started.elapsed();
    let started = Instant::now();
    let outcomes: Vec<_> = futures_util::stream::iter(&agents)
        .map(|agent| bench.agents.declare_agent_queue(&agent.queueloc))
        .buffer_unordered(16)
        .collect()
        .await;
    if let Some(Err(err)) = outcomes.iter().find(|outcome| outcome.is_err()) {
        panic!("declare agent queues: {err}");
    }
    println!(
        "[{label}] dispatch setup: {count} agents registered in {}, their queues declared and bound in {}",
        ms(registered),
        ms(started.elapsed())
    );
    let (_, started) = insert_action(bench).await;
    let inserted = started.elapsed();
    let mut dispatched = None;
    let deadline = started + Duration::from_secs(120);
    let published = loop {
        let commands = bench.api.count("commands").await;
        let outbox = bench.api.count("outbox").await;
        let now = Instant::now();
        if commands >= i64::try_from(count).unwrap() {
            dispatched.get_or_insert(now);
            if outbox == 0 {
                break now;
            }
        }
        assert!(
            now < deadline,
            "{commands} commands, {outbox} still in the outbox"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let total = published.duration_since(started);
    let dispatched = dispatched.unwrap_or(published).duration_since(started);
    let queued: u64 = futures_util::stream::iter(&agents)
        .map(|agent| async move {
            bench
                .agents
                .queue_state(&agent_queue(&agent.queueloc))
                .await
                .expect("queue state")
                .map_or(0, |state| state.messages)
        })
        .buffer_unordered(64)
        .fold(0, |sum, messages| async move { sum + messages })
        .await;
    // The size of one command as published (RabbitMQ keeps messages under
    // 4,096 bytes in each queue's own index, bigger ones in the shared store).
    let bytes = match bench
        .agents
        .consume(&agent_queue(&agents[0].queueloc), 1)
        .await
    {
        Ok(mut subscription) => tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .ok()
            .flatten()
            .map_or(0, |delivery| delivery.body.len()),
        Err(_) => 0,
    };
    println!(
        "[{label}] dispatch: action targeting {count} agents: insert {}, commands created (dispatch committed) \
         after {}, all {count} published and confirmed after {} ({queued} messages in the agents' queues, \
         {bytes} bytes each) — goal < 1 s: {}",
        ms(inserted),
        ms(dispatched),
        ms(total),
        if total < Duration::from_secs(1) && queued == count as u64 {
            "MET"
        } else {
            "NOT MET"
        }
    );
}

// ---- 3. latency ----------------------------------------------------------------

async fn latency<S: BenchStore, R: Relay>(bench: &Bench<S, R>, args: &Args, label: &str) {
    let me = agent("linux.latency".into(), 4243);
    bench
        .api
        .upsert_heartbeats(std::slice::from_ref(&me), Utc::now())
        .await
        .expect("register the agent");
    bench
        .agents
        .declare_agent_queue(&me.queueloc)
        .await
        .expect("declare the agent queue");
    let mut subscription = bench
        .agents
        .consume(&agent_queue(&me.queueloc), 16)
        .await
        .expect("consume");
    let (received, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let consumer = tokio::spawn(async move {
        while let Some(delivery) = subscription.next().await {
            let at = Instant::now();
            let command = mig_protocol::Command::from_json(&delivery.body).expect("a command");
            let _ = delivery.ack().await;
            if received.send((command.action.id, at)).is_err() {
                break;
            }
        }
    });
    let mut latencies = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let (action_id, started) = insert_action(bench).await;
        let (id, at) = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
            .await
            .expect("the command arrives within 30 s")
            .expect("the consumer runs");
        assert_eq!(id, action_id);
        latencies.push(at.duration_since(started));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    consumer.abort();
    latencies.sort();
    let p50 = percentile(&latencies, 0.5);
    println!(
        "[{label}] latency, action stored -> command received by the agent ({} runs): p50 {} p95 {} min {} max {} \
         — goal p50 < 20 ms: {}",
        args.runs,
        ms(p50),
        ms(percentile(&latencies, 0.95)),
        ms(latencies.first().copied().unwrap_or_default()),
        ms(latencies.last().copied().unwrap_or_default()),
        if p50 < Duration::from_millis(20) {
            "MET"
        } else {
            "NOT MET"
        }
    );
}

// ---- backends ------------------------------------------------------------------

/// Runs one measurement on a fresh database and vhost.
async fn on_services<F>(args: &Args, measurement: F)
where
    F: AsyncFnOnce(&mut Bench<PgStore, AmqpRelay>),
{
    let database = mig_testkit::TestDatabase::create("wtbench_sched_").await;
    let vhost = tokio::task::spawn_blocking(|| mig_testkit::Vhost::create("wtbench_sched_"))
        .await
        .expect("vhost");
    let store = PgStore::connect(&database.url(), 10)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let api = PgStore::connect(&database.url(), 4).await.expect("connect");
    let connect = || async {
        AmqpRelay::connect_and_wait(AmqpConfig::new(vhost.url()), Duration::from_secs(10))
            .await
            .expect("RabbitMQ")
    };
    let scheduler_relay = connect().await;
    let mut generators = Vec::new();
    for _ in 0..args.generators.max(1) {
        generators.push(connect().await);
    }
    let mut bench = Bench::start(
        Arc::new(store),
        Arc::new(api),
        scheduler_relay.clone(),
        generators,
        args,
    );
    // A failed measurement still drops its database and vhost.
    let outcome = std::panic::AssertUnwindSafe(async {
        bench.wait_ready().await;
        measurement(&mut bench).await;
    })
    .catch_unwind()
    .await;
    if outcome.is_ok() {
        bench.stop().await;
    } else {
        bench.shutdown.cancel();
    }
    scheduler_relay.close().await;
    database.drop().await;
    tokio::task::spawn_blocking(move || drop(vhost))
        .await
        .expect("delete the vhost");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs one measurement on a fresh SQLite file and in-process relay.
async fn embedded<F>(args: &Args, measurement: F)
where
    F: AsyncFnOnce(&mut Bench<SqliteStore, MemoryRelay>),
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("mig.db");
    let store = Arc::new(
        SqliteStore::open(path.to_str().expect("a UTF-8 path"))
            .await
            .expect("open SQLite"),
    );
    let relay = MemoryRelay::new();
    let mut bench = Bench::start(store.clone(), store, relay.clone(), vec![relay], args);
    bench.wait_ready().await;
    measurement(&mut bench).await;
    bench.stop().await;
}

fn main() {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,lapin=off")),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // Each measurement on a fresh environment of the chosen backend.
    macro_rules! measure {
        ($environment:ident, $label:expr) => {
            if args.wants("heartbeats") {
                $environment(&args, async |bench| heartbeats(bench, &args, $label).await).await;
            }
            if args.wants("backlog") {
                $environment(&args, async |bench| backlog(bench, &args, $label).await).await;
            }
            if args.wants("dispatch") {
                $environment(&args, async |bench| dispatch(bench, &args, $label).await).await;
            }
            if args.wants("latency") {
                $environment(&args, async |bench| latency(bench, &args, $label).await).await;
            }
        };
    }
    runtime.block_on(async {
        if args.embedded {
            measure!(embedded, "SQLite + memory relay");
        } else {
            measure!(on_services, "PostgreSQL + RabbitMQ");
        }
    });
}
