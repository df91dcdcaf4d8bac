//! Query and form parameters read as Go's `FormValue` does: the first value of a name.
//!
//! A value holding a NUL byte is refused with a 400 before any handler runs: no
//! MIG field may contain one, and PostgreSQL cannot store one in text.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The decoded query string, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    /// Decodes `application/x-www-form-urlencoded` text.
    pub fn parse(text: &str) -> Self {
        Self(serde_urlencoded::from_str(text).unwrap_or_default())
    }

    /// A 400 naming the first parameter whose value holds a NUL byte.
    pub fn check_nul(&self) -> Result<(), crate::ApiError> {
        match self.0.iter().find(|(_, value)| value.contains('\0')) {
            Some((name, _)) => Err(crate::ApiError::BadRequest(format!(
                "parameter '{name}' contains a NUL byte"
            ))),
            None => Ok(()),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = crate::ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let params = Self::parse(parts.uri.query().unwrap_or_default());
        params.check_nul()?;
        Ok(params)
    }
}
