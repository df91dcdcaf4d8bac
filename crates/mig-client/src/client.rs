//! The typed REST client (spec clients.md §1.3–§1.5).
//!
//! Blocking (`ureq` on rustls/ring): `mig` makes a handful of requests one
//! after the other, and a blocking client starts in well under a millisecond.
//! Every request carries a fresh `X-PGPAUTHORIZATION` token (or the
//! `X-MIGAPIKEY`); a 401 in token mode is retried once with a new token.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use mig_protocol::collection::Envelope;
use mig_protocol::pgp::{PgpError, Signer};
use mig_protocol::{Action, Agent, Command, Investigator, gen_id, gojson};

use crate::migrc::Migrc;

/// How requests are authenticated.
#[derive(Clone)]
pub enum Auth {
    /// `X-MIGAPIKEY: <key>`.
    ApiKey(String),
    /// A fresh signed token per request.
    Token(Arc<dyn Signer + Send + Sync>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::ApiKey(_) => f.write_str("Auth::ApiKey(..)"),
            Auth::Token(signer) => write!(f, "Auth::Token({})", signer.fingerprint()),
        }
    }
}

/// Everything that can fail in a client call. Messages follow the original's
/// chains (`EvaluateAgentTarget() -> GetAPIResource() -> error: HTTP 500 …`).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request never got an answer (connection refused, TLS, timeout…).
    #[error("{method} {url}: {message}")]
    Transport {
        method: &'static str,
        url: String,
        message: String,
    },
    /// A non-success answer with a Collection+JSON error; the parsed
    /// resource is kept (callers look for `no results found`).
    #[error("error: HTTP {code}. API call failed with error '{message}' (code {api_code})")]
    Api {
        code: u16,
        message: String,
        api_code: String,
        resource: Box<Envelope>,
    },
    /// A non-success answer without a usable body.
    #[error("error: HTTP {code} {status_text}. No response body")]
    NoBody { code: u16, status_text: String },
    /// A 2xx answer whose body is not what was expected.
    #[error("{0}")]
    Unexpected(String),
    /// Signing a token or an action failed.
    #[error("failed to sign: {0}")]
    Sign(#[from] PgpError),
    /// `context -> inner`, as the original's error chains.
    #[error("{context} -> {source}")]
    Context {
        context: &'static str,
        source: Box<ClientError>,
    },
}

impl ClientError {
    fn context(self, context: &'static str) -> Self {
        ClientError::Context {
            context,
            source: Box::new(self),
        }
    }

    /// The innermost error.
    pub fn root(&self) -> &ClientError {
        match self {
            ClientError::Context { source, .. } => source.root(),
            other => other,
        }
    }

    /// Whether the API answered 404 `no results found` (the end of a paging loop).
    pub fn is_no_results(&self) -> bool {
        matches!(self.root(), ClientError::Api { code: 404, .. })
    }

    /// The HTTP status of an API answer, if the error is one.
    pub fn status(&self) -> Option<u16> {
        match self.root() {
            ClientError::Api { code, .. } | ClientError::NoBody { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Result of a client call.
pub type ClientResult<T> = Result<T, ClientError>;

/// The REST client.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    auth: Auth,
    user_agent: String,
    debug: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .finish()
    }
}

/// A raw answer: status and body.
pub(crate) struct Answer {
    pub(crate) code: u16,
    pub(crate) body: Vec<u8>,
}

/// What a POST sends.
#[derive(Clone, Copy)]
pub(crate) enum Body<'a> {
    /// `application/x-www-form-urlencoded`.
    Form(&'a [(&'a str, &'a str)]),
    /// Any other content type (multipart forms).
    Raw {
        content_type: &'a str,
        bytes: &'a [u8],
    },
}

const MAX_BODY: u64 = 512 * 1024 * 1024;

impl Client {
    /// A client for `api_url` (a trailing `/` is added when missing).
    /// `tool` names the program in the User-Agent (`MIG Client <tool>`).
    pub fn new(api_url: &str, auth: Auth, skip_verify_cert: bool, tool: &str) -> Self {
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(skip_verify_cert)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .timeout_connect(Some(Duration::from_secs(30)))
            .build();
        let mut base = api_url.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Self {
            agent: config.into(),
            base,
            auth,
            user_agent: format!("MIG Client {tool}"),
            debug: false,
        }
    }

    /// A client from a loaded `.migrc` and the signer to use in token mode
    /// (ignored when the file sets `useapikeyauth`).
    pub fn from_migrc(migrc: &Migrc, signer: Arc<dyn Signer + Send + Sync>, tool: &str) -> Self {
        let auth = if migrc.api_key.is_empty() {
            Auth::Token(signer)
        } else {
            Auth::ApiKey(migrc.api_key.clone())
        };
        Self::new(&migrc.api_url, auth, migrc.skip_verify_cert, tool)
    }

    /// Print requests and answers on stdout (`-v`, clients.md §1.3).
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// The API base URL, ending with `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The authentication in use.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// A fresh token `1;<time>;<nonce>;<signature>` (clients.md §1.4).
    pub fn make_token(&self) -> ClientResult<String> {
        match &self.auth {
            Auth::Token(signer) => Ok(mig_protocol::auth::make_token(
                signer.as_ref(),
                chrono::Utc::now(),
                &gen_id().0.to_string(),
            )?),
            Auth::ApiKey(_) => Err(ClientError::Unexpected(
                "no signing key configured (API key authentication)".to_owned(),
            )),
        }
    }

    pub(crate) fn send(
        &self,
        method: &'static str,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> ClientResult<Answer> {
        let url = format!("{}{}", self.base, path);
        self.send_url(method, &url, form.map(Body::Form))
    }

    /// Sends to a full URL, retrying once on 401 in token mode.
    pub(crate) fn send_url(
        &self,
        method: &'static str,
        url: &str,
        body: Option<Body<'_>>,
    ) -> ClientResult<Answer> {
        let mut answer = self.send_once(method, url, body)?;
        if answer.code == 401 && matches!(self.auth, Auth::Token(_)) {
            answer = self.send_once(method, url, body)?;
        }
        Ok(answer)
    }

    fn send_once(
        &self,
        method: &'static str,
        url: &str,
        form: Option<Body<'_>>,
    ) -> ClientResult<Answer> {
        let (name, value) = match &self.auth {
            Auth::ApiKey(key) => ("X-MIGAPIKEY", key.clone()),
            Auth::Token(_) => ("X-PGPAUTHORIZATION", self.make_token()?),
        };
        if self.debug {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "debug: {method} {url} HTTP/1.1");
            if name == "X-PGPAUTHORIZATION" {
                let _ = writeln!(out, "debug: User-Agent: {}", self.user_agent);
                let _ = writeln!(out, "debug: X-PGPAUTHORIZATION: {value}");
            }
        }
        let transport = |err: ureq::Error| ClientError::Transport {
            method,
            url: url.to_owned(),
            message: err.to_string(),
        };
        let response = match form {
            None => self
                .agent
                .get(url)
                .header("User-Agent", &self.user_agent)
                .header(name, &value)
                .call(),
            Some(Body::Form(fields)) => self
                .agent
                .post(url)
                .header("User-Agent", &self.user_agent)
                .header(name, &value)
                .send_form(fields.iter().copied()),
            Some(Body::Raw {
                content_type,
                bytes,
            }) => self
                .agent
                .post(url)
                .header("User-Agent", &self.user_agent)
                .header(name, &value)
                .header("Content-Type", content_type)
                .send(bytes),
        }
        .map_err(transport)?;
        let code = response.status().as_u16();
        let body = response
            .into_body()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(transport)?;
        if self.debug {
            let mut out = std::io::stdout().lock();
            if body.len() <= 1 {
                let _ = writeln!(out, "debug: RESPONSE BODY: EMPTY");
            } else {
                let _ = writeln!(
                    out,
                    "debug: RESPONSE BODY:\ndebug: {}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
        Ok(Answer { code, body })
    }

    /// `GetAPIResource(path)`: GET `<api>/<path>`, parsed as Collection+JSON.
    /// A non-200 answer is an error that keeps the parsed resource.
    pub fn get_resource(&self, path: &str) -> ClientResult<Envelope> {
        let answer = self.send("GET", path, None)?;
        envelope_of(answer, 200)
    }

    pub(crate) fn get_typed<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        name: &str,
        what: &str,
        context: &'static str,
    ) -> ClientResult<T> {
        let resource = self
            .get_resource(path)
            .map_err(|err| err.context("GetAPIResource()").context(context))?;
        let datum = resource
            .collection
            .items
            .first()
            .and_then(|item| item.data.first())
            .filter(|data| data.name == name)
            .ok_or_else(|| {
                ClientError::Unexpected(format!(
                    "API returned something that is not {what}... something's wrong."
                ))
                .context(context)
            })?;
        let raw = datum.value.as_ref().map_or("null", |raw| raw.get());
        gojson::from_str(raw).map_err(|err| {
            ClientError::Unexpected(format!("cannot decode the {name}: {err}")).context(context)
        })
    }

    /// `GET action?actionid=<id>`.
    pub fn get_action(&self, id: u64) -> ClientResult<Action> {
        self.get_typed(
            &format!("action?actionid={id}"),
            "action",
            "an action",
            "GetAction()",
        )
    }

    /// `GET command?commandid=<id>`.
    pub fn get_command(&self, id: u64) -> ClientResult<Command> {
        self.get_typed(
            &format!("command?commandid={id}"),
            "command",
            "a command",
            "GetCommand()",
        )
    }

    /// `GET agent?agentid=<id>`.
    pub fn get_agent(&self, id: u64) -> ClientResult<Agent> {
        self.get_typed(
            &format!("agent?agentid={id}"),
            "agent",
            "an agent",
            "GetAgent()",
        )
    }

    /// `GET investigator?investigatorid=<id>`.
    pub fn get_investigator(&self, id: u64) -> ClientResult<Investigator> {
        self.get_typed(
            &format!("investigator?investigatorid={id}"),
            "investigator",
            "an investigator",
            "GetInvestigator()",
        )
    }

    /// `GET search?<query>`: every datum named `name` of the answer. An empty
    /// result (404 `no results found`) is an empty list.
    pub fn search<T: serde::de::DeserializeOwned>(
        &self,
        query: &str,
        name: &str,
    ) -> ClientResult<Vec<T>> {
        let resource = match self.get_resource(&format!("search?{query}")) {
            Ok(resource) => resource,
            Err(err) if err.is_no_results() => return Ok(Vec::new()),
            Err(err) => return Err(err.context("GetAPIResource()")),
        };
        values_named(&resource, name)
    }

    /// `EvaluateAgentTarget`: the agents a target selects.
    pub fn evaluate_agent_target(&self, target: &str) -> ClientResult<Vec<Agent>> {
        let query = format!("type=agent&limit=1000000&target={}", query_escape(target));
        let resource = match self.get_resource(&format!("search?{query}")) {
            Ok(resource) => resource,
            Err(err) if err.is_no_results() => return Ok(Vec::new()),
            Err(err) => {
                return Err(err
                    .context("GetAPIResource()")
                    .context("EvaluateAgentTarget()"));
            }
        };
        values_named(&resource, "agent").map_err(|err| err.context("EvaluateAgentTarget()"))
    }

    /// One page of an action's commands (`limit=37`), optionally filtered by
    /// `foundanything` or `status`. An empty page is an empty list.
    pub fn action_commands_page(
        &self,
        action_id: u64,
        offset: usize,
        filter: CommandFilter<'_>,
    ) -> ClientResult<Vec<Command>> {
        let mut query = format!("type=command&limit={PAGE}&offset={offset}&actionid={action_id}");
        match filter {
            CommandFilter::All => {}
            CommandFilter::Found(found) => {
                let _ = write!(query, "&foundanything={found}");
            }
            CommandFilter::Status(status) => {
                let _ = write!(query, "&status={}", query_escape(status));
            }
        }
        self.search(&query, "command")
    }

    /// Every command of an action matching `filter`, page by page.
    pub fn action_commands(
        &self,
        action_id: u64,
        filter: CommandFilter<'_>,
    ) -> ClientResult<Vec<Command>> {
        let mut all = Vec::new();
        loop {
            let page = self.action_commands_page(action_id, all.len(), filter)?;
            if page.is_empty() {
                return Ok(all);
            }
            let full = page.len() == PAGE;
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }

    /// `PostAction`: POST `action/create/` with the action (syntax version
    /// forced to 2); the API's stored copy on 202.
    pub fn post_action(&self, action: &Action) -> ClientResult<Action> {
        let mut action = action.clone();
        action.syntaxversion = mig_protocol::action::ACTION_VERSION;
        let json = action.to_json();
        let answer = self
            .send("POST", "action/create/", Some(&[("action", json.as_str())]))
            .map_err(|err| err.context("PostAction()"))?;
        let code = answer.code;
        let resource = envelope_of(answer, 202).map_err(|err| match err {
            ClientError::Api { message, .. } => ClientError::Unexpected(format!(
                "error: HTTP {code}. action creation failed with error '{message}'"
            ))
            .context("PostAction()"),
            _ => ClientError::Unexpected(format!("error: HTTP {code}. action creation failed"))
                .context("PostAction()"),
        })?;
        resource
            .first_datum()
            .ok_or_else(|| {
                ClientError::Unexpected("the API returned no action".to_owned())
                    .context("PostAction()")
            })?
            .map_err(|err| {
                ClientError::Unexpected(format!("cannot decode the created action: {err}"))
                    .context("PostAction()")
            })
    }

    /// Signs `action` in place (compression first, then the signature is
    /// appended to `pgpsignatures`, clients.md §1.4).
    pub fn sign_action(&self, action: &mut Action) -> ClientResult<()> {
        match &self.auth {
            Auth::Token(signer) => sign_action(action, signer.as_ref()),
            Auth::ApiKey(_) => Err(ClientError::Unexpected(
                "cannot sign an action without a signing key (API key authentication)".to_owned(),
            )),
        }
    }
}

/// Compresses the operations that want it, then signs `action` with `signer`.
pub fn sign_action(action: &mut Action, signer: &dyn Signer) -> ClientResult<()> {
    if let Some(operations) = action.operations.as_mut() {
        for operation in operations.iter_mut() {
            if operation.want_compressed && !operation.is_compressed {
                operation.compress();
            }
        }
    }
    let signature = signer.sign(action.signing_string().as_bytes())?;
    action
        .pgpsignatures
        .get_or_insert_with(Vec::new)
        .push(signature);
    Ok(())
}

/// The page size of result searches (the original's).
pub const PAGE: usize = 37;

/// Which commands of an action to list.
#[derive(Debug, Clone, Copy)]
pub enum CommandFilter<'a> {
    All,
    /// `foundanything=true|false`.
    Found(bool),
    /// `status=<s>`.
    Status(&'a str),
}

pub(crate) fn envelope_of(answer: Answer, success: u16) -> ClientResult<Envelope> {
    let parsed = if answer.code < 500 && answer.body.len() > 1 {
        Some(Envelope::from_json(&answer.body).map_err(|err| {
            ClientError::Unexpected(format!(
                "cannot parse the API answer (HTTP {}): {err}",
                answer.code
            ))
        }))
    } else {
        None
    };
    if answer.code == success {
        return match parsed {
            Some(resource) => resource,
            None => Err(ClientError::Unexpected(format!(
                "HTTP {}: empty answer",
                answer.code
            ))),
        };
    }
    match parsed {
        Some(Ok(resource)) => Err(ClientError::Api {
            code: answer.code,
            message: resource.collection.error.message.clone(),
            api_code: resource.collection.error.code.clone(),
            resource: Box::new(resource),
        }),
        _ => Err(ClientError::NoBody {
            code: answer.code,
            status_text: status_text(answer.code).to_owned(),
        }),
    }
}

pub(crate) fn values_named<T: serde::de::DeserializeOwned>(
    resource: &Envelope,
    name: &str,
) -> ClientResult<Vec<T>> {
    let mut out = Vec::new();
    for data in resource
        .collection
        .items
        .iter()
        .flat_map(|item| item.data.iter())
        .filter(|data| data.name == name)
    {
        let raw = data.value.as_ref().map_or("null", |raw| raw.get());
        out.push(
            gojson::from_str(raw)
                .map_err(|err| ClientError::Unexpected(format!("cannot decode a {name}: {err}")))?,
        );
    }
    Ok(out)
}

/// Go's `url.QueryEscape`.
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// Go's `http.StatusText` for the codes the API uses.
fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_is_gos() {
        assert_eq!(
            query_escape("status='online' AND name like '%x%'"),
            "status%3D%27online%27+AND+name+like+%27%25x%25%27"
        );
    }
}
