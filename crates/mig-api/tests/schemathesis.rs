//! schemathesis (PyPI) fuzzes the API from its own OpenAPI document and finds no
//! server error (5xx): `scripts/schemathesis` against a server on a fresh
//! PostgreSQL database, authentication off. Skipped, with a message, when
//! `schemathesis` is not installed (`scripts/test` installs it).

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;

fn schemathesis_installed() -> bool {
    std::process::Command::new("schemathesis")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error() {
    if !schemathesis_installed() {
        eprintln!("schemathesis is not installed (pip install schemathesis): test skipped");
        return;
    }
    let config = mig_api::ApiConfig {
        auth_enabled: false,
        ..mig_api::ApiConfig::for_tests()
    };
    common::on_postgres(config, |server| async move {
        let script = format!("{}/../../scripts/schemathesis", env!("CARGO_MANIFEST_DIR"));
        let base = server.url("/api/v1");
        let output = tokio::process::Command::new(script)
            .arg(&base)
            .env("MIG_SCHEMATHESIS_EXAMPLES", "20")
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "schemathesis failed:\n{text}");
        assert!(text.contains("not_a_server_error"), "{text}");
        server.stop().await;
    })
    .await;
}
