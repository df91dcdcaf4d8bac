//! `GET /search` (spec api.md §5): parameters with the original's defaults,
//! filters compiled by the store with every value bound, agent targets through
//! the safe target compiler, the pagination and "search parameters" items, and
//! `no results found` as a 404.

use axum::extract::State;
use chrono::{DateTime, Utc};
use mig_protocol::collection::{Data, Item};
use mig_protocol::search::{INFINITY, Pagination, SearchParameters, WINDOW_HOURS};
use mig_protocol::{GoTime, Id};
use mig_store::search::{SearchFilter, SearchType};

use crate::error::{ApiError, Reply};
use crate::query::QueryParams;
use crate::{AppState, Store};

fn parse_time(text: &str, which: &str) -> Result<GoTime, String> {
    GoTime::parse(text)
        .map_err(|_| format!("parseSearchParameters()-> {which} date not in RFC3339 format"))
}

fn parse_number(text: &str, message: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| format!("parseSearchParameters()-> {message}"))
}

/// Reads the parameters (first value of each name; unknown names ignored).
fn read_parameters(query: &QueryParams, now: DateTime<Utc>) -> Result<SearchParameters, String> {
    let mut p = SearchParameters::defaults(now);
    let text = |name: &str| query.get(name).map(str::to_owned);
    if let Some(kind) = text("type") {
        p.kind = kind;
    }
    for (name, field) in [
        ("actionid", &mut p.actionid),
        ("actionname", &mut p.actionname),
        ("agentid", &mut p.agentid),
        ("agentname", &mut p.agentname),
        ("agentversion", &mut p.agentversion),
        ("commandid", &mut p.commandid),
        ("investigatorid", &mut p.investigatorid),
        ("investigatorname", &mut p.investigatorname),
        ("loaderid", &mut p.loaderid),
        ("loadername", &mut p.loadername),
        ("manifestid", &mut p.manifestid),
        ("manifestname", &mut p.manifestname),
        ("status", &mut p.status),
        ("threatfamily", &mut p.threatfamily),
        ("target", &mut p.target),
        ("report", &mut p.report),
    ] {
        if let Some(value) = text(name) {
            *field = value;
        }
    }
    if let Some(after) = text("after") {
        p.after = parse_time(&after, "after")?;
    }
    if let Some(before) = text("before") {
        p.before = parse_time(&before, "before")?;
    }
    if let Some(limit) = text("limit") {
        p.limit = parse_number(&limit, "invalid limit parameter")?;
    }
    if let Some(offset) = text("offset") {
        p.offset = parse_number(&offset, "invalid offset parameter")?;
    }
    Ok(p)
}

fn id_filter(value: &str) -> Result<Option<Id>, String> {
    if value == INFINITY {
        return Ok(None);
    }
    let number: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing \"{value}\": invalid syntax"))?;
    if !number.is_finite() || number < 0.0 {
        return Err(format!("invalid id {value}"));
    }
    Ok(Some(Id(number as u64)))
}

fn pattern(value: &str) -> Option<String> {
    (value != "%").then(|| value.to_owned())
}

/// The store's filter; date filters apply only when tighter than the default by over an hour.
fn filter(
    p: &SearchParameters,
    found: Option<bool>,
    now: DateTime<Utc>,
) -> Result<SearchFilter, String> {
    let window = chrono::Duration::hours(WINDOW_HOURS);
    let hour = chrono::Duration::hours(1);
    let before = p.before.to_utc();
    let after = p.after.to_utc();
    Ok(SearchFilter {
        before: (before < now + window - hour).then_some(before),
        after: (after > now - window + hour).then_some(after),
        action_id: id_filter(&p.actionid)?,
        action_name: pattern(&p.actionname),
        agent_id: id_filter(&p.agentid)?,
        agent_name: pattern(&p.agentname),
        agent_version: pattern(&p.agentversion),
        command_id: id_filter(&p.commandid)?,
        investigator_id: id_filter(&p.investigatorid)?,
        investigator_name: pattern(&p.investigatorname),
        status: pattern(&p.status),
        threat_family: pattern(&p.threatfamily),
        found_anything: found,
        manifest_id: id_filter(&p.manifestid)?,
        manifest_name: pattern(&p.manifestname),
        loader_id: id_filter(&p.loaderid)?,
        loader_name: pattern(&p.loadername),
        limit: p.limit as u64,
        offset: p.offset as u64,
    })
}

/// `GET /search`.
pub(crate) async fn search<S: Store>(
    State(state): State<AppState<S>>,
    query: QueryParams,
    uri: axum::http::Uri,
) -> Result<Reply, ApiError> {
    let now = Utc::now();
    let href = format!(
        "{}{}",
        state.config.server.host,
        uri.path_and_query().map_or(uri.path(), |pq| pq.as_str())
    );
    let parameters_item =
        |p: &SearchParameters| Item::with_data(href.clone(), Data::new("search parameters", p));
    let mut p = match read_parameters(&query, now) {
        Ok(p) => p,
        Err(message) => {
            return Err(ApiError::WithItems {
                error: Box::new(ApiError::Internal(message)),
                items: vec![parameters_item(&SearchParameters::defaults(now))],
            });
        }
    };
    let fail = |error: ApiError, p: &SearchParameters| ApiError::WithItems {
        error: Box::new(error),
        items: vec![parameters_item(p)],
    };
    let found = match query.get("foundanything") {
        None => None,
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                return Err(fail(
                    ApiError::Internal("foundanything parameter must be true or false".to_owned()),
                    &p,
                ));
            }
        },
    };
    p.foundanything = found.unwrap_or(false);
    let base = state.base_url();
    let mut items = match run(&state, &p, found, now, &base).await {
        Ok(items) => items,
        Err(error) => return Err(fail(error, &p)),
    };
    if items.is_empty() {
        return Err(fail(ApiError::NotFound("no results found".to_owned()), &p));
    }
    if p.offset > 0.0 {
        let mut next = p.clone();
        next.offset += next.limit;
        items.push(Item::with_data(
            href.clone(),
            Data::new(
                "pagination",
                &Pagination {
                    limit: p.limit,
                    offset: p.offset,
                    next: format!("{base}/search?{}", next.query_string()),
                },
            ),
        ));
    }
    items.push(parameters_item(&p));
    Ok(Reply::ok(items))
}

async fn run<S: Store>(
    state: &AppState<S>,
    p: &SearchParameters,
    found: Option<bool>,
    now: DateTime<Utc>,
    base: &str,
) -> Result<Vec<Item>, ApiError> {
    let kind = match p.kind.as_str() {
        "action" => SearchType::Action,
        "agent" => SearchType::Agent,
        "command" => SearchType::Command,
        "investigator" => SearchType::Investigator,
        "manifest" => SearchType::Manifest,
        "loader" => SearchType::Loader,
        _ => return Err(ApiError::Internal("search type is invalid".to_owned())),
    };
    let store = &state.store;
    let mut items = Vec::new();
    if kind == SearchType::Agent && !p.target.is_empty() {
        let agents = state
            .target_searches
            .run(&**store, &p.target, p.limit as u64, now)
            .await?;
        for agent in agents.iter() {
            items.push(Item::with_data(
                format!("{base}/agent?agentid={}", agent.id.0),
                Data::new("agent", agent),
            ));
        }
        return Ok(items);
    }
    let filter = filter(p, found, now).map_err(ApiError::Internal)?;
    for id in store.search_ids(kind, &filter).await? {
        let item = match kind {
            SearchType::Action => store.get_action(id).await?.map(|action| {
                Item::with_data(
                    format!("{base}/action?actionid={}", id.0),
                    Data::new("action", &action),
                )
            }),
            SearchType::Command => store.get_command(id).await?.map(|command| {
                Item::with_data(
                    format!("{base}/command?commandid={}", id.0),
                    Data::new("command", &command),
                )
            }),
            SearchType::Agent => store.get_agent(id).await?.map(|agent| {
                Item::with_data(
                    format!("{base}/agent?agentid={}", id.0),
                    Data::new("agent", &agent),
                )
            }),
            SearchType::Investigator => {
                store.get_investigator(id).await?.map(|mut investigator| {
                    investigator.publickey.clear();
                    investigator.apikey.clear();
                    Item::with_data(
                        format!("{base}/investigator?investigatorid={}", id.0),
                        Data::new("investigator", &investigator),
                    )
                })
            }
            SearchType::Manifest => store.get_manifest(id).await?.map(|mut manifest| {
                manifest.content.clear();
                manifest.signatures = None;
                Item::with_data(
                    format!("{base}/manifest?manifestid={}", id.0),
                    Data::new("manifest", &manifest),
                )
            }),
            SearchType::Loader => store.get_loader(id).await?.map(|mut loader| {
                if loader.agentname.is_empty() {
                    loader.agentname = "unset".to_owned();
                }
                loader.prefix.clear();
                loader.expectenv.clear();
                Item::with_data(base.to_owned(), Data::new("loader", &loader))
            }),
        };
        items.extend(item);
    }
    Ok(items)
}

/// The answer of one agent target evaluation, shared by the requests that wait for it.
type TargetAnswer = Result<std::sync::Arc<Vec<mig_protocol::Agent>>, ApiError>;

/// The evaluations in progress, by target text and limit.
type RunningSearches =
    std::collections::HashMap<(String, u64), std::sync::Arc<tokio::sync::OnceCell<TargetAnswer>>>;

/// Agent target evaluations in progress, by target text and limit.
///
/// A target search may scan every agent row (targets are arbitrary expressions;
/// the store stops at the page's limit), so identical searches that arrive while one is
/// running wait for its answer instead of running the same scan again. Nothing
/// is kept once the evaluation has answered: a search that arrives afterwards
/// reads the table again, so an answer is never older than the request.
#[derive(Default)]
pub(crate) struct TargetSearches {
    running: std::sync::Mutex<RunningSearches>,
}

impl TargetSearches {
    async fn run<S: Store>(
        &self,
        store: &S,
        target: &str,
        limit: u64,
        now: DateTime<Utc>,
    ) -> TargetAnswer {
        let key = (target.to_owned(), limit);
        let (cell, first) = {
            let mut running = self
                .running
                .lock()
                .map_err(|_| ApiError::Internal("target search table poisoned".to_owned()))?;
            match running.get(&key) {
                Some(cell) => (cell.clone(), false),
                None => {
                    let cell = std::sync::Arc::new(tokio::sync::OnceCell::new());
                    running.insert(key.clone(), cell.clone());
                    (cell, true)
                }
            }
        };
        // Removes the entry when the first request is done, even when it is cancelled.
        struct Done<'a> {
            searches: &'a TargetSearches,
            key: &'a (String, u64),
            cell: std::sync::Arc<tokio::sync::OnceCell<TargetAnswer>>,
        }
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                if let Ok(mut running) = self.searches.running.lock()
                    && running
                        .get(self.key)
                        .is_some_and(|cell| std::sync::Arc::ptr_eq(cell, &self.cell))
                {
                    running.remove(self.key);
                }
            }
        }
        let _done = first.then(|| Done {
            searches: self,
            key: &key,
            cell: cell.clone(),
        });
        cell.get_or_init(|| async {
            store
                .search_target_agents(target, now, limit)
                .await
                .map(std::sync::Arc::new)
                .map_err(ApiError::from)
        })
        .await
        .clone()
    }
}
