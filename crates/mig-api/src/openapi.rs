//! The OpenAPI 3 document at `{baseroute}/openapi.json`, generated from the
//! route table the router is built from, so it lists exactly the served routes.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::routing::{Access, RouteInfo};
use crate::{AppState, Store};

/// What a route does and its success status, for the document.
fn describe(method: &str, path: &str) -> (&'static str, &'static str) {
    match (method, path) {
        ("GET", "/heartbeat") => ("Liveness check: `gatorz say hi`", "200"),
        ("POST", "/heartbeat") => (
            "Agent heartbeat upload (camelCase JSON; answers `{\"error\":…}`)",
            "200",
        ),
        ("GET", "/ip") => ("The client's public IP as bare text", "200"),
        ("GET", "/publickey/{fingerprint}") => ("An investigator's armored public key", "200"),
        ("GET", "/search") => (
            "Search actions, agents, commands or investigators (§5)",
            "200",
        ),
        ("GET", "/action") => (
            "One action (`actionid`) with counters and investigators",
            "200",
        ),
        ("POST", "/action/create/") => ("Submit a signed action (form field `action`)", "202"),
        ("GET", "/command") => ("One command (`commandid`) with its action and agent", "200"),
        ("GET", "/agent") => ("One agent (`agentid`)", "200"),
        ("GET", "/dashboard") => ("Fleet statistics and the last ten actions", "200"),
        ("GET", "/investigator") => ("One investigator (`investigatorid`)", "200"),
        ("POST", "/investigator/create/") => (
            "Create an investigator (multipart: name, permissions, publickey)",
            "201",
        ),
        ("POST", "/investigator/update/") => (
            "Update an investigator's status, permissions or API key",
            "200",
        ),
        ("POST", "/manifest/agent/") => (
            "Loader: the entries and signatures of its manifest (form `parameters`)",
            "200",
        ),
        ("POST", "/manifest/fetch/") => (
            "Loader: one file of its manifest, gzip in base64 (form `parameters`)",
            "200",
        ),
        ("GET", "/loader") => ("One loader entry (`loaderid`)", "200"),
        ("POST", "/loader/status/") => ("Enable or disable a loader (`loaderid`, `status`)", "200"),
        ("POST", "/loader/expect/") => (
            "Set a loader's expected environment (`loaderid`, `expectenv`)",
            "200",
        ),
        ("POST", "/loader/key/") => ("Generate a new loader key (`loaderid`)", "200"),
        ("POST", "/loader/new/") => ("Create a loader entry (form `loader`)", "201"),
        ("GET", "/manifest") => ("One manifest (`manifestid`)", "200"),
        ("POST", "/manifest/sign/") => ("Sign a manifest (`manifestid`, `signature`)", "200"),
        ("POST", "/manifest/status/") => (
            "Stage (drop signatures) or disable a manifest (`manifestid`, `status`)",
            "200",
        ),
        ("POST", "/manifest/new/") => ("Create a manifest (form `manifest`)", "201"),
        ("GET", "/manifest/loaders/") => (
            "The enabled loaders a manifest targets (`manifestid`)",
            "200",
        ),
        ("GET", "/openapi.json") => ("This document", "200"),
        _ => ("", "200"),
    }
}

/// An id query parameter (ids are positive integers below 2^53).
fn id_parameter(name: &str, required: bool) -> Value {
    json!({
        "name": name, "in": "query", "required": required,
        "schema": {"type": "integer", "minimum": 1, "maximum": 9_007_199_254_740_991_u64}
    })
}

fn text_parameter(name: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}})
}

/// The query parameters of a GET route.
fn query_parameters(path: &str) -> Vec<Value> {
    match path {
        "/action" => vec![id_parameter("actionid", true)],
        "/command" => vec![id_parameter("commandid", true)],
        "/agent" => vec![id_parameter("agentid", true)],
        "/investigator" => vec![id_parameter("investigatorid", true)],
        "/loader" => vec![id_parameter("loaderid", true)],
        "/manifest" | "/manifest/loaders/" => vec![id_parameter("manifestid", true)],
        "/search" => {
            let mut parameters = vec![
                json!({"name": "type", "in": "query", "required": false, "schema": {
                    "type": "string",
                    "enum": ["action", "agent", "command", "investigator", "manifest", "loader"]
                }}),
                json!({"name": "limit", "in": "query", "required": false,
                       "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}),
                json!({"name": "offset", "in": "query", "required": false,
                       "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000}}),
                json!({"name": "foundanything", "in": "query", "required": false,
                       "schema": {"type": "string", "enum": ["true", "false"]}}),
                json!({"name": "target", "in": "query", "required": false,
                       "description": "agent target (type=agent): a boolean expression over agents",
                       "schema": {"type": "string"}}),
            ];
            for id in [
                "actionid",
                "agentid",
                "commandid",
                "investigatorid",
                "manifestid",
                "loaderid",
            ] {
                parameters.push(id_parameter(id, false));
            }
            for pattern in [
                "actionname",
                "agentname",
                "agentversion",
                "investigatorname",
                "manifestname",
                "loadername",
                "status",
                "threatfamily",
            ] {
                parameters.push(text_parameter(pattern));
            }
            parameters
        }
        _ => Vec::new(),
    }
}

/// The form fields (`application/x-www-form-urlencoded`) of a POST route: name,
/// schema, required.
fn form_fields(path: &str) -> Vec<(&'static str, Value, bool)> {
    let id = json!({"type": "integer", "minimum": 1, "maximum": 9_007_199_254_740_991_u64});
    let text = json!({"type": "string"});
    let json_document =
        |what: &str| json!({"type": "string", "description": format!("{what} JSON (Go encoding)")});
    match path {
        "/action/create/" => vec![("action", json_document("a signed Action"), true)],
        "/investigator/update/" => vec![
            ("id", id.clone(), true),
            (
                "status",
                json!({"type": "string", "enum": ["active", "disabled"]}),
                false,
            ),
        ],
        "/loader/status/" => vec![
            ("loaderid", id.clone(), true),
            (
                "status",
                json!({"type": "string", "enum": ["enabled", "disabled"]}),
                true,
            ),
        ],
        "/loader/expect/" => vec![
            ("loaderid", id.clone(), true),
            ("expectenv", text.clone(), false),
        ],
        "/loader/key/" => vec![("loaderid", id.clone(), true)],
        "/loader/new/" => vec![("loader", json_document("a LoaderEntry"), true)],
        "/manifest/sign/" => vec![
            ("manifestid", id.clone(), true),
            ("signature", json!({"type": "string", "minLength": 1}), true),
        ],
        "/manifest/status/" => vec![
            ("manifestid", id.clone(), true),
            (
                "status",
                json!({"type": "string", "enum": ["staged", "disabled"]}),
                true,
            ),
        ],
        "/manifest/new/" => vec![("manifest", json_document("a ManifestRecord"), true)],
        "/manifest/agent/" | "/manifest/fetch/" => {
            vec![("parameters", json_document("ManifestParameters"), true)]
        }
        _ => Vec::new(),
    }
}

/// The document for `routes`, served under `base_url`.
pub fn document(base_url: &str, routes: &[RouteInfo]) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let (summary, success) = describe(route.method, route.path);
        let mut operation = json!({
            "summary": summary,
            "responses": {
                success: {"description": "success"},
                "404": {"description": "not found (also `404 page not found` for unknown routes)"},
                "500": {"description": "failure, with the message in `collection.error`"}
            }
        });
        if let Access::Investigator(permission) = route.access {
            let name = mig_protocol::investigator::Permission::JSON_ORDER
                .iter()
                .find(|(p, _)| *p == permission)
                .map_or("", |(_, name)| name);
            operation["security"] = json!([{"pgpToken": []}, {"apiKey": []}]);
            operation["x-mig-permission"] = json!(name);
            operation["responses"]["401"] =
                json!({"description": "authentication or permission failure"});
        }
        if route.access == Access::Loader {
            operation["security"] = json!([{"loaderKey": []}]);
            operation["responses"]["401"] =
                json!({"description": "X-LOADERKEY missing or refused"});
        }
        if route.path.contains("{fingerprint}") {
            operation["parameters"] = json!([{
                "name": "fingerprint", "in": "path", "required": true,
                "schema": {"type": "string", "pattern": "^[0-9A-Fa-f]{40}$"}
            }]);
        }
        let parameters = query_parameters(route.path);
        if route.method == "GET" && !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        let fields = form_fields(route.path);
        if route.method == "POST" && !fields.is_empty() {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for (name, schema, is_required) in fields {
                properties.insert(name.to_owned(), schema);
                if is_required {
                    required.push(json!(name));
                }
            }
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "properties": properties, "required": required
                }}}
            });
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[route.method.to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "MIG API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {"securitySchemes": {
            "pgpToken": {"type": "apiKey", "in": "header", "name": "X-PGPAUTHORIZATION"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-MIGAPIKEY"},
            "loaderKey": {"type": "apiKey", "in": "header", "name": "X-LOADERKEY"}
        }}
    })
}

/// `GET /openapi.json`.
pub(crate) async fn get_openapi<S: Store>(State(state): State<AppState<S>>) -> Response {
    let body = document(&state.base_url(), &state.routes).to_string();
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
