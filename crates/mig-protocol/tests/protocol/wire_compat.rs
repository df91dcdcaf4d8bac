//! Every captured JSON sample of the original that carries an action, command,
//! agent, heartbeat or investigator parses, and re-serialises to the very same
//! bytes where the original's form is canonical.
//!
//! Samples that are NOT byte-canonical, and why (they are still parsed, and
//! their re-serialisation is checked to be a fixed point):
//! - `http/*action_field.json` and the `action=` form field of the
//!   `POST /action/create/` requests: the client marshals its *typed* module
//!   parameters, so keys come in struct order (`paths, contents, names, options`);
//!   every other party (and our encoder) writes generic trees with sorted keys.
//!   The signing string is computed from the generic form, so this is harmless.
//! - `amqp/heartbeat_legacy_published_to_relay.body.json`: written by hand with
//!   python for the capture; it lacks the `"aws":{}` that Go always writes.
use std::path::{Path, PathBuf};

use mig_protocol::agent::Heartbeat;
use mig_protocol::{Action, Agent, Command, Investigator, gojson};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/reference")
}

fn read(relative: &str) -> String {
    let path = reference().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Parses `text` as `T`, re-serialises it, and checks the bytes are identical.
fn assert_canonical<T: DeserializeOwned + Serialize>(what: &str, text: &str) {
    let value: T = gojson::from_str(text).unwrap_or_else(|err| panic!("{what}: {err}"));
    let again = gojson::to_string(&value);
    assert_eq!(
        again, text,
        "{what} does not re-serialise to the same bytes"
    );
}

/// Parses `text` as `T` and checks our re-serialisation is a fixed point.
fn assert_stable<T: DeserializeOwned + Serialize>(what: &str, text: &str) -> T {
    let value: T = gojson::from_str(text).unwrap_or_else(|err| panic!("{what}: {err}"));
    let once = gojson::to_string(&value);
    let reparsed: T = gojson::from_str(&once).unwrap();
    assert_eq!(gojson::to_string(&reparsed), once, "{what} is not stable");
    value
}

#[test]
fn amqp_commands_and_results_are_canonical() {
    let mut seen = 0;
    for entry in std::fs::read_dir(reference().join("amqp")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".body.json") || name.starts_with("heartbeat") {
            continue;
        }
        let text = read(&format!("amqp/{name}"));
        assert_canonical::<Command>(&name, &text);
        let command = Command::from_json(text.as_bytes()).unwrap();
        command.check_returned().unwrap();
        assert!(!command.action.signing_string().is_empty());
        seen += 1;
    }
    assert!(
        seen >= 8,
        "expected the 8 command/result samples, saw {seen}"
    );
}

#[test]
fn amqp_command_details() {
    let command =
        Command::from_json(read("amqp/command_published_by_scheduler.body.json").as_bytes())
            .unwrap();
    assert_eq!(command.id.0, 28090522927693);
    assert_eq!(command.action.counters.sent, 1);
    assert_eq!(
        command.agent.tags.get("operator").map(String::as_str),
        Some("migref")
    );
    assert_eq!(
        command.action.expireafter.to_string(),
        "2026-11-28T17:16:42.763805Z"
    );
    let results = command.results.as_ref().unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].errors.is_none());
    // The command TTL is the validity window, not relative to now.
    assert_eq!(
        mig_protocol::relay::command_expiration_ms(&command.action),
        360_000
    );
}

#[test]
fn legacy_amqp_heartbeat_parses() {
    let text = read("amqp/heartbeat_legacy_published_to_relay.body.json");
    // The hand-written sample also ends with a newline.
    let text = text.trim_end();
    let agent: Agent = assert_stable("legacy heartbeat", text);
    assert_eq!(agent.name, "fake000000.migref.test");
    assert_eq!(agent.pid, 4242);
    assert_eq!(agent.environment.modules, vec!["file", "netstat"]);
    // Not canonical: Go would have written `"aws":{}`.
    assert_eq!(
        gojson::to_string(&agent),
        text.replace(
            r#""publicip":"127.0.0.1","#,
            r#""publicip":"127.0.0.1","aws":{},"#
        )
    );
}

#[test]
fn http_heartbeat_is_canonical() {
    let text = read("http/agent_POST_heartbeat.body.json");
    assert_canonical::<Heartbeat>("heartbeat body", &text);
    let heartbeat = Heartbeat::from_json(text.as_bytes()).unwrap();
    let agent = heartbeat.to_agent();
    assert_eq!(agent.queueloc, heartbeat.queue_loc);
    assert_eq!(agent.environment.publicip, "127.0.0.1");
    assert_eq!(
        agent.tags.get("operator").map(String::as_str),
        Some("migref")
    );
    assert_eq!(gojson::to_string(&agent.to_heartbeat()), text);

    let exchange: serde_json::Value =
        serde_json::from_str(&read("http/agent_POST_heartbeat.json")).unwrap();
    let body = exchange["req_body"]["text"].as_str().unwrap();
    assert_canonical::<Heartbeat>("heartbeat request", body);
}

#[derive(serde::Deserialize)]
struct Collection<'a> {
    #[serde(borrow)]
    collection: Inner<'a>,
}

#[derive(serde::Deserialize)]
struct Inner<'a> {
    #[serde(borrow, default)]
    items: Option<Vec<Item<'a>>>,
}

#[derive(serde::Deserialize)]
struct Item<'a> {
    #[serde(borrow, default)]
    data: Option<Vec<Datum<'a>>>,
}

#[derive(serde::Deserialize)]
struct Datum<'a> {
    name: String,
    #[serde(borrow)]
    value: &'a RawValue,
}

/// Checks every entity inside a collection+json body; returns how many.
fn check_collection(what: &str, body: &str) -> usize {
    let Ok(collection) = serde_json::from_str::<Collection<'_>>(body) else {
        return 0;
    };
    let mut checked = 0;
    for item in collection.collection.items.unwrap_or_default() {
        for datum in item.data.unwrap_or_default() {
            let raw = datum.value.get();
            let what = format!("{what} datum {:?}", datum.name);
            match datum.name.as_str() {
                name if name == "action" || name.starts_with("action ID") => {
                    assert_canonical::<Action>(&what, raw);
                    let action = Action::from_json(raw.as_bytes()).unwrap();
                    assert!(action.signing_string().ends_with(';'));
                }
                "command" => assert_canonical::<Command>(&what, raw),
                "agent" => assert_canonical::<Agent>(&what, raw),
                "investigator" => assert_canonical::<Investigator>(&what, raw),
                "search parameters" => {
                    assert_canonical::<mig_protocol::search::SearchParameters>(&what, raw)
                }
                _ => continue,
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn api_reads_are_canonical() {
    let mut checked = 0;
    for entry in std::fs::read_dir(reference().join("api")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let text = read(&format!("api/{name}"));
        // Some files hold the bare body, others an exchange record.
        checked += check_collection(&name, &text);
        if let Ok(exchange) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(body) = exchange.pointer("/resp_body/text").and_then(|v| v.as_str())
        {
            checked += check_collection(&name, body);
        }
    }
    assert!(
        checked >= 10,
        "expected at least 10 entities in api/, checked {checked}"
    );
}

#[test]
fn http_exchanges_are_canonical_where_go_wrote_them() {
    let mut checked = 0;
    for entry in std::fs::read_dir(reference().join("http")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let text = read(&format!("http/{name}"));
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let exchanges = match value {
            serde_json::Value::Array(list) => list,
            other => vec![other],
        };
        for exchange in exchanges {
            if let Some(body) = exchange.pointer("/resp_body/text").and_then(|v| v.as_str()) {
                checked += check_collection(&name, body);
            }
        }
        checked += check_collection(&name, &text);
    }
    assert!(
        checked >= 5,
        "expected entities in http/, checked {checked}"
    );
}

#[test]
fn client_action_fields_parse_and_sign_from_the_generic_form() {
    for case in [
        "client_POST_action_create",
        "client_POST_action_create_netstat",
        "client_POST_action_create_unicode_file",
    ] {
        let text = read(&format!("http/{case}.action_field.json"));
        let action: Action = assert_stable(case, &text);
        // The API's answer carries the same action after a generic round trip:
        // its signing string must be the same as the one of what the client sent.
        let exchange: serde_json::Value =
            serde_json::from_str(&read(&format!("http/{case}.json"))).unwrap();
        let body = exchange["resp_body"]["text"].as_str().unwrap();
        let stored: Collection<'_> = serde_json::from_str(body).unwrap();
        let items = stored.collection.items.unwrap();
        let datum = &items[0].data.as_ref().unwrap()[0];
        let stored_action = Action::from_json(datum.value.get().as_bytes()).unwrap();
        assert_eq!(
            stored_action.signing_string(),
            action.signing_string(),
            "{case}"
        );
        assert_eq!(stored_action.pgpsignatures, action.pgpsignatures);
    }
}

/// Every Collection+JSON body the original API wrote re-serialises to the same bytes.
#[test]
fn api_envelopes_are_canonical() {
    use mig_protocol::collection::Envelope;
    let mut bodies = Vec::new();
    for dir in ["api", "http"] {
        for entry in std::fs::read_dir(reference().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let text = read(&format!("{dir}/{name}"));
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let exchanges = match value {
                serde_json::Value::Array(list) => list,
                other => vec![other],
            };
            for exchange in exchanges {
                if let Some(body) = exchange.pointer("/resp_body/text").and_then(|v| v.as_str())
                    && body.starts_with("{\"collection\"")
                {
                    bodies.push((name.clone(), body.to_owned()));
                }
            }
            if text.starts_with("{\"collection\"") {
                bodies.push((name.clone(), text.clone()));
            }
        }
    }
    assert!(
        bodies.len() >= 15,
        "expected many envelopes, found {}",
        bodies.len()
    );
    for (name, body) in bodies {
        let envelope =
            Envelope::from_json(body.as_bytes()).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(envelope.to_json(), body, "{name}");
    }
}
