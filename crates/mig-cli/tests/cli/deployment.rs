//! The deployment guide end to end (issue #7): `scripts/deployment-walkthrough`
//! runs docs/deployment.md's commands with the workspace's binaries on the
//! machine's PostgreSQL and RabbitMQ, over AMQPS with client certificates,
//! under names of its own, and must end with the first investigation finding
//! /etc/passwd. Then the relay's TLS listener is checked to refuse agents
//! without a certificate or with one from another CA.
//!
//! Both need RabbitMQ's AMQPS listener on 127.0.0.1:5671 with the PKI in
//! /etc/mig/pki, which `scripts/test` sets up (`mig-pki` then
//! `scripts/rabbitmq-setup tls`) before running the tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mig_relay::{AmqpConfig, AmqpRelay, Relay, TlsConfig};

const PKI: &str = "/etc/mig/pki";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// target/debug, where `cargo test --workspace` left every binary.
fn binaries() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn require_tls_listener() {
    assert!(
        std::net::TcpStream::connect_timeout(
            &"127.0.0.1:5671".parse().unwrap(),
            Duration::from_secs(2)
        )
        .is_ok()
            && Path::new(PKI).join("agent.crt").exists(),
        "RabbitMQ has no AMQPS listener on 127.0.0.1:5671 with the PKI in {PKI}: \
         run `target/debug/mig-pki -dir {PKI}` and `scripts/rabbitmq-setup tls -pki {PKI}` \
         (scripts/test does both)"
    );
}

#[test]
fn deployment_walkthrough_finds_passwd_over_amqps() {
    require_tls_listener();
    let name = format!("dw{}_", std::process::id());
    // Three ports the kernel says are free now, rather than one and the
    // two after it (one of which CI once found taken).
    let ports = [(); 3].map(|()| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    let [port, proxied_port, nginx_port] = ports
        .each_ref()
        .map(|listener| listener.local_addr().unwrap().port());
    drop(ports);
    let work = tempfile::tempdir().unwrap();
    let output = Command::new(repository().join("scripts/deployment-walkthrough"))
        .env("MIG_BIN", binaries())
        .env("MIG_WORK", work.path())
        .env("MIG_PKI", PKI)
        .env("MIG_DB", format!("{name}mig"))
        .env("MIG_PREFIX", &name)
        .env("MIG_VHOST", format!("{name}mig"))
        .env("MIG_API_PORT", port.to_string())
        .env("MIG_PROXIED_API_PORT", proxied_port.to_string())
        .env("MIG_NGINX_PORT", nginx_port.to_string())
        .env("MIG_CLEANUP", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let logs = [
        "scheduler.log",
        "api.log",
        "agent.log",
        "api-behind-nginx.log",
        "nginx/error.log",
    ]
    .iter()
    .map(|log| {
        let text = std::fs::read_to_string(work.path().join(log)).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        format!(
            "--- {log}\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    })
    .collect::<Vec<_>>()
    .join("\n");
    assert!(
        output.status.success(),
        "walkthrough failed\n{stdout}\n{}\n{logs}",
        String::from_utf8_lossy(&output.stderr)
    );
    let finding = stdout
        .lines()
        .find(|line| line.contains("/etc/passwd"))
        .unwrap_or_else(|| panic!("no finding in\n{stdout}"));
    assert!(
        finding.contains(" /etc/passwd [lastmodified:"),
        "a finding as `mig file` prints it: {finding}"
    );
    assert!(stdout.contains("9. The first investigation"), "{stdout}");
    // Step 10: behind nginx, the API sees the client's own address, not
    // nginx's and not the X-Forwarded-For value the client forged.
    assert!(
        stdout.contains("GET /api/v1/ip through nginx from 127.0.0.2: 127.0.0.2\n"),
        "{stdout}"
    );
}

fn connects(tls: TlsConfig) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut config = AmqpConfig::new("amqps://guest:guest@localhost:5671/%2f");
        config.tls = Some(tls);
        match AmqpRelay::connect_and_wait(config, Duration::from_secs(5)).await {
            Ok(relay) => {
                relay.close().await;
                Ok(())
            }
            Err(error) => Err(error.to_string()),
        }
    })
}

#[test]
fn relay_refuses_agents_without_a_certificate_from_its_ca() {
    require_tls_listener();
    let pki = Path::new(PKI);
    let ours = TlsConfig::from_files(
        &pki.join("ca/ca.crt"),
        &pki.join("agent.crt"),
        &pki.join("agent.key"),
    )
    .unwrap();
    connects(ours.clone()).expect("the agent certificate is accepted");

    let anonymous = TlsConfig {
        client_cert_pem: None,
        client_key_pem: None,
        ..ours.clone()
    };
    assert!(connects(anonymous).is_err(), "no client certificate");

    let elsewhere = tempfile::tempdir().unwrap();
    let status = Command::new(binaries().join("mig-pki"))
        .arg("-dir")
        .arg(elsewhere.path())
        .status()
        .expect("target/debug/mig-pki (cargo test --workspace builds it)");
    assert!(status.success());
    let stranger = TlsConfig {
        ca_cert_pem: ours.ca_cert_pem.clone(),
        ..TlsConfig::from_files(
            &elsewhere.path().join("ca/ca.crt"),
            &elsewhere.path().join("agent.crt"),
            &elsewhere.path().join("agent.key"),
        )
        .unwrap()
    };
    assert!(connects(stranger).is_err(), "a certificate from another CA");
}

/// deploy/systemd's units pass `systemd-analyze verify` (syntax, known
/// directives and values, executables present) with ExecStart pointing at
/// this build's binaries.
#[test]
fn systemd_units_verify() {
    let units = repository().join("deploy/systemd");
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&units).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("ExecStart=/usr/local/bin/"), "{name}");
        let local = text.replace(
            "ExecStart=/usr/local/bin/",
            &format!("ExecStart={}/", binaries().display()),
        );
        std::fs::write(dir.path().join(&name), local).unwrap();
        names.push(name);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "mig-agent.service",
            "mig-api.service",
            "mig-scheduler.service"
        ]
    );
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .args(names.iter().map(|name| dir.path().join(name)))
        .output()
        .expect("systemd-analyze (Debian package systemd) is required");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Unknown directives and bad values are only warnings for systemd.
    assert!(stderr.trim().is_empty(), "{stderr}");
}
