//! `scripts/schemathesis` (schemathesis from PyPI, fuzzing the API from its own
//! OpenAPI document) against a server with authentication off on a fresh
//! PostgreSQL database seeded with a few rows: any server error (5xx) fails.
//!
//! schemathesis must be on PATH (`scripts/test` and CI install it): when it is
//! not, this test fails and says so; it never skips.

use std::time::Duration;

use mig_protocol::Permissions;
use mig_store::PgStore;

use crate::common::{self, Server};

/// Examples per operation and phase: keeps the run well under a minute.
const EXAMPLES: &str = "15";
/// The whole run may not take longer than this.
const TIME_LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error() {
    let script = format!("{}/../../scripts/schemathesis", env!("CARGO_MANIFEST_DIR"));
    let version = std::process::Command::new("schemathesis")
        .arg("--version")
        .output();
    match version {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "`schemathesis --version` failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!(
            "schemathesis is not on PATH ({error}): install it with \
             `pip3 install schemathesis` (scripts/test does) to run this test"
        ),
    }
    let mut config = mig_api::ApiConfig::for_tests();
    config.auth_enabled = false;
    config.manifest_required_signatures = 1;
    common::on_postgres(config, move |server: Server<PgStore>| async move {
        // A few rows, so that lookups by id also find something.
        common::insert_bob(&*server.store, Permissions::DEFAULT).await;
        let base = server.url("/api/v1");
        let run = tokio::process::Command::new("bash")
            .arg(&script)
            .arg(&base)
            .arg("--url")
            .arg(&base)
            .env("MIG_SCHEMATHESIS_EXAMPLES", EXAMPLES)
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(TIME_LIMIT, run)
            .await
            .unwrap_or_else(|_| panic!("schemathesis ran longer than {TIME_LIMIT:?}"))
            .unwrap_or_else(|error| panic!("cannot run {script}: {error}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "schemathesis found failures (exit {:?}):\n{stdout}\n{stderr}",
            output.status.code()
        );
        // It really ran operations against the server.
        assert!(
            stdout.contains("passed"),
            "no operation was tested:\n{stdout}\n{stderr}"
        );
        server.stop().await;
    })
    .await;
}
