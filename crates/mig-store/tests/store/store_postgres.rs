//! The conformance suite on the machine's PostgreSQL, and PostgreSQL-only checks:
//! roles and grants, wake-ups across store handles, throughput.
//!
//! Every test creates its own database `migstore_<unix seconds>_<pid>_<random>`
//! and drops it at the end, even when the test fails; databases of this shape
//! older than an hour (left by a killed run) are dropped first. PostgreSQL must
//! be reachable at `postgres://postgres@127.0.0.1:5432/postgres` (trust auth):
//! the tests fail, they are not skipped, when it is not.

use crate::conformance;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mig_store::roles::{self, RoleNames, RolePasswords};
use mig_store::{PgConfig, PgStore, Store};
use mig_testkit::{POSTGRES_ADMIN_URL, TestDatabase, with_database};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

const DATABASE_PREFIX: &str = "migstore_";

fn database_url(name: &str, user: &str) -> String {
    format!("postgres://{user}@127.0.0.1:5432/{name}")
}

async fn run_postgres<F, Fut>(body: F)
where
    F: FnOnce(Arc<PgStore>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_database(DATABASE_PREFIX, |url| async move {
        let store = PgStore::connect(&url, 8).await.unwrap();
        store.migrate().await.unwrap();
        let store = Arc::new(store);
        body(store.clone()).await;
        store.pool().close().await;
    })
    .await;
}

conformance_suite!(run_postgres);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_match_the_original_columns() {
    with_database(DATABASE_PREFIX, |url| async move {
        let store = PgStore::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_name = 'actions' ORDER BY ordinal_position",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "name",
                "target",
                "description",
                "threat",
                "operations",
                "validfrom",
                "expireafter",
                "starttime",
                "finishtime",
                "lastupdatetime",
                "status",
                "syntaxversion",
                "pgpsignatures"
            ]
        );
        assert_eq!(columns[0].1, "numeric");
        assert_eq!(columns[3].1, "json");
        store.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_have_exactly_their_grants() {
    let database = TestDatabase::create(DATABASE_PREFIX).await;
    let names = RoleNames::with_prefix(format!("t{:08x}_", rand::random::<u32>())).unwrap();
    let outcome = tokio::spawn(create_roles_and_check_grants(
        database.name.clone(),
        names.clone(),
    ))
    .await;
    // The roles own the tables of this database: drop it before the roles.
    database.drop().await;
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect(POSTGRES_ADMIN_URL)
        .await
        .unwrap();
    roles::drop_roles(&admin, &names).await.unwrap();
    admin.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn create_roles_and_check_grants(name: String, names: RoleNames) {
    let owner = PgStore::connect(&database_url(&name, "postgres"), 2)
        .await
        .unwrap();
    owner.migrate().await.unwrap();
    roles::create_roles(owner.pool(), &names, &RolePasswords::default())
        .await
        .unwrap();
    // Idempotent.
    roles::create_roles(owner.pool(), &names, &RolePasswords::default())
        .await
        .unwrap();
    check_grants(name, names, owner.pool().clone()).await;
    owner.pool().close().await;
}

/// Empties every table, so that each conformance body starts from nothing.
async fn truncate(owner: &PgPool) {
    sqlx::raw_sql(
        "TRUNCATE actions, agents, agents_stats, commands, investigators, signatures, outbox, \
         action_claims CASCADE",
    )
    .execute(owner)
    .await
    .unwrap();
}

async fn check_grants(name: String, names: RoleNames, owner: PgPool) {
    let scheduler_config = PgConfig {
        role_prefix: names.prefix.clone(),
        ..PgConfig::new(database_url(&name, &names.scheduler()), 4)
    };
    let scheduler = PgStore::connect_with(scheduler_config).await.unwrap();
    assert!(scheduler.uses_readonly_role());
    let denied = sqlx::query("DELETE FROM actions")
        .execute(scheduler.pool())
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");

    let api_config = PgConfig {
        role_prefix: names.prefix.clone(),
        ..PgConfig::new(database_url(&name, &names.api()), 4)
    };
    let api = PgStore::connect_with(api_config).await.unwrap();
    assert!(api.uses_readonly_role());
    let denied = sqlx::query("SELECT privatekey FROM investigators")
        .execute(api.pool())
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");
    sqlx::query("SELECT id, name, publickey FROM investigators")
        .execute(api.pool())
        .await
        .unwrap();

    // The scheduler and the API do their work with their grants alone.
    conformance::dispatch_writes_commands_and_outbox(&scheduler).await;
    truncate(&owner).await;
    conformance::complete_actions_counts_and_completes(&scheduler).await;
    truncate(&owner).await;
    conformance::target_agents_binds_and_picks_one_per_queueloc(&scheduler).await;
    truncate(&owner).await;
    conformance::record_agents_stats_on_a_small_fleet(&scheduler).await;
    truncate(&owner).await;
    conformance::claims_are_exclusive_under_concurrency(&scheduler).await;
    truncate(&owner).await;
    conformance::outbox_take_lease_and_ack(&scheduler).await;
    truncate(&owner).await;
    conformance::action_round_trip(&api).await;
    truncate(&owner).await;
    conformance::heartbeats_insert_update_replace_revive(&api).await;
    api.active_investigators().await.unwrap();
    // Target queries run under SET LOCAL ROLE migreadonly, the `found` form included.
    let now = conformance::now();
    api.target_agents("status='online'", now).await.unwrap();
    api.target_agents(
        "id IN (SELECT agentid FROM commands, json_array_elements(commands.results) AS r \
         WHERE commands.actionid = 1 AND r#>>'{foundanything}' = 'true')",
        now,
    )
    .await
    .unwrap();
    scheduler.pool().close().await;
    api.pool().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_new_action_wakes_another_handle() {
    with_database(DATABASE_PREFIX, |url| async move {
        let writer = PgStore::connect(&url, 2).await.unwrap();
        writer.migrate().await.unwrap();
        let waiter = Arc::new(PgStore::connect(&url, 2).await.unwrap());

        // Nothing inserted: the wait lasts its timeout.
        let started = Instant::now();
        waiter.wait_for_new_action(Duration::from_millis(300)).await;
        assert!(started.elapsed() >= Duration::from_millis(290));

        let waiting = {
            let waiter = waiter.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                waiter.wait_for_new_action(Duration::from_secs(20)).await;
                started.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let inserted = Instant::now();
        writer
            .insert_action(&conformance::new_action(conformance::now()), &[])
            .await
            .unwrap();
        let waited = waiting.await.unwrap();
        assert!(waited < Duration::from_secs(5), "woke after {waited:?}");
        println!("wake-up {:?} after the insert", inserted.elapsed());

        // An insert by another program (the original Go API) wakes it too: the trigger.
        let waiting = {
            let waiter = waiter.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                waiter.wait_for_new_action(Duration::from_secs(20)).await;
                started.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        sqlx::query(
            "INSERT INTO actions (id, name, target, validfrom, expireafter, status, pgpsignatures) \
             VALUES (7, 'raw', 'true', now(), now() + interval '1 hour', 'pending', '[]')",
        )
        .execute(writer.pool())
        .await
        .unwrap();
        let waited = waiting.await.unwrap();
        assert!(waited < Duration::from_secs(5), "woke after {waited:?}");
        writer.pool().close().await;
        waiter.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_of_ten_thousand_commands_and_heartbeat_throughput() {
    with_database(DATABASE_PREFIX, |url| async move {
        let store = PgStore::connect(&url, 4)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let now = conformance::now();
        let count = 20_000;
        let heartbeats: Vec<_> = (0..count)
            .map(|i| conformance::heartbeat(&format!("linux.bench{i:06}"), 1000))
            .collect();
        let started = Instant::now();
        store.upsert_heartbeats(&heartbeats, now).await.unwrap();
        let insert = started.elapsed();
        let started = Instant::now();
        store.upsert_heartbeats(&heartbeats, now).await.unwrap();
        let update = started.elapsed();
        println!(
            "postgres heartbeats: {count} inserts in {insert:?} ({:.0}/s), {count} updates in {update:?} ({:.0}/s)",
            count as f64 / insert.as_secs_f64(),
            count as f64 / update.as_secs_f64()
        );

        let agents = store.target_agents("status='online'", now).await.unwrap();
        let agents = &agents[..10_000];
        let mut action = conformance::new_action(now);
        store.insert_action(&action, &[]).await.unwrap();
        store
            .claim_runnable_actions(now, Duration::from_secs(60), 10)
            .await
            .unwrap();
        action.counters.sent = agents.len() as i64;
        let commands: Vec<_> = agents
            .iter()
            .map(|agent| conformance::command_for(&action, agent, now))
            .collect();
        // What dispatch spends encoding the bodies (Go JSON of each command).
        let started = Instant::now();
        let encoded: usize = commands.iter().map(|command| command.to_json().len()).sum();
        println!(
            "encoding 10000 command bodies ({encoded} bytes): {:?}",
            started.elapsed()
        );
        let started = Instant::now();
        store
            .dispatch_action(&action, &commands, &[], now)
            .await
            .unwrap();
        let dispatch = started.elapsed();
        println!("postgres dispatch of 10000 commands: {dispatch:?}");
        assert_eq!(
            store.get_action(action.id).await.unwrap().unwrap().counters.sent,
            10_000
        );
        // Generous bound for a debug build on a shared machine.
        assert!(dispatch < Duration::from_secs(10), "dispatch took {dispatch:?}");
        store.pool().close().await;
    })
    .await;
}
