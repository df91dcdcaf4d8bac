//! The platform in one process: state, store, relay, API, scheduler, agent,
//! then the first investigation and the serving loop until a signal.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mig_protocol::pgp::Signer;
use mig_protocol::status::InvestigatorStatus;
use mig_protocol::{GoTime, Investigator, Permissions};
use mig_relay::{MemoryRelay, Relay};
use mig_store::{SqliteStore, Store};
use tokio_util::sync::CancellationToken;

use crate::state::{self, State};

/// How long the agent may take to be online before the quickstart gives up.
const ONLINE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the services may take to stop after a signal.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The seed's first investigation, as typed by an investigator.
pub const FIRST_INVESTIGATION: &[&str] = &[
    "file",
    "-t",
    "allonline",
    "-path",
    "/etc",
    "-name",
    "^passwd$",
    "-content",
    "^root",
];

/// What `main` parsed.
pub struct Options {
    pub listen: String,
    pub state: PathBuf,
    /// When the process started (the finding's delay is measured from it).
    pub started: Instant,
}

/// Sets up the state directory and logging, then runs the platform.
pub fn main(options: Options) -> anyhow::Result<()> {
    let state = State::open(&options.state)?;
    println!("mig-quickstart: state directory {}", state.dir.display());
    init_logging(&state.log())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let outcome = runtime.block_on(run(&state, &options));
    // Blocking work still running (a module child being waited for) must not
    // hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(2));
    outcome
}

fn init_logging(path: &Path) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .init();
    Ok(())
}

/// The first failure of a service, which stops all of them.
#[derive(Clone, Default)]
struct Failure(Arc<Mutex<Option<String>>>);

impl Failure {
    fn record(&self, what: &str, error: impl std::fmt::Display) {
        let message = format!("{what}: {error}");
        tracing::error!("{message}");
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(message);
        }
    }

    fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Spawns a service; when it ends before the shutdown (or with an error), the
/// failure is recorded and everything stops.
fn spawn_service<E: std::fmt::Display>(
    what: &'static str,
    service: impl Future<Output = Result<(), E>> + Send + 'static,
    shutdown: &CancellationToken,
    failure: &Failure,
) -> tokio::task::JoinHandle<()> {
    let shutdown = shutdown.clone();
    let failure = failure.clone();
    tokio::spawn(async move {
        let outcome = service.await;
        match outcome {
            Err(error) => failure.record(what, error),
            Ok(()) if !shutdown.is_cancelled() => failure.record(what, "stopped unexpectedly"),
            Ok(()) => tracing::info!("{what} stopped"),
        }
        shutdown.cancel();
    })
}

async fn signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("cannot install the signal handlers");
        return;
    };
    let name = tokio::select! {
        _ = interrupt.recv() => "interrupt",
        _ = terminate.recv() => "terminate",
        () = shutdown.cancelled() => return,
    };
    tracing::info!("{name}: stopping");
    shutdown.cancel();
    println!("mig-quickstart: {name} received, stopping");
}

async fn run(state: &State, options: &Options) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    tokio::spawn(signals(shutdown.clone()));

    // Trust material, configuration files.
    let (signer, new_key) = state.investigator_key()?;
    let fingerprint = signer.fingerprint();
    let listener = tokio::net::TcpListener::bind(&options.listen)
        .await
        .with_context(|| format!("cannot listen on {} (-listen)", options.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the API's address")?;
    let host = format!("http://{address}");
    let api_url = format!("{host}/api/v1/");
    state.write_files(&signer, &api_url)?;
    println!(
        "mig-quickstart: investigator key {fingerprint} ({}, {})",
        if new_key { "generated" } else { "reused" },
        state.secret_key().display()
    );

    // The store, the investigator.
    let database = state.database();
    let database_text = database
        .to_str()
        .with_context(|| format!("the database path {} is not UTF-8", database.display()))?;
    let store = Arc::new(
        SqliteStore::open(database_text)
            .await
            .with_context(|| format!("cannot open the database {}", database.display()))?,
    );
    let (investigator_id, new_investigator) = ensure_investigator(store.as_ref(), &signer).await?;
    println!(
        "mig-quickstart: investigator {:?} id {investigator_id} ({}), admin",
        state::INVESTIGATOR_NAME,
        if new_investigator {
            "created"
        } else {
            "reused"
        },
    );

    // The relay, the API, the scheduler.
    let relay = MemoryRelay::new();
    relay
        .declare_scheduler_topology()
        .await
        .context("cannot declare the relay topology")?;
    let failure = Failure::default();
    let mut services = Vec::new();
    let mut api_config = mig_api::ApiConfig::for_tests();
    api_config.server.host = host.clone();
    api_config.server.ip = address.ip().to_string();
    api_config.server.port = address.port();
    let api_shutdown = shutdown.clone();
    services.push(spawn_service(
        "api",
        mig_api::serve(api_config, store.clone(), listener, async move {
            api_shutdown.cancelled().await
        }),
        &shutdown,
        &failure,
    ));
    println!("mig-quickstart: API listening on {api_url}");
    let scheduler_config = mig_scheduler::SchedulerConfig::parse(
        "quickstart scheduler.cfg",
        &format!(
            "[agent]\n    heartbeatfreq = \"{}s\"\n    detectmultiagents = false\n    killdupagents = false\n",
            state::HEARTBEAT.as_secs()
        ),
    )
    .context("scheduler configuration")?;
    services.push(spawn_service(
        "scheduler",
        mig_scheduler::run(
            scheduler_config,
            mig_scheduler::Tuning::default(),
            store.clone(),
            relay.clone(),
            shutdown.clone(),
        ),
        &shutdown,
        &failure,
    ));

    // The agent.
    let agent_config_file = state.agent_config();
    let agent_config = mig_agent::AgentConfig::load(&agent_config_file)?;
    let agent_id = mig_agent::identity::load_or_create_id(&agent_config.run_dir)?;
    let queueloc = mig_agent::identity::queueloc(&agent_id);
    let hostname = tokio::task::spawn_blocking(mig_agent::environment::hostname)
        .await
        .unwrap_or_else(|_| "localhost".to_owned());
    services.push(spawn_service(
        "agent",
        mig_agent::agent::run_with_relay(
            agent_config,
            mig_agent::RunOptions {
                mode: mig_agent::Mode::Daemon,
                config_file: Some(agent_config_file),
            },
            hostname.clone(),
            relay.clone(),
            Arc::new(|| None),
            shutdown.clone(),
        ),
        &shutdown,
        &failure,
    ));
    println!(
        "mig-quickstart: agent {queueloc} on {hostname} (configuration {})",
        state.agent_config().display()
    );

    // The first investigation, once the agent is online; then serve until a signal.
    let work = async {
        let online = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            online = wait_online(&store, &queueloc) => online?,
        };
        retire_other_agents(&store, online).await?;
        if let Some(elapsed) = first_investigation(state, &shutdown, options.started).await? {
            println!(
                "mig-quickstart: first investigation finished {} ms after start",
                elapsed.as_millis()
            );
            print_next_steps(state, &api_url);
        }
        shutdown.cancelled().await;
        anyhow::Ok(())
    };
    let outcome = work.await;

    // Stop.
    shutdown.cancel();
    for service in services {
        if tokio::time::timeout(STOP_TIMEOUT, service).await.is_err() {
            tracing::warn!("a service did not stop in time");
        }
    }
    store.pool().close().await;
    println!("mig-quickstart: stopped");
    outcome?;
    if let Some(message) = failure.take() {
        bail!("{message} (logs: {})", state.log().display());
    }
    Ok(())
}

/// Marks every agent row but `own` offline: rows of previous runs (this
/// process is the only agent). Done once the new row is online, so that the
/// scheduler never sees the queueloc without a live row: its queue clean-up
/// would delete the queue the agent consumes.
async fn retire_other_agents(store: &SqliteStore, own: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE agents SET status = 'offline' WHERE id <> ?1 AND status IN ('online', 'idle')",
    )
    .bind(own)
    .execute(store.pool())
    .await
    .context("cannot mark the agents of previous runs offline")?;
    Ok(())
}

/// The investigator of `signer`: found by fingerprint, or inserted as an active
/// admin with every permission. Returns its id and whether it was inserted.
async fn ensure_investigator(
    store: &SqliteStore,
    signer: &mig_protocol::pgp::SecretKeySigner,
) -> anyhow::Result<(mig_protocol::Id, bool)> {
    let fingerprint = signer.fingerprint().to_uppercase();
    if let Some(existing) = store
        .investigator_by_fingerprint(&fingerprint)
        .await
        .context("cannot look the investigator up")?
    {
        if existing.status != InvestigatorStatus::Active {
            store
                .set_investigator_status(existing.id, "active")
                .await
                .context("cannot reactivate the investigator")?;
        }
        if existing.permissions != Permissions::ALL {
            store
                .set_investigator_permissions(existing.id, Permissions::ALL)
                .await
                .context("cannot restore the investigator's permissions")?;
        }
        return Ok((existing.id, false));
    }
    let public = signer
        .public_key()
        .to_armored()
        .context("cannot armor the investigator's public key")?;
    let now = GoTime::now();
    let investigator = Investigator {
        name: state::INVESTIGATOR_NAME.to_owned(),
        pgpfingerprint: fingerprint,
        publickey: public.into_bytes(),
        status: InvestigatorStatus::Active,
        createdat: now,
        lastmodified: now,
        permissions: Permissions::ALL,
        ..Investigator::default()
    };
    let id = store
        .insert_investigator(&investigator)
        .await
        .context("cannot insert the investigator")?;
    Ok((id, true))
}

/// Waits until the heartbeat of this process's agent has made its row
/// `online`; returns the row's id.
async fn wait_online(store: &SqliteStore, queueloc: &str) -> anyhow::Result<i64> {
    let deadline = Instant::now() + ONLINE_TIMEOUT;
    let pid = i64::from(std::process::id());
    loop {
        let row: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM agents WHERE queueloc = ?1 AND pid = ?2 AND status = 'online'",
        )
        .bind(queueloc.to_owned())
        .bind(pid)
        .fetch_optional(store.pool())
        .await
        .context("cannot read the agents")?;
        if let Some(id) = row {
            return Ok(id);
        }
        if Instant::now() > deadline {
            bail!(
                "the agent {queueloc} was not online after {} s",
                ONLINE_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `mig file -t allonline …` with the state's migrc, on a thread of its own
/// (the client is blocking), printing what `mig` prints. Returns the time since
/// start when it finished, `None` when a signal interrupted it.
async fn first_investigation(
    state: &State,
    shutdown: &CancellationToken,
    started: Instant,
) -> anyhow::Result<Option<Duration>> {
    let migrc = state.migrc().display().to_string();
    let name = action_name(FIRST_INVESTIGATION);
    let mut args: Vec<String> = vec![
        "file".to_owned(),
        "-c".to_owned(),
        migrc,
        // No 5-second countdown, and the name the plain command would give.
        "-y".to_owned(),
        "-n".to_owned(),
        name,
    ];
    args.extend(FIRST_INVESTIGATION[1..].iter().map(|arg| (*arg).to_owned()));
    println!(
        "mig-quickstart: first investigation: mig {}",
        shell_words(FIRST_INVESTIGATION)
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let thread_stop = stop.clone();
    std::thread::Builder::new()
        .name("first-investigation".to_owned())
        .spawn(move || {
            // Unlocked handles (locked per write): a signal's message must not
            // wait for the whole investigation.
            let mut out = std::io::stdout();
            let mut err = std::io::stderr();
            let mut io = mig_cli::mig::Io {
                stdout: &mut out,
                stderr: &mut err,
                terminal: mig_cli::mig::stderr_is_terminal(),
                stop: Some(thread_stop),
                tick: Duration::from_secs(1),
            };
            let code = mig_cli::mig::run(&args, &mut io);
            drop(io);
            let _ = std::io::Write::flush(&mut out);
            let _ = done_tx.send(code);
        })
        .context("cannot start the investigation thread")?;
    tokio::select! {
        code = done_rx => {
            let code = code.context("the investigation thread died")?;
            if code != 0 {
                bail!("the first investigation failed (mig exit code {code})");
            }
            Ok(Some(started.elapsed()))
        }
        () = shutdown.cancelled() => {
            stop.store(true, Ordering::SeqCst);
            Ok(None)
        }
    }
}

/// The name `mig` gives an action: each argument followed by a space.
fn action_name(args: &[&str]) -> String {
    args.iter().map(|arg| format!("{arg} ")).collect()
}

/// Arguments as a shell would need them typed.
fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|arg| shell_quote(arg))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        arg.to_owned()
    } else if arg.contains(['\'', '\\', '`', '"', '!']) || arg.trim_end_matches('$').contains('$') {
        format!("'{}'", arg.replace('\'', r"'\''"))
    } else {
        format!("\"{arg}\"")
    }
}

/// How to run the tool `bin` of crate `package` here: the binary next to this
/// one, `bin` on the PATH, or cargo.
fn tool_command(package: &str, bin: &str) -> String {
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(bin)))
        .filter(|path| path.is_file());
    if let Some(path) = sibling {
        return shell_quote(&path.display().to_string());
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(bin).is_file()));
    if on_path {
        bin.to_owned()
    } else {
        format!("cargo run --release -p {package} --bin {bin} --")
    }
}

fn print_next_steps(state: &State, api_url: &str) {
    let migrc = shell_quote(&state.migrc().display().to_string());
    let mig = tool_command("mig-cli", "mig");
    let console = tool_command("mig-console", "mig-console");
    let mut investigation = vec!["file", "-c", migrc.as_str()];
    investigation.extend(&FIRST_INVESTIGATION[1..]);
    let investigation: Vec<String> = investigation
        .iter()
        .enumerate()
        // The migrc path is already quoted.
        .map(|(index, arg)| {
            if index == 2 {
                (*arg).to_owned()
            } else {
                shell_quote(arg)
            }
        })
        .collect();
    println!();
    println!(
        "The platform keeps running: API {api_url}, state {}",
        state.dir.display()
    );
    println!("Try it from another terminal:");
    println!("    {mig} {}", investigation.join(" "));
    println!("    {mig} netstat -c {migrc} -t allonline -lp 22");
    println!("    {console} -c {migrc}");
    println!("Logs: {}. Stop with ctrl+c.", state.log().display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_quoting() {
        assert_eq!(
            action_name(FIRST_INVESTIGATION),
            "file -t allonline -path /etc -name ^passwd$ -content ^root "
        );
        assert_eq!(
            shell_words(FIRST_INVESTIGATION),
            "file -t allonline -path /etc -name \"^passwd$\" -content \"^root\""
        );
        assert_eq!(shell_quote("/home/a b/migrc"), "\"/home/a b/migrc\"");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
