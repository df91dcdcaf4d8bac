//! TCP dialing to the relay, through HTTP CONNECT proxies when configured.
//!
//! The agent tries each configured proxy in order, then the proxy of the
//! environment, then a direct connection (spec protocol.md §5.6). Through a
//! proxy it sends `CONNECT <host:port> HTTP/1.1` with a `Host` header, reads
//! the status line and requires its tenth character (the first digit of the
//! status code) to be `2`; AMQP (and TLS) then run over the tunnel.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A TCP stream to the relay and the proxy it goes through, if any.
#[derive(Debug)]
pub struct Dialed {
    /// The stream, at the relay's end ready for AMQP (or TLS).
    pub stream: TcpStream,
    /// The `host:port` of the proxy that carried the connection, so the agent
    /// can report `environment.isproxied` and `environment.proxy`.
    pub proxy: Option<String>,
}

/// Connects to `host:port` through each proxy of `proxies` in order, then
/// directly; every attempt is bounded by `timeout`. The error of the direct
/// attempt is returned when all fail (the proxy failures are logged).
pub async fn dial(
    host: &str,
    port: u16,
    proxies: &[String],
    timeout: Duration,
) -> io::Result<Dialed> {
    for proxy in proxies {
        match connect_via_proxy(proxy, host, port, timeout).await {
            Ok(stream) => {
                return Ok(Dialed {
                    stream,
                    proxy: Some(proxy.clone()),
                });
            }
            Err(error) => {
                tracing::warn!(%proxy, %error, "connection through proxy failed");
            }
        }
    }
    let stream = with_timeout(timeout, TcpStream::connect((host, port))).await?;
    stream.set_nodelay(true)?;
    Ok(Dialed {
        stream,
        proxy: None,
    })
}

/// Opens a tunnel to `host:port` through the HTTP proxy at `proxy`
/// (`host:port`, optionally prefixed with `http://`).
pub async fn connect_via_proxy(
    proxy: &str,
    host: &str,
    port: u16,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let proxy = proxy.strip_prefix("http://").unwrap_or(proxy);
    let proxy = proxy.trim_end_matches('/');
    with_timeout(timeout, async {
        let mut stream = TcpStream::connect(proxy).await?;
        stream.set_nodelay(true)?;
        let target = format!("{host}:{port}");
        let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let status = read_response_head(&mut stream).await?;
        // The original checks the 10th character of the status line:
        // "HTTP/1.1 200 Connection established".
        if status.as_bytes().get(9) != Some(&b'2') {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!(
                    "proxy {proxy} refused CONNECT {target}: {}",
                    status.trim_end()
                ),
            ));
        }
        Ok(stream)
    })
    .await
}

/// Reads the proxy's response up to the blank line ending its headers, one
/// byte at a time so nothing of the tunnelled stream is consumed, and returns
/// the status line.
async fn read_response_head(stream: &mut TcpStream) -> io::Result<String> {
    const LIMIT: usize = 16 * 1024;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "proxy closed the connection during CONNECT",
            ));
        }
        head.push(byte[0]);
        if head.len() > LIMIT {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "proxy response head too long",
            ));
        }
    }
    let head = String::from_utf8_lossy(&head);
    Ok(head.lines().next().unwrap_or_default().to_string())
}

async fn with_timeout<T>(
    timeout: Duration,
    future: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout(timeout, future).await.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no connection within {timeout:?}"),
        )
    })?
}

/// The proxy the environment designates for `http://<host>:<port>`, as Go's
/// `http.ProxyFromEnvironment` resolves it: `HTTP_PROXY` (or `http_proxy`),
/// unless the host is a loopback name or address or matches `NO_PROXY`
/// (or `no_proxy`). The agent appends it to its configured proxies.
pub fn environment_proxy(host: &str, port: u16) -> Option<String> {
    let variable = |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| std::env::var(name.to_lowercase()).ok())
    };
    proxy_for(
        host,
        port,
        variable("HTTP_PROXY").as_deref(),
        variable("NO_PROXY").as_deref(),
    )
}

/// [`environment_proxy`] with the variables given.
pub fn proxy_for(
    host: &str,
    port: u16,
    http_proxy: Option<&str>,
    no_proxy: Option<&str>,
) -> Option<String> {
    let proxy = http_proxy.filter(|value| !value.is_empty())?;
    if host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
    {
        return None;
    }
    for entry in no_proxy
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        if entry == "*" {
            return None;
        }
        let (entry_host, entry_port) = match entry.rsplit_once(':') {
            Some((entry_host, entry_port)) => match entry_port.parse::<u16>() {
                Ok(entry_port) => (entry_host, Some(entry_port)),
                Err(_) => (entry, None),
            },
            None => (entry, None),
        };
        if entry_port.is_some_and(|entry_port| entry_port != port) {
            continue;
        }
        let suffix = entry_host.trim_start_matches("*.").trim_start_matches('.');
        if host == suffix || host.ends_with(&format!(".{suffix}")) {
            return None;
        }
    }
    let proxy = proxy.strip_prefix("http://").unwrap_or(proxy);
    Some(proxy.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::proxy_for;

    #[test]
    fn environment_proxy_rules() {
        let proxy = Some("http://proxy.example.net:3128/");
        let direct = |host, no_proxy| proxy_for(host, 5671, proxy, no_proxy);
        assert_eq!(
            direct("relay.example.net", None),
            Some("proxy.example.net:3128".to_string())
        );
        assert_eq!(proxy_for("relay.example.net", 5671, None, None), None);
        assert_eq!(proxy_for("relay.example.net", 5671, Some(""), None), None);
        assert_eq!(direct("localhost", None), None);
        assert_eq!(direct("127.0.0.1", None), None);
        assert_eq!(direct("::1", None), None);
        assert_eq!(direct("relay.example.net", Some("example.net")), None);
        assert_eq!(direct("relay.example.net", Some(".example.net")), None);
        assert_eq!(direct("relay.example.net", Some("other.org, *")), None);
        assert_eq!(direct("relay.example.net", Some("example.net:5671")), None);
        assert!(direct("relay.example.net", Some("example.net:443")).is_some());
        assert!(direct("relay.example.net", Some("ample.net")).is_some());
    }
}
