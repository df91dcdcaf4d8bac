//! `mig-scheduler [-c /etc/mig/scheduler.cfg] [-V]`: the scheduler daemon on
//! PostgreSQL and RabbitMQ. Fatal initialisation errors exit with status 9, as
//! the original.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use mig_relay::{AmqpConfig, AmqpRelay, TlsConfig};
use mig_scheduler::{SchedulerConfig, Tuning};
use mig_store::{PgConfig, PgStore};
use tokio_util::sync::CancellationToken;

const USAGE: &str = "usage: mig-scheduler [-c /etc/mig/scheduler.cfg] [-V]";

fn main() -> ExitCode {
    let mut config_path = String::from("/etc/mig/scheduler.cfg");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.trim_start_matches('-') {
            "c" => match args.next() {
                Some(path) => config_path = path,
                None => {
                    eprintln!("flag needs an argument: -c\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "V" => {
                println!("{}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "h" | "help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("flag provided but not defined: {arg}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let config = match SchedulerConfig::load(std::path::Path::new(&config_path)) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("FATAL: {err}");
            return ExitCode::from(9);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("FATAL: cannot start the runtime: {err}");
            return ExitCode::from(9);
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("FATAL: {err:#}");
            ExitCode::from(9)
        }
    }
}

fn init_logging(config: &SchedulerConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{},sqlx=warn,lapin=warn", config.logging.level))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match config
        .logging
        .file
        .as_ref()
        .filter(|_| config.logging.mode == "file")
    {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => builder.with_writer(std::sync::Mutex::new(file)).init(),
            Err(err) => {
                builder.init();
                tracing::warn!(path = %path.display(), error = %err, "cannot open the log file, logging to stdout");
            }
        },
        None => builder.init(),
    }
}

async fn serve(config: SchedulerConfig) -> anyhow::Result<()> {
    let store = PgStore::connect_with(PgConfig::new(
        config.postgres.url(),
        config.postgres.max_conn,
    ))
    .await
    .context("connecting to PostgreSQL")?;
    store.migrate().await.context("migrating the database")?;
    let mut relay_config = AmqpConfig::new(config.mq.url());
    relay_config.heartbeat = config.mq.timeout;
    relay_config.connect_timeout = config.mq.timeout.min(std::time::Duration::from_secs(30));
    relay_config.connection_name = Some(format!("mig-scheduler {}", std::process::id()));
    if config.mq.use_tls {
        let (Some(ca), Some(cert), Some(key)) =
            (&config.mq.ca_cert, &config.mq.tls_cert, &config.mq.tls_key)
        else {
            anyhow::bail!("usetls is on but cacert, tlscert or tlskey is missing");
        };
        relay_config.tls = Some(TlsConfig::from_files(ca, cert, key)?);
    }
    let relay = AmqpRelay::connect(relay_config).context("configuring the relay")?;
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signal.cancel();
    });
    tracing::info!(database = %config.postgres.dbname, relay = %config.mq.host, "mig-scheduler started");
    let tuning = Tuning {
        claim_lease: config.lease,
        outbox_lease: config.lease.min(std::time::Duration::from_secs(30)),
        ..Tuning::default()
    };
    mig_scheduler::run(config, tuning, Arc::new(store), relay, shutdown).await?;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
