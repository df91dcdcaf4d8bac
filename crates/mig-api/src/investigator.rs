//! `GET /investigator`, `POST /investigator/create/` and `POST /investigator/update/`
//! (spec api.md §4.10–4.12).

use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use mig_protocol::auth::{generate_api_key, generate_salt, hash_key};
use mig_protocol::collection::{Data, Item, Link};
use mig_protocol::pgp::PublicKey;
use mig_protocol::status::InvestigatorStatus;
use mig_protocol::{GoTime, Id, Investigator, Permissions};
use mig_store::StoreError;

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

fn multipart_error(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("Failed to read the form: {error}"))
}

/// `POST /investigator/create/` (multipart: `name`, `permissions`, file `publickey`).
pub(crate) async fn create_investigator<S: Store>(
    State(state): State<AppState<S>>,
    mut form: Multipart,
) -> Result<Reply, ApiError> {
    let (mut name, mut permissions, mut public_key) = (None, None, None);
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let field_name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(multipart_error)?;
        match field_name.as_str() {
            "name" if name.is_none() => name = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "permissions" if permissions.is_none() => permissions = Some(bytes),
            "publickey" if public_key.is_none() => public_key = Some(bytes),
            _ => {}
        }
    }
    let name = name.unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::Internal(
            "Investigator name must not be empty".to_owned(),
        ));
    }
    let permissions: Permissions =
        mig_protocol::gojson::from_slice(&permissions.unwrap_or_default())
            .map_err(|error| ApiError::Internal(format!("Permissions JSON: {error}")))?;
    let mut investigator = Investigator {
        name,
        permissions,
        ..Investigator::default()
    };
    if let Some(bytes) = public_key {
        if bytes.is_empty() {
            return Err(ApiError::Internal(
                "Investigator Public Key must not be empty".to_owned(),
            ));
        }
        let key = PublicKey::from_armored(&String::from_utf8_lossy(&bytes))
            .map_err(|error| ApiError::Internal(format!("Invalid public key: {error}")))?;
        investigator.pgpfingerprint = key.fingerprint().to_uppercase();
        investigator.publickey = bytes.to_vec();
    }
    let stored = Investigator {
        status: InvestigatorStatus::Active,
        createdat: GoTime::now(),
        lastmodified: GoTime::now(),
        ..investigator.clone()
    };
    investigator.id =
        state
            .store
            .insert_investigator(&stored)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => ApiError::Internal(
                    "Investigator's PGP Fingerprint already exists in database".to_owned(),
                ),
                other => other.into(),
            })?;
    let id = investigator.id.0;
    tracing::info!(investigator = id, "investigator created");
    Ok(Reply::with_status(
        StatusCode::CREATED,
        vec![Item::with_data(
            format!("{}/investigator?investigatorid={id}", state.base_url()),
            Data::new(format!("Investigator ID {id}"), &investigator),
        )],
    ))
}

/// `POST /investigator/update/` (form: `id`, and `status`, `permissions`, `apikey`).
pub(crate) async fn update_investigator<S: Store>(
    State(state): State<AppState<S>>,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = QueryParams::parse(&String::from_utf8_lossy(&body));
    form.check_nul()?;
    let value = |name: &str| {
        form.get(name)
            .or_else(|| query.get(name))
            .map(str::to_owned)
    };
    let id = Id(parse_id("Investigator", "id", value("id").as_deref())?);
    let (status, permissions, apikey) = (value("status"), value("permissions"), value("apikey"));
    // The original answered 500; nothing failed on the server: 400.
    if status.is_none() && permissions.is_none() && apikey.is_none() {
        return Err(ApiError::BadRequest(
            "No updates to the investigator were specified".to_owned(),
        ));
    }
    let failed = |error: StoreError| match error {
        StoreError::Conflict(message) => {
            ApiError::Internal(format!("Failed to update investigator: '{message}'"))
        }
        other => ApiError::from(other),
    };
    let mut echo = Investigator {
        id,
        ..Investigator::default()
    };
    if let Some(status) = status {
        if status != "active" && status != "disabled" {
            return Err(ApiError::Internal(format!(
                "Invalid investigator status '{status}'"
            )));
        }
        state
            .store
            .set_investigator_status(id, &status)
            .await
            .map_err(failed)?;
        echo.status = InvestigatorStatus::from(status.as_str());
    }
    if let Some(text) = permissions {
        let mask: Permissions = mig_protocol::gojson::from_str(&text)
            .map_err(|error| ApiError::Internal(format!("Permissions JSON: {error}")))?;
        state
            .store
            .set_investigator_permissions(id, mask)
            .await
            .map_err(failed)?;
        echo.permissions = mask;
    }
    if let Some(apikey) = apikey {
        match apikey.as_str() {
            "active" => {
                let key = generate_api_key();
                let salt = generate_salt();
                let hash = hash_key(&key, &salt);
                state
                    .store
                    .set_investigator_api_key(id, Some((&hash, &salt)))
                    .await
                    .map_err(failed)?;
                echo.apikey = key;
            }
            "disabled" => state
                .store
                .set_investigator_api_key(id, None)
                .await
                .map_err(failed)?,
            _ => {
                return Err(ApiError::Internal(
                    "Invalid value for apikey parameter".to_owned(),
                ));
            }
        }
    }
    tracing::info!(investigator = id.0, "investigator updated");
    Ok(Reply::ok(vec![Item::with_data(
        format!("{}/investigator?investigatorid={}", state.base_url(), id.0),
        Data::new(format!("Investigator ID {}", id.0), &echo),
    )]))
}
