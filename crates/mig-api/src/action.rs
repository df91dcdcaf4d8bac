//! `GET /action` and `POST /action/create/` (spec api.md §4.6, §4.7).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use mig_protocol::acl::{VerifyError, verify_signatures};
use mig_protocol::collection::{Data, Item};
use mig_protocol::pgp::PgpError;
use mig_protocol::status::ActionStatus;
use mig_protocol::{Action, GoTime, Id, gen_id};

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

/// `POST /action/create/` (form field `action`): checks the signed action, verifies
/// every signature against the active investigators' keys and stores it `pending`;
/// the scheduler is woken by the database, never by the API.
pub(crate) async fn create_action<S: Store>(
    State(state): State<AppState<S>>,
    query: QueryParams,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let form = QueryParams::parse(&String::from_utf8_lossy(&body));
    form.check_nul()?;
    let text = form
        .get("action")
        .or_else(|| query.get("action"))
        .unwrap_or_default();
    let mut action = Action::from_json(text.as_bytes())
        .map_err(|error| ApiError::Internal(format!("Failed to parse action: {error}")))?;
    action.id = gen_id();
    action.starttime = GoTime::sentinel_unstarted();
    action.finishtime = GoTime::sentinel_unfinished();
    action.lastupdatetime = action.starttime;
    action.status = ActionStatus::Pending;
    action.investigators.clear();
    action.counters = Default::default();
    action
        .validate(GoTime::now())
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    // The scheduler compiles targets safely; refuse what it could not run.
    mig_store::target::parse(&action.target)
        .map_err(|error| ApiError::BadRequest(format!("unsupported action target: {error}")))?;
    let signers = verify(&state, &action).await?;
    state.store.insert_action(&action, &signers).await?;
    tracing::info!(action_id = action.id.0, name = %action.name, "action created");
    let id = action.id.0;
    Ok(Reply::with_status(
        StatusCode::ACCEPTED,
        vec![Item::with_data(
            format!("{}/action?actionid={id}", state.base_url()),
            Data::new(format!("action ID {id}"), &action),
        )],
    ))
}

/// Verifies every signature; returns `(investigator id, signature)` per signature.
async fn verify<S: Store>(
    state: &AppState<S>,
    action: &Action,
) -> Result<Vec<(Id, String)>, ApiError> {
    let mut force = false;
    loop {
        let (keyring, investigators) = state.keyrings.get(&*state.store, force).await?;
        match verify_signatures(action, &keyring) {
            Ok(fingerprints) => {
                return fingerprints
                    .iter()
                    .zip(action.signatures())
                    .map(|(fingerprint, signature)| {
                        investigators
                            .iter()
                            .find(|investigator| {
                                investigator
                                    .pgpfingerprint
                                    .eq_ignore_ascii_case(fingerprint)
                            })
                            .map(|investigator| (investigator.id, signature.clone()))
                            .ok_or_else(|| {
                                ApiError::Internal(format!(
                                    "no active investigator has the key {fingerprint}"
                                ))
                            })
                    })
                    .collect();
            }
            Err(VerifyError::Signature {
                source: PgpError::UnknownKey(_),
                ..
            }) if !force => force = true,
            Err(error) => {
                return Err(ApiError::Internal(format!(
                    "VerifySignatures() -> failed to verify PGP Signature: {error}"
                )));
            }
        }
    }
}
