//! The conformance suite of the `Store` trait: one body per behaviour, generic
//! over the store, instantiated for SQLite (`tests/store/store_sqlite.rs`) and for
//! PostgreSQL (`tests/store/store_postgres.rs`) by `conformance_suite!`.

#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use mig_protocol::action::{Description, Threat};
use mig_protocol::agent::{AgentEnv, AgentsVersionsSum};
use mig_protocol::id::gen_id;
use mig_protocol::status::{ActionStatus, AgentStatus, CommandStatus, InvestigatorStatus};
use mig_protocol::{
    Action, Agent, Command, GoTime, Id, Investigator, ModuleResult, Operation, Permissions,
};
use mig_store::{AgentTimeouts, HeartbeatOutcome, Store, StoreError};

/// Instantiates every conformance test for one backend; `$runner` is an async fn
/// taking a closure `FnOnce(Arc<S>) -> Future` that it runs on a fresh store.
macro_rules! conformance_suite {
    ($runner:ident) => {
        conformance_suite!(@tests $runner:
            action_round_trip,
            claims_are_exclusive_under_concurrency,
            claim_lease_expires,
            stale_actions_are_invalidated,
            dispatch_writes_commands_and_outbox,
            outbox_take_lease_and_ack,
            finish_command_accepts_only_the_addressed_agent_once,
            expire_commands_ignores_agent_state,
            complete_actions_counts_and_completes,
            heartbeats_insert_update_replace_revive,
            target_agents_binds_and_picks_one_per_queueloc,
            mark_inactive_agents_offline_before_idle,
            record_agents_stats_on_a_small_fleet,
            record_agents_stats_of_an_empty_fleet_writes_null_versions,
            duplicates_and_destroyed_agents,
            stale_queuelocs_are_the_all_offline_ones,
            investigators_and_scheduler_identity,
            wait_for_new_action_wakes_and_times_out,
            api_investigator_by_id_and_api_keys,
            api_investigator_status_and_last_admin_rule,
            api_fingerprint_stats_and_recent_actions,
            api_search_ids_binds_every_filter,
            api_loaders_keys_and_check_in,
            api_manifests_sign_status_and_target,
            api_search_manifests_and_loaders,
        );
    };
    (@tests $runner:ident: $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $runner(|store| async move { conformance::$name(&*store).await }).await;
            }
        )*
    };
}

/// The current time rounded to the microsecond, as both stores keep times.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now - TimeDelta::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 1000))
}

fn round(time: GoTime) -> GoTime {
    let utc = time.to_utc();
    let remainder = i64::from(utc.timestamp_subsec_nanos() % 1000);
    let mut rounded = utc - TimeDelta::nanoseconds(remainder);
    if remainder >= 500 {
        rounded += TimeDelta::microseconds(1);
    }
    GoTime::from(rounded)
}

/// What an action looks like after a round trip through a store.
pub fn stored_form(action: &Action) -> Action {
    let mut action = action.clone();
    action.validfrom = round(action.validfrom);
    action.expireafter = round(action.expireafter);
    action.starttime = round(action.starttime);
    action.finishtime = round(action.finishtime);
    action.lastupdatetime = round(action.lastupdatetime);
    action
}

pub fn new_action(now: DateTime<Utc>) -> Action {
    Action {
        id: gen_id(),
        name: "find <sshd> & friends".into(),
        target: "status='online'".into(),
        description: Description {
            author: "Jane".into(),
            email: "jane@example.net".into(),
            url: String::new(),
            revision: 3.0,
        },
        threat: Threat {
            reference: String::new(),
            level: "high".into(),
            family: "compliance".into(),
            kind: "system".into(),
        },
        validfrom: GoTime::from(now - TimeDelta::seconds(60) + TimeDelta::nanoseconds(123_456_789)),
        expireafter: GoTime::from(now + TimeDelta::hours(1)),
        operations: Some(vec![Operation {
            module: "file".into(),
            parameters: serde_json::json!({"searches": {"s1": {"paths": ["/etc"], "names": ["^passwd$"]}}}),
            is_compressed: false,
            want_compressed: false,
        }]),
        pgpsignatures: Some(vec!["wsBcBAABCAAQBQJZ=abcd".into()]),
        investigators: Vec::new(),
        status: ActionStatus::Pending,
        starttime: GoTime::sentinel_unstarted(),
        finishtime: GoTime::sentinel_unstarted(),
        lastupdatetime: GoTime::sentinel_unstarted(),
        counters: Default::default(),
        syntaxversion: 2,
    }
}

pub fn heartbeat(queueloc: &str, pid: i64) -> Agent {
    let os = queueloc.split('.').next().unwrap_or("linux").to_string();
    Agent {
        name: format!("host-{queueloc}"),
        queueloc: queueloc.into(),
        mode: "daemon".into(),
        version: "20240101-0.abc".into(),
        pid,
        refreshts: GoTime::utc(2024, 1, 1, 0, 0, 0, 0),
        environment: AgentEnv {
            init: "systemd".into(),
            ident: "Debian 12".into(),
            os,
            arch: "amd64".into(),
            addresses: vec!["10.0.0.5/24".into()],
            publicip: "203.0.113.7".into(),
            ..AgentEnv::default()
        },
        tags: BTreeMap::from([("operator".to_string(), "opsec".to_string())]),
        ..Agent::default()
    }
}

/// Inserts one agent through a heartbeat and returns its row.
pub async fn agent<S: Store>(store: &S, queueloc: &str, pid: i64, at: DateTime<Utc>) -> Agent {
    let outcomes = store
        .upsert_heartbeats(&[heartbeat(queueloc, pid)], at)
        .await
        .unwrap();
    let id = match outcomes[0] {
        HeartbeatOutcome::Inserted(id) | HeartbeatOutcome::Updated(id) => id,
        other => panic!("unexpected outcome {other:?}"),
    };
    store.get_agent(id).await.unwrap().unwrap()
}

pub fn command_for(action: &Action, agent: &Agent, now: DateTime<Utc>) -> Command {
    let mut action = action.clone();
    action.status = ActionStatus::Preparing;
    let operations = action.operations().len();
    Command {
        id: gen_id(),
        action,
        agent: agent.clone(),
        status: CommandStatus::Sent,
        results: Some(vec![ModuleResult::default(); operations]),
        starttime: GoTime::from(now),
        finishtime: GoTime::zero(),
    }
}

/// Inserts, claims and dispatches an action to the given agents.
pub async fn dispatched<S: Store>(
    store: &S,
    agents: &[Agent],
    now: DateTime<Utc>,
) -> (Action, Vec<Command>) {
    let mut action = new_action(now);
    store.insert_action(&action, &[]).await.unwrap();
    let claimed = store
        .claim_runnable_actions(now, Duration::from_secs(60), 100)
        .await
        .unwrap();
    assert!(claimed.iter().any(|claimed| claimed.id == action.id));
    action.counters.sent = agents.len() as i64;
    let commands: Vec<Command> = agents
        .iter()
        .map(|agent| command_for(&action, agent, now))
        .collect();
    store
        .dispatch_action(&action, &commands, &[], now)
        .await
        .unwrap();
    (action, commands)
}

fn returned(command: &Command, status: CommandStatus) -> Command {
    let mut returned = command.clone();
    returned.status = status;
    returned.results = Some(vec![ModuleResult {
        foundanything: true,
        success: true,
        elements: serde_json::json!({"file": "/etc/passwd"}),
        statistics: serde_json::json!({"files": 1}),
        errors: None,
    }]);
    returned
}

const LEASE: Duration = Duration::from_secs(60);

// ---- actions ---------------------------------------------------------------------

pub async fn action_round_trip<S: Store>(store: &S) {
    let now = now();
    let action = new_action(now);
    store.insert_action(&action, &[]).await.unwrap();
    let read = store.get_action(action.id).await.unwrap().unwrap();
    assert_eq!(read.to_json(), stored_form(&action).to_json());
    assert_eq!(read, stored_form(&action));
    assert!(store.get_action(gen_id()).await.unwrap().is_none());
    assert!(matches!(
        store.insert_action(&action, &[]).await,
        Err(StoreError::Conflict(_))
    ));

    // Signers come back as the action's investigators.
    let signer = investigator("Jane", "A1B2C3D4E5F60718293A4B5C6D7E8F9011223344", now);
    let signer_id = store.insert_investigator(&signer).await.unwrap();
    let signed = new_action(now);
    store
        .insert_action(&signed, &[(signer_id, "sig-of-jane".into())])
        .await
        .unwrap();
    let read = store.get_action(signed.id).await.unwrap().unwrap();
    assert_eq!(read.investigators.len(), 1);
    assert_eq!(read.investigators[0].id, signer_id);
    assert_eq!(read.investigators[0].name, "Jane");
    assert_eq!(read.investigators[0].pgpfingerprint, signer.pgpfingerprint);
}

pub async fn claims_are_exclusive_under_concurrency<S: Store>(store: &S) {
    let now = now();
    let mut ids = Vec::new();
    for _ in 0..40 {
        let action = new_action(now);
        store.insert_action(&action, &[]).await.unwrap();
        ids.push(action.id);
    }
    // Not yet valid, and already expired: never claimed.
    let mut future = new_action(now);
    future.validfrom = GoTime::from(now + TimeDelta::minutes(5));
    store.insert_action(&future, &[]).await.unwrap();
    let mut expired = new_action(now);
    expired.validfrom = GoTime::from(now - TimeDelta::hours(2));
    expired.expireafter = GoTime::from(now - TimeDelta::hours(1));
    store.insert_action(&expired, &[]).await.unwrap();

    let (first, second, third) = tokio::join!(
        store.claim_runnable_actions(now, LEASE, 25),
        store.claim_runnable_actions(now, LEASE, 25),
        store.claim_runnable_actions(now, LEASE, 25),
    );
    let mut all: Vec<Id> = Vec::new();
    for claimed in [first.unwrap(), second.unwrap(), third.unwrap()] {
        assert!(claimed.len() <= 25);
        for action in claimed {
            assert_eq!(action.status, ActionStatus::Scheduled);
            all.push(action.id);
        }
    }
    let claimed_count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), claimed_count, "an action was claimed twice");
    ids.sort();
    assert_eq!(all, ids);
    assert!(
        store
            .claim_runnable_actions(now, LEASE, 25)
            .await
            .unwrap()
            .is_empty()
    );
    let stored = store.get_action(ids[0]).await.unwrap().unwrap();
    assert_eq!(stored.status, ActionStatus::Scheduled);
}

pub async fn claim_lease_expires<S: Store>(store: &S) {
    let now = now();
    let action = new_action(now);
    store.insert_action(&action, &[]).await.unwrap();
    let claimed = store.claim_runnable_actions(now, LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let later = now + TimeDelta::seconds(30);
    assert!(
        store
            .claim_runnable_actions(later, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The first scheduler died: after the lease the action is claimable again, once.
    let after_lease = now + TimeDelta::seconds(61);
    let reclaimed = store
        .claim_runnable_actions(after_lease, LEASE, 10)
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].id, action.id);
    assert!(
        store
            .claim_runnable_actions(after_lease, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn stale_actions_are_invalidated<S: Store>(store: &S) {
    let now = now();
    let pending = new_action(now);
    store.insert_action(&pending, &[]).await.unwrap();
    let scheduled = new_action(now);
    store.insert_action(&scheduled, &[]).await.unwrap();
    let fresh = new_action(now);
    let mut fresh = fresh;
    fresh.expireafter = GoTime::from(now + TimeDelta::hours(5));
    store.insert_action(&fresh, &[]).await.unwrap();
    store.claim_runnable_actions(now, LEASE, 2).await.unwrap();

    let later = now + TimeDelta::hours(2);
    let mut expected = vec![pending.id, scheduled.id];
    expected.sort();
    assert_eq!(
        store.invalidate_stale_actions(later).await.unwrap(),
        expected
    );
    for id in &expected {
        let action = store.get_action(*id).await.unwrap().unwrap();
        assert_eq!(action.status, ActionStatus::Invalid);
    }
    let fresh_read = store.get_action(fresh.id).await.unwrap().unwrap();
    assert_ne!(fresh_read.status, ActionStatus::Invalid);
    assert!(
        store
            .invalidate_stale_actions(later)
            .await
            .unwrap()
            .is_empty()
    );

    store.invalidate_action(fresh.id, now).await.unwrap();
    let fresh_read = store.get_action(fresh.id).await.unwrap().unwrap();
    assert_eq!(fresh_read.status, ActionStatus::Invalid);
    assert_eq!(fresh_read.starttime, GoTime::from(now));
    assert!(matches!(
        store.invalidate_action(gen_id(), now).await,
        Err(StoreError::NotFound { what: "action", .. })
    ));
}

pub async fn dispatch_writes_commands_and_outbox<S: Store>(store: &S) {
    let now = now();
    let agents = vec![
        agent(store, "linux.aaa", 100, now).await,
        agent(store, "linux.bbb", 200, now).await,
        agent(store, "darwin.ccc", 300, now).await,
    ];
    let (action, commands) = dispatched(store, &agents, now).await;
    let read = store.get_action(action.id).await.unwrap().unwrap();
    assert_eq!(read.status, ActionStatus::Inflight);
    assert_eq!(read.starttime, GoTime::from(now));
    assert_eq!(read.counters.sent, 3);
    assert_eq!(read.counters.inflight, 3);
    assert_eq!(read.counters.done, 0);
    assert!(store.inflight_actions().await.unwrap().contains(&action.id));

    let stored = store.commands_of_action(action.id).await.unwrap();
    assert_eq!(stored.len(), 3);
    let mut expected_ids: Vec<Id> = commands.iter().map(|command| command.id).collect();
    expected_ids.sort();
    assert_eq!(
        stored.iter().map(|c| c.id).collect::<Vec<_>>(),
        expected_ids
    );
    for command in &stored {
        assert_eq!(command.status, CommandStatus::Sent);
        assert_eq!(command.finishtime, GoTime::utc(9998, 1, 11, 11, 11, 11, 0));
        assert_eq!(command.results, Some(vec![ModuleResult::default()]));
        assert_eq!(command.action.id, action.id);
        assert_eq!(command.starttime, GoTime::from(now));
    }
    let one = store.get_command(commands[0].id).await.unwrap().unwrap();
    assert_eq!(one.agent.id, commands[0].agent.id);
    assert_eq!(one.agent.queueloc, commands[0].agent.queueloc);
    assert!(store.get_command(gen_id()).await.unwrap().is_none());

    let outbox = store.take_outbox(now, LEASE, 100).await.unwrap();
    assert_eq!(outbox.len(), 3);
    for command in &commands {
        let entry = outbox
            .iter()
            .find(|entry| entry.command_id == command.id)
            .unwrap();
        assert_eq!(entry.action_id, action.id);
        assert_eq!(entry.queueloc, command.agent.queueloc);
        assert_eq!(entry.body, command.to_json());
        // The window of the action as dispatched: 1 h + 60 s - 0.123456789 s, truncated.
        assert_eq!(entry.expiration_ms, 3_659_876);
    }

    // Dispatching again is refused: the action is no longer scheduled.
    assert!(matches!(
        store.dispatch_action(&action, &commands, &[], now).await,
        Err(StoreError::Conflict(_))
    ));

    // A scheduler-generated action is inserted by dispatch, with its signature.
    let scheduler = investigator(
        "migscheduler",
        "FFEEDDCCBBAA99887766554433221100FFEEDDCC",
        now,
    );
    let scheduler_id = store.insert_investigator(&scheduler).await.unwrap();
    let mut kill = new_action(now);
    kill.name = "Kill agent host".into();
    kill.status = ActionStatus::Preparing;
    let kill_command = command_for(&kill, &agents[0], now);
    store
        .dispatch_action(
            &kill,
            &[kill_command],
            &[(scheduler_id, "sched-sig".into())],
            now,
        )
        .await
        .unwrap();
    let read = store.get_action(kill.id).await.unwrap().unwrap();
    assert_eq!(read.status, ActionStatus::Inflight);
    assert_eq!(read.counters.sent, 1);
    assert_eq!(read.investigators.len(), 1);
}

pub async fn outbox_take_lease_and_ack<S: Store>(store: &S) {
    let now = now();
    let agents = vec![
        agent(store, "linux.o1", 1, now).await,
        agent(store, "linux.o2", 2, now).await,
        agent(store, "linux.o3", 3, now).await,
    ];
    dispatched(store, &agents, now).await;
    let first = store.take_outbox(now, LEASE, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let second = store.take_outbox(now, LEASE, 2).await.unwrap();
    assert_eq!(second.len(), 1);
    assert!(
        first
            .iter()
            .all(|entry| entry.command_id != second[0].command_id)
    );
    assert!(store.take_outbox(now, LEASE, 10).await.unwrap().is_empty());

    // Only the second taker confirmed; the first died: its entries come back after the lease.
    store.ack_outbox(&[second[0].command_id]).await.unwrap();
    let later = now + TimeDelta::seconds(61);
    let mut again: Vec<Id> = store
        .take_outbox(later, LEASE, 10)
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.command_id)
        .collect();
    again.sort();
    let mut expected: Vec<Id> = first.iter().map(|entry| entry.command_id).collect();
    expected.sort();
    assert_eq!(again, expected);
    store.ack_outbox(&again).await.unwrap();
    let much_later = now + TimeDelta::hours(1);
    assert!(
        store
            .take_outbox(much_later, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- commands --------------------------------------------------------------------

pub async fn finish_command_accepts_only_the_addressed_agent_once<S: Store>(store: &S) {
    let now = now();
    let agents = vec![
        agent(store, "linux.f1", 10, now).await,
        agent(store, "linux.f2", 20, now).await,
    ];
    let (_, commands) = dispatched(store, &agents, now).await;

    // A result from another process of the same endpoint is dropped.
    let mut wrong_pid = returned(&commands[0], CommandStatus::Success);
    wrong_pid.agent.pid = 11;
    assert!(!store.finish_command(&wrong_pid, now).await.unwrap());

    let mut result = returned(&commands[0], CommandStatus::Success);
    result.results = Some(vec![ModuleResult {
        foundanything: true,
        success: true,
        elements: serde_json::json!({"line": "a\u{0}b"}),
        statistics: serde_json::Value::Null,
        errors: None,
    }]);
    let finished_at = now + TimeDelta::seconds(5);
    assert!(store.finish_command(&result, finished_at).await.unwrap());
    let stored = store.get_command(commands[0].id).await.unwrap().unwrap();
    assert_eq!(stored.status, CommandStatus::Success);
    assert_eq!(stored.finishtime, GoTime::from(finished_at));
    let results = stored.results.unwrap();
    assert_eq!(results[0].elements, serde_json::json!({"line": "aNULLb"}));
    assert!(results[0].foundanything);

    // The second result of the same command is dropped.
    assert!(
        !store
            .finish_command(&returned(&commands[0], CommandStatus::Failed), now)
            .await
            .unwrap()
    );
    // Unknown command.
    let mut unknown = returned(&commands[0], CommandStatus::Success);
    unknown.id = gen_id();
    assert!(!store.finish_command(&unknown, now).await.unwrap());

    // The agent went offline: its result is dropped.
    let timeouts = AgentTimeouts {
        idle_after: Duration::from_secs(60),
        offline_after: Duration::from_secs(60),
    };
    let later = now + TimeDelta::hours(1);
    store.mark_inactive_agents(later, timeouts).await.unwrap();
    store.mark_inactive_agents(later, timeouts).await.unwrap();
    assert_eq!(
        store.get_agent(agents[1].id).await.unwrap().unwrap().status,
        AgentStatus::Offline
    );
    assert!(
        !store
            .finish_command(&returned(&commands[1], CommandStatus::Success), later)
            .await
            .unwrap()
    );
}

pub async fn expire_commands_ignores_agent_state<S: Store>(store: &S) {
    let now = now();
    let agents = vec![
        agent(store, "linux.e1", 1, now).await,
        agent(store, "linux.e2", 2, now).await,
    ];
    let (action, commands) = dispatched(store, &agents, now).await;
    assert!(
        store
            .finish_command(&returned(&commands[0], CommandStatus::Success), now)
            .await
            .unwrap()
    );
    // Nothing expires before expireafter.
    assert!(store.expire_commands(now).await.unwrap().is_empty());
    // The second agent goes offline; its command still expires.
    let later = now + TimeDelta::hours(2);
    let timeouts = AgentTimeouts {
        idle_after: Duration::from_secs(60),
        offline_after: Duration::from_secs(60),
    };
    store.mark_inactive_agents(later, timeouts).await.unwrap();
    store.mark_inactive_agents(later, timeouts).await.unwrap();
    assert_eq!(store.expire_commands(later).await.unwrap(), vec![action.id]);
    let expired = store.get_command(commands[1].id).await.unwrap().unwrap();
    assert_eq!(expired.status, CommandStatus::Expired);
    assert_eq!(expired.finishtime, GoTime::from(later));
    let succeeded = store.get_command(commands[0].id).await.unwrap().unwrap();
    assert_eq!(succeeded.status, CommandStatus::Success);
    assert!(store.expire_commands(later).await.unwrap().is_empty());
}

pub async fn complete_actions_counts_and_completes<S: Store>(store: &S) {
    let now = now();
    let agents = vec![
        agent(store, "linux.c1", 1, now).await,
        agent(store, "linux.c2", 2, now).await,
        agent(store, "linux.c3", 3, now).await,
    ];
    let (action, commands) = dispatched(store, &agents, now).await;
    assert!(
        store
            .finish_command(&returned(&commands[0], CommandStatus::Success), now)
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_command(&returned(&commands[1], CommandStatus::Failed), now)
            .await
            .unwrap()
    );
    let step = now + TimeDelta::seconds(10);
    let progress = store.complete_actions(&[action.id], step).await.unwrap();
    assert_eq!(progress.len(), 1);
    assert!(!progress[0].completed);
    let counters = &progress[0].counters;
    assert_eq!(
        (
            counters.sent,
            counters.done,
            counters.inflight,
            counters.success,
            counters.failed
        ),
        (3, 2, 1, 1, 1)
    );
    let read = store.get_action(action.id).await.unwrap().unwrap();
    assert_eq!(read.status, ActionStatus::Inflight);
    assert_eq!(read.lastupdatetime, GoTime::from(step));

    let later = now + TimeDelta::hours(2);
    store.expire_commands(later).await.unwrap();
    let progress = store
        .complete_actions(&[action.id, action.id], later)
        .await
        .unwrap();
    assert_eq!(progress.len(), 1);
    assert!(progress[0].completed);
    assert_eq!(progress[0].counters.expired, 1);
    assert_eq!(progress[0].counters.done, 3);
    let read = store.get_action(action.id).await.unwrap().unwrap();
    assert_eq!(read.status, ActionStatus::Completed);
    assert_eq!(read.finishtime, GoTime::from(later));
    assert_eq!(read.counters, progress[0].counters);
    assert!(!store.inflight_actions().await.unwrap().contains(&action.id));
    // Completing again does not complete it twice.
    let again = store
        .complete_actions(&[action.id], later + TimeDelta::seconds(1))
        .await
        .unwrap();
    assert!(!again[0].completed);
    let read = store.get_action(action.id).await.unwrap().unwrap();
    assert_eq!(read.finishtime, GoTime::from(later));
}

// ---- agents ----------------------------------------------------------------------

pub async fn heartbeats_insert_update_replace_revive<S: Store>(store: &S) {
    let now = now();
    let first = store
        .upsert_heartbeats(&[heartbeat("linux.h1", 42)], now)
        .await
        .unwrap();
    let HeartbeatOutcome::Inserted(id) = first[0] else {
        panic!("expected an insert, got {first:?}");
    };
    let row = store.get_agent(id).await.unwrap().unwrap();
    assert_eq!(row.status, AgentStatus::Online);
    assert_eq!(row.starttime, GoTime::from(now));
    assert_eq!(row.heartbeatts, GoTime::from(now));
    assert_eq!(row.destructiontime, GoTime::utc(9998, 1, 11, 11, 11, 11, 0));
    assert_eq!(row.environment, heartbeat("linux.h1", 42).environment);
    assert_eq!(row.tags, heartbeat("linux.h1", 42).tags);

    // A later heartbeat updates the row; a refresh within 15 s does not replace it.
    let t1 = now + TimeDelta::seconds(30);
    let mut hb = heartbeat("linux.h1", 42);
    hb.refreshts = GoTime::from(hb.refreshts.to_utc() + TimeDelta::seconds(10));
    hb.version = "changed".into();
    assert_eq!(
        store.upsert_heartbeats(&[hb.clone()], t1).await.unwrap(),
        vec![HeartbeatOutcome::Updated(id)]
    );
    let row = store.get_agent(id).await.unwrap().unwrap();
    assert_eq!(row.heartbeatts, GoTime::from(t1));
    assert_eq!(row.starttime, GoTime::from(now));
    assert_eq!(
        row.version, "20240101-0.abc",
        "an update keeps the stored version"
    );

    // A refresh more than 15 s later replaces the row.
    let t2 = now + TimeDelta::seconds(60);
    hb.refreshts =
        GoTime::from(heartbeat("linux.h1", 42).refreshts.to_utc() + TimeDelta::seconds(20));
    let outcome = store.upsert_heartbeats(&[hb.clone()], t2).await.unwrap();
    let HeartbeatOutcome::Replaced { old, new } = outcome[0] else {
        panic!("expected a replacement, got {outcome:?}");
    };
    assert_eq!(old, id);
    assert_eq!(
        store.get_agent(old).await.unwrap().unwrap().status,
        AgentStatus::Offline
    );
    let replaced = store.get_agent(new).await.unwrap().unwrap();
    assert_eq!(replaced.status, AgentStatus::Online);
    assert_eq!(replaced.version, "changed");
    assert_eq!(replaced.refreshts, hb.refreshts);

    // A destroyed row is revived and reported.
    store.mark_agent_destroyed(new, t2).await.unwrap();
    let t3 = now + TimeDelta::seconds(90);
    assert_eq!(
        store.upsert_heartbeats(&[hb.clone()], t3).await.unwrap(),
        vec![HeartbeatOutcome::RevivedDestroyed(new)]
    );
    assert_eq!(
        store.get_agent(new).await.unwrap().unwrap().status,
        AgentStatus::Online
    );

    // An offline row is never reused.
    let timeouts = AgentTimeouts {
        idle_after: Duration::from_secs(60),
        offline_after: Duration::from_secs(60),
    };
    let t4 = now + TimeDelta::hours(1);
    store.mark_inactive_agents(t4, timeouts).await.unwrap();
    store.mark_inactive_agents(t4, timeouts).await.unwrap();
    let outcome = store.upsert_heartbeats(&[hb.clone()], t4).await.unwrap();
    let HeartbeatOutcome::Inserted(newest) = outcome[0] else {
        panic!("expected an insert, got {outcome:?}");
    };
    assert!(newest != new && newest != old);

    // Within one batch, a second heartbeat of a new agent updates the row just inserted.
    let outcome = store
        .upsert_heartbeats(
            &[
                heartbeat("linux.h2", 1),
                heartbeat("linux.h2", 1),
                heartbeat("linux.h3", 1),
            ],
            t4,
        )
        .await
        .unwrap();
    let HeartbeatOutcome::Inserted(h2) = outcome[0] else {
        panic!("expected an insert, got {outcome:?}");
    };
    assert_eq!(outcome[1], HeartbeatOutcome::Updated(h2));
    assert!(matches!(outcome[2], HeartbeatOutcome::Inserted(_)));
}

pub async fn target_agents_binds_and_picks_one_per_queueloc<S: Store>(store: &S) {
    let now = now();
    let mut darwin = heartbeat("darwin.t3", 3);
    darwin.tags = BTreeMap::from([("operator".to_string(), "it".to_string())]);
    store
        .upsert_heartbeats(
            &[
                heartbeat("linux.t1", 1),
                heartbeat("linux.t1", 2),
                heartbeat("linux.t2", 1),
                darwin,
                heartbeat("linux.t4", 1),
            ],
            now,
        )
        .await
        .unwrap();
    // linux.t4 goes offline, linux.t2 idle.
    let old = now - TimeDelta::hours(2);
    let outcome = store
        .upsert_heartbeats(&[heartbeat("linux.t5", 9)], old)
        .await
        .unwrap();
    let HeartbeatOutcome::Inserted(t5) = outcome[0] else {
        panic!()
    };
    store
        .mark_inactive_agents(
            now,
            AgentTimeouts {
                idle_after: Duration::from_secs(3600),
                offline_after: Duration::from_secs(3600),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_agent(t5).await.unwrap().unwrap().status,
        AgentStatus::Idle
    );
    let t4 = store.agents_of_queueloc("linux.t4", old).await.unwrap()[0].id;
    store.mark_agent_destroyed(t4, now).await.unwrap();

    let queuelocs = |agents: Vec<Agent>| agents.into_iter().map(|a| a.queueloc).collect::<Vec<_>>();
    let all = store
        .target_agents("status='online' OR status='idle'", now)
        .await
        .unwrap();
    assert_eq!(
        queuelocs(all),
        ["darwin.t3", "linux.t1", "linux.t2", "linux.t5"]
    );
    let cases: &[(&str, &[&str])] = &[
        ("status='online'", &["darwin.t3", "linux.t1", "linux.t2"]),
        (
            "queueloc LIKE 'linux.%'",
            &["linux.t1", "linux.t2", "linux.t5"],
        ),
        ("environment->>'os'='darwin'", &["darwin.t3"]),
        (
            "tags->>'operator'='opsec' AND name != 'host-linux.t2'",
            &["linux.t1", "linux.t5"],
        ),
        ("agents.pid = 2", &["linux.t1"]),
        (
            "heartbeattime > NOW() - INTERVAL '1 hour'",
            &["darwin.t3", "linux.t1", "linux.t2"],
        ),
        ("name = 'it''s not there'", &[]),
        ("queueloc = 'linux.t4'", &[]),
    ];
    for (target, expected) in cases {
        let agents = store.target_agents(target, now).await.unwrap();
        assert_eq!(queuelocs(agents), *expected, "target {target}");
        assert_eq!(
            store.count_target_agents(target, now).await.unwrap(),
            expected.len() as u64,
            "count of {target}"
        );
        // The search's first page: the same agents in the same order, cut at the limit.
        for limit in [1, 2, 10] {
            let first = store
                .search_target_agents(target, now, limit)
                .await
                .unwrap();
            let wanted: Vec<&str> = expected.iter().copied().take(limit as usize).collect();
            assert_eq!(queuelocs(first), wanted, "target {target}, limit {limit}");
        }
    }
    // linux.t1 has two rows: a limit counts queuelocs, not rows.
    let two = store
        .search_target_agents("queueloc LIKE 'linux.%'", now, 2)
        .await
        .unwrap();
    assert_eq!(queuelocs(two), ["linux.t1", "linux.t2"]);
    assert!(matches!(
        store
            .search_target_agents("id = 1 UNION SELECT 1", now, 10)
            .await,
        Err(StoreError::Target(_))
    ));
    assert!(matches!(
        store.target_agents("1=1; DROP TABLE agents", now).await,
        Err(StoreError::Target(_))
    ));
    assert!(matches!(
        store.count_target_agents("", now).await,
        Err(StoreError::Target(_))
    ));
}

pub async fn mark_inactive_agents_offline_before_idle<S: Store>(store: &S) {
    let now = now();
    let silent = agent(store, "linux.m1", 1, now - TimeDelta::minutes(30)).await;
    let recent = agent(store, "linux.m2", 1, now - TimeDelta::minutes(10)).await;
    let timeouts = AgentTimeouts {
        idle_after: Duration::from_secs(25 * 60),
        offline_after: Duration::from_secs(20 * 60),
    };
    let first = store.mark_inactive_agents(now, timeouts).await.unwrap();
    assert_eq!((first.to_idle, first.to_offline), (1, 0));
    assert_eq!(
        store.get_agent(silent.id).await.unwrap().unwrap().status,
        AgentStatus::Idle
    );
    let second = store.mark_inactive_agents(now, timeouts).await.unwrap();
    assert_eq!((second.to_idle, second.to_offline), (0, 1));
    assert_eq!(
        store.get_agent(silent.id).await.unwrap().unwrap().status,
        AgentStatus::Offline
    );
    assert_eq!(
        store.get_agent(recent.id).await.unwrap().unwrap().status,
        AgentStatus::Online
    );
    let later = now + TimeDelta::minutes(16);
    let third = store.mark_inactive_agents(later, timeouts).await.unwrap();
    assert_eq!((third.to_idle, third.to_offline), (1, 0));
}

pub async fn record_agents_stats_on_a_small_fleet<S: Store>(store: &S) {
    let now = now();
    let mut v2 = heartbeat("linux.s2", 1);
    v2.version = "v2".into();
    let mut s1a = heartbeat("linux.s1", 1);
    s1a.version = "v1".into();
    let mut s1b = heartbeat("linux.s1", 2);
    s1b.version = "v1".into();
    store.upsert_heartbeats(&[s1a, s1b, v2], now).await.unwrap();
    let mut idle = heartbeat("linux.s3", 1);
    idle.version = "v1".into();
    store
        .upsert_heartbeats(&[idle], now - TimeDelta::minutes(30))
        .await
        .unwrap();
    let mut gone = heartbeat("linux.s4", 1);
    gone.version = "v1".into();
    store
        .upsert_heartbeats(&[gone], now - TimeDelta::hours(2))
        .await
        .unwrap();
    let timeouts = AgentTimeouts {
        idle_after: Duration::from_secs(25 * 60),
        offline_after: Duration::from_secs(60 * 60),
    };
    store.mark_inactive_agents(now, timeouts).await.unwrap();
    store.mark_inactive_agents(now, timeouts).await.unwrap();

    let stats = store.record_agents_stats(now, true).await.unwrap();
    assert_eq!(stats.timestamp, GoTime::from(now));
    assert_eq!(stats.onlineagents, 3.0);
    assert_eq!(
        stats.onlineagentsbyversion,
        Some(vec![
            AgentsVersionsSum {
                version: "v1".into(),
                count: 2.0
            },
            AgentsVersionsSum {
                version: "v2".into(),
                count: 1.0
            },
        ])
    );
    assert_eq!(stats.onlineendpoints, 2.0);
    assert_eq!(stats.idleagents, 1.0);
    assert_eq!(
        stats.idleagentsbyversion,
        Some(vec![AgentsVersionsSum {
            version: "v1".into(),
            count: 1.0
        }])
    );
    assert_eq!(stats.idleendpoints, 1.0);
    assert_eq!(stats.newendpoints, 4.0);
    assert_eq!(stats.multiagentsendpoints, 1.0);
    assert_eq!(stats.disappearedendpoints, 1.0);
    assert_eq!(stats.flappingendpoints, 1.0);
    let hourly_skipped = store.record_agents_stats(now, false).await.unwrap();
    assert_eq!(hourly_skipped.newendpoints, 0.0);
    assert_eq!(hourly_skipped.onlineagents, 3.0);
}

/// An empty fleet: the per-version sums are Go nil slices (`null`), as the
/// original stored them, and read back so.
pub async fn record_agents_stats_of_an_empty_fleet_writes_null_versions<S: Store>(store: &S) {
    let stats = store.record_agents_stats(now(), true).await.unwrap();
    assert_eq!(stats.onlineagentsbyversion, None);
    assert_eq!(stats.idleagentsbyversion, None);
    let stored = store.latest_agents_stats().await.unwrap().unwrap();
    assert_eq!(stored.onlineagentsbyversion, None);
    assert_eq!(stored.idleagentsbyversion, None);
    assert_eq!(stored.onlineagents, 0.0);
}

pub async fn duplicates_and_destroyed_agents<S: Store>(store: &S) {
    let now = now();
    let first = agent(store, "linux.d1", 1, now - TimeDelta::seconds(10)).await;
    let second = agent(store, "linux.d1", 2, now).await;
    agent(store, "linux.d2", 1, now).await;
    let mut checkin_a = heartbeat("linux.d3", 1);
    checkin_a.mode = "checkin".into();
    let mut checkin_b = heartbeat("linux.d3", 2);
    checkin_b.mode = "checkin".into();
    store
        .upsert_heartbeats(&[checkin_a, checkin_b], now)
        .await
        .unwrap();
    let since = now - TimeDelta::minutes(5);
    assert_eq!(
        store.duplicate_queuelocs(since).await.unwrap(),
        vec!["linux.d1".to_string()]
    );
    assert!(store.duplicate_queuelocs(now).await.unwrap().is_empty());

    let rows = store.agents_of_queueloc("linux.d1", since).await.unwrap();
    assert_eq!(
        rows.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![first.id, second.id]
    );
    let destroyed_at = now + TimeDelta::seconds(1);
    store
        .mark_agent_destroyed(first.id, destroyed_at)
        .await
        .unwrap();
    let rows = store.agents_of_queueloc("linux.d1", since).await.unwrap();
    assert_eq!(rows[0].status, AgentStatus::Destroyed);
    assert_eq!(rows[0].destructiontime, GoTime::from(destroyed_at));
    assert!(matches!(
        store.mark_agent_destroyed(gen_id(), now).await,
        Err(StoreError::NotFound { what: "agent", .. })
    ));
}

pub async fn stale_queuelocs_are_the_all_offline_ones<S: Store>(store: &S) {
    let now = now();
    let an_hour_ago = now - TimeDelta::hours(1);
    agent(store, "linux.q1", 1, an_hour_ago).await;
    agent(store, "linux.q2", 1, an_hour_ago).await;
    agent(store, "linux.q3", 1, now - TimeDelta::days(3)).await;
    let timeouts = AgentTimeouts {
        idle_after: Duration::from_secs(60),
        offline_after: Duration::from_secs(60),
    };
    store.mark_inactive_agents(now, timeouts).await.unwrap();
    store.mark_inactive_agents(now, timeouts).await.unwrap();
    // linux.q2 has a new process online.
    agent(store, "linux.q2", 2, now).await;
    let oldest = now - TimeDelta::days(1);
    assert_eq!(
        store.stale_queuelocs(oldest).await.unwrap(),
        vec!["linux.q1".to_string()]
    );
}

// ---- investigators ---------------------------------------------------------------

pub fn investigator(name: &str, fingerprint: &str, now: DateTime<Utc>) -> Investigator {
    Investigator {
        name: name.into(),
        pgpfingerprint: fingerprint.into(),
        publickey: b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n...".to_vec(),
        status: InvestigatorStatus::Active,
        createdat: GoTime::from(now),
        lastmodified: GoTime::from(now),
        permissions: Permissions::DEFAULT,
        ..Investigator::default()
    }
}

pub async fn investigators_and_scheduler_identity<S: Store>(store: &S) {
    let now = now();
    assert!(store.scheduler_identity().await.unwrap().is_none());
    let alice = investigator("Alice", "AAAA000000000000000000000000000000000001", now);
    let alice_id = store.insert_investigator(&alice).await.unwrap();
    let mut bob = investigator("Bob", "BBBB000000000000000000000000000000000002", now);
    bob.status = InvestigatorStatus::Disabled;
    let bob_id = store.insert_investigator(&bob).await.unwrap();
    assert!(bob_id > alice_id);
    let mut scheduler = investigator(
        "migscheduler",
        "CCCC000000000000000000000000000000000003",
        now,
    );
    scheduler.privatekey = b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n...".to_vec();
    scheduler.permissions = Permissions::ALL;
    let scheduler_id = store.insert_investigator(&scheduler).await.unwrap();
    // A key-less investigator, twice: no fingerprint conflict.
    let mut keyless = investigator("Keyless", "", now);
    keyless.publickey.clear();
    store.insert_investigator(&keyless).await.unwrap();
    store.insert_investigator(&keyless).await.unwrap();

    let active = store.active_investigators().await.unwrap();
    assert_eq!(active.len(), 4);
    assert_eq!(active[0].id, alice_id);
    assert_eq!(active[0].publickey, alice.publickey);
    assert_eq!(active[0].permissions, Permissions::DEFAULT);
    assert_eq!(active[0].createdat, GoTime::from(now));
    assert!(active.iter().all(|i| i.privatekey.is_empty()));
    assert!(active.iter().all(|i| i.id != bob_id));

    let identity = store.scheduler_identity().await.unwrap().unwrap();
    assert_eq!(identity.id, scheduler_id);
    assert_eq!(identity.privatekey, scheduler.privatekey);
    assert_eq!(identity.permissions, Permissions::ALL);

    assert!(matches!(
        store.insert_investigator(&alice).await,
        Err(StoreError::Conflict(_))
    ));
}

// ---- wake-ups --------------------------------------------------------------------

pub async fn wait_for_new_action_wakes_and_times_out<S: Store>(store: &S) {
    let started = Instant::now();
    store.wait_for_new_action(Duration::from_millis(200)).await;
    assert!(started.elapsed() >= Duration::from_millis(190));

    store.insert_action(&new_action(now()), &[]).await.unwrap();
    let started = Instant::now();
    store.wait_for_new_action(Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no wake-up after an insert"
    );
}

// ---- API ---------------------------------------------------------------------------

/// `get_investigator`, `api_key_holders` and `set_investigator_api_key` (API §3.3, §4.10).
pub async fn api_investigator_by_id_and_api_keys<S: Store>(store: &S) {
    let now = now();
    let alice = investigator("Alice", "AAAA000000000000000000000000000000000001", now);
    let alice_id = store.insert_investigator(&alice).await.unwrap();
    let mut bob = investigator("Bob", "BBBB000000000000000000000000000000000002", now);
    bob.status = InvestigatorStatus::Disabled;
    let bob_id = store.insert_investigator(&bob).await.unwrap();

    let read = store.get_investigator(alice_id).await.unwrap().unwrap();
    assert_eq!(read.name, "Alice");
    assert_eq!(read.publickey, alice.publickey);
    assert_eq!(read.apikey, "");
    assert!(store.get_investigator(Id(999_999)).await.unwrap().is_none());
    assert!(store.api_key_holders().await.unwrap().is_empty());

    let (hash, salt) = ([7u8; 32], [9u8; 16]);
    store
        .set_investigator_api_key(alice_id, Some((&hash, &salt)))
        .await
        .unwrap();
    store
        .set_investigator_api_key(bob_id, Some((&hash, &salt)))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_investigator(alice_id)
            .await
            .unwrap()
            .unwrap()
            .apikey,
        "set"
    );
    let holders = store.api_key_holders().await.unwrap();
    assert_eq!(
        holders.len(),
        1,
        "a disabled investigator holds no usable key"
    );
    assert_eq!(holders[0].investigator.id, alice_id);
    assert_eq!(holders[0].hash, hash.to_vec());
    assert_eq!(holders[0].salt, salt.to_vec());

    store
        .set_investigator_api_key(alice_id, None)
        .await
        .unwrap();
    assert!(store.api_key_holders().await.unwrap().is_empty());
    assert_eq!(
        store
            .get_investigator(alice_id)
            .await
            .unwrap()
            .unwrap()
            .apikey,
        ""
    );
    assert!(matches!(
        store.set_investigator_api_key(Id(999_999), None).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// `set_investigator_status` and `set_investigator_permissions` with the last-admin rule.
pub async fn api_investigator_status_and_last_admin_rule<S: Store>(store: &S) {
    let now = now();
    let mut admin = investigator("Admin", "AAAA000000000000000000000000000000000001", now);
    admin.permissions = Permissions::ALL;
    let admin_id = store.insert_investigator(&admin).await.unwrap();
    let user_id = store
        .insert_investigator(&investigator(
            "User",
            "BBBB000000000000000000000000000000000002",
            now,
        ))
        .await
        .unwrap();

    store
        .set_investigator_status(user_id, "disabled")
        .await
        .unwrap();
    let user = store.get_investigator(user_id).await.unwrap().unwrap();
    assert_eq!(user.status, InvestigatorStatus::Disabled);
    assert!(matches!(
        store.set_investigator_status(Id(999_999), "active").await,
        Err(StoreError::NotFound { .. })
    ));

    // The only admin cannot drop its admin bits; once another holds one, it can.
    assert!(matches!(
        store
            .set_investigator_permissions(admin_id, Permissions::DEFAULT)
            .await,
        Err(StoreError::Conflict(message)) if message == "will not remove last admin"
    ));
    store
        .set_investigator_permissions(user_id, Permissions(Permissions::ADMIN.0 | 1))
        .await
        .unwrap();
    store
        .set_investigator_permissions(admin_id, Permissions::DEFAULT)
        .await
        .unwrap();
    let read = store.get_investigator(admin_id).await.unwrap().unwrap();
    assert_eq!(read.permissions, Permissions::DEFAULT);
    assert!(matches!(
        store
            .set_investigator_permissions(Id(999_999), Permissions::ALL)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

/// `investigator_by_fingerprint`, `latest_agents_stats` and `recent_actions` (dashboard, public keys).
pub async fn api_fingerprint_stats_and_recent_actions<S: Store>(store: &S) {
    let now = now();
    let alice = investigator("Alice", "AAAA000000000000000000000000000000000001", now);
    let alice_id = store.insert_investigator(&alice).await.unwrap();
    let found = store
        .investigator_by_fingerprint("aaaa000000000000000000000000000000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, alice_id);
    assert_eq!(found.publickey, alice.publickey);
    assert!(
        store
            .investigator_by_fingerprint("' OR 1=1 --")
            .await
            .unwrap()
            .is_none()
    );

    assert!(store.latest_agents_stats().await.unwrap().is_none());
    let first = store
        .record_agents_stats(now - TimeDelta::minutes(5), true)
        .await
        .unwrap();
    let latest = store.record_agents_stats(now, true).await.unwrap();
    let read = store.latest_agents_stats().await.unwrap().unwrap();
    assert_eq!(read.timestamp, GoTime::from(now));
    assert_eq!(read.onlineagents, latest.onlineagents);
    assert_ne!(read.timestamp, first.timestamp);

    assert!(store.recent_actions(10).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for minutes in 0..3 {
        let mut action = new_action(now);
        action.starttime = GoTime::from(now - TimeDelta::minutes(minutes));
        store
            .insert_action(&action, &[(alice_id, "sig".to_owned())])
            .await
            .unwrap();
        ids.push(action.id);
    }
    let recent = store.recent_actions(2).await.unwrap();
    assert_eq!(
        recent.iter().map(|a| a.id).collect::<Vec<_>>(),
        ids[..2].to_vec()
    );
    assert_eq!(recent[0].investigators.len(), 1);
}

/// `search_ids` for every type and filter, with hostile values that must match nothing.
pub async fn api_search_ids_binds_every_filter<S: Store>(store: &S) {
    use mig_store::search::{SearchFilter, SearchType};
    let now = now();
    let alice_id = store
        .insert_investigator(&investigator(
            "Alice",
            "AAAA000000000000000000000000000000000001",
            now,
        ))
        .await
        .unwrap();
    store
        .upsert_heartbeats(&[heartbeat("linux.a", 1), heartbeat("linux.b", 2)], now)
        .await
        .unwrap();
    let agents = store.target_agents("status='online'", now).await.unwrap();
    assert_eq!(agents.len(), 2);
    let action = new_action(now);
    store
        .insert_action(&action, &[(alice_id, "sig".to_owned())])
        .await
        .unwrap();
    store
        .claim_runnable_actions(now, Duration::from_secs(60), 10)
        .await
        .unwrap();
    let commands = vec![command_for(&action, &agents[0], now)];
    store
        .dispatch_action(&action, &commands, &[], now)
        .await
        .unwrap();
    assert!(
        store
            .finish_command(&returned(&commands[0], CommandStatus::Success), now)
            .await
            .unwrap()
    );
    let all = |limit| SearchFilter {
        limit,
        ..SearchFilter::default()
    };
    let search =
        |kind, filter: SearchFilter| async move { store.search_ids(kind, &filter).await.unwrap() };
    assert_eq!(search(SearchType::Action, all(100)).await, vec![action.id]);
    assert_eq!(search(SearchType::Agent, all(100)).await.len(), 2);
    assert_eq!(search(SearchType::Agent, all(1)).await.len(), 1);
    assert_eq!(
        search(
            SearchType::Agent,
            SearchFilter {
                offset: 1,
                ..all(100)
            }
        )
        .await
        .len(),
        1
    );
    assert_eq!(
        search(SearchType::Command, all(100)).await,
        vec![commands[0].id]
    );
    assert_eq!(
        search(SearchType::Investigator, all(100)).await,
        vec![alice_id]
    );
    let by = |filter: SearchFilter| SearchFilter {
        limit: 100,
        ..filter
    };
    let cases: Vec<(SearchType, SearchFilter, usize)> = vec![
        (
            SearchType::Action,
            by(SearchFilter {
                action_name: Some("FIND%".into()),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Action,
            by(SearchFilter {
                threat_family: Some("compl%".into()),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Action,
            by(SearchFilter {
                investigator_name: Some("alice".into()),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Action,
            by(SearchFilter {
                agent_id: Some(agents[1].id),
                ..Default::default()
            }),
            0,
        ),
        (
            SearchType::Action,
            by(SearchFilter {
                status: Some("inflight".into()),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Action,
            by(SearchFilter {
                after: Some(now + TimeDelta::hours(1)),
                ..Default::default()
            }),
            0,
        ),
        (
            SearchType::Action,
            by(SearchFilter {
                before: Some(now + TimeDelta::hours(2)),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Command,
            by(SearchFilter {
                found_anything: Some(true),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Command,
            by(SearchFilter {
                found_anything: Some(false),
                ..Default::default()
            }),
            0,
        ),
        (
            SearchType::Command,
            by(SearchFilter {
                agent_id: Some(agents[0].id),
                status: Some("success".into()),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Command,
            by(SearchFilter {
                investigator_id: Some(alice_id),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Agent,
            by(SearchFilter {
                action_id: Some(action.id),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Agent,
            by(SearchFilter {
                command_id: Some(commands[0].id),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Agent,
            by(SearchFilter {
                investigator_name: Some("Al%".into()),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Investigator,
            by(SearchFilter {
                agent_id: Some(agents[0].id),
                ..Default::default()
            }),
            1,
        ),
        (
            SearchType::Investigator,
            by(SearchFilter {
                agent_id: Some(agents[1].id),
                ..Default::default()
            }),
            0,
        ),
        (
            SearchType::Agent,
            by(SearchFilter {
                agent_name: Some("' OR 1=1 --".into()),
                ..Default::default()
            }),
            0,
        ),
        (
            SearchType::Action,
            by(SearchFilter {
                action_name: Some("x'; DROP TABLE actions; --".into()),
                ..Default::default()
            }),
            0,
        ),
        (
            SearchType::Investigator,
            by(SearchFilter {
                status: Some("%' OR '1'='1".into()),
                ..Default::default()
            }),
            0,
        ),
    ];
    for (kind, filter, expected) in cases {
        assert_eq!(
            search(kind, filter.clone()).await.len(),
            expected,
            "{kind:?} {filter:?}"
        );
    }
    assert_eq!(search(SearchType::Action, all(100)).await, vec![action.id]);
}

fn loader(name: &str) -> mig_protocol::manifest::LoaderEntry {
    mig_protocol::manifest::LoaderEntry {
        name: name.into(),
        ..Default::default()
    }
}

fn manifest_record(name: &str, target: &str) -> mig_protocol::manifest::ManifestRecord {
    mig_protocol::manifest::ManifestRecord {
        name: name.into(),
        content: mig_protocol::manifest::build_content(&[("mig-agent", b"agent bytes")]),
        status: "staged".into(),
        target: target.into(),
        ..Default::default()
    }
}

pub async fn api_loaders_keys_and_check_in<S: Store>(store: &S) {
    let now = now();
    let key = |n: u8| ([n; 32], [n; 16]);
    let (hash, salt) = key(1);
    let id = store
        .insert_loader(&loader("web1"), "AbCd1234", (&hash, &salt), now)
        .await
        .unwrap();
    // Duplicate names and prefixes are refused.
    let (hash2, salt2) = key(2);
    assert!(matches!(
        store
            .insert_loader(&loader("web1"), "Zzzz9999", (&hash2, &salt2), now)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let entry = store.get_loader(id).await.unwrap().unwrap();
    assert_eq!(entry.name, "web1");
    assert_eq!(entry.prefix, "AbCd1234");
    assert_eq!(entry.key, "");
    assert_eq!(entry.agentname, "");
    assert!(!entry.enabled);
    assert_eq!(entry.expectenv, "");
    assert_eq!(entry.lastseen.to_utc(), now);
    assert!(store.get_loader(Id(id.0 + 1000)).await.unwrap().is_none());
    // Disabled loaders cannot authenticate.
    assert!(store.loader_key_holder("AbCd1234").await.unwrap().is_none());
    store.set_loader_enabled(id, true).await.unwrap();
    let holder = store.loader_key_holder("AbCd1234").await.unwrap().unwrap();
    assert_eq!((holder.id, holder.name.as_str()), (id, "web1"));
    assert_eq!((holder.hash, holder.salt), (hash.to_vec(), salt.to_vec()));
    let prefix = store.set_loader_key(id, (&hash2, &salt2)).await.unwrap();
    assert_eq!(prefix, "AbCd1234");
    let holder = store.loader_key_holder("AbCd1234").await.unwrap().unwrap();
    assert_eq!(holder.hash, hash2.to_vec());
    assert!(matches!(
        store.set_loader_enabled(Id(id.0 + 1000), true).await,
        Err(StoreError::NotFound { .. })
    ));
    // Check-in: no manifest yet.
    let agent = heartbeat("linux.q1", 10);
    assert!(
        store
            .loader_manifest(id, &agent, now)
            .await
            .unwrap()
            .is_none()
    );
    let entry = store.get_loader(id).await.unwrap().unwrap();
    assert_eq!(entry.agentname, "host-linux.q1");
    // An active manifest whose target matches the loader's reported environment.
    let manifest_id = store
        .insert_manifest(
            &manifest_record("m1", "env#>>'{os}'='linux' AND tags->>'operator'='opsec'"),
            now,
        )
        .await
        .unwrap();
    // With no signature required, staging makes it active.
    store
        .set_manifest_status(manifest_id, "staged", 0)
        .await
        .unwrap();
    let found = store
        .loader_manifest(id, &agent, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.loader_name, "web1");
    assert_eq!(found.manifest.id, manifest_id);
    assert!(!found.manifest.content.is_empty());
    // The expected environment gates it.
    store
        .set_loader_expectenv(id, Some("env->>'arch'='arm64'"))
        .await
        .unwrap();
    assert!(
        store
            .loader_manifest(id, &agent, now)
            .await
            .unwrap()
            .is_none()
    );
    store
        .set_loader_expectenv(id, Some("env->>'arch'='amd64'"))
        .await
        .unwrap();
    assert!(
        store
            .loader_manifest(id, &agent, now)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.get_loader(id).await.unwrap().unwrap().expectenv,
        "env->>'arch'='amd64'"
    );
    store.set_loader_expectenv(id, None).await.unwrap();
    // A darwin host does not match the manifest's target.
    let darwin = heartbeat("darwin.q2", 11);
    assert!(
        store
            .loader_manifest(id, &darwin, now)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn api_manifests_sign_status_and_target<S: Store>(store: &S) {
    let now = now();
    let alice = investigator("alice", "AAAA000000000000000000000000000000000011", now);
    let bob = investigator("bob", "BBBB000000000000000000000000000000000012", now);
    let alice_id = store.insert_investigator(&alice).await.unwrap();
    let bob_id = store.insert_investigator(&bob).await.unwrap();
    let id = store
        .insert_manifest(&manifest_record("m1", "loadername LIKE 'web%'"), now)
        .await
        .unwrap();
    let stored = store.get_manifest(id).await.unwrap().unwrap();
    assert_eq!(stored.status, "staged");
    assert_eq!(stored.signatures, None);
    assert_eq!(stored.timestamp.to_utc(), now);
    assert_eq!(stored.target, "loadername LIKE 'web%'");
    store.sign_manifest(id, alice_id, "sig-a", 2).await.unwrap();
    assert_eq!(
        store.get_manifest(id).await.unwrap().unwrap().status,
        "staged"
    );
    // One signature per investigator.
    assert!(matches!(
        store.sign_manifest(id, alice_id, "sig-a2", 2).await,
        Err(StoreError::Conflict(_))
    ));
    store.sign_manifest(id, bob_id, "sig-b", 2).await.unwrap();
    let stored = store.get_manifest(id).await.unwrap().unwrap();
    assert_eq!(stored.status, "active");
    assert_eq!(
        stored.signatures,
        Some(vec!["sig-a".to_owned(), "sig-b".to_owned()])
    );
    // Loaders the target matches: enabled ones only.
    let key = ([7u8; 32], [7u8; 16]);
    let web1 = store
        .insert_loader(&loader("web1"), "Prefix01", (&key.0, &key.1), now)
        .await
        .unwrap();
    let key2 = ([8u8; 32], [8u8; 16]);
    let web2 = store
        .insert_loader(&loader("web2"), "Prefix02", (&key2.0, &key2.1), now)
        .await
        .unwrap();
    let key3 = ([9u8; 32], [9u8; 16]);
    let db1 = store
        .insert_loader(&loader("db1"), "Prefix03", (&key3.0, &key3.1), now)
        .await
        .unwrap();
    for loader in [web1, web2, db1] {
        store.set_loader_enabled(loader, true).await.unwrap();
    }
    store.set_loader_enabled(web2, false).await.unwrap();
    let matched: Vec<Id> = store
        .manifest_loaders(id, now)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.id)
        .collect();
    assert_eq!(matched, vec![web1]);
    // Staging drops the signatures; disabling is final.
    store.set_manifest_status(id, "staged", 2).await.unwrap();
    let stored = store.get_manifest(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.signatures),
        ("staged", None)
    );
    store.set_manifest_status(id, "disabled", 2).await.unwrap();
    assert!(matches!(
        store.sign_manifest(id, alice_id, "sig", 2).await,
        Err(StoreError::NotFound { .. })
    ));
    store.set_manifest_status(id, "staged", 2).await.unwrap();
    assert_eq!(
        store.get_manifest(id).await.unwrap().unwrap().status,
        "disabled"
    );
    assert!(matches!(
        store.manifest_loaders(id, now).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .set_manifest_status(Id(id.0 + 1000), "staged", 2)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // A target the compiler refuses is a Target error, and nothing runs.
    let bad = store
        .insert_manifest(&manifest_record("bad", "1=1; DROP TABLE loaders"), now)
        .await
        .unwrap();
    assert!(matches!(
        store.manifest_loaders(bad, now).await,
        Err(StoreError::Target(_))
    ));
    assert!(store.get_loader(db1).await.unwrap().is_some());
}

pub async fn api_search_manifests_and_loaders<S: Store>(store: &S) {
    use mig_store::search::{SearchFilter, SearchType};
    let now = now();
    let first = store
        .insert_manifest(
            &manifest_record("alpha", "id > 0"),
            now - TimeDelta::hours(2),
        )
        .await
        .unwrap();
    let second = store
        .insert_manifest(&manifest_record("beta", "id > 0"), now)
        .await
        .unwrap();
    let all = SearchFilter {
        limit: 100,
        ..SearchFilter::default()
    };
    let search =
        |kind, filter: SearchFilter| async move { store.search_ids(kind, &filter).await.unwrap() };
    assert_eq!(
        search(SearchType::Manifest, all.clone()).await,
        vec![second, first]
    );
    assert_eq!(
        search(
            SearchType::Manifest,
            SearchFilter {
                manifest_name: Some("ALP%".into()),
                ..all.clone()
            }
        )
        .await,
        vec![first]
    );
    assert_eq!(
        search(
            SearchType::Manifest,
            SearchFilter {
                manifest_id: Some(second),
                ..all.clone()
            }
        )
        .await,
        vec![second]
    );
    assert_eq!(
        search(
            SearchType::Manifest,
            SearchFilter {
                after: Some(now - TimeDelta::hours(1)),
                ..all.clone()
            }
        )
        .await,
        vec![second]
    );
    assert_eq!(
        search(
            SearchType::Manifest,
            SearchFilter {
                status: Some("active".into()),
                ..all.clone()
            }
        )
        .await,
        Vec::<Id>::new()
    );
    let key = ([1u8; 32], [1u8; 16]);
    let zeta = store
        .insert_loader(&loader("zeta"), "Prefix0Z", (&key.0, &key.1), now)
        .await
        .unwrap();
    let key2 = ([2u8; 32], [2u8; 16]);
    let eta = store
        .insert_loader(&loader("eta"), "Prefix0E", (&key2.0, &key2.1), now)
        .await
        .unwrap();
    store
        .loader_manifest(zeta, &heartbeat("linux.z", 1), now)
        .await
        .unwrap();
    assert_eq!(
        search(SearchType::Loader, all.clone()).await,
        vec![eta, zeta]
    );
    assert_eq!(
        search(
            SearchType::Loader,
            SearchFilter {
                agent_name: Some("host-linux%".into()),
                ..all.clone()
            }
        )
        .await,
        vec![zeta]
    );
    assert_eq!(
        search(
            SearchType::Loader,
            SearchFilter {
                loader_name: Some("e%".into()),
                ..all.clone()
            }
        )
        .await,
        vec![eta]
    );
    assert_eq!(
        search(
            SearchType::Loader,
            SearchFilter {
                limit: 1,
                offset: 1,
                ..all.clone()
            }
        )
        .await,
        vec![zeta]
    );
    // Injection attempts are bound values: they match nothing and change nothing.
    assert_eq!(
        search(
            SearchType::Loader,
            SearchFilter {
                loader_name: Some("x' OR '1'='1".into()),
                ..all.clone()
            }
        )
        .await,
        Vec::<Id>::new()
    );
}
