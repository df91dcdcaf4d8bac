//! [`AmqpRelay`]: AMQP 0-9-1 to RabbitMQ with lapin.
//!
//! One supervisor task owns the connection. It publishes the current
//! `Session` (connection, confirm-mode publishing channel, generation) in a
//! `watch` channel that every operation reads; operations issued while
//! disconnected wait for the next session, up to
//! [`AmqpConfig::unavailable_timeout`].
//!
//! ```text
//!            connect ok: re-declare remembered topology,
//!            publish Session (generation + 1)
//!  Connecting ──────────────────────────────────────────▶ Connected
//!     ▲  │ connect failed                                   │ connection lost
//!     │  ▼                                                  │ (event, failed op,
//!  Backoff (min → ×2 → max, jittered) ◀─────────────────────┘  status check)
//!
//!  any state ── close() or last handle dropped ──▶ Closed (connection closed,
//!                                                  subscriptions end)
//! ```
//!
//! Each subscription has its own task and channel (so its prefetch and its
//! unacknowledged deliveries are its own). When its consumer ends because the
//! connection went away, the task waits for the next session, consumes again
//! and keeps feeding the same [`Subscription`]; it ends the subscription only
//! when the relay closes or the queue no longer exists. Dropping the
//! subscription closes its channel, so the broker requeues what was not
//! acknowledged. A delivery must be acknowledged on the channel it came
//! from: once that channel is gone, acknowledging it is an error and the
//! broker redelivers the message.
//!
//! Declarations, passive declares and deletions run on short-lived channels,
//! because an AMQP error (a missing queue, a refused permission) closes the
//! channel it happens on.

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::tcp::{AsyncTcpStream, RustlsConnector};
use lapin::types::FieldTable;
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::{mpsc, watch};

use mig_protocol::relay::{
    CONTENT_TYPE, DELIVERY_MODE_PERSISTENT, EXCHANGE_TO_AGENTS, EXCHANGE_TO_SCHEDULERS,
    QUEUE_HEARTBEATS, QUEUE_RESULTS, agent_queue,
};

use crate::dial::dial;
use crate::relay::{
    Acker, Delivery, PublishOptions, QueueState, Relay, RelayError, RelayResult, Subscription,
};
use crate::tls::TlsConfig;

/// Buffer of a subscription with an unlimited prefetch. Small on purpose:
/// deliveries waiting here when their channel dies cannot be acknowledged and
/// come again, while those still in lapin's buffer are dropped by the pump.
const UNLIMITED_PREFETCH_BUFFER: usize = 16;

/// How often the supervisor double-checks the connection status, in case a
/// loss was not reported as an event.
const STATUS_CHECK: Duration = Duration::from_millis(500);

/// Connection parameters of an [`AmqpRelay`].
#[derive(Debug, Clone)]
pub struct AmqpConfig {
    /// `amqp://` or `amqps://user:pass@host:port/vhost`.
    pub url: String,
    /// Certificates of an `amqps` URL (required for it).
    pub tls: Option<TlsConfig>,
    /// The AMQP heartbeat interval (the agent uses twice its heartbeat period).
    pub heartbeat: Duration,
    /// Bound of each TCP connection attempt (direct or through a proxy) and,
    /// separately, of the AMQP handshake.
    pub connect_timeout: Duration,
    /// First delay between reconnection attempts; it doubles up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// Longest delay between reconnection attempts.
    pub reconnect_max: Duration,
    /// How long an operation issued while disconnected waits for the connection.
    pub unavailable_timeout: Duration,
    /// HTTP CONNECT proxies (`host:port`) tried in order before a direct connection.
    pub proxies: Vec<String>,
    /// The connection name shown by RabbitMQ.
    pub connection_name: Option<String>,
    /// The largest frame this side accepts (bytes, at least 4096); `None`
    /// takes the server's (RabbitMQ: 128 KiB). lapin keeps a send and a
    /// receive buffer of 32 frames each, filled with zeros when the
    /// connection is tuned: 8 MiB resident at RabbitMQ's frame size, 256 KiB
    /// at 4 KiB. Larger messages are split into more frames.
    pub frame_max: Option<u32>,
}

impl AmqpConfig {
    /// A configuration for `url` with the defaults of the original agent
    /// (heartbeat 600 s, dial timeout 5 s) and reconnection from 100 ms to 30 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            tls: None,
            heartbeat: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(30),
            unavailable_timeout: Duration::from_secs(30),
            proxies: Vec::new(),
            connection_name: None,
            frame_max: None,
        }
    }
}

/// A relay speaking AMQP 0-9-1 to RabbitMQ. Clones share one connection.
#[derive(Clone)]
pub struct AmqpRelay {
    inner: Arc<Inner>,
    /// Closes the relay when the last clone goes away.
    _owner: Arc<Owner>,
}

impl std::fmt::Debug for AmqpRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpRelay")
            .field("host", &self.inner.uri.authority.host)
            .field("vhost", &self.inner.uri.vhost)
            .finish_non_exhaustive()
    }
}

struct Owner(Arc<Inner>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.closed.send_replace(true);
    }
}

struct Inner {
    config: AmqpConfig,
    uri: AMQPUri,
    tls: Option<RustlsConnector>,
    /// The live session, `None` while disconnected.
    session: watch::Sender<Option<Arc<Session>>>,
    closed: watch::Sender<bool>,
    /// What was declared, to declare it again after a reconnection.
    topology: Mutex<Topology>,
    /// Why the last connection attempt failed, for `Unavailable` errors.
    last_error: Mutex<String>,
    /// Someone saw an operation fail in a way that suggests a lost connection.
    lost: tokio::sync::Notify,
    supervisor: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Default)]
struct Topology {
    scheduler: bool,
    agent_queues: BTreeSet<String>,
}

/// One connection and what lives on it.
struct Session {
    generation: u64,
    connection: Connection,
    /// The confirm-mode publishing channel; replaced when an error closes it.
    publisher: Mutex<Channel>,
    reopen_publisher: tokio::sync::Mutex<()>,
    /// Exchanges known to exist: a publish to a missing exchange would close
    /// the publishing channel (and fail every publish in flight on it), so
    /// the relay checks an exchange once with a passive declare.
    known_exchanges: Mutex<HashSet<String>>,
    checking_exchange: tokio::sync::Mutex<()>,
    /// The proxy the connection goes through.
    proxy: Option<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why an operation on a session failed.
enum Failure {
    /// The broker's answer: do not retry.
    Final(RelayError),
    /// The connection (or the channel) went away: retry on a live session.
    Retry(String),
}

impl Session {
    fn connected(&self) -> bool {
        self.connection.status().connected()
    }

    fn classify(&self, operation: &str, error: lapin::Error) -> Failure {
        if let lapin::ErrorKind::ProtocolError(amqp) = error.kind()
            && matches!(amqp.kind(), AMQPErrorKind::Soft(_))
        {
            return Failure::Final(RelayError::Refused {
                operation: operation.to_string(),
                reason: amqp.to_string(),
            });
        }
        Failure::Retry(format!("{operation}: {error}"))
    }

    /// Runs `f` on a fresh channel that is closed afterwards.
    async fn on_channel<T, F, Fut>(&self, f: F) -> lapin::Result<T>
    where
        F: FnOnce(Channel) -> Fut,
        Fut: Future<Output = lapin::Result<T>>,
    {
        let channel = self.connection.create_channel().await?;
        let result = f(channel.clone()).await;
        if channel.status().connected() {
            let _ = channel.close(200, "done".into()).await;
        }
        result
    }

    async fn declare_scheduler_topology(&self) -> Result<(), Failure> {
        self.on_channel(|channel| async move {
            let durable = ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            };
            for exchange in [EXCHANGE_TO_AGENTS, EXCHANGE_TO_SCHEDULERS] {
                channel
                    .exchange_declare(
                        exchange.into(),
                        ExchangeKind::Direct,
                        durable,
                        FieldTable::default(),
                    )
                    .await?;
            }
            for queue in [QUEUE_RESULTS, QUEUE_HEARTBEATS] {
                channel
                    .queue_declare(
                        queue.into(),
                        QueueDeclareOptions::durable(),
                        FieldTable::default(),
                    )
                    .await?;
                channel
                    .queue_bind(
                        queue.into(),
                        EXCHANGE_TO_SCHEDULERS.into(),
                        queue.into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            }
            Ok(())
        })
        .await
        .map_err(|error| self.classify("declare scheduler topology", error))
    }

    async fn declare_agent_queue(&self, queue: &str) -> Result<(), Failure> {
        self.on_channel(|channel| async move {
            channel
                .queue_declare(
                    queue.into(),
                    QueueDeclareOptions::durable(),
                    FieldTable::default(),
                )
                .await?;
            channel
                .queue_bind(
                    queue.into(),
                    EXCHANGE_TO_AGENTS.into(),
                    queue.into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
        })
        .await
        .map_err(|error| self.classify(&format!("declare {queue}"), error))
    }

    async fn publisher(&self) -> Result<Channel, Failure> {
        let channel = lock(&self.publisher).clone();
        if channel.status().connected() {
            return Ok(channel);
        }
        let _reopening = self.reopen_publisher.lock().await;
        let channel = lock(&self.publisher).clone();
        if channel.status().connected() {
            return Ok(channel);
        }
        let channel = open_publisher(&self.connection)
            .await
            .map_err(|error| self.classify("open publishing channel", error))?;
        *lock(&self.publisher) = channel.clone();
        Ok(channel)
    }

    async fn check_exchange(&self, exchange: &str) -> Result<(), Failure> {
        if exchange.is_empty() || lock(&self.known_exchanges).contains(exchange) {
            return Ok(());
        }
        // One check at a time, so a burst of publishes makes one passive declare.
        let _checking = self.checking_exchange.lock().await;
        if lock(&self.known_exchanges).contains(exchange) {
            return Ok(());
        }
        self.on_channel(|channel| async move {
            let passive = ExchangeDeclareOptions {
                passive: true,
                ..ExchangeDeclareOptions::default()
            };
            channel
                .exchange_declare(
                    exchange.into(),
                    ExchangeKind::Direct,
                    passive,
                    FieldTable::default(),
                )
                .await
        })
        .await
        .map_err(|error| self.classify(&format!("publish to {exchange}"), error))?;
        lock(&self.known_exchanges).insert(exchange.to_string());
        Ok(())
    }

    async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        options: &PublishOptions,
    ) -> Result<(), Failure> {
        self.check_exchange(exchange).await?;
        let channel = self.publisher().await?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let mut properties = BasicProperties::default()
            .with_delivery_mode(DELIVERY_MODE_PERSISTENT)
            .with_content_type(CONTENT_TYPE.into())
            .with_timestamp(timestamp);
        if let Some(expiration_ms) = options.expiration_ms {
            properties = properties.with_expiration(expiration_ms.to_string().into());
        }
        let operation = format!("publish to {exchange}/{routing_key}");
        let confirm = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                },
                body,
                properties,
            )
            .await
            .map_err(|error| self.classify(&operation, error))?;
        let confirmation = confirm
            .await
            .map_err(|error| self.classify(&operation, error))?;
        let not_confirmed = |reason: String| {
            Failure::Final(RelayError::NotConfirmed {
                exchange: exchange.to_string(),
                routing_key: routing_key.to_string(),
                reason,
            })
        };
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) => Err(not_confirmed(format!(
                "returned by the broker: {} {}",
                returned.reply_code, returned.reply_text
            ))),
            Confirmation::Nack(_) => Err(not_confirmed("nacked by the broker".to_string())),
            Confirmation::NotRequested => Err(not_confirmed(
                "the publishing channel is not in confirm mode".to_string(),
            )),
        }
    }

    async fn open_consumer(
        &self,
        queue: &str,
        prefetch: u16,
    ) -> Result<(Channel, lapin::Consumer), Failure> {
        let operation = format!("consume {queue}");
        let channel = self
            .connection
            .create_channel()
            .await
            .map_err(|error| self.classify(&operation, error))?;
        let consumer = async {
            channel
                .basic_qos(prefetch, BasicQosOptions { global: false })
                .await?;
            channel
                .basic_consume(
                    queue.into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
        }
        .await
        .map_err(|error| self.classify(&operation, error))?;
        Ok((channel, consumer))
    }

    async fn queue_state(&self, queue: &str) -> Result<Option<QueueState>, Failure> {
        let result = self
            .on_channel(|channel| async move {
                channel
                    .queue_declare(
                        queue.into(),
                        QueueDeclareOptions::default().passive(),
                        FieldTable::default(),
                    )
                    .await
            })
            .await;
        match result {
            Ok(declared) => Ok(Some(QueueState {
                messages: u64::from(declared.message_count()),
                consumers: u64::from(declared.consumer_count()),
            })),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(self.classify(&format!("queue state of {queue}"), error)),
        }
    }

    async fn delete_queue(&self, queue: &str) -> Result<(), Failure> {
        let result = self
            .on_channel(|channel| async move {
                channel
                    .queue_delete(queue.into(), QueueDeleteOptions::default())
                    .await
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(error) => Err(self.classify(&format!("delete {queue}"), error)),
        }
    }
}

async fn open_publisher(connection: &Connection) -> lapin::Result<Channel> {
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok(channel)
}

fn is_not_found(error: &lapin::Error) -> bool {
    matches!(
        error.kind(),
        lapin::ErrorKind::ProtocolError(amqp)
            if *amqp.kind() == AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND)
    )
}

impl AmqpRelay {
    /// Checks the configuration and starts connecting in the background; the
    /// supervisor keeps retrying with backoff. Only a bad configuration is an
    /// error. Must be called within a tokio runtime.
    pub fn connect(config: AmqpConfig) -> RelayResult<Self> {
        let mut uri: AMQPUri = config
            .url
            .parse()
            .map_err(|error| RelayError::Config(format!("bad relay url: {error}")))?;
        let heartbeat = u16::try_from(config.heartbeat.as_secs()).unwrap_or(u16::MAX);
        uri.query.heartbeat = Some(heartbeat);
        if let Some(frame_max) = config.frame_max {
            uri.query.frame_max = Some(frame_max.max(4096));
        }
        let tls = match (&uri.scheme, &config.tls) {
            (AMQPScheme::AMQPS, Some(tls)) => Some(RustlsConnector::from(tls.client_config()?)),
            (AMQPScheme::AMQPS, None) => {
                return Err(RelayError::Config(
                    "an amqps url needs a tls configuration".to_string(),
                ));
            }
            (AMQPScheme::AMQP, _) => None,
        };
        if config.reconnect_min.is_zero() || config.reconnect_max < config.reconnect_min {
            return Err(RelayError::Config(
                "reconnect backoff must satisfy 0 < min <= max".to_string(),
            ));
        }
        let inner = Arc::new(Inner {
            config,
            uri,
            tls,
            session: watch::Sender::new(None),
            closed: watch::Sender::new(false),
            topology: Mutex::new(Topology::default()),
            last_error: Mutex::new("not connected yet".to_string()),
            lost: tokio::sync::Notify::new(),
            supervisor: Mutex::new(None),
        });
        let supervisor = tokio::spawn(supervise(Arc::clone(&inner)));
        *lock(&inner.supervisor) = Some(supervisor);
        Ok(Self {
            _owner: Arc::new(Owner(Arc::clone(&inner))),
            inner,
        })
    }

    /// Like [`connect`](Self::connect), then waits up to `timeout` for the
    /// first connection; the error says why it could not be made.
    pub async fn connect_and_wait(config: AmqpConfig, timeout: Duration) -> RelayResult<Self> {
        let relay = Self::connect(config)?;
        relay.wait_connected(timeout).await?;
        Ok(relay)
    }

    /// Waits up to `timeout` for a live connection.
    pub async fn wait_connected(&self, timeout: Duration) -> RelayResult<()> {
        self.inner
            .session_until(Some(Instant::now() + timeout), 0)
            .await
            .map(|_| ())
    }

    /// Whether the relay is connected now.
    pub fn is_connected(&self) -> bool {
        self.inner
            .session
            .borrow()
            .as_ref()
            .is_some_and(|session| session.connected())
    }

    /// How many connections were made so far (1 after the first connection).
    pub fn generation(&self) -> u64 {
        self.inner
            .session
            .borrow()
            .as_ref()
            .map_or(0, |session| session.generation)
    }

    /// The proxy (`host:port`) the current connection goes through, if any.
    pub fn proxy_in_use(&self) -> Option<String> {
        self.inner
            .session
            .borrow()
            .as_ref()
            .and_then(|session| session.proxy.clone())
    }
}

impl Inner {
    fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    fn unavailable(&self) -> RelayError {
        if self.is_closed() {
            RelayError::Unavailable("relay closed".to_string())
        } else {
            RelayError::Unavailable(lock(&self.last_error).clone())
        }
    }

    /// The live session of generation `min_generation` or later, waiting
    /// until `deadline` (`None`: until the relay closes).
    async fn session_until(
        &self,
        deadline: Option<Instant>,
        min_generation: u64,
    ) -> RelayResult<Arc<Session>> {
        let mut sessions = self.session.subscribe();
        let mut closed = self.closed.subscribe();
        let wait = async {
            tokio::select! {
                session = sessions.wait_for(|session| {
                    session.as_ref().is_some_and(|s| s.generation >= min_generation)
                }) => session.ok().and_then(|session| session.clone()),
                _ = closed.wait_for(|closed| *closed) => None,
            }
        };
        let session = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.into(), wait)
                .await
                .ok()
                .flatten(),
            None => wait.await,
        };
        session.ok_or_else(|| self.unavailable())
    }

    /// Runs `operation` on a live session, retrying on a new one when the
    /// connection goes away, until `unavailable_timeout` has passed.
    async fn run<T, F, Fut>(&self, operation: F) -> RelayResult<T>
    where
        F: Fn(Arc<Session>) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let deadline = Instant::now() + self.config.unavailable_timeout;
        let mut min_generation = 0;
        loop {
            if self.is_closed() {
                return Err(self.unavailable());
            }
            let session = self.session_until(Some(deadline), min_generation).await?;
            match operation(Arc::clone(&session)).await {
                Ok(value) => return Ok(value),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Retry(reason)) => {
                    tracing::debug!(%reason, "relay operation interrupted, retrying");
                    if Instant::now() >= deadline {
                        return Err(RelayError::Unavailable(reason));
                    }
                    if session.connected() {
                        // Only the channel died: retry on this connection, gently.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    } else {
                        self.lost.notify_one();
                        min_generation = session.generation + 1;
                    }
                }
            }
        }
    }

    async fn open_connection(&self) -> Result<(Connection, Option<String>), String> {
        let host = self.uri.authority.host.clone();
        let port = self.uri.authority.port;
        let proxies = self.config.proxies.clone();
        let dial_timeout = self.config.connect_timeout;
        let tls = self.tls.clone();
        let used_proxy = Arc::new(Mutex::new(None));
        let used = Arc::clone(&used_proxy);
        let runtime = lapin::runtime::default_runtime().map_err(|error| error.to_string())?;
        let mut properties = ConnectionProperties::default();
        if let Some(name) = &self.config.connection_name {
            properties = properties.with_connection_name(name.clone().into());
        }
        let connect = Connection::connector(
            self.uri.clone(),
            runtime,
            async move |_uri, _runtime| {
                let dialed = dial(&host, port, &proxies, dial_timeout).await?;
                *lock(&used) = dialed.proxy.clone();
                let stream = AsyncTcpStream::Plain(async_compat::Compat::new(dialed.stream));
                match &tls {
                    Some(connector) => Ok(stream.into_rustls(connector, &host).await?),
                    None => Ok(stream),
                }
            },
            properties,
        );
        let connection = tokio::time::timeout(self.config.connect_timeout * 2, connect)
            .await
            .map_err(|_| "amqp handshake timed out".to_string())?
            .map_err(|error| error.to_string())?;
        let proxy = lock(&used_proxy).clone();
        Ok((connection, proxy))
    }

    async fn open_session(&self, generation: u64) -> Result<Arc<Session>, String> {
        let (connection, proxy) = self.open_connection().await?;
        let publisher = open_publisher(&connection)
            .await
            .map_err(|error| format!("open publishing channel: {error}"))?;
        let session = Arc::new(Session {
            generation,
            connection,
            publisher: Mutex::new(publisher),
            reopen_publisher: tokio::sync::Mutex::new(()),
            known_exchanges: Mutex::new(HashSet::new()),
            checking_exchange: tokio::sync::Mutex::new(()),
            proxy,
        });
        let (scheduler, agent_queues) = {
            let topology = lock(&self.topology);
            (topology.scheduler, topology.agent_queues.clone())
        };
        if scheduler && let Err(failure) = session.declare_scheduler_topology().await {
            return Err(failure_text(failure));
        }
        for queue in agent_queues {
            match session.declare_agent_queue(&queue).await {
                Ok(()) => {}
                Err(Failure::Final(error)) => {
                    tracing::warn!(%queue, %error, "agent queue not re-declared");
                }
                Err(failure) => return Err(failure_text(failure)),
            }
        }
        Ok(session)
    }

    /// Resolves when `session`'s connection is gone (or the relay closes).
    async fn wait_lost(&self, session: &Session) {
        let mut events = session.connection.events_listener();
        let mut closed = self.closed.subscribe();
        let mut status_check = tokio::time::interval(STATUS_CHECK);
        let mut events_open = true;
        loop {
            tokio::select! {
                _ = closed.wait_for(|closed| *closed) => return,
                event = events.next(), if events_open => {
                    if let Some(lapin::Event::Error(error)) = &event {
                        tracing::debug!(%error, "relay connection event");
                    }
                    events_open = event.is_some();
                }
                () = self.lost.notified() => {}
                _ = status_check.tick() => {}
            }
            if !session.connected() {
                return;
            }
        }
    }
}

fn failure_text(failure: Failure) -> String {
    match failure {
        Failure::Final(error) => error.to_string(),
        Failure::Retry(reason) => reason,
    }
}

fn jittered(backoff: Duration) -> Duration {
    // Between half and all of the backoff, so reconnecting clients spread out.
    backoff.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

/// The supervisor: connects, publishes the session, waits for its loss, reconnects.
async fn supervise(inner: Arc<Inner>) {
    let mut backoff = inner.config.reconnect_min;
    let mut generation = 0;
    let mut closed = inner.closed.subscribe();
    loop {
        if inner.is_closed() {
            break;
        }
        let attempt = tokio::select! {
            attempt = inner.open_session(generation + 1) => attempt,
            _ = closed.wait_for(|closed| *closed) => break,
        };
        match attempt {
            Ok(session) => {
                generation += 1;
                backoff = inner.config.reconnect_min;
                tracing::info!(generation, proxy = ?session.proxy, "connected to the relay");
                inner.session.send_replace(Some(Arc::clone(&session)));
                inner.wait_lost(&session).await;
                inner.session.send_replace(None);
                if inner.is_closed() {
                    if session.connected() {
                        let _ = session.connection.close(200, "relay closed".into()).await;
                    }
                    break;
                }
                *lock(&inner.last_error) = "connection to the relay lost".to_string();
                tracing::warn!(generation, "connection to the relay lost, reconnecting");
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "cannot connect to the relay");
                *lock(&inner.last_error) = format!("cannot connect to the relay: {error}");
                let delay = jittered(backoff);
                backoff = (backoff * 2).min(inner.config.reconnect_max);
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = closed.wait_for(|closed| *closed) => break,
                }
            }
        }
    }
    inner.session.send_replace(None);
}

/// Settles a delivery on the channel it came from.
struct AmqpAcker {
    acker: lapin::Acker,
}

fn settled(result: lapin::Result<bool>, what: &str) -> RelayResult<()> {
    match result {
        Ok(true) => Ok(()),
        Ok(false) => Err(RelayError::Unavailable(format!(
            "cannot {what}: the delivery's channel is closed; the broker redelivers the message"
        ))),
        Err(error) => Err(RelayError::Unavailable(format!("cannot {what}: {error}"))),
    }
}

impl Acker for AmqpAcker {
    fn ack(self: Box<Self>) -> Pin<Box<dyn Future<Output = RelayResult<()>> + Send>> {
        Box::pin(async move { settled(self.acker.ack(BasicAckOptions::default()).await, "ack") })
    }

    fn ack_multiple(self: Box<Self>) -> Pin<Box<dyn Future<Output = RelayResult<()>> + Send>> {
        Box::pin(async move {
            settled(
                self.acker.ack(BasicAckOptions { multiple: true }).await,
                "ack",
            )
        })
    }

    fn reject(
        self: Box<Self>,
        requeue: bool,
    ) -> Pin<Box<dyn Future<Output = RelayResult<()>> + Send>> {
        Box::pin(async move {
            settled(
                self.acker.reject(BasicRejectOptions { requeue }).await,
                "reject",
            )
        })
    }
}

/// Feeds one subscription, across reconnections.
async fn pump(
    inner: Arc<Inner>,
    queue: String,
    prefetch: u16,
    sender: mpsc::Sender<Delivery>,
    first: (Arc<Session>, Channel, lapin::Consumer),
) {
    let mut closed = inner.closed.subscribe();
    let mut current = Some(first);
    let mut min_generation = 0;
    loop {
        let (session, channel, mut consumer) = match current.take() {
            Some(consumer) => consumer,
            None => {
                let session = tokio::select! {
                    session = inner.session_until(None, min_generation) => match session {
                        Ok(session) => session,
                        Err(_) => return,
                    },
                    () = sender.closed() => return,
                };
                match session.open_consumer(&queue, prefetch).await {
                    Ok((channel, consumer)) => {
                        tracing::info!(%queue, generation = session.generation, "consumer re-created");
                        (session, channel, consumer)
                    }
                    Err(Failure::Final(error)) => {
                        tracing::warn!(%queue, %error, "consumer cannot be re-created, subscription ends");
                        return;
                    }
                    Err(Failure::Retry(reason)) => {
                        tracing::debug!(%queue, %reason, "consumer not re-created yet");
                        if session.connected() {
                            tokio::time::sleep(inner.config.reconnect_min).await;
                        } else {
                            inner.lost.notify_one();
                            min_generation = session.generation + 1;
                        }
                        continue;
                    }
                }
            }
        };
        loop {
            let item = tokio::select! {
                item = consumer.next() => Some(item),
                () = sender.closed() => None,
                _ = closed.wait_for(|closed| *closed) => return,
            };
            let Some(item) = item else {
                // The subscription was dropped: closing the channel makes the
                // broker requeue what it did not acknowledge.
                if channel.status().connected() {
                    let _ = channel.close(200, "subscription dropped".into()).await;
                }
                return;
            };
            match item {
                Some(Ok(delivery)) if !delivery.acker.usable() => {
                    // Its channel is gone: it cannot be acknowledged and the
                    // broker redelivers it, so do not hand it out.
                    tracing::trace!(%queue, "delivery of a closed channel skipped");
                }
                Some(Ok(delivery)) => {
                    let delivery = Delivery {
                        body: delivery.data,
                        redelivered: delivery.redelivered,
                        acker: Box::new(AmqpAcker {
                            acker: delivery.acker,
                        }),
                    };
                    let sent = tokio::select! {
                        sent = sender.send(delivery) => sent.is_ok(),
                        _ = closed.wait_for(|closed| *closed) => return,
                    };
                    if !sent {
                        let _ = channel.close(200, "subscription dropped".into()).await;
                        return;
                    }
                }
                Some(Err(error)) => {
                    tracing::debug!(%queue, %error, "consumer failed");
                    break;
                }
                None => break,
            }
        }
        if session.connected() {
            // The consumer was cancelled (queue deleted?) or its channel closed:
            // try again on this connection, which ends the subscription if the
            // queue is gone.
            tokio::time::sleep(inner.config.reconnect_min).await;
            min_generation = session.generation;
        } else {
            inner.lost.notify_one();
            min_generation = session.generation + 1;
        }
    }
}

impl Relay for AmqpRelay {
    async fn declare_scheduler_topology(&self) -> RelayResult<()> {
        lock(&self.inner.topology).scheduler = true;
        self.inner
            .run(|session| async move { session.declare_scheduler_topology().await })
            .await
    }

    async fn declare_agent_queue(&self, queueloc: &str) -> RelayResult<()> {
        let queue = agent_queue(queueloc);
        let name = queue.as_str();
        self.inner
            .run(|session| async move { session.declare_agent_queue(name).await })
            .await?;
        lock(&self.inner.topology).agent_queues.insert(queue);
        Ok(())
    }

    async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        options: PublishOptions,
    ) -> RelayResult<()> {
        let (body, options) = (&body, &options);
        self.inner
            .run(|session| async move {
                session.publish(exchange, routing_key, body, options).await
            })
            .await
    }

    async fn consume(&self, queue: &str, prefetch: u16) -> RelayResult<Subscription> {
        let (session, channel, consumer) = self
            .inner
            .run(|session| async move {
                let (channel, consumer) = session.open_consumer(queue, prefetch).await?;
                Ok((session, channel, consumer))
            })
            .await?;
        let capacity = if prefetch == 0 {
            UNLIMITED_PREFETCH_BUFFER
        } else {
            usize::from(prefetch)
        };
        let (sender, receiver) = mpsc::channel(capacity);
        tokio::spawn(pump(
            Arc::clone(&self.inner),
            queue.to_string(),
            prefetch,
            sender,
            (session, channel, consumer),
        ));
        Ok(Subscription {
            receiver,
            on_drop: None,
        })
    }

    async fn queue_state(&self, queue: &str) -> RelayResult<Option<QueueState>> {
        self.inner
            .run(|session| async move { session.queue_state(queue).await })
            .await
    }

    async fn delete_queue(&self, queue: &str) -> RelayResult<()> {
        let result = self
            .inner
            .run(|session| async move { session.delete_queue(queue).await })
            .await;
        lock(&self.inner.topology).agent_queues.remove(queue);
        result
    }

    async fn close(&self) {
        self.inner.closed.send_replace(true);
        let supervisor = lock(&self.inner.supervisor).take();
        if let Some(supervisor) = supervisor {
            let _ = tokio::time::timeout(Duration::from_secs(5), supervisor).await;
        }
    }
}
