//! Scheduler scenarios on the embedded backends: SQLite and the in-process relay.
use crate::scenarios;

use std::sync::Arc;

use mig_relay::MemoryRelay;
use mig_store::SqliteStore;

async fn backends() -> (tempfile::TempDir, Arc<SqliteStore>, MemoryRelay) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("mig.db").to_str().unwrap())
        .await
        .unwrap();
    (dir, Arc::new(store), MemoryRelay::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agents_answer() {
    let (_dir, store, relay) = backends().await;
    scenarios::three_agents_answer(store, relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_agents_expire() {
    let (_dir, store, relay) = backends().await;
    scenarios::silent_agents_expire(store, relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_process_and_second_results_are_dropped() {
    let (_dir, store, relay) = backends().await;
    scenarios::wrong_process_and_second_results_are_dropped(store, relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_and_unsafe_targets_are_invalid() {
    let (_dir, store, relay) = backends().await;
    scenarios::unmatched_and_unsafe_targets_are_invalid(store, relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_dispatch_each_command_once() {
    let (_dir, store, relay) = backends().await;
    scenarios::two_schedulers_dispatch_each_command_once(store, relay).await;
}
