//! `GET /dashboard` (spec api.md §4.5): the latest fleet statistics and the last ten actions.
//!
//! The items are built at most once per [`CACHE_TTL`] and shared by the requests of
//! that second (the original queried the database on every request); a request that
//! finds the cache stale rebuilds it while the others wait for the result.

use axum::extract::State;
use mig_protocol::collection::{Data, Item};

use crate::error::{ApiError, Reply};
use crate::{AppState, Store};

/// How many recent actions the dashboard lists.
const RECENT_ACTIONS: u32 = 10;

/// How long a built dashboard is served.
pub(crate) const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The last dashboard built and when.
#[derive(Default)]
pub(crate) struct DashboardCache {
    inner: tokio::sync::Mutex<Option<(std::time::Instant, Vec<Item>)>>,
}

/// `GET /dashboard`.
pub(crate) async fn get_dashboard<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Reply, ApiError> {
    let mut cached = state.dashboard.inner.lock().await;
    if let Some((built, items)) = cached.as_ref()
        && built.elapsed() < CACHE_TTL
    {
        return Ok(Reply::ok(items.clone()));
    }
    let items = build(&state).await?;
    *cached = Some((std::time::Instant::now(), items.clone()));
    Ok(Reply::ok(items))
}

async fn build<S: Store>(state: &AppState<S>) -> Result<Vec<Item>, ApiError> {
    let base = state.base_url();
    let mut items = Vec::new();
    if let Some(mut stats) = state.store.latest_agents_stats().await? {
        // The original's per-version sums are nil slices when empty: `null`, never `[]`.
        for versions in [
            &mut stats.onlineagentsbyversion,
            &mut stats.idleagentsbyversion,
        ] {
            if versions.as_ref().is_some_and(Vec::is_empty) {
                *versions = None;
            }
        }
        // mig-console type-asserts these as numbers: never omitted.
        items.push(Item {
            href: format!("{base}/dashboard"),
            data: vec![
                Data::new("online agents", &stats.onlineagents),
                Data::new("online agents by version", &stats.onlineagentsbyversion),
                Data::new("online endpoints", &stats.onlineendpoints),
                Data::new("idle agents", &stats.idleagents),
                Data::new("idle agents by version", &stats.idleagentsbyversion),
                Data::new("idle endpoints", &stats.idleendpoints),
                Data::new("new endpoints", &stats.newendpoints),
                Data::new(
                    "endpoints running 2 or more agents",
                    &stats.multiagentsendpoints,
                ),
                Data::new("disappeared endpoints", &stats.disappearedendpoints),
                Data::new("flapping endpoints", &stats.flappingendpoints),
            ],
            links: Vec::new(),
        });
    }
    for action in state.store.recent_actions(RECENT_ACTIONS).await? {
        items.push(Item::with_data(
            format!("{base}/action?actionid={}", action.id.0),
            Data::new("action", &action),
        ));
    }
    Ok(items)
}
