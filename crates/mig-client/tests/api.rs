//! The client against a real `mig-api` (in-process, on 127.0.0.1) over a
//! real store: token authentication, the one retry on 401, API keys, target
//! evaluation, action creation, following and result printing.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use mig_api::ApiConfig;
use mig_client::{
    Auth, Client, FollowEnd, FollowOptions, Render, ResultPrinter, Show, follow_action,
    print_action_results,
};
use mig_protocol::pgp::{PgpError, SecretKeySigner, Signer};
use mig_protocol::status::{CommandStatus, InvestigatorStatus};
use mig_protocol::{
    Action, Command, GoTime, Id, Investigator, ModuleResult, Operation, Permissions, gojson,
};
use mig_store::{PgStore, SqliteStore, Store};

fn vector(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/reference")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|err| panic!("{}: {err}", full.display()))
}

fn bob() -> SecretKeySigner {
    SecretKeySigner::from_armored(
        &vector("signing/THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc"),
        None,
    )
    .unwrap()
}

/// A signer that counts its signatures and spoils the first `spoil` of them.
struct Counting {
    inner: SecretKeySigner,
    calls: AtomicUsize,
    spoil: usize,
}

impl Signer for Counting {
    fn sign(&self, data: &[u8]) -> Result<String, PgpError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let signature = self.inner.sign(data)?;
        if call < self.spoil {
            // Same key, signature over other data: a valid-looking token that fails.
            return self.inner.sign(b"something else\n");
        }
        Ok(signature)
    }
    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }
}

struct Api<S: Store> {
    store: Arc<S>,
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl<S: Store> Api<S> {
    async fn start(store: Arc<S>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (shutdown, wait) = tokio::sync::oneshot::channel::<()>();
        let mut config = ApiConfig::for_tests();
        config.server.host = format!("http://{address}");
        let task = tokio::spawn({
            let store = store.clone();
            async move {
                mig_api::serve(config, store, listener, async move {
                    let _ = wait.await;
                })
                .await
                .unwrap();
            }
        });
        Self {
            store,
            url: format!("http://{address}/api/v1/"),
            shutdown: Some(shutdown),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.await.unwrap();
    }
}

/// Bob as an active investigator with every permission; his id.
async fn insert_bob<S: Store>(store: &S) -> Id {
    let key = bob().public_key();
    let investigator = Investigator {
        name: "bob".to_owned(),
        pgpfingerprint: key.fingerprint().to_uppercase(),
        publickey: key.to_armored().unwrap().into_bytes(),
        status: InvestigatorStatus::Active,
        createdat: GoTime::now(),
        lastmodified: GoTime::now(),
        permissions: Permissions::ALL,
        ..Investigator::default()
    };
    store.insert_investigator(&investigator).await.unwrap()
}

/// One online agent named `vm` (the captured heartbeat).
async fn insert_agent<S: Store>(store: &S) -> mig_protocol::Agent {
    let heartbeat = mig_protocol::Heartbeat::from_json(
        vector("http/agent_POST_heartbeat.body.json")
            .trim()
            .as_bytes(),
    )
    .unwrap();
    let now = Utc::now();
    store
        .upsert_heartbeats(&[heartbeat.to_agent()], now)
        .await
        .unwrap();
    store
        .target_agents("name='vm'", now)
        .await
        .unwrap()
        .remove(0)
}

fn client_for(url: &str, signer: Arc<dyn Signer + Send + Sync>) -> Client {
    Client::new(url, Auth::Token(signer), false, "cmd-test")
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_auth_retry_and_api_keys_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mig.sqlite");
    let store = Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap());
    let api = Api::start(store).await;
    let bob_id = insert_bob(&*api.store).await;
    insert_agent(&*api.store).await;
    let url = api.url.clone();

    // A fresh token per request, each one signed.
    let signer = Arc::new(Counting {
        inner: bob(),
        calls: AtomicUsize::new(0),
        spoil: 0,
    });
    let client = client_for(&url, signer.clone());
    let agents = blocking({
        let client = client.clone();
        move || client.evaluate_agent_target("status='online'").unwrap()
    })
    .await;
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].name, "vm");
    let agent = blocking({
        let client = client.clone();
        let id = agents[0].id.0;
        move || client.get_agent(id).unwrap()
    })
    .await;
    assert_eq!(agent.name, "vm");
    assert_eq!(signer.calls.load(Ordering::SeqCst), 2);

    // A refused token is retried once with a new one.
    let flaky = Arc::new(Counting {
        inner: bob(),
        calls: AtomicUsize::new(0),
        spoil: 1,
    });
    let client = client_for(&url, flaky.clone());
    let found = blocking(move || client.evaluate_agent_target("name='vm'").unwrap()).await;
    assert_eq!(found.len(), 1);
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);

    // Only once: two refusals are an error naming the HTTP status.
    let broken = Arc::new(Counting {
        inner: bob(),
        calls: AtomicUsize::new(0),
        spoil: usize::MAX,
    });
    let client = client_for(&url, broken.clone());
    let err = blocking(move || client.evaluate_agent_target("name='vm'").unwrap_err()).await;
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(
        err.to_string()
            .starts_with("EvaluateAgentTarget() -> GetAPIResource() -> error: HTTP 401."),
        "{err}"
    );
    assert_eq!(broken.calls.load(Ordering::SeqCst), 2);

    // A target the API refuses: the original's chain.
    let client = client_for(&url, signer.clone());
    let err = blocking(move || client.evaluate_agent_target("all").unwrap_err()).await;
    assert!(
        err.to_string()
            .starts_with("EvaluateAgentTarget() -> GetAPIResource() -> error: HTTP "),
        "{err}"
    );

    // API-key authentication.
    let key = mig_protocol::auth::generate_api_key();
    let salt = mig_protocol::auth::generate_salt();
    let hash = mig_protocol::auth::hash_key(&key, &salt);
    api.store
        .set_investigator_api_key(bob_id, Some((&hash, &salt)))
        .await
        .unwrap();
    let keyed = Client::new(&url, Auth::ApiKey(key), false, "cmd-test");
    let me = blocking(move || keyed.get_investigator(bob_id.0).unwrap()).await;
    assert_eq!(me.name, "bob");
    let wrong = Client::new(&url, Auth::ApiKey("nope".to_owned()), false, "cmd-test");
    let err = blocking(move || wrong.get_investigator(bob_id.0).unwrap_err()).await;
    assert_eq!(err.status(), Some(401), "{err}");

    // Nothing listening: the transport error is reported, not a crash.
    let dead = client_for("http://127.0.0.1:9/api/v1", signer.clone());
    let err = blocking(move || dead.get_action(1).unwrap_err()).await;
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    api.stop().await;
}

/// The file module's `^root` search in `/etc/passwd`, run here for real.
fn passwd_operation() -> Operation {
    let parameters = r#"{"searches":{"s1":{"paths":["/etc"],"contents":["^root"],"names":["^passwd$"],"options":{"maxdepth":1,"maxerrors":30,"matchall":true,"macroal":false,"mismatch":null,"matchlimit":1000}}}}"#;
    Operation::new("file", serde_json::from_str(parameters).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_follow_and_print_on_postgres() {
    let database = mig_testkit::TestDatabase::create("migclient_").await;
    let store = Arc::new(PgStore::connect(&database.url(), 4).await.unwrap());
    store.migrate().await.unwrap();
    let api = Api::start(store).await;
    insert_bob(&*api.store).await;
    let agent = insert_agent(&*api.store).await;
    let client = client_for(&api.url, Arc::new(bob()));

    // Sign and post as `mig` does.
    let now = Utc::now();
    let mut action = Action {
        name: "client test".to_owned(),
        target: "name='vm'".to_owned(),
        validfrom: GoTime((now - chrono::Duration::seconds(60)).fixed_offset()),
        expireafter: GoTime((now + chrono::Duration::seconds(360)).fixed_offset()),
        operations: Some(vec![passwd_operation()]),
        ..Action::default()
    };
    client.sign_action(&mut action).unwrap();
    let posted = blocking({
        let client = client.clone();
        move || client.post_action(&action).unwrap()
    })
    .await;
    assert!(!posted.id.is_zero());
    let fetched = blocking({
        let client = client.clone();
        let id = posted.id.0;
        move || client.get_action(id).unwrap()
    })
    .await;
    assert_eq!(fetched.signatures().len(), 1);

    // Play the scheduler and the agent: claim, dispatch, and store the
    // real file module's result after a while.
    let store = api.store.clone();
    let stored_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let scheduler = tokio::spawn({
        let stored_at = stored_at.clone();
        let agent = agent.clone();
        async move {
            let now = Utc::now();
            let claimed = store
                .claim_runnable_actions(now, Duration::from_secs(60), 10)
                .await
                .unwrap()
                .remove(0);
            let command = Command {
                id: mig_protocol::gen_id(),
                action: claimed.clone(),
                agent,
                status: CommandStatus::Sent,
                results: None,
                starttime: GoTime::from(now),
                finishtime: GoTime::zero(),
            };
            store
                .dispatch_action(&claimed, std::slice::from_ref(&command), &[], now)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(700)).await;
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
            *stored_at.lock().unwrap() = Some(Instant::now());
        }
    });

    let (end, stderr, followed_at) = blocking({
        let client = client.clone();
        move || {
            let mut stderr = Vec::new();
            let stop = AtomicBool::new(false);
            let end = follow_action(
                &client,
                &posted,
                1,
                &stop,
                &FollowOptions::default(),
                &mut stderr,
            )
            .unwrap();
            (end, String::from_utf8(stderr).unwrap(), Instant::now())
        }
    })
    .await;
    scheduler.await.unwrap();
    let stored_at = stored_at.lock().unwrap().unwrap();
    let overhead = followed_at.duration_since(stored_at);
    eprintln!("follow overhead after the last result: {overhead:?}");
    assert!(overhead < Duration::from_millis(100), "{overhead:?}");
    let FollowEnd::Finished(done) = end else {
        panic!("stopped")
    };
    assert_eq!(done.counters.done, 1);
    assert!(
        stderr.starts_with(&format!(
            "\x1b[34mFollowing action ID {}.\x1b[0m\n\r 0 / 1    0.00%",
            done.id.0
        )),
        "{stderr:?}"
    );
    assert!(stderr.contains("\r 1 / 1  100.00% "), "{stderr:?}");
    assert!(
        stderr.ends_with("\x1b[34m1 sent, 1 done, 1 succeeded\n\x1b[0m"),
        "{stderr:?}"
    );
    assert!(stderr.contains("% done in "), "{stderr:?}");

    // Results in the three renderings.
    let passwd = std::fs::metadata("/etc/passwd").unwrap();
    for (render, show) in [
        (Render::Text, Show::Found),
        (Render::Text, Show::All),
        (Render::Json, Show::Found),
        (Render::Csv, Show::Found),
        (Render::Text, Show::NotFound),
    ] {
        let (stdout, stderr) = blocking({
            let client = client.clone();
            let id = done.id.0;
            move || {
                let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
                {
                    let mut printer = ResultPrinter::new(render, &mut stdout, &mut stderr);
                    print_action_results(&client, id, show, &mut printer).unwrap();
                }
                (
                    String::from_utf8(stdout).unwrap(),
                    String::from_utf8(stderr).unwrap(),
                )
            }
        })
        .await;
        let size = format!("size:{}]", passwd.len());
        match (render, show) {
            (Render::Text, Show::Found) => {
                assert!(
                    stdout.starts_with("vm /etc/passwd [lastmodified:"),
                    "{stdout}"
                );
                assert!(
                    stdout.ends_with(&format!("{size} in search 's1'\n")),
                    "{stdout}"
                );
                assert_eq!(stdout.lines().count(), 1, "{stdout}");
                assert_eq!(stderr, "\x1b[31m1 agent has found results\x1b[0m\n");
            }
            (Render::Text, Show::All) => {
                assert!(stdout.contains("vm Statistics: "), "{stdout}");
                assert!(stdout.ends_with("vm command success\n"), "{stdout}");
                assert_eq!(stderr, "\x1b[31m1 agent has all results\x1b[0m\n");
            }
            (Render::Json, _) => {
                let line: serde_json::Value = serde_json::from_str(stdout.trim_end()).unwrap();
                assert_eq!(stdout.lines().count(), 1);
                assert_eq!(line["agent"], "vm");
                assert_eq!(line["module"], "file");
                assert_eq!(line["foundanything"], true);
                assert!(
                    line["lines"][0]
                        .as_str()
                        .unwrap()
                        .starts_with("/etc/passwd [")
                );
                assert!(line["elements"].is_object());
            }
            (Render::Csv, _) => {
                let mut lines = stdout.lines();
                assert_eq!(
                    lines.next(),
                    Some("agent,agentid,commandid,status,module,foundanything,line")
                );
                let row = lines.next().unwrap();
                assert!(row.starts_with("vm,"), "{row}");
                assert!(
                    row.contains(",success,file,true,\"/etc/passwd [lastmodified:"),
                    "{row}"
                );
            }
            (Render::Text, Show::NotFound) => {
                assert_eq!(stdout, "");
                assert_eq!(stderr, "\x1b[31m0 agent has notfound results\x1b[0m\n");
            }
        }
    }
    api.stop().await;
    database.drop().await;
}
