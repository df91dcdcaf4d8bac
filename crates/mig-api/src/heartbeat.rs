//! `GET /heartbeat`, `POST /heartbeat` (agents) and `GET /ip` (spec api.md §4.1–4.3).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use mig_protocol::Heartbeat;
use mig_protocol::collection::{Data, Item};

use crate::error::{ApiError, Reply};
use crate::{AppState, Store, client_ip};

/// Heartbeats whose `startTime` is older are refused.
const HEARTBEAT_MAX_AGE: chrono::Duration = chrono::Duration::minutes(5);

/// `GET /heartbeat`: one item whose href is the request path.
pub(crate) async fn get_heartbeat(uri: Uri) -> Result<Reply, ApiError> {
    Ok(Reply::ok(vec![Item::with_data(
        uri.path().to_owned(),
        Data::new("heartbeat", "gatorz say hi"),
    )]))
}

/// `GET /ip`: the client's public IP as bare text.
pub(crate) async fn get_ip<S: Store>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> String {
    client_ip::client_public_ip(state.config.server.client_public_ip, Some(peer), &headers)
        .to_string()
}

/// The plain JSON answer of `POST /heartbeat`: `{"error":null}` or `{"error":"…"}`, with a newline.
fn heartbeat_answer(status: StatusCode, error: Option<String>) -> Response {
    // The original wrote it with json.Encoder: Go's encoding plus a newline.
    let body = format!(
        "{}\n",
        mig_protocol::gojson::to_string(&mig_protocol::agent::HeartbeatAnswer { error })
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Checks a heartbeat as the original (§4.2); the error is the text after
/// `Missing fields in request body: `.
pub(crate) fn validate_heartbeat(
    heartbeat: &Heartbeat,
    now: chrono::DateTime<Utc>,
) -> Result<(), String> {
    let env = &heartbeat.environment;
    let missing: Vec<&str> = [
        ("name", heartbeat.name.is_empty()),
        ("mode", heartbeat.mode.is_empty()),
        ("version", heartbeat.version.is_empty()),
        ("queueLoc", heartbeat.queue_loc.is_empty()),
        ("pid", heartbeat.pid == 0),
        ("environment.init", env.init.is_empty()),
        ("environment.ident", env.ident.is_empty()),
        ("environment.os", env.os.is_empty()),
        ("environment.arch", env.arch.is_empty()),
        ("environment.publicIP", env.public_ip.is_empty()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    if !missing.is_empty() {
        return Err(format!("missing field(s): {}", missing.join(", ")));
    }
    if heartbeat.start_time.to_utc() < now - HEARTBEAT_MAX_AGE {
        return Err("heartbeat expired".to_owned());
    }
    if heartbeat.mode != "daemon" && heartbeat.mode != "checkin" {
        return Err("agent reported an invalid mode".to_owned());
    }
    if heartbeat.name.len() > 1024 {
        return Err("agent reported a name that is too long".to_owned());
    }
    if heartbeat.version.len() > 128 {
        return Err("agent reported a version string that is too long".to_owned());
    }
    Ok(())
}

/// `POST /heartbeat`: validates and records an agent's heartbeat.
pub(crate) async fn post_heartbeat<S: Store>(
    State(state): State<AppState<S>>,
    body: Bytes,
) -> Response {
    let heartbeat = match Heartbeat::from_json(&body) {
        Ok(heartbeat) => heartbeat,
        Err(error) => {
            return heartbeat_answer(
                StatusCode::BAD_REQUEST,
                Some(format!("Failed to decode request body: {error}")),
            );
        }
    };
    let now = Utc::now();
    if let Err(reason) = validate_heartbeat(&heartbeat, now) {
        return heartbeat_answer(
            StatusCode::BAD_REQUEST,
            Some(format!("Missing fields in request body: {reason}")),
        );
    }
    match state
        .store
        .upsert_heartbeats(&[heartbeat.to_agent()], now)
        .await
    {
        Ok(outcomes) => {
            tracing::debug!(queueloc = %heartbeat.queue_loc, ?outcomes, "heartbeat recorded");
            heartbeat_answer(StatusCode::OK, None)
        }
        Err(error) => heartbeat_answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(format!("Failed to save heartbeat: {error}")),
        ),
    }
}
