//! The one mapping from errors to HTTP answers (spec api.md §2.2).
//!
//! A handler returns `Result<Reply, ApiError>`; both become a response that
//! carries its items or its error as an extension, and the envelope layer
//! ([`crate::envelope`]) writes the Collection+JSON document with the request's
//! `href` and a fresh operation id as `error.code`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mig_protocol::collection::Item;
use mig_store::StoreError;

/// Everything that can go wrong in a handler, with the status it maps to.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 400: an id that parsed but is not positive, an unsupported target, a bad field.
    #[error("{0}")]
    BadRequest(String),
    /// 401: authentication or permission failure.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: the object does not exist, or a search found nothing.
    #[error("{0}")]
    NotFound(String),
    /// 500: every other failure (database, decoding, validation), as the original.
    #[error("{0}")]
    Internal(String),
    /// An error whose envelope also carries items (the search parameters of a failed search).
    #[error("{error}")]
    WithItems {
        error: Box<ApiError>,
        items: Vec<Item>,
    },
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::WithItems { error, .. } => error.status(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Target(_) => ApiError::BadRequest(error.to_string()),
            StoreError::NotFound { .. } => ApiError::NotFound(error.to_string()),
            _ => ApiError::Internal(error.to_string()),
        }
    }
}

/// The error part an envelope is built from.
#[derive(Debug, Clone)]
pub(crate) struct ErrorBody {
    pub message: String,
    pub items: Vec<Item>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, items) = match self {
            ApiError::WithItems { error, items } => (error.to_string(), items),
            other => (other.to_string(), Vec::new()),
        };
        tracing::debug!(status = status.as_u16(), %message, "request failed");
        let mut response = status.into_response();
        response
            .extensions_mut()
            .insert(ErrorBody { message, items });
        response
    }
}

/// A successful answer: a status and the items of the collection.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub items: Vec<Item>,
}

impl Reply {
    /// A 200 answer with these items.
    pub fn ok(items: Vec<Item>) -> Self {
        Self {
            status: StatusCode::OK,
            items,
        }
    }

    /// An answer with another status.
    pub fn with_status(status: StatusCode, items: Vec<Item>) -> Self {
        Self { status, items }
    }
}

/// The items of a successful answer, for the envelope layer.
#[derive(Debug, Clone)]
pub(crate) struct ReplyItems(pub Vec<Item>);

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(ReplyItems(self.items));
        response
    }
}

/// Parses an id query parameter as the original (`ParseFloat`, then `> 0`);
/// `what` is `Action`, `Agent`, … as in the messages.
pub fn parse_id(what: &str, query_name: &str, value: Option<&str>) -> Result<u64, ApiError> {
    let Some(text) = value else {
        return Err(ApiError::Internal(
            "runtime error: index out of range".to_owned(),
        ));
    };
    let number: f64 = text.trim().parse().map_err(|_| {
        ApiError::Internal(format!(
            "Wrong parameters '{query_name}': 'strconv.ParseFloat: parsing \"{text}\": invalid syntax'"
        ))
    })?;
    if number.is_nan() || number <= 0.0 || !number.is_finite() {
        return Err(ApiError::BadRequest(format!("Invalid {what} ID '{text}'")));
    }
    // IDs are integers below 2^53 (§2.3); a fraction is truncated as Go's float64→uint64.
    Ok(number as u64)
}
