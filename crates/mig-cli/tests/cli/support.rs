//! What the tool tests share: the captured transcripts, running a tool as a
//! process, and a real `mig-api` on a SQLite store in its own runtime, with
//! Bob (the vectors' throwaway key) as an active investigator.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use mig_protocol::pgp::SecretKeySigner;
use mig_protocol::status::InvestigatorStatus;
use mig_protocol::{Agent, GoTime, Id, Investigator, Permissions};
use mig_store::{SqliteStore, Store};

pub fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/reference")
}

/// A captured file of `reference/cli/`.
pub fn vector(path: &str) -> String {
    let full = reference().join("cli").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|err| panic!("{}: {err}", full.display()))
}

pub const BOB_SECRET: &str = "THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc";
pub const BOB_PUBLIC: &str = "THROWAWAY_TEST_KEY_bob_public.asc";

pub fn signing(name: &str) -> PathBuf {
    reference().join("signing").join(name)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs one of the package's binaries with `HOME`, no `GNUPGHOME`, and `stdin`.
pub fn tool(exe: &str, args: &[&str], home: &Path, stdin: &[u8]) -> Run {
    tool_env(exe, args, home, stdin, &[])
}

pub fn tool_env(exe: &str, args: &[&str], home: &Path, stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(exe)
        .args(args)
        .env("HOME", home)
        .env_remove("GNUPGHOME")
        .env_remove("MIGPGPPASSPHRASE")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin);
    drop(input);
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The exit code a transcript's `.cmd.txt` records.
pub fn exit_code(case: &str) -> i32 {
    vector(&format!("{case}.cmd.txt"))
        .lines()
        .find_map(|line| line.strip_prefix("exit code: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Checks a run against the captured `<case>` transcript, byte for byte.
pub fn same_as(run: &Run, case: &str) {
    assert_eq!(
        run.stdout,
        vector(&format!("{case}.stdout.txt")),
        "{case} stdout"
    );
    assert_eq!(
        run.stderr,
        vector(&format!("{case}.stderr.txt")),
        "{case} stderr"
    );
    assert_eq!(run.code, exit_code(case), "{case} exit code");
}

pub fn bob() -> SecretKeySigner {
    SecretKeySigner::from_armored(&std::fs::read_to_string(signing(BOB_SECRET)).unwrap(), None)
        .unwrap()
}

/// A `.migrc` for Bob (signing with the secret key file) against `url`.
pub fn write_migrc(path: &Path, url: &str) {
    std::fs::write(
        path,
        format!(
            "[api]\n    url = \"{url}\"\n[gpg]\n    secretkeyfile = \"{}\"\n[targets]\n    macro = allonline:status='online'\n",
            signing(BOB_SECRET).display()
        ),
    )
    .unwrap();
}

/// `mig-api` on a fresh SQLite database, served by a runtime of its own.
pub struct Api {
    pub url: String,
    pub store: Arc<SqliteStore>,
    pub runtime: tokio::runtime::Runtime,
    api: Option<mig_api::Running>,
    _dir: tempfile::TempDir,
}

impl Api {
    /// Starts the API and makes Bob an active investigator with every permission.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let path = dir.path().join("mig.sqlite");
        let store = Arc::new(
            runtime
                .block_on(SqliteStore::open(path.to_str().unwrap()))
                .unwrap(),
        );
        let api = runtime
            .block_on(mig_api::spawn(
                mig_api::ApiConfig::for_tests(),
                store.clone(),
                "127.0.0.1:0",
            ))
            .unwrap();
        let key = bob().public_key();
        let investigator = Investigator {
            name: "Bob The Investigator".to_owned(),
            pgpfingerprint: key.fingerprint().to_uppercase(),
            publickey: key.to_armored().unwrap().into_bytes(),
            status: InvestigatorStatus::Active,
            createdat: GoTime::now(),
            lastmodified: GoTime::now(),
            permissions: Permissions::ALL,
            ..Investigator::default()
        };
        runtime
            .block_on(store.insert_investigator(&investigator))
            .unwrap();
        Self {
            url: api.url.clone(),
            store,
            runtime,
            api: Some(api),
            _dir: dir,
        }
    }

    /// Stores `agent` as if it had started at `started` and last beat at
    /// `last` (two heartbeats); its id.
    pub fn seed_agent(&self, agent: &Agent, started: DateTime<Utc>, last: DateTime<Utc>) -> Id {
        self.runtime.block_on(async {
            self.store
                .upsert_heartbeats(std::slice::from_ref(agent), started)
                .await
                .unwrap();
            self.store
                .upsert_heartbeats(std::slice::from_ref(agent), last)
                .await
                .unwrap();
        });
        let agents = self
            .runtime
            .block_on(
                self.store
                    .target_agents(&format!("queueloc='{}'", agent.queueloc), Utc::now()),
            )
            .unwrap();
        assert_eq!(agents.len(), 1, "seeded agent {}", agent.name);
        agents[0].id
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(10), api.stop()).await
            });
        }
    }
}
