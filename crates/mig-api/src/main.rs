//! `mig-api -c api.cfg [-d] [-V]`: loads the configuration, connects to
//! PostgreSQL and serves the API until SIGINT or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use mig_api::ApiConfig;
use mig_store::PgStore;

const USAGE: &str = "usage: mig-api [-c /etc/mig/api.cfg] [-d] [-V]";

struct Flags {
    config: String,
    debug: bool,
    version: bool,
}

fn parse_flags() -> anyhow::Result<Flags> {
    let mut flags = Flags {
        config: "/etc/mig/api.cfg".to_owned(),
        debug: false,
        version: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.trim_start_matches('-') {
            "c" => flags.config = args.next().context(USAGE)?,
            "d" => flags.debug = true,
            "V" => flags.version = true,
            other => match other.strip_prefix("c=") {
                Some(path) => flags.config = path.to_owned(),
                None => anyhow::bail!("unknown flag {arg}\n{USAGE}"),
            },
        }
    }
    Ok(flags)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

async fn run(flags: Flags) -> anyhow::Result<()> {
    let mut config = ApiConfig::load(&flags.config)?;
    if flags.debug {
        config.logging.level = "debug".to_owned();
        config.logging.mode = "stdout".to_owned();
    }
    let level = match config.logging.level.as_str() {
        "debug" => "debug",
        "info" | "notice" => "info",
        "warning" => "warn",
        "" => "off",
        _ => "error",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_ansi(false)
        .init();
    // `maxconn = 0` means unlimited in the original: a pool of 20 here.
    let pool_size = match config.postgres.max_conn {
        0 => 20,
        n => n,
    };
    let store = PgStore::connect(&config.postgres.url(), pool_size)
        .await
        .context("connecting to PostgreSQL")?;
    let address = format!("{}:{}", config.server.ip, config.server.port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    mig_api::serve(config, Arc::new(store), listener, shutdown_signal()).await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    let flags = match parse_flags() {
        Ok(flags) => flags,
        Err(error) => {
            println!("FATAL: {error:#}");
            std::process::exit(9);
        }
    };
    if flags.version {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if let Err(error) = run(flags).await {
        println!("FATAL: {error:#}");
        std::process::exit(9);
    }
}
