//! Loaders and manifests (spec api.md §4.13–4.15): administration by
//! investigators with the right permission bits, investigators' PGP signatures
//! over the signing form, and the loader-facing routes behind `X-LOADERKEY`, on
//! both stores.

use crate::common;

use common::{Server, bob, insert_bob, token};
use mig_protocol::collection::Envelope;
use mig_protocol::investigator::Permission;
use mig_protocol::manifest::{
    LoaderEntry, ManifestObject, ManifestParameters, ManifestRecord, ManifestResponse,
    build_content,
};
use mig_protocol::pgp::{Keyring, Signer};
use mig_protocol::{Agent, Permissions};
use mig_store::Store;

on_both_stores!(mig_api::ApiConfig::for_tests() =>
    loader_and_manifest_life_cycle,
    permissions_are_checked_on_every_route,
    loader_key_failures_are_refused,
    manifest_and_loader_searches,
);

mod auth_off {
    use super::signing_needs_an_investigator;

    fn config() -> mig_api::ApiConfig {
        let mut config = mig_api::ApiConfig::for_tests();
        config.auth_enabled = false;
        config
    }
    on_both_stores!(super::config() => signing_needs_an_investigator);
}

/// With authentication off nobody is an investigator: signing is refused with a
/// 401 (the original failed with a 500 on the foreign key) and nothing is stored.
async fn signing_needs_an_investigator<S: Store>(server: Server<S>) {
    let created = post(
        &server,
        "/manifest/new/",
        &[("manifest", &new_manifest_json("env#>>'{os}'='linux'"))],
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.error());
    let found = get(&server, "/search?type=manifest&manifestname=bundle%").await;
    let listed: ManifestRecord = found.value(0);
    let manifest_id = listed.id.0.to_string();
    let signed = post(
        &server,
        "/manifest/sign/",
        &[("manifestid", &manifest_id), ("signature", "c2lnbmF0dXJl")],
    )
    .await;
    assert_eq!(signed.status, 401);
    assert_eq!(
        signed.error(),
        "Manifest signing needs an authenticated investigator (authentication is disabled)"
    );
    let record: ManifestRecord = get(&server, &format!("/manifest?manifestid={manifest_id}"))
        .await
        .value(0);
    assert_eq!(record.signatures, None);
    assert_eq!(record.status, "staged");
}

struct Answer {
    status: u16,
    envelope: Envelope,
}

impl Answer {
    fn value<T: serde::de::DeserializeOwned>(&self, index: usize) -> T {
        let value = self.envelope.collection.items[index].data[0].value.as_ref();
        serde_json::from_str(value.unwrap().get()).unwrap()
    }

    fn error(&self) -> String {
        self.envelope.collection.error.message.clone()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    Answer {
        status,
        envelope: Envelope::from_json(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}")),
    }
}

async fn get<S: Store>(server: &Server<S>, path: &str) -> Answer {
    answer(
        server
            .client
            .get(server.url(&format!("/api/v1{path}")))
            .header("X-PGPAUTHORIZATION", token())
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn post<S: Store>(server: &Server<S>, path: &str, form: &[(&str, &str)]) -> Answer {
    answer(
        server
            .client
            .post(server.url(&format!("/api/v1{path}")))
            .header("X-PGPAUTHORIZATION", token())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn loader_post<S: Store>(
    server: &Server<S>,
    path: &str,
    key: &str,
    parameters: &ManifestParameters,
) -> Answer {
    let parameters = mig_protocol::gojson::to_string(parameters);
    answer(
        server
            .client
            .post(server.url(&format!("/api/v1{path}")))
            .header("X-LOADERKEY", key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("parameters", parameters.as_str())]).unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn linux_agent() -> Agent {
    let mut agent = Agent {
        name: "web1.example.net".into(),
        queueloc: "linux.web1".into(),
        ..Agent::default()
    };
    agent.environment.os = "linux".into();
    agent.tags.insert("operator".into(), "IT".into());
    agent
}

fn new_manifest_json(target: &str) -> String {
    mig_protocol::gojson::to_string(&ManifestRecord {
        name: "bundle 1".into(),
        content: build_content(&[
            ("bundle/mig-agent", b"#!agent".as_slice()),
            ("bundle/configuration", b"[agent]\n".as_slice()),
        ]),
        status: "staged".into(),
        target: target.into(),
        ..ManifestRecord::default()
    })
}

/// Creates an enabled loader; returns its id and `prefix + key`.
async fn enabled_loader<S: Store>(server: &Server<S>, name: &str) -> (u64, String) {
    let entry = mig_protocol::gojson::to_string(&LoaderEntry {
        name: name.into(),
        ..LoaderEntry::default()
    });
    let created = post(server, "/loader/new/", &[("loader", &entry)]).await;
    assert_eq!(created.status, 201, "{}", created.error());
    let entry: LoaderEntry = created.value(0);
    let id = entry.id.0;
    assert_eq!(
        post(
            server,
            "/loader/status/",
            &[("loaderid", &id.to_string()), ("status", "enabled")]
        )
        .await
        .status,
        200
    );
    (id, format!("{}{}", entry.prefix, entry.key))
}

async fn loader_and_manifest_life_cycle<S: Store>(server: Server<S>) {
    let bob_id = insert_bob(&*server.store, Permissions::ALL).await;
    // Loader creation answers the submitted entry with server id, prefix and key.
    let created = post(
        &server,
        "/loader/new/",
        &[(
            "loader",
            r#"{"id":0,"name":"web1","prefix":"","key":"","agentname":"","lastseen":"0001-01-01T00:00:00Z","enabled":false,"expectenv":""}"#,
        )],
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.error());
    let entry: LoaderEntry = created.value(0);
    assert!(entry.id.0 > 0);
    assert_eq!(entry.prefix.len(), 8);
    assert_eq!(entry.key.len(), 32);
    assert!(!entry.enabled);
    let id = entry.id.0.to_string();
    let first_key = format!("{}{}", entry.prefix, entry.key);
    // A disabled loader cannot authenticate.
    let refused = loader_post(
        &server,
        "/manifest/agent/",
        &first_key,
        &ManifestParameters {
            agent: linux_agent(),
            object: String::new(),
        },
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.error(), "Loader authorization failed");
    post(
        &server,
        "/loader/status/",
        &[("loaderid", &id), ("status", "enabled")],
    )
    .await;
    let shown = get(&server, &format!("/loader?loaderid={id}")).await;
    assert_eq!(shown.status, 200);
    let shown_entry: LoaderEntry = shown.value(0);
    assert!(shown_entry.enabled);
    assert_eq!(shown_entry.key, "");
    assert_eq!(
        shown.envelope.collection.items[0].href,
        format!("{}/api/v1/loader?loaderid={id}", common::HOST)
    );
    // A new key replaces the old one; the prefix stays.
    let rekeyed = post(&server, "/loader/key/", &[("loaderid", &id)]).await;
    assert_eq!(rekeyed.status, 200);
    let rekeyed: LoaderEntry = rekeyed.value(0);
    assert_eq!(rekeyed.prefix, entry.prefix);
    assert_ne!(rekeyed.key, entry.key);
    let key = format!("{}{}", rekeyed.prefix, rekeyed.key);
    let parameters = ManifestParameters {
        agent: linux_agent(),
        object: "configuration".into(),
    };
    assert_eq!(
        loader_post(&server, "/manifest/agent/", &first_key, &parameters)
            .await
            .status,
        401
    );
    // No manifest yet.
    let none = loader_post(&server, "/manifest/agent/", &key, &parameters).await;
    assert_eq!(none.status, 500);
    assert_eq!(
        none.error(),
        "Unable to locate valid manifest for this loader entry"
    );

    // A manifest for linux loaders, signed by bob; the API needs two signatures.
    let created = post(
        &server,
        "/manifest/new/",
        &[(
            "manifest",
            &new_manifest_json("env#>>'{os}'='linux' AND tags->>'operator'='IT'"),
        )],
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.error());
    assert!(created.envelope.collection.items.is_empty());
    let found = get(&server, "/search?type=manifest&manifestname=bundle%").await;
    assert_eq!(found.status, 200, "{}", found.error());
    let listed: ManifestRecord = found.value(0);
    assert_eq!(listed.status, "staged");
    assert_eq!(listed.content, "");
    let manifest_id = listed.id.0.to_string();
    let full = get(&server, &format!("/manifest?manifestid={manifest_id}")).await;
    let record: ManifestRecord = full.value(0);
    assert!(!record.content.is_empty());
    assert_eq!(record.signatures, None);
    let signing_form = record.response("").unwrap().signing_form();
    let signature = bob().sign(signing_form.as_bytes()).unwrap();
    let signed = post(
        &server,
        "/manifest/sign/",
        &[("manifestid", &manifest_id), ("signature", &signature)],
    )
    .await;
    assert_eq!(signed.status, 200, "{}", signed.error());
    let again = post(
        &server,
        "/manifest/sign/",
        &[("manifestid", &manifest_id), ("signature", &signature)],
    )
    .await;
    assert_eq!(again.status, 500);
    assert_eq!(again.error(), "Manifest signing operation failed");
    let empty = post(
        &server,
        "/manifest/sign/",
        &[("manifestid", &manifest_id), ("signature", "")],
    )
    .await;
    assert_eq!(empty.error(), "Invalid signature specified");
    let record: ManifestRecord = get(&server, &format!("/manifest?manifestid={manifest_id}"))
        .await
        .value(0);
    assert_eq!(record.status, "staged");
    assert_eq!(record.signatures, Some(vec![signature.clone()]));
    // A second signer (another investigator) makes it active.
    let alice = mig_protocol::Investigator {
        name: "alice".into(),
        status: mig_protocol::status::InvestigatorStatus::Active,
        ..Default::default()
    };
    let alice_id = server.store.insert_investigator(&alice).await.unwrap();
    server
        .store
        .sign_manifest(record.id, alice_id, "alice-signature", 2)
        .await
        .unwrap();
    let record: ManifestRecord = get(&server, &format!("/manifest?manifestid={manifest_id}"))
        .await
        .value(0);
    assert_eq!(record.status, "active");
    assert!(bob_id.0 > 0);

    // The loader gets the entries and the signatures; bob's verifies over the signing form.
    let served = loader_post(&server, "/manifest/agent/", &key, &parameters).await;
    assert_eq!(served.status, 200, "{}", served.error());
    assert_eq!(
        served.envelope.collection.items[0].href,
        "/api/v1/manifest/agent/"
    );
    let response: ManifestResponse = served.value(0);
    assert_eq!(response.loader_name, "web1");
    let entries = response.entries.clone().unwrap();
    assert_eq!(
        entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["mig-agent", "configuration"]
    );
    let signatures = response.signatures.clone().unwrap();
    assert_eq!(signatures.len(), 2);
    let mut keyring = Keyring::new();
    keyring.add(bob().public_key());
    let form = response.signing_form();
    assert_eq!(form, signing_form);
    let fingerprint = keyring.verify(form.as_bytes(), &signatures[0]).unwrap();
    assert_eq!(
        fingerprint.to_uppercase(),
        bob().public_key().fingerprint().to_uppercase()
    );
    // The loader's report was recorded.
    let shown: LoaderEntry = get(&server, &format!("/loader?loaderid={id}"))
        .await
        .value(0);
    assert_eq!(shown.agentname, "web1.example.net");
    // Fetch one object.
    let fetched = loader_post(&server, "/manifest/fetch/", &key, &parameters).await;
    assert_eq!(fetched.status, 200, "{}", fetched.error());
    let object: ManifestObject = fetched.value(0);
    use base64::Engine;
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(object.data)
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(compressed.as_slice()),
        &mut text,
    )
    .unwrap();
    assert_eq!(text, "[agent]\n");
    let missing = loader_post(
        &server,
        "/manifest/fetch/",
        &key,
        &ManifestParameters {
            agent: linux_agent(),
            object: "cacert".into(),
        },
    )
    .await;
    assert_eq!(missing.error(), "object cacert not found in manifest");
    let no_object = loader_post(
        &server,
        "/manifest/fetch/",
        &key,
        &ManifestParameters {
            agent: linux_agent(),
            object: String::new(),
        },
    )
    .await;
    assert_eq!(no_object.error(), "manifest fetch with no object");

    // The expected environment gates the loader.
    let expect = post(
        &server,
        "/loader/expect/",
        &[("loaderid", &id), ("expectenv", "env->>'os'='darwin'")],
    )
    .await;
    assert_eq!(expect.status, 200, "{}", expect.error());
    assert_eq!(
        loader_post(&server, "/manifest/agent/", &key, &parameters)
            .await
            .status,
        500
    );
    let bad = post(
        &server,
        "/loader/expect/",
        &[("loaderid", &id), ("expectenv", "1=1; DELETE FROM loaders")],
    )
    .await;
    assert_eq!(bad.status, 400);
    post(
        &server,
        "/loader/expect/",
        &[("loaderid", &id), ("expectenv", "")],
    )
    .await;
    assert_eq!(
        loader_post(&server, "/manifest/agent/", &key, &parameters)
            .await
            .status,
        200
    );

    // The loaders a manifest targets.
    let targeted = get(
        &server,
        &format!("/manifest/loaders/?manifestid={manifest_id}"),
    )
    .await;
    assert_eq!(targeted.status, 200, "{}", targeted.error());
    let listed: LoaderEntry = targeted.value(0);
    assert_eq!(listed.name, "web1");
    // Staging drops the signatures; disabling is final and hides it from loaders.
    let staged = post(
        &server,
        "/manifest/status/",
        &[("manifestid", &manifest_id), ("status", "staged")],
    )
    .await;
    assert_eq!(staged.status, 200, "{}", staged.error());
    let record: ManifestRecord = get(&server, &format!("/manifest?manifestid={manifest_id}"))
        .await
        .value(0);
    assert_eq!(
        (record.status.as_str(), record.signatures),
        ("staged", None)
    );
    let invalid = post(
        &server,
        "/manifest/status/",
        &[("manifestid", &manifest_id), ("status", "active")],
    )
    .await;
    assert_eq!(
        invalid.error(),
        "Invalid status specified, must be disabled or staged"
    );
    post(
        &server,
        "/manifest/status/",
        &[("manifestid", &manifest_id), ("status", "disabled")],
    )
    .await;
    let gone = get(
        &server,
        &format!("/manifest/loaders/?manifestid={manifest_id}"),
    )
    .await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.error(),
        format!("No matching loaders for manifest '{manifest_id}'")
    );
    assert_eq!(
        get(&server, "/manifest?manifestid=0").await.error(),
        "Invalid Manifest ID '0'"
    );
    assert_eq!(
        get(&server, "/manifest?manifestid=999999").await.error(),
        "Manifest ID '999999' not found"
    );
    assert_eq!(get(&server, "/loader?loaderid=999999").await.status, 404);
    server.stop().await;
}

async fn permissions_are_checked_on_every_route<S: Store>(server: Server<S>) {
    // Bob holds everything but the manifest and loader bits.
    let mask = Permissions(Permissions::ALL.0 & !Permissions::MANIFEST.0 & !Permissions::LOADER.0);
    let bob_id = insert_bob(&*server.store, mask).await;
    let routes: [(&str, &str, Permission); 10] = [
        ("GET", "/loader?loaderid=1", Permission::Loader),
        ("POST", "/loader/status/", Permission::LoaderStatus),
        ("POST", "/loader/expect/", Permission::LoaderExpect),
        ("POST", "/loader/key/", Permission::LoaderKey),
        ("POST", "/loader/new/", Permission::LoaderNew),
        ("GET", "/manifest?manifestid=1", Permission::Manifest),
        ("POST", "/manifest/sign/", Permission::ManifestSign),
        ("POST", "/manifest/status/", Permission::ManifestStatus),
        ("POST", "/manifest/new/", Permission::ManifestNew),
        (
            "GET",
            "/manifest/loaders/?manifestid=1",
            Permission::ManifestLoaders,
        ),
    ];
    for (method, path, permission) in routes {
        let send = || async {
            let request = if method == "GET" {
                server.client.get(server.url(&format!("/api/v1{path}")))
            } else {
                server.client.post(server.url(&format!("/api/v1{path}")))
            };
            answer(
                request
                    .header("X-PGPAUTHORIZATION", token())
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        };
        let denied = send().await;
        assert_eq!(denied.status, 401, "{method} {path}");
        assert_eq!(
            denied.error(),
            "Insufficient permissions to access endpoint"
        );
        // With exactly this bit the request gets past the check (the manifest_status
        // bug of the original is fixed).
        server
            .store
            .set_investigator_permissions(bob_id, Permissions(mask.0 | permission.bit()))
            .await
            .unwrap();
        let allowed = send().await;
        assert_ne!(allowed.status, 401, "{method} {path}: {}", allowed.error());
        server
            .store
            .set_investigator_permissions(bob_id, mask)
            .await
            .unwrap();
    }
    server.stop().await;
}

async fn loader_key_failures_are_refused<S: Store>(server: Server<S>) {
    insert_bob(&*server.store, Permissions::ALL).await;
    let (_, key) = enabled_loader(&server, "web9").await;
    let parameters = ManifestParameters {
        agent: linux_agent(),
        object: String::new(),
    };
    let missing = answer(
        server
            .client
            .post(server.url("/api/v1/manifest/agent/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.error(), "X-LOADERKEY header not found");
    let mut wrong = key.clone();
    wrong.replace_range(39..40, if key.ends_with('A') { "B" } else { "A" });
    for bad in [
        wrong.as_str(),
        &key[..39],
        "ZZZZZZZZ0123456789012345678901234567890A",
        "' OR 1=1 --aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let refused = loader_post(&server, "/manifest/fetch/", bad, &parameters).await;
        assert_eq!(refused.status, 401, "{bad}");
        assert_eq!(refused.error(), "Loader authorization failed");
    }
    // An investigator token is not a loader key.
    let token_only = answer(
        server
            .client
            .post(server.url("/api/v1/manifest/agent/"))
            .header("X-PGPAUTHORIZATION", token())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(token_only.status, 401);
    server.stop().await;
}

async fn manifest_and_loader_searches<S: Store>(server: Server<S>) {
    insert_bob(&*server.store, Permissions::ALL).await;
    enabled_loader(&server, "alpha").await;
    enabled_loader(&server, "beta").await;
    let found = get(&server, "/search?type=loader&loadername=%25").await;
    assert_eq!(found.status, 200, "{}", found.error());
    let first: LoaderEntry = found.value(0);
    let second: LoaderEntry = found.value(1);
    assert_eq!(
        (first.name.as_str(), second.name.as_str()),
        ("alpha", "beta")
    );
    assert_eq!(first.agentname, "unset");
    assert_eq!(first.prefix, "");
    assert_eq!(
        found.envelope.collection.items[0].href,
        format!("{}/api/v1", common::HOST)
    );
    let none = get(&server, "/search?type=loader&loadername=gamma").await;
    assert_eq!(
        (none.status, none.error().as_str()),
        (404, "no results found")
    );
    let none = get(
        &server,
        "/search?type=manifest&manifestname=x'%20OR%20'1'='1",
    )
    .await;
    assert_eq!(none.status, 404);
    let bad = post(
        &server,
        "/manifest/new/",
        &[("manifest", &new_manifest_json("1=1; DROP TABLE loaders"))],
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.error());
    let no_name = post(
        &server,
        "/manifest/new/",
        &[(
            "manifest",
            &new_manifest_json("id > 0").replace("bundle 1", ""),
        )],
    )
    .await;
    assert_eq!(no_name.error(), "manifest has invalid name");
    let no_content = post(
        &server,
        "/manifest/new/",
        &[(
            "manifest",
            r#"{"name":"m","target":"id > 0","status":"staged"}"#,
        )],
    )
    .await;
    assert_eq!(no_content.error(), "manifest record has no content");
    server.stop().await;
}
