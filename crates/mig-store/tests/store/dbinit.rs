//! `mig-dbinit` creates the database, the schema and the four roles, idempotently.
use std::process::Command;

use mig_store::roles::{RoleNames, drop_roles};
use sqlx::Row;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_database_schema_and_roles_idempotently() {
    let name = format!(
        "migdbinit_{}_{}_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        std::process::id(),
        rand::random::<u32>()
    );
    let prefix = format!("t{:08x}_", rand::random::<u32>());
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    for _ in 0..2 {
        let output = Command::new(env!("CARGO_BIN_EXE_mig-dbinit"))
            .args([
                "-url", &url, "-create", "-prefix", &prefix, "-apipass", "s3cret",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!(
                "roles: {prefix}migadmin, {prefix}migapi, {prefix}migreadonly, {prefix}migscheduler"
            )),
            "{stdout}"
        );
    }
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let tables: Vec<String> =
        sqlx::query("SELECT tablename FROM pg_tables WHERE schemaname='public' ORDER BY tablename")
            .fetch_all(&admin)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    for table in [
        "actions",
        "agents",
        "agents_stats",
        "commands",
        "investigators",
        "signatures",
        "loaders",
        "manifests",
        "manifestsig",
    ] {
        assert!(
            tables.contains(&table.to_owned()),
            "{table} missing from {tables:?}"
        );
    }
    // The API role logs in with its password.
    let api = format!("postgres://{prefix}migapi:s3cret@127.0.0.1:5432/{name}");
    let api_pool = sqlx::PgPool::connect(&api).await;
    // Trust auth on loopback accepts any password; the login itself must work.
    assert!(api_pool.is_ok(), "{:?}", api_pool.err());
    api_pool.unwrap().close().await;
    admin.close().await;
    let server = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&server)
    .await
    .unwrap();
    // Roles are cluster-wide: remove ours once their database is gone.
    drop_roles(&server, &RoleNames::with_prefix(prefix.clone()).unwrap())
        .await
        .unwrap();
    let left = sqlx::query("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1")
        .bind(format!("{prefix}%"))
        .fetch_one(&server)
        .await
        .unwrap();
    assert_eq!(left.get::<i64, _>(0), 0);
}
