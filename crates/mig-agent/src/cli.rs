//! The `mig-agent` program: flags, configuration, then one of the agent's
//! lives (see the library's documentation). In the library so that a test
//! harness can run the real agent main in a process of its own
//! (`mig-cli`'s end-to-end test re-executes itself as the agent).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::{AgentConfig, DEFAULT_CONFIG_PATH};
use crate::flags::{FlagError, Flags, usage};
use crate::{Mode, RunOptions};
use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

/// The configuration and the file it came from (none: built-in).
fn load_config(flags: &Flags) -> anyhow::Result<(AgentConfig, Option<PathBuf>)> {
    let path = PathBuf::from(flags.config.as_deref().unwrap_or(DEFAULT_CONFIG_PATH));
    if path.exists() {
        let config = AgentConfig::load(&path)?;
        return Ok((config, Some(path)));
    }
    if flags.config.is_some() {
        bail!("configuration file {} does not exist", path.display());
    }
    Ok((AgentConfig::builtin()?, None))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One thread is plenty: modules run in child processes, and the agent's
    // own work (heartbeats, verification, relay I/O) is small. Every extra
    // thread costs resident memory on every host of the fleet.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

/// A module child: `-m <module>` reads stdin, prints its result on stdout.
fn module_child(flags: &Flags) -> ExitCode {
    crate::logging::init_child();
    // The child loads the configuration for extraprivacymode and the
    // timedrift servers; any problem falls back to the built-in configuration.
    let config = match load_config(flags) {
        Ok((config, _)) => config,
        Err(error) => {
            tracing::warn!(%error, "using the built-in configuration");
            AgentConfig::builtin().unwrap_or_default()
        }
    };
    let context = mig_modules::ModuleContext {
        extra_privacy: config.extra_privacy_mode,
        timedrift: config.timedrift,
        ..mig_modules::ModuleContext::default()
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut output = stdout.lock();
    let code =
        crate::runner::child_main(&flags.mode, &mut input, &mut output, &context, flags.pretty);
    let _ = output.flush();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("interrupt: stopping"),
        _ = terminate.recv() => tracing::info!("terminate: stopping"),
        () = shutdown.cancelled() => return,
    }
    shutdown.cancel();
}

fn agent(
    flags: &Flags,
    mut config: AgentConfig,
    config_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    if flags.no_persistent {
        config.spawn_persistent = false;
    }
    let checkin = flags.mode == "agent-checkin" || config.checkin;
    let foreground = flags.foreground || flags.debug || checkin;
    crate::logging::init(&config.logging, flags.debug);
    if !foreground {
        let init = crate::environment::init_system();
        if crate::service::should_install(config.install_service, foreground, &init) {
            let executable = std::env::current_exe().context("cannot find the agent binary")?;
            crate::service::install(&executable)?;
            tracing::info!("installed and started the mig-agent service");
            return Ok(());
        }
    }
    let options = RunOptions {
        mode: if checkin { Mode::Checkin } else { Mode::Daemon },
        config_file,
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let watcher = tokio::spawn(signals(shutdown.clone()));
        let outcome = crate::run(config, options, shutdown.clone()).await;
        shutdown.cancel();
        let _ = watcher.await;
        outcome
    })?;
    Ok(())
}

fn main_result(flags: Flags) -> anyhow::Result<ExitCode> {
    if flags.version {
        println!("{}", crate::agent::VERSION);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(module) = &flags.persistent {
        crate::logging::init_child();
        let run_dir = load_config(&flags)
            .map(|(config, _)| config.run_dir)
            .or_else(|_| AgentConfig::builtin().map(|config| config.run_dir))?;
        let code = crate::persist::child_main(module, &run_dir);
        return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
    }
    let in_module = flags.mode != "agent" && flags.mode != "agent-checkin";
    if in_module && flags.action_file.is_none() && flags.query.is_none() && !flags.show_config {
        return Ok(module_child(&flags));
    }
    let (config, config_file) = load_config(&flags)?;
    if flags.show_config {
        print!("{}", config.render());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(query) = &flags.query {
        let answer =
            runtime()?.block_on(crate::stat::query(&config.socket, query, &config.run_dir))?;
        println!("{answer}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(file) = &flags.action_file {
        let runner = crate::runner::ModuleRunner::current(config_file)?;
        let text = runtime()?.block_on(crate::local::run_action_file(
            Path::new(file),
            &runner,
            config.module_timeout,
        ))?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    agent(&flags, config, config_file)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `mig-agent` with `args` (without the program name).
pub fn main(args: Vec<String>) -> ExitCode {
    let flags = match Flags::parse(args) {
        Ok(flags) => flags,
        Err(FlagError::Help) => {
            eprint!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("{error}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match main_result(flags) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mig-agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}
