//! `GET /agent` (spec api.md §4.9).

use axum::extract::State;
use mig_protocol::GoTime;
use mig_protocol::collection::{Data, Item};

use crate::error::{ApiError, Reply, parse_id};
use crate::query::QueryParams;
use crate::{AppState, Store};

/// `GET /agent?agentid=<id>`: the agent row (`destructiontime` left zero, as the original).
pub(crate) async fn get_agent<S: Store>(
    State(state): State<AppState<S>>,
    params: QueryParams,
) -> Result<Reply, ApiError> {
    let id = parse_id("Agent", "agentid", params.get("agentid"))?;
    let mut agent = state
        .store
        .get_agent(mig_protocol::Id(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Agent ID '{id}' not found")))?;
    agent.destructiontime = GoTime::zero();
    agent.loadername.clear();
    Ok(Reply::ok(vec![Item::with_data(
        format!("{}/agent?agentid={id}", state.base_url()),
        Data::new("agent", &agent),
    )]))
}
