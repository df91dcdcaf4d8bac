//! Authentication and authorisation of investigator routes (spec api.md §3).
//!
//! Order: authentication disabled ⇒ `authdisabled` with every permission;
//! `X-PGPAUTHORIZATION` ⇒ a signed token checked against the keyring of active
//! investigators; `X-MIGAPIKEY` ⇒ a PBKDF2-hashed API key; otherwise 401. Then
//! the route's permission bit. The keyring is cached for at most five minutes and
//! rebuilt at once (at most every few seconds) when a token's signer is unknown,
//! so a new investigator can work immediately; the signer's row is then re-read
//! so a disabled investigator is refused at once.
//!
//! Verified credentials are remembered ([`VerifiedCache`]) so that a client
//! repeating the same token or API key does not pay for the signature check or
//! for one PBKDF2 per API-key holder on every request: a remembered token is
//! still checked against the time window, and its signer's current row must be
//! active with the same fingerprint; a remembered API key is accepted only
//! while its investigator is still an active holder of the very same salt and
//! hash. Failures are never remembered.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use mig_protocol::Id;
use mig_protocol::Investigator;
use mig_protocol::auth::{AuthError, Token, parse_token_time, verify_key, verify_token};
use mig_protocol::investigator::{Permission, Permissions};
use mig_protocol::pgp::{Keyring, PgpError, PublicKey};
use mig_protocol::status::InvestigatorStatus;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::error::ApiError;
use crate::{AppState, Store};

/// How long the keyring is trusted.
const KEYRING_TTL: Duration = Duration::from_secs(300);
/// The least time between two rebuilds forced by an unknown signer.
const FORCED_REBUILD_INTERVAL: Duration = Duration::from_secs(2);

/// Who made the request (also written in the access log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    /// 0 when authentication is disabled.
    pub id: u64,
    pub permissions: Permissions,
}

impl Identity {
    /// The identity of every request when authentication is disabled.
    pub fn auth_disabled() -> Self {
        Self {
            name: "authdisabled".to_owned(),
            id: 0,
            permissions: Permissions::DEFAULT
                .union(Permissions::MANIFEST)
                .union(Permissions::LOADER)
                .union(Permissions::ADMIN),
        }
    }
}

/// The cached keyring of active investigators.
#[derive(Default)]
pub(crate) struct KeyringCache {
    inner: Mutex<Option<CachedKeyring>>,
}

struct CachedKeyring {
    built: Instant,
    keyring: Arc<Keyring>,
    investigators: Arc<Vec<Investigator>>,
}

impl KeyringCache {
    /// The keyring and its investigators; rebuilt when older than the TTL, or when
    /// `force` and the last build is older than the forced-rebuild interval.
    pub(crate) async fn get<S: Store>(
        &self,
        store: &S,
        force: bool,
    ) -> Result<(Arc<Keyring>, Arc<Vec<Investigator>>), ApiError> {
        let mut guard = self.inner.lock().await;
        let stale = match guard.as_ref() {
            None => true,
            Some(cached) => {
                let age = cached.built.elapsed();
                age > KEYRING_TTL || (force && age > FORCED_REBUILD_INTERVAL)
            }
        };
        if stale {
            let investigators = store.active_investigators().await?;
            let mut keyring = Keyring::new();
            for investigator in &investigators {
                if investigator.publickey.is_empty() {
                    continue;
                }
                let text = String::from_utf8_lossy(&investigator.publickey);
                match PublicKey::from_armored(&text) {
                    Ok(key) => keyring.add(key),
                    Err(error) => tracing::warn!(
                        investigator = investigator.id.0,
                        %error,
                        "unreadable public key of an active investigator"
                    ),
                }
            }
            *guard = Some(CachedKeyring {
                built: Instant::now(),
                keyring: Arc::new(keyring),
                investigators: Arc::new(investigators),
            });
        }
        match guard.as_ref() {
            Some(cached) => Ok((cached.keyring.clone(), cached.investigators.clone())),
            None => Err(ApiError::Internal("keyring unavailable".to_owned())),
        }
    }
}

/// How many verified tokens and API keys are remembered (each map); when full,
/// the expired tokens are dropped, and if that is not enough the map is emptied.
const VERIFIED_CAPACITY: usize = 4096;

/// A token whose signature was verified.
#[derive(Clone)]
struct VerifiedToken {
    /// The token's own time, for the window check of every use.
    time: DateTime<Utc>,
    fingerprint: String,
    investigator: Id,
}

/// An API key that matched a holder's hash.
#[derive(Clone)]
struct VerifiedKey {
    investigator: Id,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

/// Credentials verified before (see the module documentation).
#[derive(Default)]
pub(crate) struct VerifiedCache {
    /// By the whole header value.
    tokens: std::sync::Mutex<HashMap<String, VerifiedToken>>,
    /// By the SHA-256 of the key: the keys themselves are not kept.
    keys: std::sync::Mutex<HashMap<[u8; 32], VerifiedKey>>,
}

impl VerifiedCache {
    fn token(&self, token: &str) -> Option<VerifiedToken> {
        self.tokens.lock().ok()?.get(token).cloned()
    }

    fn remember_token(
        &self,
        token: &str,
        entry: VerifiedToken,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) {
        let Ok(mut tokens) = self.tokens.lock() else {
            return;
        };
        if tokens.len() >= VERIFIED_CAPACITY {
            tokens.retain(|_, cached| (now - cached.time).abs() <= window);
            if tokens.len() >= VERIFIED_CAPACITY {
                tokens.clear();
            }
        }
        tokens.insert(token.to_owned(), entry);
    }

    fn forget_token(&self, token: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(token);
        }
    }

    fn key(&self, digest: &[u8; 32]) -> Option<VerifiedKey> {
        self.keys.lock().ok()?.get(digest).cloned()
    }

    fn remember_key(&self, digest: [u8; 32], entry: VerifiedKey) {
        let Ok(mut keys) = self.keys.lock() else {
            return;
        };
        if keys.len() >= VERIFIED_CAPACITY {
            keys.clear();
        }
        keys.insert(digest, entry);
    }

    fn forget_key(&self, digest: &[u8; 32]) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.remove(digest);
        }
    }
}

/// The state of the authentication layer of one route.
pub(crate) struct Guard<S: Store> {
    pub state: AppState<S>,
    /// `None`: any authenticated investigator.
    pub permission: Option<Permission>,
}

impl<S: Store> Clone for Guard<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            permission: self.permission,
        }
    }
}

/// The authentication layer of investigator routes.
pub(crate) async fn authenticate<S: Store>(
    State(guard): State<Guard<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers().clone();
    let identity = match identify(&guard.state, &headers).await {
        Ok(identity) => identity,
        Err(error) => return error.into_response(),
    };
    if guard.state.config.auth_enabled
        && let Some(permission) = guard.permission
        && !identity.permissions.has(permission)
    {
        let mut response =
            ApiError::Unauthorized("Insufficient permissions to access endpoint".to_owned())
                .into_response();
        response.extensions_mut().insert(identity);
        return response;
    }
    request.extensions_mut().insert(identity.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(identity);
    response
}

fn header<'r>(headers: &'r HeaderMap, name: &str) -> Option<&'r str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
}

async fn identify<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
) -> Result<Identity, ApiError> {
    if !state.config.auth_enabled {
        return Ok(Identity::auth_disabled());
    }
    if let Some(token) = header(headers, "x-pgpauthorization") {
        return token_identity(state, token).await.map_err(|message| {
            ApiError::Unauthorized(format!(
                "Authorization verification failed with error '{message}'"
            ))
        });
    }
    if let Some(key) = header(headers, "x-migapikey") {
        return key_identity(state, key).await.map_err(|error| match error {
            ApiError::Internal(message) => ApiError::Internal(message),
            _ => ApiError::Unauthorized(
                "Authorization verification failed with error 'API key authentication failed'"
                    .to_owned(),
            ),
        });
    }
    Err(ApiError::Unauthorized(
        "Valid authentication header not found".to_owned(),
    ))
}

/// The original's texts for token failures, prefixed as in its messages.
fn token_error_text(error: &AuthError) -> String {
    let text = match error {
        AuthError::Malformed(_) => "invalid token format".to_owned(),
        AuthError::Version(_) => "invalid token version, must be 1".to_owned(),
        AuthError::OutsideWindow { .. } => {
            "token timestamp is not within acceptable time limits".to_owned()
        }
        other => other.to_string(),
    };
    format!("verifySignedToken() -> {text}")
}

async fn token_identity<S: Store>(state: &AppState<S>, token: &str) -> Result<Identity, String> {
    let window =
        chrono::Duration::from_std(state.config.token_duration).unwrap_or(chrono::Duration::MAX);
    if token.split(';').count() != 4 {
        return Err(token_error_text(&AuthError::Malformed("field count")));
    }
    let now = Utc::now();
    if let Some(cached) = state.verified.token(token) {
        if (now - cached.time).abs() <= window {
            match active_signer(state, cached.investigator, &cached.fingerprint).await {
                Ok(identity) => return Ok(identity),
                // The row changed: forget the token and verify it from scratch.
                Err(_) => state.verified.forget_token(token),
            }
        } else {
            // Outside its window: the full check below gives the usual error.
            state.verified.forget_token(token);
        }
    }
    let mut force = false;
    let (fingerprint, investigators) = loop {
        let (keyring, investigators) = state
            .keyrings
            .get(&*state.store, force)
            .await
            .map_err(|error| error.to_string())?;
        match verify_token(token, &keyring, now, window) {
            Ok(fingerprint) => break (fingerprint, investigators),
            Err(AuthError::Signature(PgpError::UnknownKey(_))) if !force => force = true,
            Err(error) => return Err(token_error_text(&error)),
        }
    };
    let investigator = investigators
        .iter()
        .find(|investigator| {
            investigator
                .pgpfingerprint
                .eq_ignore_ascii_case(&fingerprint)
        })
        .ok_or_else(|| format!("no investigator has the key {fingerprint}"))?;
    // The keyring may be minutes old: the signer's current row decides.
    let identity = active_signer(state, investigator.id, &fingerprint).await?;
    // verify_token accepted the token, so its time parses.
    if let Ok(time) = Token::parse(token).and_then(|parsed| parse_token_time(parsed.timestamp)) {
        state.verified.remember_token(
            token,
            VerifiedToken {
                time,
                fingerprint,
                investigator: investigator.id,
            },
            now,
            window,
        );
    }
    Ok(identity)
}

/// The identity of investigator `id` if its current row is active with the key `fingerprint`.
async fn active_signer<S: Store>(
    state: &AppState<S>,
    id: Id,
    fingerprint: &str,
) -> Result<Identity, String> {
    let current = state
        .store
        .get_investigator(id)
        .await
        .map_err(|error| error.to_string())?;
    match current {
        Some(current)
            if current.status == InvestigatorStatus::Active
                && current.pgpfingerprint.eq_ignore_ascii_case(fingerprint) =>
        {
            Ok(Identity {
                name: current.name,
                id: current.id.0,
                permissions: current.permissions,
            })
        }
        _ => Err(format!("investigator {} is not active", id.0)),
    }
}

async fn key_identity<S: Store>(state: &AppState<S>, key: &str) -> Result<Identity, ApiError> {
    let holders = state.store.api_key_holders().await?;
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    if let Some(cached) = state.verified.key(&digest) {
        // Still an active holder of the very same hash: the key still matches.
        let holder = holders.iter().find(|holder| {
            holder.investigator.id == cached.investigator
                && holder.salt == cached.salt
                && holder.hash == cached.hash
        });
        match holder {
            Some(holder) => return Ok(key_holder_identity(holder)),
            None => state.verified.forget_key(&digest),
        }
    }
    let key = key.to_owned();
    // PBKDF2 for every holder is CPU work: keep it off the reactor.
    let found = tokio::task::spawn_blocking(move || {
        holders
            .into_iter()
            .find(|holder| verify_key(&key, &holder.salt, &holder.hash))
    })
    .await
    .map_err(|error| ApiError::Internal(error.to_string()))?;
    match found {
        Some(holder) => {
            state.verified.remember_key(
                digest,
                VerifiedKey {
                    investigator: holder.investigator.id,
                    salt: holder.salt.clone(),
                    hash: holder.hash.clone(),
                },
            );
            Ok(key_holder_identity(&holder))
        }
        None => Err(ApiError::Unauthorized(String::new())),
    }
}

fn key_holder_identity(holder: &mig_store::store::ApiKeyHolder) -> Identity {
    Identity {
        name: holder.investigator.name.clone(),
        id: holder.investigator.id.0,
        permissions: holder.investigator.permissions,
    }
}
