//! A small HTTP/1.1 client and server for the agent's three HTTP needs: the
//! API's `POST /heartbeat` and `GET /ip` (client, `http://` or `https://`
//! with the system's roots, optionally through an HTTP proxy for `http://`),
//! and the stat socket (server, plain HTTP on loopback).
//!
//! One request per connection (`Connection: close`); bodies by
//! `Content-Length`, chunked, or to end of stream. Redirects are followed
//! (up to 3) for `GET`. A whole request is bounded by a timeout: an
//! unreachable API never blocks or crashes the agent.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};

/// Largest response or request the agent reads.
const MAX_MESSAGE: usize = 1 << 20;

/// Errors of an HTTP exchange.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad url {0:?}")]
    Url(String),
    #[error("{url}: {source}")]
    Io { url: String, source: std::io::Error },
    #[error("{url}: no answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("{url}: malformed response: {reason}")]
    Malformed { url: String, reason: String },
    #[error("{url}: tls: {reason}")]
    Tls { url: String, reason: String },
}

/// A parsed `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parses an absolute `http(s)://host[:port][/path]` URL.
    pub fn parse(text: &str) -> Result<Self, HttpError> {
        let bad = || HttpError::Url(text.to_owned());
        let (tls, rest) = if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(bad());
        };
        let (authority, path) = match rest.find('/') {
            Some(index) => (&rest[..index], &rest[index..]),
            None => (rest, "/"),
        };
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, rest) = bracketed.split_once(']').ok_or_else(bad)?;
            let port = match rest.strip_prefix(':') {
                Some(port) => port.parse().map_err(|_| bad())?,
                None => default_port,
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), port.parse().map_err(|_| bad())?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            tls,
            host,
            port,
            path: path.to_owned(),
        })
    }

    /// The URL with `segment` appended to its path with exactly one `/`.
    pub fn join(base: &str, segment: &str) -> String {
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            segment.trim_start_matches('/')
        )
    }

    fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if self.tls { 443 } else { 80 };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    fn to_string_full(&self) -> String {
        format!(
            "{}://{}{}",
            if self.tls { "https" } else { "http" },
            self.authority(),
            self.path
        )
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A request to send.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: Vec<(&'a str, String)>,
    /// Body with its content type.
    pub body: Option<(&'a str, Vec<u8>)>,
    /// An HTTP proxy (`host:port`) for an `http://` URL.
    pub proxy: Option<&'a str>,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|builder| {
                    Arc::new(builder.with_root_certificates(roots).with_no_client_auth())
                })
                .map_err(|error| error.to_string())
        })
        .clone()
}

async fn connect(url: &Url, proxy: Option<&str>) -> Result<Box<dyn Stream>, HttpError> {
    let io = |source| HttpError::Io {
        url: url.to_string_full(),
        source,
    };
    let target = match proxy {
        Some(proxy) if !url.tls => proxy.to_owned(),
        _ => format!("{}:{}", url.host, url.port),
    };
    let tcp = TcpStream::connect(target).await.map_err(io)?;
    if !url.tls {
        return Ok(Box::new(tcp));
    }
    let config = tls_config().map_err(|reason| HttpError::Tls {
        url: url.to_string_full(),
        reason,
    })?;
    let name = rustls::pki_types::ServerName::try_from(url.host.clone()).map_err(|error| {
        HttpError::Tls {
            url: url.to_string_full(),
            reason: error.to_string(),
        }
    })?;
    let tls = futures_rustls::TlsConnector::from(config)
        .connect(name, tcp.compat())
        .await
        .map_err(io)?;
    Ok(Box::new(tls.compat()))
}

async fn exchange(url: &Url, request: &Request<'_>) -> Result<Response, HttpError> {
    let mut stream = connect(url, request.proxy).await?;
    let target = if request.proxy.is_some() && !url.tls {
        url.to_string_full()
    } else {
        url.path.clone()
    };
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mig-agent/{}\r\nConnection: close\r\n",
        request.method,
        url.authority(),
        env!("CARGO_PKG_VERSION"),
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = match &request.body {
        Some((content_type, body)) => {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            ));
            body.as_slice()
        }
        None => {
            if request.method != "GET" {
                head.push_str("Content-Length: 0\r\n");
            }
            &[]
        }
    };
    head.push_str("\r\n");
    let io = |source| HttpError::Io {
        url: url.to_string_full(),
        source,
    };
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    stream.write_all(body).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut raw = Vec::new();
    (&mut stream)
        .take(MAX_MESSAGE as u64)
        .read_to_end(&mut raw)
        .await
        .map_err(io)?;
    parse_response(&raw).map_err(|reason| HttpError::Malformed {
        url: url.to_string_full(),
        reason,
    })
}

/// Sends `request`, following redirects of a `GET`, within `timeout`.
pub async fn send(request: Request<'_>, timeout: Duration) -> Result<Response, HttpError> {
    let work = async {
        let mut url = Url::parse(request.url)?;
        for _ in 0..4 {
            let response = exchange(&url, &request).await?;
            let redirect =
                matches!(response.status, 301 | 302 | 303 | 307 | 308) && request.method == "GET";
            match (redirect, response.header("location")) {
                (true, Some(location)) => {
                    url = if location.starts_with('/') {
                        Url {
                            path: location.to_owned(),
                            ..url
                        }
                    } else {
                        Url::parse(location)?
                    };
                }
                _ => return Ok(response),
            }
        }
        Err(HttpError::Malformed {
            url: request.url.to_owned(),
            reason: "too many redirects".to_owned(),
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(HttpError::Timeout {
                url: request.url.to_owned(),
                timeout,
            })
        })
}

fn split_head(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = raw.windows(4).position(|window| window == b"\r\n\r\n")?;
    Some((&raw[..end], &raw[end + 4..]))
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    head.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|window| window == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size {
            return Err("truncated chunk".to_owned());
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or_default();
    }
}

/// Parses a whole response read to the end of the stream.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let (head, body) = split_head(raw).ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(head);
    let status_line = head.split("\r\n").next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status = parts
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers = parse_headers(&head);
    let find = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let body = if find("transfer-encoding").is_some_and(|value| value.contains("chunked")) {
        dechunk(body)?
    } else if let Some(length) = find("content-length").and_then(|value| value.parse().ok()) {
        body.get(..length).ok_or("truncated body")?.to_vec()
    } else {
        body.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// A request received by the stat socket.
#[derive(Debug, Clone)]
pub struct ServerRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl ServerRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Reads a request head (the stat socket ignores bodies).
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<ServerRequest> {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 1024];
    while split_head(&raw).is_none() {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 || raw.len() > 16 * 1024 {
            return None;
        }
        raw.extend_from_slice(&buffer[..read]);
    }
    let (head, _) = split_head(&raw)?;
    let head = String::from_utf8_lossy(head);
    let mut request_line = head.split("\r\n").next()?.split(' ');
    Some(ServerRequest {
        method: request_line.next()?.to_owned(),
        path: request_line.next()?.to_owned(),
        headers: parse_headers(&head),
    })
}

/// Writes a whole response and closes.
pub async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    content_type: &str,
    body: &[u8],
) {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Status",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls() {
        let url = Url::parse("http://localhost:1664/api/v1/").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("localhost", 1664, "/api/v1/")
        );
        let url = Url::parse("https://[::1]/x").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.tls), ("::1", 443, true));
        assert!(Url::parse("ftp://x/").is_err());
        assert_eq!(
            Url::join("http://h/api/v1/", "heartbeat"),
            "http://h/api/v1/heartbeat"
        );
    }

    #[test]
    fn responses() {
        let response =
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"abc"[..])
        );
        let response = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(response.body, b"abcde");
        assert!(parse_response(b"garbage").is_err());
    }
}
