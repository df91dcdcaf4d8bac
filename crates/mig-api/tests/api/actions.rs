//! `POST /action/create/` and `GET /action` (spec api.md §4.6–4.7), replaying the
//! client's captured actions re-signed with the throwaway `bob` key for a window
//! around now, on both stores.

use crate::common;

use chrono::Utc;
use common::{Server, bob, exchange, insert_bob, shape, token, vector};
use mig_protocol::pgp::{KeyAlgo, SecretKeySigner, Signer};
use mig_protocol::{Action, GoTime, Permissions};
use mig_store::Store;

on_both_stores!(mig_api::ApiConfig::for_tests() =>
    captured_actions_are_accepted_and_read_back,
    bad_actions_are_refused,
);

/// A captured action moved to a window around now and signed by `signer`.
fn signed_action(case: &str, signer: &dyn Signer, edit: impl FnOnce(&mut Action)) -> String {
    let mut action = Action::from_json(vector(case).as_bytes()).unwrap();
    let now = Utc::now();
    action.validfrom = GoTime((now - chrono::Duration::seconds(10)).fixed_offset());
    action.expireafter = GoTime((now + chrono::Duration::minutes(10)).fixed_offset());
    action.pgpsignatures = None;
    edit(&mut action);
    let signature = signer.sign(action.signing_string().as_bytes()).unwrap();
    action.pgpsignatures = Some(vec![signature]);
    action.to_json()
}

async fn post_action<S: Store>(server: &Server<S>, action: &str) -> (u16, String) {
    let body = serde_urlencoded::to_string([("action", action)]).unwrap();
    let response = server
        .client
        .post(server.url("/api/v1/action/create/"))
        .header("X-Pgpauthorization", token())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn captured_actions_are_accepted_and_read_back<S: Store>(server: Server<S>) {
    let bob_id = insert_bob(&*server.store, Permissions::ALL).await;
    let captured = exchange("http/client_POST_action_create.json");
    for case in [
        "http/client_POST_action_create.action_field.json",
        "http/client_POST_action_create_netstat.action_field.json",
        "http/client_POST_action_create_unicode_file.action_field.json",
    ] {
        let (status, body) = post_action(&server, &signed_action(case, &bob(), |_| {})).await;
        assert_eq!(status, 202, "{case}: {body}");
        if case.ends_with("create.action_field.json") {
            assert_eq!(
                shape(&body),
                shape(captured["resp_body"]["text"].as_str().unwrap())
            );
        }
        let envelope = mig_protocol::collection::Envelope::from_json(body.as_bytes()).unwrap();
        let item = &envelope.collection.items[0];
        let data = &item.data[0];
        let accepted: Action =
            mig_protocol::gojson::from_str(data.value.as_ref().unwrap().get()).unwrap();
        assert_eq!(data.name, format!("action ID {}", accepted.id.0));
        assert_eq!(accepted.starttime, GoTime::sentinel_unstarted());
        assert_eq!(accepted.finishtime, GoTime::sentinel_unfinished());

        let response = server
            .client
            .get(server.url(&format!("/api/v1/action?actionid={}", accepted.id.0)))
            .header("X-Pgpauthorization", token())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let read = mig_protocol::collection::Envelope::from_json(
            response.text().await.unwrap().as_bytes(),
        )
        .unwrap();
        let stored: Action = read.first_value("action").unwrap().unwrap();
        assert_eq!(stored.name, accepted.name);
        assert_eq!(stored.signing_string(), accepted.signing_string());
        assert_eq!(stored.investigators.len(), 1);
        assert_eq!(stored.investigators[0].id, bob_id);
        assert!(stored.investigators[0].publickey.is_empty());
    }
    server.stop().await;
}

async fn bad_actions_are_refused<S: Store>(server: Server<S>) {
    insert_bob(&*server.store, Permissions::ALL).await;
    let case = "http/client_POST_action_create.action_field.json";
    let stranger =
        SecretKeySigner::generate(KeyAlgo::Ed25519, "stranger <s@example.invalid>").unwrap();
    // Signed by a key no investigator holds.
    let (status, body) = post_action(&server, &signed_action(case, &stranger, |_| {})).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("failed to verify PGP Signature"), "{body}");
    // Changed after signing.
    let tampered = signed_action(case, &bob(), |_| {}).replace("^root", "^toor");
    let (status, body) = post_action(&server, &tampered).await;
    assert_eq!(status, 500, "{body}");
    // Expired.
    let expired = signed_action(case, &bob(), |action| {
        action.validfrom = GoTime((Utc::now() - chrono::Duration::hours(2)).fixed_offset());
        action.expireafter = GoTime((Utc::now() - chrono::Duration::hours(1)).fixed_offset());
    });
    assert_eq!(post_action(&server, &expired).await.0, 500);
    // Unsupported or hostile targets: 400, never stored.
    for target in [
        "status='online'; DROP TABLE agents",
        "all",
        "id IN (SELECT id FROM investigators)",
    ] {
        let action = signed_action(case, &bob(), |action| action.target = target.to_owned());
        let (status, body) = post_action(&server, &action).await;
        assert_eq!(status, 400, "{target}: {body}");
        assert!(body.contains("unsupported action target"), "{body}");
    }
    // Not JSON.
    assert_eq!(post_action(&server, "{").await.0, 500);
    server.stop().await;
}
