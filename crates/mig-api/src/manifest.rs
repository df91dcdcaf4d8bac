//! Manifest administration (spec api.md §4.14) and the loader-facing
//! `/manifest/agent/` and `/manifest/fetch/` (§4.15).
//!
//! The API stores investigators' signatures over a manifest's signing form
//! ([`mig_protocol::manifest::ManifestResponse::signing_form`]) without verifying
//! them: loaders verify them against their own keyring (§7.3).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use chrono::Utc;
use mig_protocol::Id;
use mig_protocol::collection::{Data, Item};
use mig_protocol::manifest::{MANIFEST_STATUSES, ManifestParameters, ManifestRecord};
use mig_store::StoreError;

use crate::auth::Identity;
use crate::error::{ApiError, Reply, parse_id};
use crate::loader::{Form, LoaderIdentity, check_loader_expression};
use crate::query::QueryParams;
use crate::{AppState, Store};

/// The body limit of `POST /manifest/new/`.
pub(crate) const NEW_MANIFEST_BODY_LIMIT: usize = 20_971_520;

fn manifest_id(form: &Form) -> Result<Id, ApiError> {
    parse_id("Manifest", "manifestid", form.get("manifestid")).map(Id)
}

/// `GET /manifest?manifestid=<id>`: the full record, content and signatures.
pub(crate) async fn get_manifest<S: Store>(
    State(state): State<AppState<S>>,
    params: QueryParams,
) -> Result<Reply, ApiError> {
    let id = parse_id("Manifest", "manifestid", params.get("manifestid"))?;
    let manifest = state
        .store
        .get_manifest(Id(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Manifest ID '{id}' not found")))?;
    Ok(Reply::ok(vec![Item::with_data(
        format!("{}/manifest?manifestid={id}", state.base_url()),
        Data::new("manifest", &manifest),
    )]))
}

/// `POST /manifest/new/` (form `manifest` = ManifestRecord JSON): stored `staged`.
pub(crate) async fn new_manifest<S: Store>(
    State(state): State<AppState<S>>,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = Form::new(query, &body)?;
    let text = form
        .get("manifest")
        .ok_or_else(|| ApiError::Internal("runtime error: index out of range".to_owned()))?;
    let manifest: ManifestRecord = mig_protocol::gojson::from_str(text)
        .map_err(|error| ApiError::Internal(format!("Manifest JSON: {error}")))?;
    if manifest.name.is_empty() {
        return Err(ApiError::Internal("manifest has invalid name".to_owned()));
    }
    if manifest.target.is_empty() {
        return Err(ApiError::Internal("manifest has invalid target".to_owned()));
    }
    if !MANIFEST_STATUSES.contains(&manifest.status.as_str()) {
        return Err(ApiError::Internal("manifest has invalid status".to_owned()));
    }
    manifest
        .files()
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    check_loader_expression(&manifest.target)?;
    let id = state.store.insert_manifest(&manifest, Utc::now()).await?;
    tracing::info!(manifest = id.0, "manifest created");
    Ok(Reply::with_status(StatusCode::CREATED, Vec::new()))
}

/// `POST /manifest/sign/` (form `manifestid`, `signature`): the signer is the caller.
pub(crate) async fn sign_manifest<S: Store>(
    State(state): State<AppState<S>>,
    Extension(identity): Extension<Identity>,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = Form::new(query, &body)?;
    let id = manifest_id(&form)?;
    let signature = form.get("signature").unwrap_or_default();
    if signature.is_empty() {
        return Err(ApiError::BadRequest(
            "Invalid signature specified".to_owned(),
        ));
    }
    // With authentication off the caller is `authdisabled` (id 0), which is no
    // investigator: the original failed on the signature's foreign key with a 500.
    if identity.id == 0 {
        return Err(ApiError::Unauthorized(
            "Manifest signing needs an authenticated investigator (authentication is disabled)"
                .to_owned(),
        ));
    }
    state
        .store
        .sign_manifest(
            id,
            Id(identity.id),
            signature,
            state.config.manifest_required_signatures,
        )
        .await
        .map_err(|error| {
            tracing::info!(manifest = id.0, %error, "manifest signature refused");
            ApiError::Internal("Manifest signing operation failed".to_owned())
        })?;
    tracing::info!(
        manifest = id.0,
        investigator = identity.id,
        "manifest signed"
    );
    Ok(Reply::ok(Vec::new()))
}

/// `POST /manifest/status/` (form `manifestid`, `status` = `staged` or `disabled`).
pub(crate) async fn set_manifest_status<S: Store>(
    State(state): State<AppState<S>>,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = Form::new(query, &body)?;
    let id = manifest_id(&form)?;
    let status = form.get("status").unwrap_or_default();
    if status != "staged" && status != "disabled" {
        return Err(ApiError::BadRequest(
            "Invalid status specified, must be disabled or staged".to_owned(),
        ));
    }
    state
        .store
        .set_manifest_status(id, status, state.config.manifest_required_signatures)
        .await
        .map_err(|error| match error {
            StoreError::NotFound { .. } => {
                ApiError::NotFound(format!("Manifest ID '{}' not found", id.0))
            }
            other => other.into(),
        })?;
    Ok(Reply::ok(Vec::new()))
}

/// `GET /manifest/loaders/?manifestid=<id>`: the enabled loaders its target matches.
pub(crate) async fn manifest_loaders<S: Store>(
    State(state): State<AppState<S>>,
    params: QueryParams,
) -> Result<Reply, ApiError> {
    let id = parse_id("Manifest", "manifestid", params.get("manifestid"))?;
    if state.store.get_manifest(Id(id)).await?.is_none() {
        return Err(ApiError::NotFound(format!("Manifest ID '{id}' not found")));
    }
    let loaders = state
        .store
        .manifest_loaders(Id(id), Utc::now())
        .await
        .map_err(|error| {
            tracing::info!(manifest = id, %error, "no matching loaders");
            ApiError::NotFound(format!("No matching loaders for manifest '{id}'"))
        })?;
    let base = state.base_url();
    Ok(Reply::ok(
        loaders
            .iter()
            .map(|entry| {
                Item::with_data(
                    format!("{base}/loader?loaderid={}", entry.id.0),
                    Data::new("loader", entry),
                )
            })
            .collect(),
    ))
}

const LOCATE_FAILED: &str = "Unable to locate valid manifest for this loader entry";

/// The common step of the loader-facing routes: the parameters and the manifest.
async fn locate<S: Store>(
    state: &AppState<S>,
    loader: &LoaderIdentity,
    form: &Form,
) -> Result<(ManifestParameters, mig_store::LoaderManifest), ApiError> {
    let text = form
        .get("parameters")
        .ok_or_else(|| ApiError::Internal("runtime error: index out of range".to_owned()))?;
    let parameters: ManifestParameters = mig_protocol::gojson::from_str(text)
        .map_err(|error| ApiError::Internal(format!("Manifest parameters JSON: {error}")))?;
    if parameters.agent.name.is_empty() {
        return Err(ApiError::Internal(LOCATE_FAILED.to_owned()));
    }
    match state
        .store
        .loader_manifest(loader.id, &parameters.agent, Utc::now())
        .await
    {
        Ok(Some(found)) => Ok((parameters, found)),
        Ok(None) => Err(ApiError::Internal(LOCATE_FAILED.to_owned())),
        Err(error) => {
            tracing::warn!(loader = loader.id.0, %error, "manifest lookup failed");
            Err(ApiError::Internal(LOCATE_FAILED.to_owned()))
        }
    }
}

fn request_uri(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
}

/// `POST /manifest/agent/` (X-LOADERKEY): the entries and signatures of the loader's manifest.
pub(crate) async fn manifest_for_agent<S: Store>(
    State(state): State<AppState<S>>,
    Extension(loader): Extension<LoaderIdentity>,
    uri: Uri,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = Form::new(query, &body)?;
    let (_, found) = locate(&state, &loader, &form).await?;
    let response = found
        .manifest
        .response(&found.loader_name)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(Reply::ok(vec![Item::with_data(
        request_uri(&uri),
        Data::new("manifest", &response),
    )]))
}

/// `POST /manifest/fetch/` (X-LOADERKEY): one file of the loader's manifest, gzip in base64.
pub(crate) async fn fetch_object<S: Store>(
    State(state): State<AppState<S>>,
    Extension(loader): Extension<LoaderIdentity>,
    uri: Uri,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = Form::new(query, &body)?;
    let (parameters, found) = locate(&state, &loader, &form).await?;
    if parameters.object.is_empty() {
        return Err(ApiError::Internal(
            "manifest fetch with no object".to_owned(),
        ));
    }
    let object = found
        .manifest
        .object(&parameters.object)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(Reply::ok(vec![Item::with_data(
        request_uri(&uri),
        Data::new("content", &object),
    )]))
}
