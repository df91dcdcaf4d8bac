//! `POST /investigator/create/` (the console's captured multipart request),
//! `POST /investigator/update/`, `GET /publickey/{fp}` and `GET /dashboard`
//! (spec api.md §4.4, §4.5, §4.11, §4.12), on both stores.

use crate::common;

use chrono::Utc;
use common::{Server, exchange, insert_bob, shape, token, vector};
use mig_protocol::Permissions;
use mig_protocol::collection::Envelope;
use mig_store::Store;

on_both_stores!(mig_api::ApiConfig::for_tests() =>
    console_create_replay_answers_as_captured,
    update_status_permissions_and_api_keys,
    public_keys_are_served_by_fingerprint,
    dashboard_lists_stats_and_recent_actions,
);

async fn console_create_replay_answers_as_captured<S: Store>(server: Server<S>) {
    insert_bob(&*server.store, Permissions::ALL).await;
    let captured = exchange("http/console_POST_investigator_create.json");
    let content_type = captured["req_headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == "Content-Type")
        .unwrap()[1]
        .as_str()
        .unwrap()
        .to_owned();
    let body = captured["req_body"]["text"].as_str().unwrap().to_owned();
    let post = |body: String| {
        server
            .client
            .post(server.url("/api/v1/investigator/create/"))
            .header("X-Pgpauthorization", token())
            .header("content-type", content_type.clone())
            .body(body)
            .send()
    };
    let response = post(body.clone()).await.unwrap();
    assert_eq!(response.status(), 201);
    let text = response.text().await.unwrap();
    let expected = captured["resp_body"]["text"].as_str().unwrap();
    assert_eq!(shape(&text), shape(expected));
    let got: serde_json::Value = serde_json::from_str(&text).unwrap();
    let want: serde_json::Value = serde_json::from_str(expected).unwrap();
    let (got, want) = (
        &got["collection"]["items"][0]["data"][0]["value"],
        &want["collection"]["items"][0]["data"][0]["value"],
    );
    for key in [
        "name",
        "pgpfingerprint",
        "publickey",
        "status",
        "permissions",
    ] {
        assert_eq!(got[key], want[key], "{key}");
    }
    // The same key again.
    let response = post(body.clone()).await.unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.text().await.unwrap().contains("already exists"));
    // No name.
    let response = post(body.replace("Sam Axe\r\n", "\r\n")).await.unwrap();
    assert_eq!(response.status(), 500);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Investigator name must not be empty")
    );
    server.stop().await;
}

async fn update<S: Store>(server: &Server<S>, form: &[(&str, &str)]) -> (u16, Envelope) {
    let response = server
        .client
        .post(server.url("/api/v1/investigator/update/"))
        .header("X-Pgpauthorization", token())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let envelope = Envelope::from_json(response.text().await.unwrap().as_bytes()).unwrap();
    (status, envelope)
}

async fn update_status_permissions_and_api_keys<S: Store>(server: Server<S>) {
    let bob = insert_bob(&*server.store, Permissions::ALL).await;
    let bob_id = bob.0.to_string();
    // Bob is the only admin: he cannot drop his admin bits.
    let (status, envelope) = update(
        &server,
        &[("id", &bob_id), ("permissions", r#"{"search":true}"#)],
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        envelope.collection.error.message,
        "Failed to update investigator: 'will not remove last admin'"
    );
    let (status, envelope) = update(&server, &[("id", &bob_id)]).await;
    assert_eq!(status, 400);
    assert_eq!(
        envelope.collection.error.message,
        "No updates to the investigator were specified"
    );
    let (status, envelope) = update(&server, &[("id", &bob_id), ("status", "sleepy")]).await;
    assert_eq!(status, 500);
    assert_eq!(
        envelope.collection.error.message,
        "Invalid investigator status 'sleepy'"
    );
    // A new API key is shown once and works; disabling it refuses it.
    let (status, envelope) = update(&server, &[("id", &bob_id), ("apikey", "active")]).await;
    assert_eq!(status, 200);
    let echoed: mig_protocol::Investigator = envelope
        .first_value("Investigator ID 1")
        .unwrap_or_else(|| {
            envelope
                .first_value(&format!("Investigator ID {bob_id}"))
                .unwrap()
        })
        .unwrap();
    assert_eq!(echoed.apikey.len(), 32);
    let with_key = |key: String| {
        server
            .client
            .get(server.url(&format!("/api/v1/investigator?investigatorid={bob_id}")))
            .header("X-MIGAPIKEY", key)
            .send()
    };
    assert_eq!(with_key(echoed.apikey.clone()).await.unwrap().status(), 200);
    let (status, _) = update(&server, &[("id", &bob_id), ("apikey", "disabled")]).await;
    assert_eq!(status, 200);
    assert_eq!(with_key(echoed.apikey.clone()).await.unwrap().status(), 401);
    // Disabling bob ends his access at once.
    let (status, _) = update(&server, &[("id", &bob_id), ("status", "disabled")]).await;
    assert_eq!(status, 200);
    let (status, _) = update(&server, &[("id", &bob_id), ("status", "active")]).await;
    assert_eq!(status, 401);
    server.stop().await;
}

async fn public_keys_are_served_by_fingerprint<S: Store>(server: Server<S>) {
    insert_bob(&*server.store, Permissions::ALL).await;
    let fingerprint = "1e6a08c563bb4ef22e2584a1d96514026d885d08";
    let response = server
        .client
        .get(server.url(&format!("/api/v1/publickey/{fingerprint}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(
        text.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{text}"
    );
    let key = mig_protocol::pgp::PublicKey::from_armored(&text).unwrap();
    assert_eq!(key.fingerprint().to_lowercase(), fingerprint);
    let response = server
        .client
        .get(server.url("/api/v1/publickey/0000"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.text().await.unwrap(),
        "Invalid Fingerprint : No PublicKey found for fingerprint '0000'"
    );
    server.stop().await;
}

async fn dashboard_lists_stats_and_recent_actions<S: Store>(server: Server<S>) {
    insert_bob(&*server.store, Permissions::ALL).await;
    let get = || {
        server
            .client
            .get(server.url("/api/v1/dashboard"))
            .header("X-Pgpauthorization", token())
            .send()
    };
    let empty = Envelope::from_json(get().await.unwrap().text().await.unwrap().as_bytes()).unwrap();
    assert!(empty.collection.items.is_empty());

    let heartbeat = mig_protocol::Heartbeat::from_json(
        vector("http/agent_POST_heartbeat.body.json")
            .trim()
            .as_bytes(),
    )
    .unwrap();
    let now = Utc::now();
    server
        .store
        .upsert_heartbeats(&[heartbeat.to_agent()], now)
        .await
        .unwrap();
    server.store.record_agents_stats(now, true).await.unwrap();
    // The dashboard is rebuilt at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let response = get().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let captured = vector("api/GET_dashboard.json");
    let (common::Shape::Object(got), common::Shape::Object(want)) =
        (shape(&text), shape(&captured))
    else {
        panic!("not objects");
    };
    let stats_item = |collection: &[(String, common::Shape)]| match &collection[0].1 {
        common::Shape::Object(fields) => {
            match &fields.iter().find(|(k, _)| k == "items").unwrap().1 {
                common::Shape::Array(items) => format!("{:?}", items[0]),
                _ => panic!("items"),
            }
        }
        _ => panic!("collection"),
    };
    assert_eq!(stats_item(&got), stats_item(&want));
    server.stop().await;
}
