//! Test support: an API server on 127.0.0.1:0 over a fresh store, a client,
//! signing with the throwaway `bob` key, and a shape comparison of JSON answers.

#![allow(clippy::unwrap_used, dead_code)]

use std::future::Future;
use std::sync::Arc;

use chrono::Utc;
use mig_api::ApiConfig;
use mig_protocol::auth::make_token;
use mig_protocol::pgp::SecretKeySigner;
use mig_protocol::status::InvestigatorStatus;
use mig_protocol::{GoTime, Id, Investigator, Permissions};
use mig_store::{PgStore, SqliteStore, Store};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The host the reference captures name in their hrefs.
pub const HOST: &str = "http://127.0.0.1:51664";

/// A running server and what a test needs around it.
pub struct Server<S: Store> {
    pub store: Arc<S>,
    pub base: String,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl<S: Store> Server<S> {
    /// Starts a server with `config` on `store`.
    pub async fn start(mut config: ApiConfig, store: Arc<S>) -> Self {
        config.server.host = HOST.to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (shutdown, wait) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn({
            let store = store.clone();
            async move {
                mig_api::serve(config, store, listener, async move {
                    let _ = wait.await;
                })
                .await
                .unwrap();
            }
        });
        Self {
            store,
            base: format!("http://{address}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// The URL of `path_and_query` (which starts with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// Runs `body` against a server on a fresh PostgreSQL database.
pub async fn on_postgres<F, Fut>(config: ApiConfig, body: F)
where
    F: FnOnce(Server<PgStore>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    mig_testkit::with_database("migapi_", move |url| async move {
        let store = PgStore::connect(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        let server = Server::start(config, Arc::new(store)).await;
        body(server).await;
    })
    .await;
}

/// Runs `body` against a server on a fresh SQLite database.
pub async fn on_sqlite<F, Fut>(config: ApiConfig, body: F)
where
    F: FnOnce(Server<SqliteStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mig.sqlite");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let server = Server::start(config, Arc::new(store)).await;
    body(server).await;
}

/// Instantiates each generic test `fn name<S: Store>(Server<S>)` on both stores.
#[macro_export]
macro_rules! on_both_stores {
    ($config:expr => $($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::on_postgres($config, |server| async move { super::$name(server).await }).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::on_sqlite($config, |server| async move { super::$name(server).await }).await;
                }
            )*
        }
    };
}

/// A reference file of the shared vectors, relative to this crate.
pub fn vector(path: &str) -> String {
    let full = format!(
        "{}/../../../shared/vectors/reference/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{full}: {error}"))
}

/// A captured exchange (`http/*.json`) as JSON.
pub fn exchange(path: &str) -> serde_json::Value {
    serde_json::from_str(&vector(path)).unwrap()
}

/// The throwaway investigator key `bob`.
pub fn bob() -> SecretKeySigner {
    SecretKeySigner::from_armored(
        &vector("signing/THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc"),
        None,
    )
    .unwrap()
}

/// Inserts an active investigator with bob's public key and `permissions`.
pub async fn insert_bob<S: Store>(store: &S, permissions: Permissions) -> Id {
    let key = bob().public_key();
    let investigator = Investigator {
        name: "bob".to_owned(),
        pgpfingerprint: key.fingerprint().to_uppercase(),
        publickey: key.to_armored().unwrap().into_bytes(),
        status: InvestigatorStatus::Active,
        createdat: GoTime::now(),
        lastmodified: GoTime::now(),
        permissions,
        ..Investigator::default()
    };
    store.insert_investigator(&investigator).await.unwrap()
}

/// A fresh token signed by bob.
pub fn token() -> String {
    make_token(&bob(), Utc::now(), "12345").unwrap()
}

/// The structure of a JSON document: keys in order and value types, not values.
#[derive(Debug, PartialEq)]
pub enum Shape {
    Null,
    Bool,
    Number,
    String,
    Array(Vec<Shape>),
    Object(Vec<(String, Shape)>),
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = Shape;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Shape, E> {
                Ok(Shape::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                Ok(Shape::Bool)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
                Ok(Shape::Number)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                Ok(Shape::Number)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                Ok(Shape::Number)
            }
            fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
                Ok(Shape::String)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Shape::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Shape>()? {
                    entries.push((key, value));
                }
                Ok(Shape::Object(entries))
            }
        }
        deserializer.deserialize_any(ShapeVisitor)
    }
}

/// The shape of a JSON text.
pub fn shape(text: &str) -> Shape {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
}
