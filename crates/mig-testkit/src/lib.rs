//! Test support for mig-rs: the real services a test needs, made for that test
//! and removed after it.
//!
//! - [`TestDatabase`]: a PostgreSQL database of its own on 127.0.0.1:5432
//!   (trust auth, user `postgres`), dropped afterwards; databases of the same
//!   prefix left by a killed run more than an hour ago are dropped on the way.
//! - [`Vhost`]: a RabbitMQ vhost of its own on 127.0.0.1:5672 (guest/guest),
//!   deleted when dropped; vhosts of dead test processes are swept.
//!
//! Both fail loudly when the service is not running: a test that needs
//! PostgreSQL or RabbitMQ must not pass without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool, Row};

/// The administrative connection of the machine's PostgreSQL.
pub const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

async fn admin_pool() -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(POSTGRES_ADMIN_URL)
        .await
        .unwrap_or_else(|error| panic!("PostgreSQL is required for this test and is not reachable at {POSTGRES_ADMIN_URL}: {error}"))
}

/// A database of one test: `<prefix><unix time>_<pid>_<random>`.
pub struct TestDatabase {
    admin: PgPool,
    /// The database name.
    pub name: String,
}

impl TestDatabase {
    /// Creates a fresh, empty database (and drops this prefix's stale ones).
    pub async fn create(prefix: &str) -> Self {
        assert!(
            prefix.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "prefix must be lower-case letters and _"
        );
        let admin = admin_pool().await;
        drop_stale_databases(&admin, prefix).await;
        let name = format!(
            "{prefix}{}_{}_{}",
            unix_now(),
            std::process::id(),
            rand::random::<u32>()
        );
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&admin)
            .await
            .unwrap();
        Self { admin, name }
    }

    /// The URL to connect to it as `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    /// Drops the database (closing its remaining connections).
    pub async fn drop(self) {
        let _ = sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await;
        self.admin.close().await;
    }
}

async fn drop_stale_databases(admin: &PgPool, prefix: &str) {
    let Ok(rows) = sqlx::query("SELECT datname FROM pg_database")
        .fetch_all(admin)
        .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let parts: Vec<&str> = rest.split('_').collect();
        let well_formed = parts.len() == 3
            && parts
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        let created = parts
            .first()
            .and_then(|part| part.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if well_formed && created.saturating_add(3600) < unix_now() {
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(admin)
            .await;
        }
    }
}

/// Runs `body` with the URL of a fresh database, and drops the database even
/// when `body` panics (the panic is then resumed).
pub async fn with_database<F, Fut>(prefix: &str, body: F)
where
    F: FnOnce(String) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let database = TestDatabase::create(prefix).await;
    let outcome = tokio::spawn(body(database.url())).await;
    database.drop().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// Runs `rabbitmqctl`, panicking with its output when it fails.
pub fn rabbitmqctl(args: &[&str]) -> String {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run rabbitmqctl {args:?}: {error}; RabbitMQ is required")
        });
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?} failed (is RabbitMQ running on 127.0.0.1:5672?): {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A RabbitMQ vhost of one test: `<prefix><pid>_<random>`, deleted when dropped.
pub struct Vhost {
    /// The vhost name.
    pub name: String,
}

impl Vhost {
    /// Creates the vhost, grants `guest` everything on it, and sweeps this
    /// prefix's vhosts whose test process is gone.
    pub fn create(prefix: &str) -> Self {
        let reachable = std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], 5672)),
            Duration::from_secs(2),
        )
        .is_ok();
        assert!(
            reachable,
            "RabbitMQ is not listening on 127.0.0.1:5672: this test needs it"
        );
        sweep_stale_vhosts(prefix);
        let name = format!(
            "{prefix}{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        rabbitmqctl(&["add_vhost", &name]);
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
        Self { name }
    }

    /// The AMQP URL of the vhost as guest.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.name)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.name])
            .output();
    }
}

/// Deletes vhosts of `prefix` whose creating process no longer exists.
pub fn sweep_stale_vhosts(prefix: &str) {
    let Ok(output) = Command::new("rabbitmqctl")
        .args(["-q", "list_vhosts", "name"])
        .output()
    else {
        return;
    };
    for name in String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
    {
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let pid = rest.split('_').next().unwrap_or_default();
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = Command::new("rabbitmqctl")
                .args(["delete_vhost", name])
                .output();
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released for the caller).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|error| panic!("cannot bind 127.0.0.1:0: {error}"));
    listener
        .local_addr()
        .unwrap_or_else(|error| panic!("no local address: {error}"))
        .port()
}
