//! `mig-pki` end to end: the binary makes the files, openssl verifies the
//! chains and reads the SANs, and a mutual-TLS handshake over 127.0.0.1 with
//! rustls (server: the relay certificate, requiring a client certificate from
//! the CA) accepts the agent and refuses a certificate from another CA.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

fn mig_pki(dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mig-pki"))
        .arg("-dir")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

const FILES: [&str; 10] = [
    "ca/ca.crt",
    "ca/ca.key",
    "rabbitmq.crt",
    "rabbitmq.key",
    "scheduler.crt",
    "scheduler.key",
    "worker.crt",
    "worker.key",
    "agent.crt",
    "agent.key",
];

fn snapshot(dir: &Path) -> Vec<Vec<u8>> {
    FILES
        .iter()
        .map(|file| std::fs::read(dir.join(file)).unwrap())
        .collect()
}

fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn makes_every_file_once_and_keeps_them() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("pki");
    let (ok, stdout, stderr) = mig_pki(&dir, &["-relayhost", "relay.mig.test"]);
    assert!(ok, "{stderr}");
    for file in FILES {
        assert!(stdout.contains(&format!("created {}", dir.join(file).display())));
        let mode = std::fs::metadata(dir.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        let expected = if file.ends_with(".key") { 0o600 } else { 0o644 };
        assert_eq!(mode, expected, "{file}");
    }
    let first = snapshot(&dir);

    let (ok, stdout, _) = mig_pki(&dir, &["-relayhost", "relay.mig.test"]);
    assert!(ok);
    assert!(!stdout.contains("created"), "{stdout}");
    assert_eq!(snapshot(&dir), first, "a second run changes nothing");

    // A lost leaf is made again, under the same CA.
    std::fs::remove_file(dir.join("agent.key")).unwrap();
    let (ok, stdout, _) = mig_pki(&dir, &["-relayhost", "relay.mig.test"]);
    assert!(ok);
    assert_eq!(stdout.matches("created").count(), 2, "{stdout}");
    let after = snapshot(&dir);
    assert_eq!(after[..8], first[..8]);
    assert_ne!(after[8], first[8]);
    let ca = dir.join("ca/ca.crt");
    openssl(&[
        "verify",
        "-CAfile",
        ca.to_str().unwrap(),
        dir.join("agent.crt").to_str().unwrap(),
    ]);

    let (ok, _, _) = mig_pki(&dir, &["-relayhost", "relay.mig.test", "-force"]);
    assert!(ok);
    let forced = snapshot(&dir);
    assert!(
        forced.iter().zip(&after).all(|(new, old)| new != old),
        "-force makes everything anew"
    );
}

#[test]
fn certificates_chain_with_the_right_names_and_usages() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (ok, _, stderr) = mig_pki(
        dir,
        &[
            "-relayhost",
            "relay.mig.test",
            "-relayhost",
            "10.1.2.3",
            "-days",
            "30",
        ],
    );
    assert!(ok, "{stderr}");
    let ca = dir.join("ca/ca.crt");
    let ca = ca.to_str().unwrap();
    for leaf in ["rabbitmq", "scheduler", "worker", "agent"] {
        let cert = dir.join(format!("{leaf}.crt"));
        let verified = openssl(&["verify", "-CAfile", ca, cert.to_str().unwrap()]);
        assert!(verified.trim_end().ends_with(": OK"), "{verified}");
    }
    let ca_text = openssl(&["x509", "-in", ca, "-noout", "-text"]);
    assert!(ca_text.contains("CA:TRUE, pathlen:0"), "{ca_text}");
    assert!(ca_text.contains("Certificate Sign"), "{ca_text}");

    let relay = dir.join("rabbitmq.crt");
    let relay_text = openssl(&["x509", "-in", relay.to_str().unwrap(), "-noout", "-text"]);
    assert!(
        relay_text.contains("DNS:relay.mig.test, IP Address:10.1.2.3"),
        "{relay_text}"
    );
    assert!(relay_text.contains("CN = relay.mig.test"), "{relay_text}");
    assert!(
        relay_text.contains("TLS Web Server Authentication"),
        "{relay_text}"
    );
    assert!(relay_text.contains("CA:FALSE"), "{relay_text}");

    let agent = dir.join("agent.crt");
    let agent_text = openssl(&["x509", "-in", agent.to_str().unwrap(), "-noout", "-text"]);
    assert!(agent_text.contains("DNS:agent"), "{agent_text}");
    assert!(
        agent_text.contains("TLS Web Client Authentication"),
        "{agent_text}"
    );
    assert!(
        !agent_text.contains("TLS Web Server Authentication"),
        "{agent_text}"
    );
    let dates = openssl(&[
        "x509",
        "-in",
        agent.to_str().unwrap(),
        "-noout",
        "-checkend",
        "2505600",
    ]);
    assert!(dates.contains("will not expire"), "{dates}");
    let output = Command::new("openssl")
        .args([
            "x509",
            "-in",
            agent.to_str().unwrap(),
            "-noout",
            "-checkend",
            "2678400",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success(), "valid for 30 days, not 31");
}

#[test]
fn bad_parameters_name_the_flag() {
    let temp = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = mig_pki(temp.path(), &["-days", "0"]);
    assert!(!ok);
    assert!(
        stderr.contains("-days must be between 1 and 36500, not 0"),
        "{stderr}"
    );
    let (ok, _, stderr) = mig_pki(temp.path(), &["-days", "ten"]);
    assert!(!ok);
    assert!(
        stderr.contains("invalid value \"ten\" for flag -days"),
        "{stderr}"
    );
    let (ok, _, stderr) = mig_pki(temp.path(), &["-relayhost", "bad host name"]);
    assert!(!ok);
    assert!(
        stderr.contains("relay host \"bad host name\": not a DNS name or an IP address"),
        "{stderr}"
    );
    std::fs::create_dir_all(temp.path().join("broken/ca")).unwrap();
    std::fs::write(temp.path().join("broken/ca/ca.crt"), "x").unwrap();
    std::fs::write(temp.path().join("broken/ca/ca.key"), "not a key").unwrap();
    let (ok, _, stderr) = mig_pki(&temp.path().join("broken"), &[]);
    assert!(!ok);
    assert!(stderr.contains("ca.key: not a private key"), "{stderr}");
}

fn certs(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn key(path: &Path) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_file(path).unwrap()
}

fn roots(dir: &Path) -> Arc<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs(&dir.join("ca/ca.crt")) {
        roots.add(cert).unwrap();
    }
    Arc::new(roots)
}

/// Serves one TLS connection on 127.0.0.1 as the relay would (client
/// certificate required) and reports whether the handshake succeeded.
fn relay_once(dir: &Path) -> (u16, std::thread::JoinHandle<bool>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots(dir), provider.clone())
            .build()
            .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs(&dir.join("rabbitmq.crt")),
            key(&dir.join("rabbitmq.key")),
        )
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut stream = rustls::Stream::new(&mut connection, &mut socket);
        let mut byte = [0u8; 1];
        match stream.read_exact(&mut byte) {
            Ok(()) => stream.write_all(b"k").is_ok(),
            Err(_) => false,
        }
    });
    (port, handle)
}

/// Connects to `port` as `server_name`, trusting `ca_dir`'s CA and presenting
/// `client_dir`'s agent certificate.
fn agent_connects(port: u16, server_name: &str, ca_dir: &Path, client_dir: &Path) -> bool {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(ca_dir))
        .with_client_auth_cert(
            certs(&client_dir.join("agent.crt")),
            key(&client_dir.join("agent.key")),
        )
        .unwrap();
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut stream = rustls::Stream::new(&mut connection, &mut socket);
    let mut byte = [0u8; 1];
    stream.write_all(b"p").is_ok() && stream.read_exact(&mut byte).is_ok() && &byte == b"k"
}

#[test]
fn mutual_tls_accepts_our_agent_and_refuses_a_stranger() {
    let temp = tempfile::tempdir().unwrap();
    let ours = temp.path().join("ours");
    let theirs = temp.path().join("theirs");
    for dir in [&ours, &theirs] {
        let (ok, _, stderr) = mig_pki(dir, &[]);
        assert!(ok, "{stderr}");
    }

    // The default relay names: localhost and 127.0.0.1.
    for server_name in ["localhost", "127.0.0.1"] {
        let (port, relay) = relay_once(&ours);
        assert!(
            agent_connects(port, server_name, &ours, &ours),
            "{server_name}"
        );
        assert!(relay.join().unwrap(), "{server_name}");
    }

    // A name the certificate does not carry is refused by the agent.
    let (port, relay) = relay_once(&ours);
    assert!(!agent_connects(port, "relay.elsewhere.test", &ours, &ours));
    assert!(!relay.join().unwrap());

    // A client certificate from another CA is refused by the relay.
    let (port, relay) = relay_once(&ours);
    assert!(!agent_connects(port, "localhost", &ours, &theirs));
    assert!(!relay.join().unwrap());
}
