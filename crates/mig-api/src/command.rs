//! `GET /command` (spec api.md §4.8).

use axum::extract::State;
use mig_protocol::collection::{Data, Item, Link};

use crate::error::{ApiError, Reply, parse_id};
use crate::query::QueryParams;
use crate::{AppState, Store};

/// `GET /command?commandid=<id>`: the command with its action and agent, linked to its action.
pub(crate) async fn get_command<S: Store>(
    State(state): State<AppState<S>>,
    params: QueryParams,
) -> Result<Reply, ApiError> {
    let id = parse_id("Command", "commandid", params.get("commandid"))?;
    let command = state
        .store
        .get_command(mig_protocol::Id(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Command ID '{id}' not found")))?;
    let base = state.base_url();
    let mut item = Item::with_data(
        format!("{base}/command?commandid={id}"),
        Data::new("command", &command),
    );
    item.links.push(Link {
        rel: "action".to_owned(),
        href: format!("{base}/action?actionid={}", command.action.id.0),
        ..Link::default()
    });
    Ok(Reply::ok(vec![item]))
}
