//! `GET /investigator` (spec api.md §4.10).

use axum::extract::State;
use mig_protocol::collection::{Data, Item, Link};

use crate::error::{ApiError, Reply, parse_id};
use crate::query::QueryParams;
use crate::{AppState, Store};

/// `GET /investigator?investigatorid=<id>`: the investigator, its public key in
/// base64 and `apikey: "set"` when one is stored, linked to its action history.
pub(crate) async fn get_investigator<S: Store>(
    State(state): State<AppState<S>>,
    params: QueryParams,
) -> Result<Reply, ApiError> {
    let id = parse_id(
        "Investigator",
        "investigatorid",
        params.get("investigatorid"),
    )?;
    let investigator = state
        .store
        .get_investigator(mig_protocol::Id(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Investigator ID '{id}' not found")))?;
    let base = state.base_url();
    let mut item = Item::with_data(
        format!("{base}/investigator?investigatorid={id}"),
        Data::new("investigator", &investigator),
    );
    item.links.push(Link {
        rel: "investigator history".to_owned(),
        href: format!("{base}/search?type=action&investigatorid={id}&limit=100"),
        ..Link::default()
    });
    Ok(Reply::ok(vec![item]))
}
