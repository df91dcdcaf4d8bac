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
        ("GET", "/openapi.json") => ("This document", "200"),
        _ => ("", "200"),
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
        if route.path.contains("{fingerprint}") {
            operation["parameters"] = json!([{
                "name": "fingerprint", "in": "path", "required": true, "schema": {"type": "string"}
            }]);
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
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-MIGAPIKEY"}
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
