//! `GET /publickey/{fingerprint}` (spec api.md §4.4): an investigator's armored public key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mig_protocol::pgp::PublicKey;

use crate::{AppState, Store};

/// The key re-armored, or a plain-text 404 naming the fingerprint (500 on other failures).
pub(crate) async fn get_public_key<S: Store>(
    State(state): State<AppState<S>>,
    Path(fingerprint): Path<String>,
) -> Response {
    // A fingerprint is hexadecimal: anything else names no key (and never reaches SQL).
    let lookup = if fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        state.store.investigator_by_fingerprint(&fingerprint).await
    } else {
        Ok(None)
    };
    let investigator = match lookup {
        Ok(found) => found.filter(|investigator| !investigator.publickey.is_empty()),
        Err(error) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response();
        }
    };
    let Some(investigator) = investigator else {
        return (
            StatusCode::NOT_FOUND,
            format!("Invalid Fingerprint : No PublicKey found for fingerprint '{fingerprint}'"),
        )
            .into_response();
    };
    let armored = PublicKey::from_armored(&String::from_utf8_lossy(&investigator.publickey))
        .and_then(|key| key.to_armored());
    match armored {
        Ok(text) => text.into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
