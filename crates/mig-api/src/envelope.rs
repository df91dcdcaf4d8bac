//! The envelope layer: wraps every handler's answer in the Collection+JSON
//! document (spec api.md §2.1), sets `Content-Type: application/json` and
//! `Cache-Control: no-cache`, and writes the access log line.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use mig_protocol::collection::Envelope;
use mig_protocol::gen_id;

use crate::auth::Identity;
use crate::error::{ErrorBody, ReplyItems};
use crate::loader::LoaderIdentity;
use crate::{AppState, Store, client_ip};

/// Builds the envelope of a handler's answer (see the module documentation).
pub(crate) async fn envelope<S: Store>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let uri = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let href = format!("{}{}", state.config.server.host, uri);
    let method = request.method().clone();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let source = client_ip::client_public_ip(
        state.config.server.client_public_ip,
        peer,
        request.headers(),
    );
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut response = next.run(request).await;
    let body = if let Some(ReplyItems(items)) = response.extensions_mut().remove::<ReplyItems>() {
        let mut envelope = Envelope::new(href);
        envelope.collection.items = items;
        Some(envelope.to_json())
    } else if let Some(error) = response.extensions_mut().remove::<ErrorBody>() {
        let code = format!("{}", gen_id().0);
        let mut envelope = Envelope::error(href, code, error.message);
        envelope.collection.items = error.items;
        Some(envelope.to_json())
    } else {
        None
    };
    let identity = response.extensions().get::<Identity>().cloned();
    let loader = response.extensions().get::<LoaderIdentity>().cloned();
    if let Some(body) = body {
        let (parts, _) = response.into_parts();
        response = Response::from_parts(parts, Body::from(body));
    }
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let (category, auth) = match (&identity, &loader) {
        (Some(identity), _) => (
            "investigator",
            format!("[{} {}]", identity.name, identity.id),
        ),
        (None, Some(loader)) => ("loader", format!("[{} {}]", loader.name, loader.id.0)),
        (None, None) => ("public", "[ 0]".to_owned()),
    };
    tracing::info!(
        "src={source} category={category} auth={auth} {method} {uri} resp_code={} user-agent={user_agent}",
        response.status().as_u16()
    );
    response
}
