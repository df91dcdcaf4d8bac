//! The routes (spec api.md §4), the clean-path redirect and the plain-text 404 (§2.2).

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use mig_protocol::investigator::Permission;

use crate::auth::{Guard, authenticate};
use crate::envelope::envelope;
use crate::{
    AppState, Store, action, agent, command, dashboard, heartbeat, investigator, loader, manifest,
    openapi, publickey, search,
};

/// Wraps an open route in the envelope layer.
fn open<S: Store>(
    state: &AppState<S>,
    route: MethodRouter<AppState<S>>,
) -> MethodRouter<AppState<S>> {
    route.layer(from_fn_with_state(state.clone(), envelope::<S>))
}

/// Wraps an investigator route in authentication (with `permission`) and the envelope layer.
fn guarded<S: Store>(
    state: &AppState<S>,
    permission: Permission,
    route: MethodRouter<AppState<S>>,
) -> MethodRouter<AppState<S>> {
    let guard = Guard {
        state: state.clone(),
        permission: Some(permission),
    };
    route
        .layer(from_fn_with_state(guard, authenticate::<S>))
        .layer(from_fn_with_state(state.clone(), envelope::<S>))
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No authentication; the answer is wrapped in the envelope layer.
    Open,
    /// No authentication and no envelope (`POST /heartbeat`, `GET /openapi.json`).
    Raw,
    /// An investigator holding this permission.
    Investigator(Permission),
    /// A loader authenticated by `X-LOADERKEY`.
    Loader,
}

/// One route as registered in the router (path relative to `server.baseroute`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// The router being built and the list of what was registered in it.
struct Table<S: Store> {
    state: AppState<S>,
    router: Router<AppState<S>>,
    routes: Vec<RouteInfo>,
}

impl<S: Store> Table<S> {
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        route: MethodRouter<AppState<S>>,
    ) -> Self {
        let route = match access {
            Access::Open => open(&self.state, route),
            Access::Raw => route,
            Access::Investigator(permission) => guarded(&self.state, permission, route),
            Access::Loader => route
                .layer(from_fn_with_state(
                    self.state.clone(),
                    loader::authenticate_loader::<S>,
                ))
                .layer(from_fn_with_state(self.state.clone(), envelope::<S>)),
        };
        let full = format!("{}{path}", self.state.config.server.baseroute);
        self.router = self.router.route(&full, route);
        self.routes.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }
}

/// Every route of the API, in the order of spec api.md §4.
fn table<S: Store>(state: AppState<S>) -> Table<S> {
    use Access::{Investigator as Inv, Loader, Open, Raw};
    Table {
        state: state.clone(),
        router: Router::new(),
        routes: Vec::new(),
    }
    .add("GET", "/heartbeat", Open, get(heartbeat::get_heartbeat))
    .add(
        "POST",
        "/heartbeat",
        Raw,
        post(heartbeat::post_heartbeat::<S>),
    )
    .add("GET", "/ip", Open, get(heartbeat::get_ip::<S>))
    .add(
        "GET",
        "/publickey/{fingerprint}",
        Open,
        get(publickey::get_public_key::<S>),
    )
    .add(
        "GET",
        "/search",
        Inv(Permission::Search),
        get(search::search::<S>),
    )
    .add(
        "GET",
        "/action",
        Inv(Permission::Action),
        get(action::get_action::<S>),
    )
    .add(
        "POST",
        "/action/create/",
        Inv(Permission::ActionCreate),
        post(action::create_action::<S>),
    )
    .add(
        "GET",
        "/command",
        Inv(Permission::Command),
        get(command::get_command::<S>),
    )
    .add(
        "GET",
        "/agent",
        Inv(Permission::Agent),
        get(agent::get_agent::<S>),
    )
    .add(
        "GET",
        "/dashboard",
        Inv(Permission::Dashboard),
        get(dashboard::get_dashboard::<S>),
    )
    .add(
        "GET",
        "/investigator",
        Inv(Permission::Investigator),
        get(investigator::get_investigator::<S>),
    )
    .add(
        "POST",
        "/investigator/create/",
        Inv(Permission::InvestigatorCreate),
        post(investigator::create_investigator::<S>),
    )
    .add(
        "POST",
        "/investigator/update/",
        Inv(Permission::InvestigatorUpdate),
        post(investigator::update_investigator::<S>),
    )
    .add(
        "POST",
        "/manifest/agent/",
        Loader,
        post(manifest::manifest_for_agent::<S>),
    )
    .add(
        "POST",
        "/manifest/fetch/",
        Loader,
        post(manifest::fetch_object::<S>),
    )
    .add(
        "GET",
        "/loader",
        Inv(Permission::Loader),
        get(loader::get_loader::<S>),
    )
    .add(
        "POST",
        "/loader/status/",
        Inv(Permission::LoaderStatus),
        post(loader::set_status::<S>),
    )
    .add(
        "POST",
        "/loader/expect/",
        Inv(Permission::LoaderExpect),
        post(loader::set_expect::<S>),
    )
    .add(
        "POST",
        "/loader/key/",
        Inv(Permission::LoaderKey),
        post(loader::new_key_for::<S>),
    )
    .add(
        "POST",
        "/loader/new/",
        Inv(Permission::LoaderNew),
        post(loader::new_loader::<S>),
    )
    .add(
        "GET",
        "/manifest",
        Inv(Permission::Manifest),
        get(manifest::get_manifest::<S>),
    )
    .add(
        "POST",
        "/manifest/sign/",
        Inv(Permission::ManifestSign),
        post(manifest::sign_manifest::<S>),
    )
    .add(
        "POST",
        "/manifest/status/",
        Inv(Permission::ManifestStatus),
        post(manifest::set_manifest_status::<S>),
    )
    .add(
        "POST",
        "/manifest/new/",
        Inv(Permission::ManifestNew),
        post(manifest::new_manifest::<S>).layer(axum::extract::DefaultBodyLimit::max(
            manifest::NEW_MANIFEST_BODY_LIMIT,
        )),
    )
    .add(
        "GET",
        "/manifest/loaders/",
        Inv(Permission::ManifestLoaders),
        get(manifest::manifest_loaders::<S>),
    )
    .add("GET", "/openapi.json", Raw, get(openapi::get_openapi::<S>))
}

/// The routes the router serves (what `openapi.json` documents).
pub fn routes<S: Store>(state: AppState<S>) -> Vec<RouteInfo> {
    table(state).routes
}

/// The API's routes under `server.baseroute`.
pub fn router<S: Store>(state: AppState<S>) -> Router {
    let Table { router, routes, .. } = table(state.clone());
    let state = AppState {
        routes: std::sync::Arc::new(routes),
        ..state
    };
    let routes = router;
    routes
        .fallback(fallback)
        .method_not_allowed_fallback(not_found)
        .with_state(state)
}

/// Unmatched requests: 301 to the clean path when the path is not clean, else 404.
async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    let cleaned = clean_path(path);
    if cleaned != path {
        let location = match request.uri().query() {
            Some(query) => format!("{cleaned}?{query}"),
            None => cleaned,
        };
        let body = if request.method() == Method::GET {
            format!(
                "<a href=\"{}\">Moved Permanently</a>.\n\n",
                html_escape(&location)
            )
        } else {
            String::new()
        };
        let mut response = (StatusCode::MOVED_PERMANENTLY, body).into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        if request.method() == Method::GET {
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
        } else {
            response.headers_mut().remove(header::CONTENT_TYPE);
        }
        return response;
    }
    not_found().await
}

/// Go's default 404: `404 page not found\n` as plain text (also for a wrong method).
async fn not_found() -> Response {
    let mut response = Response::new(Body::from("404 page not found\n"));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Go's `cleanPath`: `path.Clean`, keeping a trailing slash.
pub(crate) fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let mut cleaned = format!("/{}", parts.join("/"));
    if path.ends_with('/') && cleaned != "/" {
        cleaned.push('/');
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn clean_paths() {
        assert_eq!(clean_path("/api/v1//ip"), "/api/v1/ip");
        assert_eq!(clean_path("/api/v1/./ip"), "/api/v1/ip");
        assert_eq!(clean_path("/api/v1/x/../ip"), "/api/v1/ip");
        assert_eq!(
            clean_path("/api/v1/action/create/"),
            "/api/v1/action/create/"
        );
        assert_eq!(clean_path("/"), "/");
    }
}
