//! An API on a fresh SQLite store seeded with bob (every permission), the
//! captured agent `vm`, one action with its command and the real file
//! module's result, and agent statistics; and mig-console spawned in a pty
//! with a `.migrc` signing as bob.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use mig_api::ApiConfig;
use mig_client::{Auth, Client};
use mig_protocol::pgp::SecretKeySigner;
use mig_protocol::status::{CommandStatus, InvestigatorStatus};
use mig_protocol::{
    Action, Agent, GoTime, Investigator, ModuleResult, Operation, Permissions, gojson,
};
use mig_store::{SqliteStore, Store};
use rexpect::session::{Options, PtySession, spawn_with_options};

pub fn vector_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/reference")
        .join(path)
}

pub fn vector(path: &str) -> String {
    let full = vector_path(path);
    std::fs::read_to_string(&full).unwrap_or_else(|err| panic!("{}: {err}", full.display()))
}

pub const BOB_SECRET: &str = "signing/THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc";
/// A second key, for the investigators the tests create.
pub const OTHER_PUBLIC: &str = "signing/THROWAWAY_TEST_KEY_scheduler_public.asc";

pub fn bob() -> SecretKeySigner {
    SecretKeySigner::from_armored(&vector(BOB_SECRET), None).unwrap()
}

pub struct Env {
    runtime: tokio::runtime::Runtime,
    pub store: Arc<SqliteStore>,
    pub url: String,
    api: Option<mig_api::Running>,
    pub home: tempfile::TempDir,
    _dir: tempfile::TempDir,
    pub bob_id: u64,
    pub agent: Agent,
    pub action: Action,
    pub command_id: u64,
}

pub fn passwd_operation() -> Operation {
    Operation::new(
        "file",
        serde_json::from_str(
            r#"{"searches":{"s1":{"paths":["/etc"],"names":["^passwd$"],"contents":["^root"],"options":{"maxdepth":1000,"matchlimit":1000,"maxerrors":30,"matchall":true,"macroal":false,"mismatch":null}}}}"#,
        )
        .unwrap(),
    )
}

impl Env {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mig.sqlite");
        let store = Arc::new(
            runtime
                .block_on(SqliteStore::open(path.to_str().unwrap()))
                .unwrap(),
        );
        let api = runtime
            .block_on(mig_api::spawn(
                ApiConfig::for_tests(),
                store.clone(),
                "127.0.0.1:0",
            ))
            .unwrap();
        let url = api.url.clone();

        // Bob, the agent and the statistics.
        let key = bob().public_key();
        let bob_id = runtime
            .block_on(store.insert_investigator(&Investigator {
                name: "bob".to_owned(),
                pgpfingerprint: key.fingerprint().to_uppercase(),
                publickey: key.to_armored().unwrap().into_bytes(),
                status: InvestigatorStatus::Active,
                createdat: GoTime::now(),
                lastmodified: GoTime::now(),
                permissions: Permissions::ALL,
                ..Investigator::default()
            }))
            .unwrap()
            .0;
        let heartbeat = mig_protocol::Heartbeat::from_json(
            vector("http/agent_POST_heartbeat.body.json")
                .trim()
                .as_bytes(),
        )
        .unwrap();
        let now = Utc::now();
        runtime
            .block_on(store.upsert_heartbeats(&[heartbeat.to_agent()], now))
            .unwrap();
        let agent = runtime
            .block_on(store.target_agents("name='vm'", now))
            .unwrap()
            .remove(0);
        runtime
            .block_on(store.record_agents_stats(now, true))
            .unwrap();

        // One action posted as `mig` does, dispatched and answered as the
        // scheduler and the agent would.
        let client = Client::new(&url, Auth::Token(Arc::new(bob())), false, "console-test");
        let mut action = Action {
            name: "file -t allonline -path /etc -name ^passwd$ -content ^root ".to_owned(),
            target: "status='online'".to_owned(),
            validfrom: GoTime::from(now - chrono::Duration::seconds(60)),
            expireafter: GoTime::from(now + chrono::Duration::seconds(360)),
            operations: Some(vec![passwd_operation()]),
            ..Action::default()
        };
        client.sign_action(&mut action).unwrap();
        let posted = client.post_action(&action).unwrap();
        let command_id = runtime.block_on(async {
            let now = Utc::now();
            let claimed = store
                .claim_runnable_actions(now, Duration::from_secs(60), 10)
                .await
                .unwrap()
                .remove(0);
            let command = mig_protocol::Command {
                id: mig_protocol::gen_id(),
                action: claimed.clone(),
                agent: agent.clone(),
                status: CommandStatus::Sent,
                results: None,
                starttime: GoTime::from(now),
                finishtime: GoTime::zero(),
            };
            store
                .dispatch_action(&claimed, std::slice::from_ref(&command), &[], now)
                .await
                .unwrap();
            let output = mig_modules::run_module(
                mig_modules::ModuleName::File,
                &passwd_operation().parameters,
                &mig_modules::ModuleContext::default(),
            );
            let result: ModuleResult = gojson::from_str(&output).unwrap();
            let mut returned = command.clone();
            returned.status = CommandStatus::Success;
            returned.results = Some(vec![result]);
            assert!(store.finish_command(&returned, Utc::now()).await.unwrap());
            store
                .complete_actions(&[claimed.id], Utc::now())
                .await
                .unwrap();
            command.id.0
        });
        let action = client.get_action(posted.id.0).unwrap();

        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".migrc"),
            format!(
                "[api]\n    url = \"{url}\"\n[gpg]\n    keyid = \"{}\"\n    secretkeyfile = \"{}\"\n[targets]\n    macro = allonline:status='online'\n",
                key.fingerprint().to_uppercase(),
                vector_path(BOB_SECRET).display()
            ),
        )
        .unwrap();
        Self {
            runtime,
            store,
            url,
            api: Some(api),
            home,
            _dir: dir,
            bob_id,
            agent,
            action,
            command_id,
        }
    }

    /// Runs a store call.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The console's command, HOME set to the test's home.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mig-console"));
        command
            .env("HOME", self.home.path())
            .env("TERM", "xterm")
            .env_remove("GNUPGHOME");
        command
    }

    /// A copy of the second test key in the home directory (a path short
    /// enough to be echoed on one line of the pty).
    pub fn other_public_key(&self) -> PathBuf {
        let path = self.home.path().join("other.asc");
        std::fs::write(&path, vector(OTHER_PUBLIC)).unwrap();
        path
    }

    /// mig-console in a pseudo-terminal, at its first `mig>` prompt.
    pub fn spawn(&self) -> Console {
        let session = spawn_with_options(
            self.command(),
            Options {
                timeout_ms: Some(20_000),
                strip_ansi_escape_codes: true,
            },
        )
        .unwrap();
        let mut console = Console { session };
        console.expect("Type help for help.");
        console.prompt("mig>");
        console
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            let _ = self.runtime.block_on(api.stop());
        }
    }
}

/// A console session in a pty, with what was read so far on failures.
pub struct Console {
    pub session: PtySession,
}

impl Console {
    /// Waits for `needle`; the output before it.
    pub fn expect(&mut self, needle: &str) -> String {
        match self.session.exp_string(needle) {
            Ok(before) => before,
            Err(err) => panic!("waiting for {needle:?}: {err}"),
        }
    }

    /// Waits for a regex; (before, matched).
    pub fn expect_regex(&mut self, regex: &str) -> (String, String) {
        match self.session.exp_regex(regex) {
            Ok(found) => found,
            Err(err) => panic!("waiting for /{regex}/: {err}"),
        }
    }

    /// Waits for the prompt `name` (e.g. `mig>`, `action 582>`).
    pub fn prompt(&mut self, name: &str) -> String {
        self.expect(&format!("{name} "))
    }

    /// Sends an order and waits until it is echoed.
    pub fn send(&mut self, line: &str) {
        self.session.send_line(line).unwrap();
        self.expect(&format!("{line}\r\n"));
    }

    /// Sends an order at `prompt` and returns its output up to the next `prompt`.
    pub fn order(&mut self, line: &str, next_prompt: &str) -> String {
        self.send(line);
        self.prompt(next_prompt)
    }

    /// Ctrl+D at `mig>`: the footer, then the process ends with status 0.
    pub fn leave(mut self) -> String {
        self.session.send_control('d').unwrap();
        let out = self.expect("Gators are going back underwater.");
        self.session.exp_eof().unwrap();
        match self.session.process.wait().unwrap() {
            rexpect::process::wait::WaitStatus::Exited(_, code) => assert_eq!(code, 0),
            other => panic!("mig-console ended with {other:?}"),
        }
        out
    }
}
