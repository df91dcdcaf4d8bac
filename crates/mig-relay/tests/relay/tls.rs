//! The `amqps` path: TLS configuration from PEM files generated here (with
//! rcgen), its errors, and a live connection to RabbitMQ through a rustls
//! terminator written in the test (the machine's RabbitMQ has no TLS listener
//! yet), which requires the client certificate like the real relay does.

use crate::rabbit;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mig_protocol::relay::{EXCHANGE_TO_AGENTS, agent_queue};
use mig_relay::{AmqpConfig, AmqpRelay, PublishOptions, Relay, RelayError, TlsConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A CA, a server certificate for `localhost` and a client certificate, as PEM.
struct Pki {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["mig-agent".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_cert_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_cert_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

fn write(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn client_tls(pki: &Pki) -> TlsConfig {
    TlsConfig {
        ca_cert_pem: pki.ca_pem.clone().into_bytes(),
        client_cert_pem: Some(pki.client_cert_pem.clone().into_bytes()),
        client_key_pem: Some(pki.client_key_pem.clone().into_bytes()),
    }
}

fn config_error(result: Result<impl std::fmt::Debug, RelayError>) -> String {
    match result {
        Err(RelayError::Config(message)) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn tls_config_from_pem_files() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", &pki.ca_pem);
    let cert = write(dir.path(), "agent.crt", &pki.client_cert_pem);
    let key = write(dir.path(), "agent.key", &pki.client_key_pem);
    let tls = TlsConfig::from_files(&ca, &cert, &key).unwrap();
    assert_eq!(tls, client_tls(&pki));
    tls.client_config().unwrap();
    // Debug output does not show the key.
    assert!(!format!("{tls:?}").contains("PRIVATE KEY"));

    let missing = config_error(TlsConfig::from_files(
        &dir.path().join("nope.pem"),
        &cert,
        &key,
    ));
    assert!(missing.contains("nope.pem"), "{missing}");
}

#[test]
fn bad_tls_material_is_a_clear_error() {
    let pki = pki();
    let other = self::pki();
    let good = client_tls(&pki);

    let no_ca = TlsConfig {
        ca_cert_pem: b"not a certificate".to_vec(),
        ..good.clone()
    };
    assert!(config_error(no_ca.client_config()).contains("no certificate in the ca"));

    let bad_key = TlsConfig {
        client_key_pem: Some(b"garbage".to_vec()),
        ..good.clone()
    };
    assert!(config_error(bad_key.client_config()).contains("client key"));

    let key_as_cert = TlsConfig {
        client_cert_pem: Some(pki.client_key_pem.clone().into_bytes()),
        ..good.clone()
    };
    assert!(config_error(key_as_cert.client_config()).contains("client certificate"));

    let mismatched = TlsConfig {
        client_key_pem: Some(other.client_key_pem.clone().into_bytes()),
        ..good.clone()
    };
    let message = config_error(mismatched.client_config());
    assert!(message.contains("do not fit"), "{message}");

    let half = TlsConfig {
        client_key_pem: None,
        ..good
    };
    assert!(config_error(half.client_config()).contains("needs its key"));

    let no_tls = AmqpRelay::connect(AmqpConfig::new("amqps://guest:guest@localhost:5671/mig"));
    assert!(config_error(no_tls).contains("tls configuration"));
    let bad_url = AmqpRelay::connect(AmqpConfig::new("http://localhost/"));
    assert!(config_error(bad_url).contains("url"));
}

/// Accepts TLS on 127.0.0.1 (requiring a client certificate of the CA) and
/// forwards the clear stream to RabbitMQ's 5672.
async fn start_tls_terminator(pki: &Pki) -> (u16, tokio::task::JoinHandle<()>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(pki.server_cert_pem.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes()).unwrap(),
        )
        .unwrap();
    let acceptor = futures_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(async_compat::Compat::new(client)).await else {
                    return;
                };
                let mut tls = async_compat::Compat::new(tls);
                let mut upstream = tokio::net::TcpStream::connect("127.0.0.1:5672")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqps_with_client_certificate() {
    let pki = pki();
    let vhost = tokio::task::spawn_blocking(rabbit::create_vhost)
        .await
        .unwrap();
    let (port, terminator) = start_tls_terminator(&pki).await;
    let url = format!("amqps://guest:guest@localhost:{port}/{}", vhost.name);
    let config = AmqpConfig {
        tls: Some(client_tls(&pki)),
        ..AmqpConfig::new(url.clone())
    };
    let relay = AmqpRelay::connect_and_wait(config, Duration::from_secs(10))
        .await
        .unwrap();
    relay.declare_scheduler_topology().await.unwrap();
    relay.declare_agent_queue("linux.tls").await.unwrap();
    let queue = agent_queue("linux.tls");
    let mut agent = relay.consume(&queue, 1).await.unwrap();
    relay
        .publish(
            EXCHANGE_TO_AGENTS,
            &queue,
            b"over tls".to_vec(),
            PublishOptions::default(),
        )
        .await
        .unwrap();
    let delivery = tokio::time::timeout(Duration::from_secs(5), agent.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.body, b"over tls");
    delivery.ack().await.unwrap();
    drop(agent);
    relay.delete_queue(&queue).await.unwrap();
    relay.close().await;

    // Without a client certificate the relay refuses the handshake.
    let anonymous = AmqpConfig {
        tls: Some(TlsConfig {
            client_cert_pem: None,
            client_key_pem: None,
            ..client_tls(&pki)
        }),
        ..AmqpConfig::new(url.clone())
    };
    let error = AmqpRelay::connect_and_wait(anonymous, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(error, RelayError::Unavailable(_)), "{error:?}");

    // A relay certificate from another CA is not trusted.
    let stranger = AmqpConfig {
        tls: Some(TlsConfig {
            ca_cert_pem: self::pki().ca_pem.into_bytes(),
            ..client_tls(&pki)
        }),
        ..AmqpConfig::new(url)
    };
    let error = AmqpRelay::connect_and_wait(stranger, Duration::from_secs(2))
        .await
        .unwrap_err();
    println!("untrusted relay: {error}");
    assert!(error.to_string().contains("certificate"), "{error}");
    terminator.abort();
    tokio::task::spawn_blocking(move || drop(vhost))
        .await
        .unwrap();
}
