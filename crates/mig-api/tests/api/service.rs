//! The open routes: `GET /heartbeat`, `GET /ip`, `POST /heartbeat`, the clean-path
//! 301 and the plain 404 (spec api.md §2.2, §4.1–4.3), on PostgreSQL and SQLite.

use crate::common;

use chrono::Utc;
use common::{Server, exchange, vector};
use mig_protocol::GoTime;
use mig_store::Store;

on_both_stores!(mig_api::ApiConfig::for_tests() =>
    heartbeat_and_ip_answer_as_captured,
    unclean_paths_redirect_and_unknown_routes_are_plain_404,
    agent_heartbeat_replay_inserts_then_updates,
    invalid_heartbeats_are_refused_with_the_original_messages,
);

async fn heartbeat_and_ip_answer_as_captured<S: Store>(server: Server<S>) {
    let response = server
        .client
        .get(server.url("/api/v1/heartbeat"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(
        response.text().await.unwrap(),
        vector("api/GET_heartbeat.json")
    );

    let response = server
        .client
        .get(server.url("/api/v1/ip"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), vector("api/GET_ip.json"));
    server.stop().await;
}

async fn unclean_paths_redirect_and_unknown_routes_are_plain_404<S: Store>(server: Server<S>) {
    let captured = exchange("http/agent_GET_ip_doubleslash_301.json");
    let response = server
        .client
        .get(server.url("/api/v1//ip"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 301);
    assert_eq!(response.headers()["location"], "/api/v1/ip");
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(
        response.text().await.unwrap(),
        captured["resp_body"]["text"].as_str().unwrap()
    );
    let response = server
        .client
        .post(server.url("/api/v1//heartbeat?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 301);
    assert_eq!(response.headers()["location"], "/api/v1/heartbeat?x=1");

    for (method, path) in [
        ("GET", "/api/v1/"),
        ("GET", "/api/v1/nothing"),
        ("DELETE", "/api/v1/heartbeat"),
        ("POST", "/api/v1/ip"),
    ] {
        let response = server
            .client
            .request(method.parse().unwrap(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        assert_eq!(response.text().await.unwrap(), vector("api/GET_root.json"));
    }
    server.stop().await;
}

/// The captured heartbeat with its times moved to now.
fn fresh_heartbeat() -> String {
    let captured = vector("http/agent_POST_heartbeat.body.json");
    let mut heartbeat = mig_protocol::Heartbeat::from_json(captured.trim().as_bytes()).unwrap();
    heartbeat.start_time = GoTime::now();
    heartbeat.refresh_time = GoTime::now();
    mig_protocol::gojson::to_string(&heartbeat)
}

async fn agent_heartbeat_replay_inserts_then_updates<S: Store>(server: Server<S>) {
    let captured = exchange("http/agent_POST_heartbeat.json");
    let body = fresh_heartbeat();
    for _ in 0..2 {
        let response = server
            .client
            .post(server.url("/api/v1/heartbeat"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert!(response.headers().get("cache-control").is_none());
        assert_eq!(
            response.text().await.unwrap(),
            captured["resp_body"]["text"].as_str().unwrap()
        );
    }
    let agents = server
        .store
        .target_agents("name='vm'", Utc::now())
        .await
        .unwrap();
    assert_eq!(agents.len(), 1, "the second heartbeat updates the same row");
    let agent = &agents[0];
    assert_eq!(agent.pid, 18353);
    assert_eq!(agent.environment.os, "linux");
    assert_eq!(agent.tags["operator"], "migref");
    server.stop().await;
}

async fn invalid_heartbeats_are_refused_with_the_original_messages<S: Store>(server: Server<S>) {
    let good = fresh_heartbeat();
    let stale = {
        let mut heartbeat = mig_protocol::Heartbeat::from_json(good.as_bytes()).unwrap();
        heartbeat.start_time = GoTime((Utc::now() - chrono::Duration::minutes(6)).fixed_offset());
        mig_protocol::gojson::to_string(&heartbeat)
    };
    let cases = [
        ("{not json".to_owned(), "Failed to decode request body: "),
        (
            good.replace("\"name\":\"vm\"", "\"name\":\"\"")
                .replace("\"pid\":18353", "\"pid\":0"),
            "Missing fields in request body: missing field(s): name, pid",
        ),
        (stale, "Missing fields in request body: heartbeat expired"),
        (
            good.replace("\"mode\":\"daemon\"", "\"mode\":\"oops\""),
            "Missing fields in request body: agent reported an invalid mode",
        ),
        (
            good.replace(
                "\"name\":\"vm\"",
                &format!("\"name\":\"{}\"", "x".repeat(1025)),
            ),
            "Missing fields in request body: agent reported a name that is too long",
        ),
        (
            good.replace("20240101-0.9e7e4f52.ref", &"v".repeat(129)),
            "Missing fields in request body: agent reported a version string that is too long",
        ),
    ];
    for (body, expected) in cases {
        let response = server
            .client
            .post(server.url("/api/v1/heartbeat"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let answer: serde_json::Value =
            serde_json::from_str(&response.text().await.unwrap()).unwrap();
        let message = answer["error"].as_str().unwrap();
        assert!(message.starts_with(expected), "{message} vs {expected}");
    }
    assert!(
        server
            .store
            .target_agents("name='vm'", Utc::now())
            .await
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}
