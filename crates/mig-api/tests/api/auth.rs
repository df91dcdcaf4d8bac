//! Authentication and authorisation (spec api.md §3): tokens (good, expired,
//! future, malformed, wrongly signed, unknown key), API keys, disabled
//! investigators, permission denials and the auth-disabled mode, on both stores.

use crate::common;

use chrono::{Duration, Utc};
use common::{Server, bob, insert_bob, shape, token, vector};
use mig_protocol::auth::{generate_api_key, generate_salt, hash_key, make_token};
use mig_protocol::pgp::{KeyAlgo, SecretKeySigner};
use mig_protocol::{Id, Permissions};
use mig_store::Store;

on_both_stores!(mig_api::ApiConfig::for_tests() =>
    token_happy_path_matches_the_captured_investigator,
    bad_tokens_are_refused_with_the_original_messages,
    api_keys_authenticate_and_wrong_keys_do_not,
    disabled_investigators_are_refused_at_once,
    remembered_credentials_follow_the_investigator_row,
    each_route_checks_its_permission,
);

mod short_window {
    use super::*;
    on_both_stores!({
        let mut config = mig_api::ApiConfig::for_tests();
        config.token_duration = std::time::Duration::from_secs(2);
        config
    } => a_remembered_token_expires_with_its_window);
}

mod disabled {
    use super::*;
    on_both_stores!({
        let mut config = mig_api::ApiConfig::for_tests();
        config.auth_enabled = false;
        config
    } => authentication_disabled_opens_every_route);
}

/// GETs `path` with `header`; returns status and body.
async fn get<S: Store>(
    server: &Server<S>,
    path: &str,
    header: Option<(&str, &str)>,
) -> (u16, String) {
    let mut request = server.client.get(server.url(path));
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json");
    (status, response.text().await.unwrap())
}

fn error_message(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    let code = value["collection"]["error"]["code"].as_str().unwrap();
    assert!(
        code.parse::<u64>().is_ok(),
        "error.code is an integer string"
    );
    value["collection"]["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn token_happy_path_matches_the_captured_investigator<S: Store>(server: Server<S>) {
    let id = insert_bob(&*server.store, Permissions::ALL).await;
    let path = format!("/api/v1/investigator?investigatorid={}", id.0);
    let (status, body) = get(&server, &path, Some(("X-Pgpauthorization", &token()))).await;
    assert_eq!(status, 200, "{body}");
    let captured = vector("api/GET_investigator_investigatorid_2.json");
    assert_eq!(shape(&body), shape(&captured));
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        value["collection"]["href"],
        format!("{}{path}", common::HOST)
    );
    server.stop().await;
}

async fn bad_tokens_are_refused_with_the_original_messages<S: Store>(server: Server<S>) {
    let id = insert_bob(&*server.store, Permissions::ALL).await;
    let path = format!("/api/v1/investigator?investigatorid={}", id.0);
    let now = Utc::now();
    let good = token();
    let fields: Vec<&str> = good.split(';').collect();
    let stranger =
        SecretKeySigner::generate(KeyAlgo::Ed25519, "stranger <s@example.invalid>").unwrap();
    let cases = [
        (
            "1;2020-01-01T00:00:00Z;1".to_owned(),
            "verifySignedToken() -> invalid token format",
        ),
        (
            format!("2;{};{};{}", fields[1], fields[2], fields[3]),
            "verifySignedToken() -> invalid token version, must be 1",
        ),
        (
            make_token(&bob(), now - Duration::minutes(11), "1").unwrap(),
            "token timestamp is not within acceptable time limits",
        ),
        (
            make_token(&bob(), now + Duration::minutes(11), "1").unwrap(),
            "token timestamp is not within acceptable time limits",
        ),
        (
            format!("1;{};999;{}", fields[1], fields[3]),
            "verifySignedToken() -> ",
        ),
        (
            format!("1;{};{};AAAA=abcd", fields[1], fields[2]),
            "verifySignedToken() -> ",
        ),
        (
            make_token(&stranger, now, "1").unwrap(),
            "verifySignedToken() -> ",
        ),
    ];
    for (header, expected) in cases {
        let (status, body) = get(&server, &path, Some(("X-PGPAUTHORIZATION", &header))).await;
        assert_eq!(status, 401, "{header}: {body}");
        let message = error_message(&body);
        assert!(
            message.starts_with("Authorization verification failed with error '")
                && message.contains(expected),
            "{message} lacks {expected}"
        );
    }
    let (status, body) = get(&server, &path, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        error_message(&body),
        "Valid authentication header not found"
    );
    server.stop().await;
}

async fn api_keys_authenticate_and_wrong_keys_do_not<S: Store>(server: Server<S>) {
    let id = insert_bob(&*server.store, Permissions::ALL).await;
    let key = generate_api_key();
    let salt = generate_salt();
    server
        .store
        .set_investigator_api_key(id, Some((&hash_key(&key, &salt), &salt)))
        .await
        .unwrap();
    let path = format!("/api/v1/investigator?investigatorid={}", id.0);
    let (status, body) = get(&server, &path, Some(("X-MIGAPIKEY", &key))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"apikey\":\"set\""));
    for wrong in [generate_api_key(), "x".to_owned(), format!("{key}x")] {
        let (status, body) = get(&server, &path, Some(("X-MIGAPIKEY", &wrong))).await;
        assert_eq!(status, 401);
        assert_eq!(
            error_message(&body),
            "Authorization verification failed with error 'API key authentication failed'"
        );
    }
    server.stop().await;
}

async fn disabled_investigators_are_refused_at_once<S: Store>(server: Server<S>) {
    let id = insert_bob(&*server.store, Permissions::ALL).await;
    let key = generate_api_key();
    let salt = generate_salt();
    server
        .store
        .set_investigator_api_key(id, Some((&hash_key(&key, &salt), &salt)))
        .await
        .unwrap();
    let path = format!("/api/v1/investigator?investigatorid={}", id.0);
    assert_eq!(
        get(&server, &path, Some(("X-PGPAUTHORIZATION", &token())))
            .await
            .0,
        200
    );
    server
        .store
        .set_investigator_status(id, "disabled")
        .await
        .unwrap();
    let (status, body) = get(&server, &path, Some(("X-PGPAUTHORIZATION", &token()))).await;
    assert_eq!(
        status, 401,
        "the cached keyring does not keep a disabled investigator in"
    );
    assert!(error_message(&body).starts_with("Authorization verification failed"));
    let (status, _) = get(&server, &path, Some(("X-MIGAPIKEY", &key))).await;
    assert_eq!(status, 401);
    server.stop().await;
}

/// The same token and the same API key, used again and again, are remembered
/// but still follow the investigator's current row: refused once disabled or
/// once the key is replaced, accepted again once re-enabled.
async fn remembered_credentials_follow_the_investigator_row<S: Store>(server: Server<S>) {
    let id = insert_bob(&*server.store, Permissions::ALL).await;
    let key = generate_api_key();
    let salt = generate_salt();
    server
        .store
        .set_investigator_api_key(id, Some((&hash_key(&key, &salt), &salt)))
        .await
        .unwrap();
    let path = format!("/api/v1/investigator?investigatorid={}", id.0);
    let token = token();
    let with_token = Some(("X-PGPAUTHORIZATION", token.as_str()));
    let with_key = Some(("X-MIGAPIKEY", key.as_str()));
    for _ in 0..3 {
        assert_eq!(get(&server, &path, with_token).await.0, 200);
        assert_eq!(get(&server, &path, with_key).await.0, 200);
    }
    server
        .store
        .set_investigator_status(id, "disabled")
        .await
        .unwrap();
    assert_eq!(get(&server, &path, with_token).await.0, 401);
    assert_eq!(get(&server, &path, with_key).await.0, 401);
    server
        .store
        .set_investigator_status(id, "active")
        .await
        .unwrap();
    assert_eq!(get(&server, &path, with_token).await.0, 200);
    assert_eq!(get(&server, &path, with_key).await.0, 200);
    // A new key (new salt and hash) for bob: the remembered old key no longer works.
    let new_key = generate_api_key();
    let new_salt = generate_salt();
    server
        .store
        .set_investigator_api_key(id, Some((&hash_key(&new_key, &new_salt), &new_salt)))
        .await
        .unwrap();
    let (status, body) = get(&server, &path, with_key).await;
    assert_eq!(status, 401);
    assert_eq!(
        error_message(&body),
        "Authorization verification failed with error 'API key authentication failed'"
    );
    assert_eq!(
        get(&server, &path, Some(("X-MIGAPIKEY", &new_key))).await.0,
        200
    );
    server.stop().await;
}

/// A token accepted once is refused, with the original message, when its window has passed.
async fn a_remembered_token_expires_with_its_window<S: Store>(server: Server<S>) {
    let id = insert_bob(&*server.store, Permissions::ALL).await;
    let path = format!("/api/v1/investigator?investigatorid={}", id.0);
    let token = token();
    let (status, body) = get(&server, &path, Some(("X-PGPAUTHORIZATION", &token))).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(4000)).await;
    let (status, body) = get(&server, &path, Some(("X-PGPAUTHORIZATION", &token))).await;
    assert_eq!(status, 401);
    assert_eq!(
        error_message(&body),
        "Authorization verification failed with error 'verifySignedToken() -> \
         token timestamp is not within acceptable time limits'"
    );
    server.stop().await;
}

async fn each_route_checks_its_permission<S: Store>(server: Server<S>) {
    let id = insert_bob(&*server.store, Permissions(0)).await;
    let routes = [
        ("/api/v1/action?actionid=1", Permissions(2)),
        ("/api/v1/agent?agentid=1", Permissions(16)),
        ("/api/v1/command?commandid=1", Permissions(8)),
        ("/api/v1/investigator?investigatorid=1", Permissions(65536)),
    ];
    for (path, needed) in routes {
        let (status, body) = get(&server, path, Some(("X-PGPAUTHORIZATION", &token()))).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(
            error_message(&body),
            "Insufficient permissions to access endpoint"
        );
        // With the bit (and another admin so the rule allows it), the route answers.
        let keep_admin = insert_other_admin(&*server.store).await;
        server
            .store
            .set_investigator_permissions(id, needed)
            .await
            .unwrap();
        let (status, _) = get(&server, path, Some(("X-PGPAUTHORIZATION", &token()))).await;
        assert_ne!(status, 401, "{path} with its permission");
        server
            .store
            .set_investigator_permissions(id, Permissions(0))
            .await
            .unwrap();
        let _ = keep_admin;
    }
    server.stop().await;
}

async fn insert_other_admin<S: Store>(store: &S) -> Id {
    let admin = mig_protocol::Investigator {
        name: "admin".to_owned(),
        status: mig_protocol::status::InvestigatorStatus::Active,
        createdat: mig_protocol::GoTime::now(),
        lastmodified: mig_protocol::GoTime::now(),
        permissions: Permissions::ADMIN,
        ..Default::default()
    };
    store.insert_investigator(&admin).await.unwrap()
}

async fn authentication_disabled_opens_every_route<S: Store>(server: Server<S>) {
    let id = insert_other_admin(&*server.store).await;
    let path = format!("/api/v1/investigator?investigatorid={}", id.0);
    let (status, body) = get(&server, &path, None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&server, "/api/v1/action?actionid=7", None).await;
    assert_eq!(status, 404);
    assert_eq!(error_message(&body), "Action ID '7' not found");
    let (status, body) = get(&server, "/api/v1/action?actionid=0", None).await;
    assert_eq!(status, 400);
    assert_eq!(error_message(&body), "Invalid Action ID '0'");
    let (status, _) = get(&server, "/api/v1/action?actionid=abc", None).await;
    assert_eq!(status, 500);
    server.stop().await;
}
