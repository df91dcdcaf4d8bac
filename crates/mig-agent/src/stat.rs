//! The stat socket (spec protocol.md §8.13): plain HTTP on a loopback address
//! (default `127.0.0.1:61664`, not the original's 51664, a port the API often
//! takes). `/pid` answers the agent's PID; `/shutdown` stops the agent when the
//! `AGENTID` header carries its agent id; anything else is a status page.
//! [`query`] is the client side of `mig-agent -q pid|shutdown`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::http::{Request, read_request, send, write_response};

/// The last actions received, for the status page (§8.18).
#[derive(Debug, Default)]
pub struct ActionHistory {
    max: usize,
    entries: VecDeque<String>,
}

impl ActionHistory {
    /// A history of at most `max` actions (0 keeps none).
    pub fn new(max: usize) -> Self {
        Self {
            max,
            entries: VecDeque::new(),
        }
    }

    /// Records an action: receipt time, name, modules, Accepted/Rejected.
    pub fn record(&mut self, name: &str, modules: &str, accepted: bool) {
        if self.max == 0 {
            return;
        }
        if self.entries.len() == self.max {
            self.entries.pop_front();
        }
        self.entries.push_back(format!(
            "{} {name} [{modules}] {}",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            if accepted { "Accepted" } else { "Rejected" }
        ));
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &String> {
        self.entries.iter()
    }
}

/// What the status page shows.
#[derive(Debug, Clone)]
pub struct StatusPage {
    pub agent_id: String,
    pub summary: String,
    pub history: Arc<Mutex<ActionHistory>>,
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Serves the stat socket on `listener` until `shutdown`; a valid `/shutdown`
/// request cancels `shutdown` itself.
pub async fn serve(listener: TcpListener, page: StatusPage, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((mut stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let page = page.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let Ok(Some(request)) =
                tokio::time::timeout(Duration::from_secs(5), read_request(&mut stream)).await
            else {
                return;
            };
            match request.path.as_str() {
                "/pid" => {
                    let pid = std::process::id().to_string();
                    write_response(&mut stream, 200, "text/plain", pid.as_bytes()).await;
                }
                "/shutdown" => match request.header("AGENTID") {
                    None => {
                        write_response(&mut stream, 401, "text/plain", b"must set AGENTID header")
                            .await;
                    }
                    Some(id) if id != page.agent_id => {
                        tracing::warn!("stat socket: shutdown refused, invalid agent id");
                        write_response(&mut stream, 401, "text/plain", b"invalid agent id").await;
                    }
                    Some(_) => {
                        tracing::info!("shutdown requested through the stat socket");
                        write_response(&mut stream, 200, "text/plain", b"").await;
                        shutdown.cancel();
                    }
                },
                _ => {
                    let mut html =
                        String::from("<html><head><title>mig-agent</title></head><body><pre>");
                    html.push_str(&escape_html(&page.summary));
                    html.push_str("\nLast actions:\n");
                    if let Ok(history) = page.history.lock() {
                        for entry in history.entries() {
                            let _ = writeln!(html, "{}", escape_html(entry));
                        }
                    }
                    html.push_str("</pre></body></html>\n");
                    write_response(&mut stream, 200, "text/html", html.as_bytes()).await;
                }
            }
        });
    }
}

/// Errors of `-q`.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("unknown query {0:?}: expected pid or shutdown")]
    Unknown(String),
    #[error("the stat socket is disabled (empty socket)")]
    Disabled,
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error("cannot read the agent id from {path}: {source}")]
    AgentId {
        path: String,
        source: std::io::Error,
    },
    #[error("the agent refused: {status} {body}")]
    Refused { status: u16, body: String },
}

/// Runs `-q <query>` against the agent's stat socket; returns what to print.
pub async fn query(socket: &str, query: &str, run_dir: &Path) -> Result<String, QueryError> {
    if socket.is_empty() {
        return Err(QueryError::Disabled);
    }
    let timeout = Duration::from_secs(5);
    let pid_url = format!("http://{socket}/pid");
    match query {
        "pid" => {
            let response = send(
                Request {
                    method: "GET",
                    url: &pid_url,
                    ..Request::default()
                },
                timeout,
            )
            .await?;
            Ok(String::from_utf8_lossy(&response.body).into_owned())
        }
        "shutdown" => {
            let id_file = run_dir.join(".migagtid");
            let id = std::fs::read_to_string(&id_file).map_err(|source| QueryError::AgentId {
                path: id_file.display().to_string(),
                source,
            })?;
            let url = format!("http://{socket}/shutdown");
            let response = send(
                Request {
                    method: "GET",
                    url: &url,
                    headers: vec![("AGENTID", id.trim().to_owned())],
                    ..Request::default()
                },
                timeout,
            )
            .await?;
            if response.status != 200 {
                return Err(QueryError::Refused {
                    status: response.status,
                    body: String::from_utf8_lossy(&response.body).into_owned(),
                });
            }
            // Wait for the agent to go away.
            for _ in 0..600 {
                let alive = send(
                    Request {
                        method: "GET",
                        url: &pid_url,
                        ..Request::default()
                    },
                    timeout,
                )
                .await
                .is_ok();
                if !alive {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(353)).await;
            }
            Ok("done".to_owned())
        }
        other => Err(QueryError::Unknown(other.to_owned())),
    }
}
