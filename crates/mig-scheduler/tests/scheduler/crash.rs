//! `kill -9` of the scheduler process in the middle of an action, then a
//! restart: the action completes, and no command or result is lost or
//! counted twice. Real processes, real PostgreSQL and RabbitMQ.
use crate::support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use mig_protocol::status::{ActionStatus, CommandStatus};
use mig_relay::{AmqpConfig, AmqpRelay, Relay};
use mig_store::{PgStore, Store};
use mig_testkit::{TestDatabase, Vhost};

use support::{Behaviour, FakeAgent, new_action, wait_finished};

fn config_text(database: &TestDatabase, vhost: &Vhost) -> String {
    format!(
        r#"
[agent]
    timeout = "20m"
    heartbeatfreq = "5m"
[collector]
    freq = "200ms"
    lease = "2s"
[periodic]
    freq = "1h"
    queuescleanupfreq = "24h"
[postgres]
    host = "127.0.0.1"
    port = 5432
    dbname = "{}"
    user = "postgres"
    sslmode = "disable"
    maxconn = 8
[mq]
    host = "127.0.0.1"
    port = 5672
    user = "guest"
    pass = "guest"
    vhost = "{}"
    timeout = "10s"
[logging]
    mode = "stdout"
    level = "info"
"#,
        database.name, vhost.name
    )
}

fn spawn_scheduler(config: &std::path::Path, log: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_mig-scheduler"))
        .arg("-c")
        .arg(config)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

async fn successes<S: Store>(store: &S, action: mig_protocol::Id) -> usize {
    store
        .commands_of_action(action)
        .await
        .unwrap()
        .iter()
        .filter(|c| c.status == CommandStatus::Success)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_action_then_restart_loses_nothing() {
    let vhost = Vhost::create("mig_sched_crash_");
    let database = TestDatabase::create("migschedcrash_").await;
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("scheduler.cfg");
    std::fs::write(&config, config_text(&database, &vhost)).unwrap();
    let log = work.path().join("scheduler.log");

    // The first scheduler creates the schema and the topology.
    let mut scheduler = spawn_scheduler(&config, &log);
    let store = Arc::new(PgStore::connect(&database.url(), 4).await.unwrap());
    let relay = AmqpRelay::connect_and_wait(AmqpConfig::new(vhost.url()), Duration::from_secs(10))
        .await
        .unwrap();
    // Wait for the schema (the scheduler migrates it at start).
    for _ in 0..100 {
        if store.migrate().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    const AGENTS: usize = 20;
    let mut agents = Vec::new();
    for index in 0..AGENTS {
        // Agents answer slowly, so the action is still running when the scheduler dies.
        agents.push(
            FakeAgent::start(
                store.as_ref(),
                &relay,
                &format!("agent{index:02}"),
                Behaviour::Delayed(300 + 50 * index as u64),
            )
            .await,
        );
    }
    let action = new_action("status='online'", Duration::from_secs(120));
    store.insert_action(&action, &[]).await.unwrap();

    // Kill -9 once some results are stored, but not all.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while successes(store.as_ref(), action.id).await < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no result stored: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    scheduler.kill().unwrap();
    scheduler.wait().unwrap();
    let at_kill = successes(store.as_ref(), action.id).await;
    assert!(
        at_kill < AGENTS,
        "the action finished before the kill; slow the agents down"
    );
    // Results keep arriving in the durable results queue while no scheduler runs.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut restarted = spawn_scheduler(&config, &log);
    let done = wait_finished(store.as_ref(), action.id, Duration::from_secs(60)).await;
    assert_eq!(
        done.status,
        ActionStatus::Completed,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(
        (
            done.counters.sent,
            done.counters.success,
            done.counters.done
        ),
        (AGENTS as i64, AGENTS as i64, AGENTS as i64),
        "{:?}",
        done.counters
    );
    // Every agent ran the command once: no command was lost, none duplicated.
    let commands = store.commands_of_action(action.id).await.unwrap();
    assert_eq!(commands.len(), AGENTS);
    let mut names: Vec<_> = commands.iter().map(|c| c.agent.name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), AGENTS);
    for agent in &agents {
        assert_eq!(
            agent.answered.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "{} answered more than once",
            agent.agent.name
        );
    }

    restarted.kill().unwrap();
    restarted.wait().unwrap();
    relay.close().await;
    store.pool().close().await;
    database.drop().await;
    drop(vhost);
}
