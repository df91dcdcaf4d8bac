//! The command pipeline (spec protocol.md §8.8, §4.4, §3.2).
//!
//! ```text
//! delivery body
//!   └─ decode Command ──────────── undecodable: logged, nothing sent
//!        └─ verify_action ──────── window (± skew) → every signature → ACL per operation
//!             └─ replay guard ──── action id already run and still valid: refused
//!                  └─ per operation, one at a time:
//!                       module available? → decompress parameters →
//!                       child `mig-agent -m <module>` with deadline
//!                       min(moduletimeout, expireafter − now)
//!                  └─ aggregate (first non-success wins)
//!   reply: the received command with status, results, agent.queueloc changed
//!   refusal: status `failed`, one result per operation carrying the reason
//! ```
//!
//! Modules run strictly one at a time across all commands, as in the original.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mig_protocol::acl::{Acl, VerifyPolicy, verify_action, verify_signatures};
use mig_protocol::pgp::Keyring;
use mig_protocol::status::CommandStatus;
use mig_protocol::{Command, GoTime, ModuleResult};
use tracing::Instrument;

use crate::replay::ReplayGuard;
use crate::runner::{ModuleOutcome, ModuleRunner, is_available};
use crate::stat::ActionHistory;

/// What the agent trusts: its keyring and its ACL.
#[derive(Debug, Clone)]
pub struct Trust {
    pub keyring: Keyring,
    pub acl: Acl,
    /// Check signatures only, not the ACL (`onlyverifypubkey`).
    pub only_verify_pubkey: bool,
    /// Clock-skew allowance on the validity window.
    pub clock_skew: Duration,
}

/// Sequential processing of received commands.
#[derive(Debug)]
pub struct Pipeline {
    pub trust: Trust,
    pub replay: ReplayGuard,
    pub runner: ModuleRunner,
    pub module_timeout: Duration,
    /// The agent's own queueloc, written into every reply.
    pub queueloc: String,
    /// Recent actions for the stat page.
    pub history: Arc<Mutex<ActionHistory>>,
}

/// Why a command was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Verify(#[from] mig_protocol::acl::VerifyError),
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
}

impl Pipeline {
    /// Processes one delivery body; returns the command to publish, if any.
    pub async fn handle(&mut self, body: &[u8]) -> Option<Command> {
        let command = match Command::from_json(body) {
            Ok(command) => command,
            Err(error) => {
                tracing::warn!(%error, bytes = body.len(), "undecodable command dropped");
                return None;
            }
        };
        let span = tracing::info_span!(
            "command",
            command_id = %command.id,
            action_id = %command.action.id,
        );
        Some(self.process(command).instrument(span).await)
    }

    /// Verifies, runs and aggregates one decoded command.
    pub async fn process(&mut self, mut command: Command) -> Command {
        let now = GoTime::now();
        let started = std::time::Instant::now();
        let accepted = self.authorize(&command, now);
        let verify_us = started.elapsed().as_micros() as u64;
        let modules = module_list(&command);
        if let Ok(history) = self.history.lock().as_mut() {
            history.record(&command.action.name, &modules, accepted.is_ok());
        }
        match accepted {
            Err(refusal) => {
                let signers = verify_signatures(&command.action, &self.trust.keyring)
                    .map(|signers| signers.join(","))
                    .unwrap_or_else(|_| "unverified".to_owned());
                tracing::warn!(reason = %refusal, signers = %signers, verify_us, "action refused");
                let message = refusal.to_string();
                let count = command.action.operations().len().max(1);
                command.status = CommandStatus::Failed;
                command.results = Some(vec![ModuleResult::error(message); count]);
            }
            Ok(signers) => {
                tracing::info!(
                    signers = %signers.join(","),
                    modules = %modules,
                    verify_us,
                    "action accepted"
                );
                let (status, results) = self.run_operations(&command).await;
                tracing::info!(status = %status.as_str(), "command done");
                command.status = status;
                command.results = Some(results);
            }
        }
        command.agent.queueloc = self.queueloc.clone();
        command
    }

    fn authorize(&mut self, command: &Command, now: GoTime) -> Result<Vec<String>, Refusal> {
        let skew = chrono::Duration::from_std(self.trust.clock_skew)
            .unwrap_or_else(|_| chrono::Duration::seconds(60));
        let policy = VerifyPolicy {
            now,
            skew,
            acl: (!self.trust.only_verify_pubkey).then_some(&self.trust.acl),
        };
        let signers = verify_action(&command.action, &self.trust.keyring, &policy)?;
        self.replay.check_and_record(
            command.action.id,
            command.action.expireafter.unix(),
            now.unix(),
        )?;
        Ok(signers)
    }

    async fn run_operations(&self, command: &Command) -> (CommandStatus, Vec<ModuleResult>) {
        let operations = command.action.operations();
        let mut status = CommandStatus::Success;
        if operations.iter().any(|op| !is_available(&op.module)) {
            status = CommandStatus::Failed;
        }
        let mut results = Vec::with_capacity(operations.len());
        for (index, operation) in operations.iter().enumerate() {
            let outcome = if !is_available(&operation.module) {
                tracing::warn!(index, module = %operation.module, "module not available");
                results.push(ModuleResult::error(format!(
                    "module '{}' is not available",
                    operation.module
                )));
                continue;
            } else {
                match operation.decompressed_parameters() {
                    Err(error) => ModuleOutcome {
                        status: CommandStatus::Failed,
                        result: ModuleResult::error(error),
                    },
                    Ok(parameters) => {
                        let remaining = (command.action.expireafter.0 - GoTime::now().0)
                            .to_std()
                            .unwrap_or(Duration::ZERO);
                        let deadline = self.module_timeout.min(remaining);
                        let started = std::time::Instant::now();
                        let outcome = self
                            .runner
                            .run(&operation.module, &parameters, deadline)
                            .await;
                        tracing::info!(
                            index,
                            module = %operation.module,
                            status = %outcome.status.as_str(),
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "operation done"
                        );
                        outcome
                    }
                }
            };
            if status == CommandStatus::Success && outcome.status != CommandStatus::Success {
                status = outcome.status.clone();
            }
            results.push(outcome.result);
        }
        (status, results)
    }
}

/// The distinct lowercased module names of a command, comma-separated.
fn module_list(command: &Command) -> String {
    let mut modules: Vec<String> = Vec::new();
    for operation in command.action.operations() {
        let module = operation.module.to_lowercase();
        if !modules.contains(&module) {
            modules.push(module);
        }
    }
    modules.join(", ")
}
