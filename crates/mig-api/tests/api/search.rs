//! `GET /search` (spec api.md §5) on a seeded fleet: one agent, one signed action,
//! one finished command; every type, target evaluation, `no results found`,
//! errors with the parameters item, and injection attempts through every
//! parameter and the target (refused, nothing changed), on both stores.

use crate::common;

use std::time::Duration;

use chrono::Utc;
use common::{Server, bob, insert_bob, shape, token, vector};
use mig_protocol::collection::Envelope;
use mig_protocol::pgp::Signer;
use mig_protocol::status::CommandStatus;
use mig_protocol::{Action, Command, GoTime, Id, ModuleResult, Permissions};
use mig_store::Store;

on_both_stores!(mig_api::ApiConfig::for_tests() =>
    searches_find_the_seeded_rows,
    agent_and_command_answer_as_captured,
    search_errors_carry_the_parameters,
    injection_through_every_parameter_changes_nothing,
    pagination_walks_every_row_once,
    concurrent_identical_target_searches_share_a_fresh_answer,
);

struct Seeded {
    bob: Id,
    agent: Id,
    action: Id,
    command: Id,
}

async fn seed<S: Store>(server: &Server<S>) -> Seeded {
    let bob_id = insert_bob(&*server.store, Permissions::ALL).await;
    let now = Utc::now();
    let heartbeat = mig_protocol::Heartbeat::from_json(
        vector("http/agent_POST_heartbeat.body.json")
            .trim()
            .as_bytes(),
    )
    .unwrap();
    server
        .store
        .upsert_heartbeats(&[heartbeat.to_agent()], now)
        .await
        .unwrap();
    let agent = server
        .store
        .target_agents("name='vm'", now)
        .await
        .unwrap()
        .remove(0);
    let mut action =
        Action::from_json(vector("http/client_POST_action_create.action_field.json").as_bytes())
            .unwrap();
    action.id = mig_protocol::gen_id();
    action.validfrom = GoTime((now - chrono::Duration::seconds(10)).fixed_offset());
    action.expireafter = GoTime((now + chrono::Duration::minutes(10)).fixed_offset());
    action.status = mig_protocol::status::ActionStatus::Pending;
    action.threat.family = "malware".to_owned();
    let signature = bob().sign(action.signing_string().as_bytes()).unwrap();
    action.pgpsignatures = Some(vec![signature.clone()]);
    server
        .store
        .insert_action(&action, &[(bob_id, signature)])
        .await
        .unwrap();
    let claimed = server
        .store
        .claim_runnable_actions(now, Duration::from_secs(60), 10)
        .await
        .unwrap()
        .remove(0);
    let command = Command {
        id: mig_protocol::gen_id(),
        action: claimed.clone(),
        agent: agent.clone(),
        status: CommandStatus::Sent,
        results: Some(vec![ModuleResult::default()]),
        starttime: GoTime::from(now),
        finishtime: GoTime::zero(),
    };
    server
        .store
        .dispatch_action(&claimed, std::slice::from_ref(&command), &[], now)
        .await
        .unwrap();
    let mut returned = command.clone();
    returned.status = CommandStatus::Success;
    returned.results = Some(vec![ModuleResult {
        foundanything: true,
        success: true,
        ..ModuleResult::default()
    }]);
    assert!(server.store.finish_command(&returned, now).await.unwrap());
    Seeded {
        bob: bob_id,
        agent: agent.id,
        action: action.id,
        command: command.id,
    }
}

async fn search<S: Store>(server: &Server<S>, query: &str) -> (u16, String) {
    let response = server
        .client
        .get(server.url(&format!("/api/v1/search?{query}")))
        .header("X-Pgpauthorization", token())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn names(body: &str) -> Vec<String> {
    Envelope::from_json(body.as_bytes())
        .unwrap()
        .collection
        .items
        .iter()
        .flat_map(|item| item.data.iter().map(|data| data.name.clone()))
        .collect()
}

async fn searches_find_the_seeded_rows<S: Store>(server: Server<S>) {
    let seeded = seed(&server).await;
    let (a, b, g) = (seeded.action.0, seeded.bob.0, seeded.agent.0);
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "type=agent&limit=1000000&target=status%3D%27online%27".to_owned(),
            vec!["agent", "search parameters"],
        ),
        (
            format!("type=agent&agentid={g}"),
            vec!["agent", "search parameters"],
        ),
        (
            format!("type=agent&actionid={a}"),
            vec!["agent", "search parameters"],
        ),
        (
            format!("type=action&actionid={a}"),
            vec!["action", "search parameters"],
        ),
        (
            format!("type=action&investigatorid={b}&limit=10"),
            vec!["action", "search parameters"],
        ),
        (
            "type=action&threatfamily=mal%25".to_owned(),
            vec!["action", "search parameters"],
        ),
        (
            "type=action&limit=10".to_owned(),
            vec!["action", "search parameters"],
        ),
        (
            format!("type=command&actionid={a}"),
            vec!["command", "search parameters"],
        ),
        (
            format!("type=command&limit=37&actionid={a}&foundanything=true"),
            vec!["command", "search parameters"],
        ),
        (
            format!("type=command&agentid={g}&status=success"),
            vec!["command", "search parameters"],
        ),
        (
            format!("type=investigator&investigatorid={b}"),
            vec!["investigator", "search parameters"],
        ),
        (
            format!("type=investigator&actionid={a}"),
            vec!["investigator", "search parameters"],
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = search(&server, &query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(names(&body), expected, "{query}");
    }
    // Shapes as captured.
    let (_, body) = search(&server, &format!("type=investigator&investigatorid={b}")).await;
    assert_eq!(
        shape(&body),
        shape(&vector(
            "api/GET_search_type_investigator_investigatorid_2.json"
        ))
    );
    // Nothing found: 404 with the parameters item.
    for query in [
        format!("type=command&actionid={a}&foundanything=false"),
        format!("type=command&actionid={a}&status=expired"),
        format!("type=command&limit=37&offset=37&actionid={a}"),
        "type=agent&target=status%3D%27offline%27".to_owned(),
    ] {
        let (status, body) = search(&server, &query).await;
        assert_eq!(status, 404, "{query}: {body}");
        let envelope = Envelope::from_json(body.as_bytes()).unwrap();
        assert_eq!(envelope.collection.error.message, "no results found");
        assert_eq!(names(&body), vec!["search parameters"]);
    }
    // Pagination: an item with the next page when offset > 0.
    let (status, body) = search(
        &server,
        &format!("type=action&limit=1&offset=0&actionid={a}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(names(&body), vec!["action", "search parameters"]);
    server.stop().await;
}

async fn search_errors_carry_the_parameters<S: Store>(server: Server<S>) {
    insert_bob(&*server.store, Permissions::ALL).await;
    let (status, body) = search(&server, "type=bogus").await;
    assert_eq!(status, 500);
    assert_eq!(
        shape(&body),
        shape(&vector("api/GET_search_type_bogus.json"))
    );
    assert_eq!(
        Envelope::from_json(body.as_bytes())
            .unwrap()
            .collection
            .error
            .message,
        "search type is invalid"
    );
    for query in [
        "type=action&after=yesterday",
        "type=action&limit=many",
        "type=command&foundanything=maybe",
        "type=action&actionid=abc",
    ] {
        let (status, body) = search(&server, query).await;
        assert_eq!(status, 500, "{query}");
        assert_eq!(names(&body), vec!["search parameters"], "{query}");
    }
    let (status, _) = search(&server, "type=agent&target=all").await;
    assert_eq!(status, 400);
    server.stop().await;
}

async fn injection_through_every_parameter_changes_nothing<S: Store>(server: Server<S>) {
    let seeded = seed(&server).await;
    let attacks = [
        "' OR 1=1 --",
        "x'; DROP TABLE agents; --",
        "1; UPDATE investigators SET permissions=0",
        "%' UNION SELECT id FROM investigators --",
    ];
    let parameters = [
        "actionid",
        "actionname",
        "agentid",
        "agentname",
        "agentversion",
        "commandid",
        "investigatorid",
        "investigatorname",
        "status",
        "threatfamily",
        "after",
        "before",
        "limit",
        "offset",
        "foundanything",
        "loaderid",
        "loadername",
        "manifestid",
        "manifestname",
        "report",
        "type",
    ];
    for kind in ["action", "agent", "command", "investigator"] {
        for parameter in parameters {
            for attack in attacks {
                let query =
                    serde_urlencoded::to_string([("type", kind), (parameter, attack)]).unwrap();
                let (status, body) = search(&server, &query).await;
                assert!(
                    status == 404
                        || status == 500
                        || status == 400
                        || (status == 200
                            && ![
                                "actionid",
                                "agentid",
                                "commandid",
                                "investigatorid",
                                "actionname",
                                "agentname",
                                "agentversion",
                                "investigatorname",
                                "status",
                                "threatfamily"
                            ]
                            .contains(&parameter)),
                    "{query}: {status} {body}"
                );
            }
        }
    }
    for attack in [
        "status='online'; DROP TABLE agents",
        "status='online' OR 1=1; UPDATE investigators SET status='disabled'",
        "id IN (SELECT id FROM investigators)",
        "1=1) UNION SELECT * FROM investigators --",
    ] {
        let query = serde_urlencoded::to_string([("type", "agent"), ("target", attack)]).unwrap();
        let (status, body) = search(&server, &query).await;
        assert_eq!(status, 400, "{attack}: {body}");
    }
    // Nothing changed: the agent, the action and bob's rights are intact.
    assert!(
        server
            .store
            .get_agent(seeded.agent)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        server
            .store
            .get_action(seeded.action)
            .await
            .unwrap()
            .is_some()
    );
    let bob = server
        .store
        .get_investigator(seeded.bob)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.permissions, Permissions::ALL);
    assert_eq!(bob.status, mig_protocol::status::InvestigatorStatus::Active);
    server.stop().await;
}

async fn get_one<S: Store>(server: &Server<S>, path: &str) -> (u16, String) {
    let response = server
        .client
        .get(server.url(path))
        .header("X-Pgpauthorization", token())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn agent_and_command_answer_as_captured<S: Store>(server: Server<S>) {
    let seeded = seed(&server).await;
    let (status, body) = get_one(
        &server,
        &format!("/api/v1/agent?agentid={}", seeded.agent.0),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        shape(&body),
        shape(&vector("api/GET_agent_agentid_28090527449092.json"))
    );
    let (status, body) = get_one(
        &server,
        &format!("/api/v1/command?commandid={}", seeded.command.0),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let captured = vector("api/GET_command_commandid_28090522927693.json");
    let envelope = Envelope::from_json(body.as_bytes()).unwrap();
    let expected = Envelope::from_json(captured.as_bytes()).unwrap();
    assert_eq!(envelope.collection.items[0].links[0].rel, "action");
    assert_eq!(
        envelope.collection.items[0].links[0].href,
        format!(
            "{}/api/v1/action?actionid={}",
            common::HOST,
            seeded.action.0
        )
    );
    assert_eq!(
        expected.collection.items[0].links[0].rel,
        envelope.collection.items[0].links[0].rel
    );
    let (status, body) = get_one(&server, "/api/v1/command?commandid=7").await;
    assert_eq!(status, 404);
    assert_eq!(
        Envelope::from_json(body.as_bytes())
            .unwrap()
            .collection
            .error
            .message,
        "Command ID '7' not found"
    );
    let (status, _) = get_one(&server, "/api/v1/agent?agentid=0").await;
    assert_eq!(status, 400);
    server.stop().await;
}

/// 45 investigators, pages of 10: the first page has no pagination item, every
/// later page has one whose `next` link gives the following page, and walking the
/// links visits every row once, in order, until `no results found`.
async fn pagination_walks_every_row_once<S: Store>(server: Server<S>) {
    insert_bob(&*server.store, Permissions::ALL).await;
    let mut expected = Vec::new();
    for n in 0..45 {
        let investigator = mig_protocol::Investigator {
            name: format!("pager{n:02}"),
            status: mig_protocol::status::InvestigatorStatus::Active,
            createdat: GoTime::now(),
            lastmodified: GoTime::now(),
            ..Default::default()
        };
        expected.push(
            server
                .store
                .insert_investigator(&investigator)
                .await
                .unwrap(),
        );
    }
    let fetch = |url: String| {
        let request = server.client.get(url).header("X-PGPAUTHORIZATION", token());
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (status, Envelope::from_json(text.as_bytes()).unwrap())
        }
    };
    let ids_of = |envelope: &Envelope| -> Vec<Id> {
        envelope
            .collection
            .items
            .iter()
            .filter(|item| item.data[0].name == "investigator")
            .map(|item| {
                let value: serde_json::Value =
                    serde_json::from_str(item.data[0].value.as_ref().unwrap().get()).unwrap();
                Id(value["id"].as_u64().unwrap())
            })
            .collect()
    };
    let (status, first) =
        fetch(server.url("/api/v1/search?type=investigator&investigatorname=pager%25&limit=10"))
            .await;
    assert_eq!(status, 200);
    let mut seen = ids_of(&first);
    assert_eq!(seen.len(), 10);
    assert!(
        first
            .collection
            .items
            .iter()
            .all(|item| item.data[0].name != "pagination"),
        "no pagination item at offset 0"
    );
    let mut url =
        server.url("/api/v1/search?type=investigator&investigatorname=pager%25&limit=10&offset=10");
    let mut offset = 10.0;
    loop {
        let (status, page) = fetch(url.clone()).await;
        if status == 404 {
            assert_eq!(page.collection.error.message, "no results found");
            break;
        }
        assert_eq!(status, 200);
        let ids = ids_of(&page);
        assert!(!ids.is_empty() && ids.len() <= 10);
        seen.extend(ids);
        let items = &page.collection.items;
        let parameters = items.last().unwrap();
        assert_eq!(parameters.data[0].name, "search parameters");
        let pagination = &items[items.len() - 2].data[0];
        assert_eq!(pagination.name, "pagination");
        let pagination: serde_json::Value =
            serde_json::from_str(pagination.value.as_ref().unwrap().get()).unwrap();
        assert_eq!(pagination["limit"], 10.0);
        assert_eq!(pagination["offset"], offset);
        let next = pagination["next"].as_str().unwrap();
        let prefix = format!("{}/api/v1/search?", common::HOST);
        assert!(next.starts_with(&prefix), "{next}");
        assert!(next.contains("investigatorname=pager%"), "{next}");
        offset += 10.0;
        assert!(next.contains(&format!("&offset={offset}")), "{next}");
        // The link is already escaped (`%` as `%25`): follow it as is.
        url = server.url(&format!("/api/v1/search?{}", &next[prefix.len()..]));
    }
    assert_eq!(seen, expected, "every row once, in id order");
    assert_eq!(offset, 50.0);
    server.stop().await;
}

/// Agents `host<n>.example.net` (n in `range`), each on its own queueloc, online now.
async fn insert_hosts<S: Store>(server: &Server<S>, range: std::ops::Range<u32>) {
    let heartbeat = mig_protocol::Heartbeat::from_json(
        vector("http/agent_POST_heartbeat.body.json")
            .trim()
            .as_bytes(),
    )
    .unwrap();
    let agents: Vec<_> = range
        .map(|n| {
            let mut agent = heartbeat.to_agent();
            agent.name = format!("host{n}.example.net");
            agent.queueloc = format!("linux.host{n}");
            agent
        })
        .collect();
    server
        .store
        .upsert_heartbeats(&agents, Utc::now())
        .await
        .unwrap();
}

/// Identical target searches sent at once all get the full answer (or the same
/// error), and a search sent after them reads the table again.
async fn concurrent_identical_target_searches_share_a_fresh_answer<S: Store>(server: Server<S>) {
    insert_bob(&*server.store, Permissions::ALL).await;
    insert_hosts(&server, 0..40).await;
    let query = "type=agent&limit=1000&target=name%20LIKE%20%27host%25%27";
    let count = |body: &str| names(body).iter().filter(|name| *name == "agent").count();
    let answers = futures_join(&server, query, 12).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(count(body), 40);
    }
    insert_hosts(&server, 40..45).await;
    let (status, body) = search(&server, query).await;
    assert_eq!(status, 200);
    assert_eq!(count(&body), 45, "an answer was kept after its search");
    for (status, body) in futures_join(&server, "type=agent&target=all", 6).await {
        assert_eq!(status, 400, "{body}");
    }
    server.stop().await;
}

/// Sends `n` identical searches at once.
async fn futures_join<S: Store>(server: &Server<S>, query: &str, n: usize) -> Vec<(u16, String)> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let client = server.client.clone();
        let url = server.url(&format!("/api/v1/search?{query}"));
        let token = token();
        tasks.spawn(async move {
            let response = client
                .get(url)
                .header("X-Pgpauthorization", token)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        answers.push(answer.unwrap());
    }
    answers
}
