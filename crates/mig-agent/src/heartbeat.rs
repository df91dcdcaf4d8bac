//! Heartbeats (spec protocol.md §8.7, §2.7, §6.1, §5.4) and the environment
//! refresh (§8.16).
//!
//! Every `heartbeatfreq`, starting at once: refresh the environment when due,
//! then send the legacy `Agent` JSON on `toschedulers`/`mig.agt.heartbeats`
//! (TTL ten periods) and/or `POST <api>/heartbeat` with the camelCase
//! `Heartbeat`, then write `<rundir>/mig-agent.ok`. A failed send is logged and
//! retried at the next tick: an unreachable API or relay never stops the agent
//! (the original panicked on an HTTP transport error).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mig_protocol::relay::{EXCHANGE_TO_SCHEDULERS, QUEUE_HEARTBEATS, result_expiration_ms};
use mig_protocol::{Agent, AgentEnv, GoTime, gojson};
use mig_relay::{PublishOptions, Relay};
use tokio_util::sync::CancellationToken;

use crate::config::AgentConfig;
use crate::http::{Request, Url, send};

/// Who the agent is; fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct Identity {
    pub agent_id: String,
    pub queueloc: String,
    pub hostname: String,
    pub pid: u32,
    pub version: String,
    /// `daemon` or `checkin`.
    pub mode: String,
}

/// The environment as last discovered, and when it last changed.
#[derive(Debug, Clone)]
pub struct EnvState {
    pub environment: AgentEnv,
    pub refresh_time: GoTime,
}

/// The proxy the relay connection goes through, if any (read at each heartbeat).
pub type ProxyProbe = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// The heartbeat loop.
pub struct Heartbeats<R> {
    pub config: AgentConfig,
    pub identity: Identity,
    pub state: Arc<Mutex<EnvState>>,
    pub relay: R,
    pub proxy: ProxyProbe,
}

impl<R: Relay> Heartbeats<R> {
    /// The legacy heartbeat document (the `Agent` row shape) as of now.
    pub fn agent_document(&self) -> Agent {
        let now = GoTime::now();
        let state = self
            .state
            .lock()
            .map(|state| state.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
        let mut environment = state.environment;
        match (self.proxy)() {
            Some(proxy) => {
                environment.isproxied = true;
                environment.proxy = proxy;
            }
            None => {
                environment.isproxied = false;
                environment.proxy = String::new();
            }
        }
        Agent {
            name: self.identity.hostname.clone(),
            queueloc: self.identity.queueloc.clone(),
            mode: self.identity.mode.clone(),
            version: self.identity.version.clone(),
            pid: i64::from(self.identity.pid),
            starttime: now,
            heartbeatts: now,
            refreshts: state.refresh_time,
            environment,
            tags: self.config.tags.clone(),
            ..Agent::default()
        }
    }

    async fn refresh_environment(&self) {
        let mut fresh = crate::environment::discover(
            &self.config.api,
            &self.config.proxies,
            self.config.discover_public_ip,
        )
        .await;
        if let Ok(mut state) = self.state.lock() {
            fresh.isproxied = state.environment.isproxied;
            fresh.proxy = state.environment.proxy.clone();
            if fresh != state.environment {
                tracing::info!("environment changed");
                state.environment = fresh;
                state.refresh_time = GoTime::now();
            }
        }
    }

    /// Sends one round of heartbeats.
    pub async fn beat(&self) {
        let agent = self.agent_document();
        if self.config.heartbeat_form.amqp() {
            let publish = self.relay.publish(
                EXCHANGE_TO_SCHEDULERS,
                QUEUE_HEARTBEATS,
                gojson::to_vec(&agent),
                PublishOptions {
                    expiration_ms: Some(result_expiration_ms(self.config.heartbeat_freq)),
                },
            );
            match tokio::time::timeout(self.config.heartbeat_freq, publish).await {
                Ok(Ok(())) => tracing::debug!("heartbeat published on the relay"),
                Ok(Err(error)) => tracing::warn!(%error, "heartbeat not published on the relay"),
                Err(_) => tracing::warn!("heartbeat not published on the relay: timed out"),
            }
        }
        if self.config.heartbeat_form.http() {
            let url = Url::join(&self.config.api, "heartbeat");
            let request = Request {
                method: "POST",
                url: &url,
                body: Some(("application/json", gojson::to_vec(&agent.to_heartbeat()))),
                ..Request::default()
            };
            let timeout = self.config.heartbeat_freq.min(Duration::from_secs(30));
            match send(request, timeout).await {
                Ok(response) if response.status == 200 => {
                    tracing::debug!(%url, "heartbeat posted")
                }
                Ok(response) => tracing::warn!(
                    %url,
                    status = response.status,
                    body = %String::from_utf8_lossy(&response.body),
                    "heartbeat refused by the api"
                ),
                Err(error) => tracing::warn!(%error, "heartbeat not posted"),
            }
        }
        let ok_file = self.config.run_dir.join("mig-agent.ok");
        if let Err(error) = std::fs::write(&ok_file, GoTime::now().to_string()) {
            tracing::debug!(%error, file = %ok_file.display(), "cannot write the ok file");
        }
    }

    /// Beats until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut last_refresh = Instant::now();
        loop {
            let refresh = self.config.refresh_env;
            if !refresh.is_zero() && last_refresh.elapsed() >= refresh {
                self.refresh_environment().await;
                last_refresh = Instant::now();
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.beat() => {}
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.config.heartbeat_freq) => {}
            }
        }
    }
}
