//! Scheduler scenarios against the machine's real PostgreSQL and RabbitMQ, each
//! test with its own database and vhost.
use crate::scenarios;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use mig_relay::{AmqpConfig, AmqpRelay};
use mig_store::PgStore;
use mig_testkit::{Vhost, with_database};

/// Runs a scenario on a fresh PostgreSQL database and RabbitMQ vhost.
async fn on_services<F, Fut>(scenario: F)
where
    F: FnOnce(Arc<PgStore>, AmqpRelay) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let vhost = Vhost::create("mig_sched_test_");
    let relay_url = vhost.url();
    with_database("migsched_", move |url| async move {
        let store = PgStore::connect(&url, 8).await.unwrap();
        store.migrate().await.unwrap();
        let store = Arc::new(store);
        let relay =
            AmqpRelay::connect_and_wait(AmqpConfig::new(&relay_url), Duration::from_secs(10))
                .await
                .unwrap();
        scenario(store.clone(), relay.clone()).await;
        mig_relay::Relay::close(&relay).await;
        store.pool().close().await;
    })
    .await;
    drop(vhost);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agents_answer() {
    on_services(scenarios::three_agents_answer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_agents_expire() {
    on_services(scenarios::silent_agents_expire).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_process_and_second_results_are_dropped() {
    on_services(scenarios::wrong_process_and_second_results_are_dropped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_and_unsafe_targets_are_invalid() {
    on_services(scenarios::unmatched_and_unsafe_targets_are_invalid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_dispatch_each_command_once() {
    on_services(scenarios::two_schedulers_dispatch_each_command_once).await;
}
