//! Loader administration (spec api.md §4.13) and the `X-LOADERKEY` authentication
//! of the loader-facing routes (§3.4).

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use mig_protocol::Id;
use mig_protocol::auth::{
    API_KEY_LEN, LOADER_PREFIX_LEN, generate_key, generate_salt, hash_key, split_loader_key,
    verify_key,
};
use mig_protocol::collection::{Data, Item};
use mig_protocol::manifest::LoaderEntry;
use mig_store::StoreError;

use crate::error::{ApiError, Reply, parse_id};
use crate::query::QueryParams;
use crate::{AppState, Store};

/// The loader a loader-facing request authenticated as (also written in the access log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaderIdentity {
    pub id: Id,
    pub name: String,
}

/// The first value of `name` in the urlencoded body, else in the query string.
pub(crate) struct Form {
    body: QueryParams,
    query: QueryParams,
}

impl Form {
    pub(crate) fn new(query: QueryParams, body: &Bytes) -> Result<Self, ApiError> {
        let body = QueryParams::parse(&String::from_utf8_lossy(body));
        body.check_nul()?;
        Ok(Self { body, query })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.body.get(name).or_else(|| self.query.get(name))
    }
}

/// Refuses an expression over `loaders` the safe compiler does not accept (400).
pub(crate) fn check_loader_expression(expression: &str) -> Result<(), ApiError> {
    mig_store::target::compile_loader_expression(
        expression,
        mig_store::target::Dialect::Postgres,
        1,
        Utc::now(),
    )
    .map(|_| ())
    .map_err(|error| ApiError::from(StoreError::Target(error)))
}

fn loader_item<S: Store>(state: &AppState<S>, entry: &LoaderEntry) -> Item {
    Item::with_data(
        format!("{}/loader?loaderid={}", state.base_url(), entry.id.0),
        Data::new("loader", entry),
    )
}

fn not_found(id: Id) -> impl Fn(StoreError) -> ApiError {
    move |error| match error {
        StoreError::NotFound { .. } => {
            ApiError::NotFound(format!("Loader ID '{}' not found", id.0))
        }
        other => other.into(),
    }
}

/// `GET /loader?loaderid=<id>`.
pub(crate) async fn get_loader<S: Store>(
    State(state): State<AppState<S>>,
    params: QueryParams,
) -> Result<Reply, ApiError> {
    let id = parse_id("Loader", "loaderid", params.get("loaderid"))?;
    let entry = state
        .store
        .get_loader(Id(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Loader ID '{id}' not found")))?;
    Ok(Reply::ok(vec![loader_item(&state, &entry)]))
}

/// `POST /loader/status/` (form `loaderid`, `status`: `enabled`, anything else disables).
pub(crate) async fn set_status<S: Store>(
    State(state): State<AppState<S>>,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = Form::new(query, &body)?;
    let id = Id(parse_id("Loader", "loaderid", form.get("loaderid"))?);
    let enabled = form.get("status") == Some("enabled");
    state
        .store
        .set_loader_enabled(id, enabled)
        .await
        .map_err(not_found(id))?;
    tracing::info!(loader = id.0, enabled, "loader status changed");
    Ok(Reply::ok(Vec::new()))
}

/// `POST /loader/expect/` (form `loaderid`, `expectenv`; empty clears it).
pub(crate) async fn set_expect<S: Store>(
    State(state): State<AppState<S>>,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = Form::new(query, &body)?;
    let id = Id(parse_id("Loader", "loaderid", form.get("loaderid"))?);
    let expectenv = form.get("expectenv").filter(|text| !text.is_empty());
    if let Some(expression) = expectenv {
        check_loader_expression(expression)?;
    }
    state
        .store
        .set_loader_expectenv(id, expectenv)
        .await
        .map_err(not_found(id))?;
    Ok(Reply::ok(Vec::new()))
}

/// A new key: the stored hash and salt, and the plaintext.
fn new_key() -> (String, [u8; 32], [u8; 16]) {
    let key = generate_key(API_KEY_LEN);
    let salt = generate_salt();
    let hash = hash_key(&key, &salt);
    (key, hash, salt)
}

/// `POST /loader/key/` (form `loaderid`): a new key, shown once.
pub(crate) async fn new_key_for<S: Store>(
    State(state): State<AppState<S>>,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = Form::new(query, &body)?;
    let id = Id(parse_id("Loader", "loaderid", form.get("loaderid"))?);
    let (key, hash, salt) = new_key();
    let prefix = state
        .store
        .set_loader_key(id, (&hash, &salt))
        .await
        .map_err(not_found(id))?;
    let entry = LoaderEntry {
        id,
        prefix,
        key,
        ..LoaderEntry::default()
    };
    tracing::info!(loader = id.0, "loader key regenerated");
    Ok(Reply::ok(vec![loader_item(&state, &entry)]))
}

/// `POST /loader/new/` (form `loader` = LoaderEntry JSON).
pub(crate) async fn new_loader<S: Store>(
    State(state): State<AppState<S>>,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = Form::new(query, &body)?;
    let text = form
        .get("loader")
        .ok_or_else(|| ApiError::Internal("runtime error: index out of range".to_owned()))?;
    let mut entry: LoaderEntry = mig_protocol::gojson::from_str(text)
        .map_err(|error| ApiError::Internal(format!("Loader entry JSON: {error}")))?;
    if entry.name.is_empty() {
        return Err(ApiError::Internal(
            "loader entry has invalid name".to_owned(),
        ));
    }
    if !entry.expectenv.is_empty() {
        check_loader_expression(&entry.expectenv)?;
    }
    let prefix = generate_key(LOADER_PREFIX_LEN);
    let (key, hash, salt) = new_key();
    entry.id = state
        .store
        .insert_loader(&entry, &prefix, (&hash, &salt), Utc::now())
        .await
        .map_err(|error| match error {
            StoreError::Conflict(message) => {
                ApiError::Internal(format!("Failed to create loader: '{message}'"))
            }
            other => other.into(),
        })?;
    entry.prefix = prefix;
    entry.key = key;
    tracing::info!(loader = entry.id.0, "loader created");
    Ok(Reply::with_status(
        StatusCode::CREATED,
        vec![loader_item(&state, &entry)],
    ))
}

/// The authentication layer of loader-facing routes (`X-LOADERKEY`).
pub(crate) async fn authenticate_loader<S: Store>(
    State(state): State<AppState<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(value) = request
        .headers()
        .get("x-loaderkey")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
    else {
        return ApiError::Unauthorized("X-LOADERKEY header not found".to_owned()).into_response();
    };
    let failed = || ApiError::Unauthorized("Loader authorization failed".to_owned());
    let identity = match loader_identity(&state, &value).await {
        Ok(Some(identity)) => identity,
        Ok(None) => return failed().into_response(),
        Err(error) => {
            tracing::warn!(%error, "loader authentication");
            return failed().into_response();
        }
    };
    request.extensions_mut().insert(identity.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(identity);
    response
}

async fn loader_identity<S: Store>(
    state: &AppState<S>,
    value: &str,
) -> Result<Option<LoaderIdentity>, ApiError> {
    let Ok((prefix, key)) = split_loader_key(value) else {
        return Ok(None);
    };
    let Some(holder) = state.store.loader_key_holder(prefix).await? else {
        return Ok(None);
    };
    if holder.hash.len() != 32 || holder.salt.len() != 16 {
        return Ok(None);
    }
    let key = key.to_owned();
    let (hash, salt) = (holder.hash.clone(), holder.salt.clone());
    let valid = tokio::task::spawn_blocking(move || verify_key(&key, &salt, &hash))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(valid.then_some(LoaderIdentity {
        id: holder.id,
        name: holder.name,
    }))
}
