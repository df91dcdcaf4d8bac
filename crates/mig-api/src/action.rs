//! `GET /action` and `POST /action/create/` (spec api.md §4.6, §4.7).

use axum::extract::State;
use axum::http::StatusCode;
use mig_protocol::collection::{Data, Item};

use crate::error::{ApiError, Reply, parse_id};
use crate::query::QueryParams;
use crate::{AppState, Store};

/// `GET /action?actionid=<id>`: the action with its counters and investigators.
pub(crate) async fn get_action<S: Store>(
    State(state): State<AppState<S>>,
    params: QueryParams,
) -> Result<Reply, ApiError> {
    let id = parse_id("Action", "actionid", params.get("actionid"))?;
    let action = state
        .store
        .get_action(mig_protocol::Id(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Action ID '{id}' not found")))?;
    Ok(Reply::ok(vec![Item::with_data(
        format!("{}/action?actionid={id}", state.base_url()),
        Data::new("action", &action),
    )]))
}

#[allow(dead_code)]
const CREATED: StatusCode = StatusCode::ACCEPTED;
