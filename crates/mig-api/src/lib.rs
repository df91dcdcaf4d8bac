//! mig-api: the REST API of MIG (spec api.md), wire-compatible with the original
//! Go clients, the console and agents.
//!
//! [`serve`] runs the [`router`] on a listener until `shutdown` resolves. A
//! request goes through the envelope layer ([`envelope`], which writes the
//! Collection+JSON document and the access log), then for investigator routes
//! through [`auth`] (token, API key, permission bit), then one handler per
//! resource file (`heartbeat`, …). Handlers return `Result<Reply, ApiError>`;
//! [`error`] is the one mapping of errors to statuses. The API talks only to the
//! database through [`Store`]; it never talks to the relay.

mod action;
mod agent;
pub mod auth;
pub mod client_ip;
mod command;
pub mod config;
mod dashboard;
mod envelope;
pub mod error;
mod heartbeat;
mod investigator;
mod loader;
mod manifest;
mod openapi;
mod publickey;
mod query;
pub mod routing;
mod search;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::ApiConfig;
pub use error::{ApiError, Reply};
pub use mig_store::Store;
pub use routing::router;

/// What every handler shares.
pub struct AppState<S: Store> {
    pub config: Arc<ApiConfig>,
    pub store: Arc<S>,
    pub(crate) keyrings: Arc<auth::KeyringCache>,
    pub(crate) verified: Arc<auth::VerifiedCache>,
    pub(crate) dashboard: Arc<dashboard::DashboardCache>,
    pub(crate) target_searches: Arc<search::TargetSearches>,
    /// The registered routes, for the OpenAPI document.
    pub(crate) routes: Arc<Vec<routing::RouteInfo>>,
}

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            store: self.store.clone(),
            keyrings: self.keyrings.clone(),
            verified: self.verified.clone(),
            dashboard: self.dashboard.clone(),
            target_searches: self.target_searches.clone(),
            routes: self.routes.clone(),
        }
    }
}

impl<S: Store> AppState<S> {
    /// The state of a server on `store`.
    pub fn new(config: ApiConfig, store: Arc<S>) -> Self {
        Self {
            config: Arc::new(config),
            store,
            keyrings: Arc::new(auth::KeyringCache::default()),
            verified: Arc::new(auth::VerifiedCache::default()),
            dashboard: Arc::new(dashboard::DashboardCache::default()),
            target_searches: Arc::new(search::TargetSearches::default()),
            routes: Arc::new(Vec::new()),
        }
    }

    /// `server.host + server.baseroute`, the prefix of item hrefs.
    pub fn base_url(&self) -> String {
        self.config.base_url()
    }
}

/// An API served by a task of the current runtime (see [`spawn`]).
pub struct Running {
    /// The API's base URL, `http://<address>/api/v1/`.
    pub url: String,
    /// The address it listens on.
    pub address: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Stops accepting, drains open requests and waits for the task.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    /// A dropped handle stops the API too (without waiting for it).
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Binds `listen` (`127.0.0.1:0` for a free port), points `server.host` at
/// the bound address and serves the API on a task of the current runtime
/// until the returned handle is stopped or dropped (embedding, tests).
pub async fn spawn<S: Store>(
    mut config: ApiConfig,
    store: Arc<S>,
    listen: &str,
) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    config.server.host = format!("http://{address}");
    let url = format!("{}/", config.base_url());
    let (shutdown, wait) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(config, store, listener, async move {
        let _ = wait.await;
    }));
    Ok(Running {
        url,
        address,
        shutdown: Some(shutdown),
        task: Some(task),
    })
}

/// Serves the API on `listener` until `shutdown` resolves, then drains open requests.
pub async fn serve<S: Store>(
    config: ApiConfig,
    store: Arc<S>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(AppState::new(config, store));
    tracing::info!(address = ?listener.local_addr().ok(), "mig-api listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
