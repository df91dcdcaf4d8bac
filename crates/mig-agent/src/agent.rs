//! The agent's life (spec protocol.md §8.3, §8.5, §8.9, §8.14): identity and
//! environment, trust material, the relay, then the heartbeat loop, the stat
//! socket and the command loop, until the shutdown token is cancelled (SIGINT,
//! SIGTERM, `/shutdown`) or, in check-in mode, the queue stays idle.
//!
//! The relay reconnects by itself forever (with backoff and jitter, re-declaring
//! the agent queue and re-creating the consumer), so the original's
//! respawn-on-relay-failure is not needed: a lost connection only pauses work.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mig_protocol::acl::Acl;
use mig_protocol::pgp::{Keyring, PublicKey};
use mig_protocol::relay::{
    EXCHANGE_TO_SCHEDULERS, QUEUE_RESULTS, agent_queue, result_expiration_ms,
};
use mig_protocol::{Command, GoTime};
use mig_relay::{AmqpConfig, AmqpRelay, PublishOptions, Relay, TlsConfig, environment_proxy};
use tokio_util::sync::CancellationToken;

use crate::config::AgentConfig;
use crate::heartbeat::{EnvState, Heartbeats, Identity, ProxyProbe};
use crate::pipeline::{Pipeline, Trust};
use crate::replay::ReplayGuard;
use crate::runner::ModuleRunner;
use crate::stat::{ActionHistory, StatusPage};

/// The agent's version, `MIG_AGENT_VERSION` at build time or the crate's.
pub const VERSION: &str = match option_env!("MIG_AGENT_VERSION") {
    Some(version) => version,
    None => env!("CARGO_PKG_VERSION"),
};

/// How long check-in mode waits for another command before exiting.
pub const CHECKIN_IDLE: Duration = Duration::from_secs(3);

/// The AMQP frame size the agent negotiates: the protocol's minimum. lapin
/// buffers 32 frames each way, so RabbitMQ's 128 KiB frames would keep 8 MiB
/// resident on every host; commands are small and results are split into
/// more frames. A `frame_max=` in the relay URL's query overrides it.
pub const AGENT_FRAME_MAX: u32 = 4096;

/// Errors that stop the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    #[error("cannot read acl {path}: {reason}")]
    Acl { path: String, reason: String },
    #[error("cannot read agent keys {path}: {source}")]
    Keys {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Relay(#[from] mig_relay::RelayError),
    #[error("cannot listen on the stat socket {address}: {source}")]
    Socket {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot find the agent binary: {0}")]
    Executable(std::io::Error),
}

/// How the agent runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serve until stopped.
    Daemon,
    /// Process what is queued, then exit (§8.14).
    Checkin,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Daemon => "daemon",
            Self::Checkin => "checkin",
        }
    }
}

/// Loads the trusted keys: every file of the `agentkeys` directory (invalid
/// files skipped with a warning) and the listed key files.
pub fn load_keyring(config: &AgentConfig) -> Result<Keyring, AgentError> {
    let mut keyring = Keyring::new();
    let mut files = Vec::new();
    if config.agent_keys_dir.is_dir() {
        let error = |source| AgentError::Keys {
            path: config.agent_keys_dir.display().to_string(),
            source,
        };
        for entry in std::fs::read_dir(&config.agent_keys_dir).map_err(error)? {
            let path = entry.map_err(error)?.path();
            if path.is_file() {
                files.push(path);
            }
        }
        files.sort();
    }
    files.extend(config.public_key_files.iter().cloned());
    for path in files {
        match std::fs::read_to_string(&path)
            .map_err(|error| error.to_string())
            .and_then(|text| PublicKey::from_armored(&text).map_err(|error| error.to_string()))
        {
            Ok(key) => {
                tracing::debug!(file = %path.display(), fingerprint = %key.fingerprint(), "trusted key loaded");
                keyring.add(key);
            }
            Err(error) => tracing::warn!(file = %path.display(), %error, "key file skipped"),
        }
    }
    Ok(keyring)
}

/// Loads the ACL; its absence is the built-in ACL that authorizes nobody, an
/// invalid file is fatal.
pub fn load_acl(path: &Path) -> Result<Acl, AgentError> {
    let acl_error = |reason: String| AgentError::Acl {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read(path) {
        Ok(bytes) => Acl::from_json(&bytes).map_err(|error| acl_error(error.to_string())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(file = %path.display(), "no acl file: no action will be authorized");
            Ok(Acl::default())
        }
        Err(error) => Err(acl_error(error.to_string())),
    }
}

/// The host and port of an AMQP URL, for the environment proxy lookup.
fn relay_host_port(url: &str) -> Option<(String, u16)> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("amqps://") {
        (true, rest)
    } else {
        (false, url.strip_prefix("amqp://")?)
    };
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit('@').next()?;
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((authority.to_owned(), if tls { 5671 } else { 5672 })),
    }
}

/// The relay configuration of the agent (§5.6).
pub fn relay_config(config: &AgentConfig, hostname: &str) -> Result<AmqpConfig, AgentError> {
    let mut amqp = AmqpConfig::new(config.relay.clone());
    amqp.heartbeat = config.heartbeat_freq.saturating_mul(2);
    amqp.connect_timeout = Duration::from_secs(5);
    amqp.proxies = config.proxies.clone();
    if let Some((host, port)) = relay_host_port(&config.relay)
        && let Some(proxy) = environment_proxy(&host, port)
        && !amqp.proxies.contains(&proxy)
    {
        amqp.proxies.push(proxy);
    }
    amqp.connection_name = Some(format!("mig-agent {hostname}"));
    if !config.relay.contains("frame_max=") {
        amqp.frame_max = Some(AGENT_FRAME_MAX);
    }
    if config.relay.starts_with("amqps://") {
        let missing = |what: &str| {
            mig_relay::RelayError::Config(format!("an amqps relay needs [certs] {what}"))
        };
        let ca = config.ca_cert.as_ref().ok_or_else(|| missing("ca"))?;
        let cert = config.agent_cert.as_ref().ok_or_else(|| missing("cert"))?;
        let key = config.agent_key.as_ref().ok_or_else(|| missing("key"))?;
        amqp.tls = Some(TlsConfig::from_files(ca, cert, key)?);
    }
    Ok(amqp)
}

/// Everything `run` needs besides the relay.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub mode: Mode,
    /// The configuration file in use, passed on to module children.
    pub config_file: Option<PathBuf>,
}

/// Runs the agent on an AMQP relay built from the configuration.
pub async fn run(
    config: AgentConfig,
    options: RunOptions,
    shutdown: CancellationToken,
) -> Result<(), AgentError> {
    let hostname = tokio::task::spawn_blocking(crate::environment::hostname)
        .await
        .unwrap_or_else(|_| "localhost".to_owned());
    let relay = AmqpRelay::connect(relay_config(&config, &hostname)?)?;
    let probe_relay = relay.clone();
    let proxy: ProxyProbe = Arc::new(move || probe_relay.proxy_in_use());
    let outcome = run_with_relay(config, options, hostname, relay.clone(), proxy, shutdown).await;
    relay.close().await;
    outcome
}

/// Runs the agent on `relay` until `shutdown` (or, in check-in mode, until the
/// queue is idle).
pub async fn run_with_relay<R: Relay>(
    config: AgentConfig,
    options: RunOptions,
    hostname: String,
    relay: R,
    proxy: ProxyProbe,
    shutdown: CancellationToken,
) -> Result<(), AgentError> {
    let agent_id = crate::identity::load_or_create_id(&config.run_dir)?;
    let queueloc = crate::identity::queueloc(&agent_id);
    let identity = Identity {
        agent_id: agent_id.clone(),
        queueloc: queueloc.clone(),
        hostname,
        pid: std::process::id(),
        version: VERSION.to_owned(),
        mode: options.mode.as_str().to_owned(),
    };
    tracing::info!(
        queueloc = %queueloc,
        hostname = %identity.hostname,
        mode = %identity.mode,
        version = VERSION,
        "mig-agent starting"
    );
    let environment =
        crate::environment::discover(&config.api, &config.proxies, config.discover_public_ip).await;
    tracing::info!(
        init = %environment.init,
        ident = %environment.ident,
        publicip = %environment.publicip,
        "environment discovered"
    );
    let persistent_environment = environment.clone();
    let state = Arc::new(Mutex::new(EnvState {
        environment,
        refresh_time: GoTime::now(),
    }));
    let keyring = load_keyring(&config)?;
    let acl = load_acl(&config.acl_file)?;
    tracing::info!(keys = keyring.len(), "trust material loaded");
    let history = Arc::new(Mutex::new(ActionHistory::new(config.max_actions)));
    let mut pipeline = Pipeline {
        trust: Trust {
            keyring,
            acl,
            only_verify_pubkey: config.only_verify_pubkey,
            clock_skew: config.clock_skew,
        },
        replay: ReplayGuard::load(&config.run_dir, config.clock_skew),
        runner: ModuleRunner::current(options.config_file.clone())
            .map_err(AgentError::Executable)?,
        module_timeout: config.module_timeout,
        queueloc: queueloc.clone(),
        history: history.clone(),
    };

    // Work stops on `stop`, cancelled by the caller's shutdown or by `/shutdown`.
    let stop = shutdown.child_token();
    let mut tasks = tokio::task::JoinSet::new();
    if !config.socket.is_empty() {
        let listener = tokio::net::TcpListener::bind(&config.socket)
            .await
            .map_err(|source| AgentError::Socket {
                address: config.socket.clone(),
                source,
            })?;
        let page = StatusPage {
            agent_id: agent_id.clone(),
            summary: format!(
                "mig-agent {VERSION}\nhostname: {}\nbinary: {}\nrun dir: {}\npid: {}\nqueueloc: {queueloc}\nconfiguration:\n{}",
                identity.hostname,
                pipeline.runner.executable.display(),
                config.run_dir.display(),
                identity.pid,
                config.render(),
            ),
            history,
        };
        tasks.spawn(crate::stat::serve(listener, page, stop.clone()));
    }
    if options.mode == Mode::Daemon && config.spawn_persistent {
        let persist_options = crate::persist::PersistOptions::new(
            pipeline.runner.executable.clone(),
            options.config_file.clone(),
        );
        let (registry, mut supervisors) = crate::persist::spawn(
            persist_options,
            identity.hostname.clone(),
            persistent_environment,
            config.tags.clone(),
            stop.clone(),
        );
        pipeline.runner.persistent = registry;
        tasks.spawn(async move { while supervisors.join_next().await.is_some() {} });
    }
    tasks.spawn(
        Heartbeats {
            config: config.clone(),
            identity: identity.clone(),
            state,
            relay: relay.clone(),
            proxy,
        }
        .run(stop.clone()),
    );

    let outcome = serve_commands(
        &config,
        options.mode,
        &relay,
        &queueloc,
        &mut pipeline,
        &stop,
    )
    .await;
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    tracing::info!("mig-agent stopped");
    outcome
}

/// Declares and consumes the agent queue, processing commands one by one.
async fn serve_commands<R: Relay>(
    config: &AgentConfig,
    mode: Mode,
    relay: &R,
    queueloc: &str,
    pipeline: &mut Pipeline,
    stop: &CancellationToken,
) -> Result<(), AgentError> {
    let queue = agent_queue(queueloc);
    let Some(mut subscription) = subscribe(relay, queueloc, stop).await else {
        return Ok(());
    };
    tracing::info!(queue = %queue, "consuming commands");
    let checkin_deadline = tokio::time::Instant::now() + config.module_timeout.mul_f64(1.1);
    loop {
        let idle = async {
            match mode {
                Mode::Checkin => {
                    tokio::select! {
                        () = tokio::time::sleep(CHECKIN_IDLE) => {}
                        () = tokio::time::sleep_until(checkin_deadline) => {}
                    }
                }
                Mode::Daemon => std::future::pending().await,
            }
        };
        let delivery = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = idle => {
                tracing::info!("check-in: queue idle, exiting");
                return Ok(());
            }
            delivery = subscription.next() => delivery,
        };
        let Some(delivery) = delivery else {
            // The broker cancelled the consumer: the queue was deleted (by
            // a scheduler's clean-up of a queue it took for abandoned, or by
            // an operator). Declare it again rather than go deaf.
            tracing::warn!(queue = %queue, "the relay closed the agent queue subscription, subscribing again");
            match subscribe(relay, queueloc, stop).await {
                Some(again) => {
                    subscription = again;
                    continue;
                }
                None => return Ok(()),
            }
        };
        let body = delivery.body.clone();
        tracing::debug!(
            bytes = body.len(),
            redelivered = delivery.redelivered,
            "command delivered"
        );
        // Acknowledged on receipt, as the original (at most once): a command
        // is never run twice because of a redelivery.
        if let Err(error) = delivery.ack().await {
            tracing::warn!(%error, "cannot acknowledge a command");
        }
        let work = pipeline.handle(&body);
        let reply = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            reply = work => reply,
        };
        if let Some(reply) = reply {
            publish_result(config, relay, &reply, stop).await;
        }
    }
}

/// Declares the agent queue and consumes it, retrying with backoff until it
/// works; `None` when `stop` is cancelled first.
async fn subscribe<R: Relay>(
    relay: &R,
    queueloc: &str,
    stop: &CancellationToken,
) -> Option<mig_relay::Subscription> {
    let queue = agent_queue(queueloc);
    // The scheduler declares the exchanges; until it has (or while the relay is
    // down), keep trying instead of dying as the original did.
    let mut pause = Duration::from_millis(200);
    loop {
        let attempt = async {
            relay.declare_agent_queue(queueloc).await?;
            relay.consume(&queue, 1).await
        };
        let result = tokio::select! {
            () = stop.cancelled() => return None,
            result = attempt => result,
        };
        match result {
            Ok(subscription) => return Some(subscription),
            Err(error) => {
                tracing::warn!(%error, queue = %queue, "cannot subscribe to the agent queue, retrying");
                tokio::select! {
                    () = stop.cancelled() => return None,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Publishes a returned command on `toschedulers`/`mig.agt.results`, retrying
/// while the relay is unavailable (up to ten heartbeat periods, the result's TTL).
async fn publish_result<R: Relay>(
    config: &AgentConfig,
    relay: &R,
    command: &Command,
    stop: &CancellationToken,
) {
    let body = command.to_json().into_bytes();
    let give_up = tokio::time::Instant::now() + config.heartbeat_freq.saturating_mul(10);
    let mut pause = Duration::from_millis(200);
    loop {
        let publish = relay.publish(
            EXCHANGE_TO_SCHEDULERS,
            QUEUE_RESULTS,
            body.clone(),
            PublishOptions {
                expiration_ms: Some(result_expiration_ms(config.heartbeat_freq)),
            },
        );
        let error = tokio::select! {
            () = stop.cancelled() => return,
            result = publish => match result {
                Ok(()) => {
                    tracing::info!(
                        command_id = %command.id,
                        action_id = %command.action.id,
                        status = %command.status.as_str(),
                        "result published"
                    );
                    return;
                }
                Err(error) => error,
            },
        };
        if tokio::time::Instant::now() >= give_up {
            tracing::error!(command_id = %command.id, action_id = %command.action.id, %error, "result lost");
            return;
        }
        tracing::warn!(command_id = %command.id, action_id = %command.action.id, %error, "result not published, retrying");
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn relay_hosts() {
        assert_eq!(
            relay_host_port("amqp://guest:guest@localhost:5672/mig"),
            Some(("localhost".into(), 5672))
        );
        assert_eq!(
            relay_host_port("amqps://a:b@relay.example.net/mig"),
            Some(("relay.example.net".into(), 5671))
        );
        assert_eq!(relay_host_port("http://x"), None);
    }
}
