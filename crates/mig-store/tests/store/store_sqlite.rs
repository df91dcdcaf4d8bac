//! The conformance suite on SQLite (a temporary file per test), and SQLite-only checks.

use crate::conformance;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use mig_store::{SqliteStore, Store};

async fn run_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Arc<SqliteStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mig.sqlite");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    body(Arc::new(store)).await;
}

conformance_suite!(run_sqlite);

#[tokio::test]
async fn in_memory_database_opens_and_migrates() {
    let store = SqliteStore::open(":memory:").await.unwrap();
    assert!(store.inflight_actions().await.unwrap().is_empty());
}

/// Measures dispatch of 10,000 commands and heartbeat upserts; run with
/// `cargo test -p mig-store --release -- --ignored --nocapture sqlite_bench`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn sqlite_bench() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sqlite");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let now = conformance::now();
    let heartbeats: Vec<_> = (0..20_000)
        .map(|i| conformance::heartbeat(&format!("linux.bench{i:06}"), 1000))
        .collect();
    let started = Instant::now();
    store.upsert_heartbeats(&heartbeats, now).await.unwrap();
    let insert = started.elapsed();
    let started = Instant::now();
    store.upsert_heartbeats(&heartbeats, now).await.unwrap();
    let update = started.elapsed();
    println!(
        "sqlite heartbeats: 20000 inserts in {insert:?} ({:.0}/s), 20000 updates in {update:?} ({:.0}/s)",
        20_000.0 / insert.as_secs_f64(),
        20_000.0 / update.as_secs_f64()
    );
    let agents = store.target_agents("status='online'", now).await.unwrap();
    let agents = &agents[..10_000];
    let mut action = conformance::new_action(now);
    store.insert_action(&action, &[]).await.unwrap();
    store
        .claim_runnable_actions(now, std::time::Duration::from_secs(60), 10)
        .await
        .unwrap();
    action.counters.sent = agents.len() as i64;
    let commands: Vec<_> = agents
        .iter()
        .map(|agent| conformance::command_for(&action, agent, now))
        .collect();
    let started = Instant::now();
    store
        .dispatch_action(&action, &commands, &[], now)
        .await
        .unwrap();
    println!("sqlite dispatch of 10000 commands: {:?}", started.elapsed());
}
