//! The client's public IP (spec api.md §1.3), for `GET /ip` and the access log.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::http::HeaderMap;

use crate::config::ClientPublicIp;

/// The client's public IP by the configured rule; `0.0.0.0` when it cannot be told.
pub fn client_public_ip(
    rule: ClientPublicIp,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> IpAddr {
    let unknown = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    match rule {
        // IPv6 peers are unbracketed here (the original's `[::1]` failed to parse).
        ClientPublicIp::Peer => peer.map_or(unknown, |peer| peer.ip()),
        ClientPublicIp::XForwardedFor(hops) => {
            let Some(value) = headers
                .get("x-forwarded-for")
                .and_then(|value| value.to_str().ok())
            else {
                return unknown;
            };
            let elements: Vec<&str> = value.split(',').map(str::trim).collect();
            let chosen = if hops >= elements.len() {
                elements.first().copied()
            } else {
                elements.get(elements.len() - 1 - hops).copied()
            };
            chosen
                .map(|text| text.trim_start_matches('[').trim_end_matches(']'))
                .and_then(|text| text.parse().ok())
                .unwrap_or(unknown)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn forwarded(value: Option<&str>, hops: usize) -> String {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert("x-forwarded-for", value.parse().unwrap());
        }
        client_public_ip(ClientPublicIp::XForwardedFor(hops), None, &headers).to_string()
    }

    #[test]
    fn peer_and_forwarded_rules() {
        let v6: SocketAddr = "[::1]:4000".parse().unwrap();
        assert_eq!(
            client_public_ip(ClientPublicIp::Peer, Some(v6), &HeaderMap::new()).to_string(),
            "::1"
        );
        assert_eq!(forwarded(None, 0), "0.0.0.0");
        assert_eq!(forwarded(Some("1.1.1.1, 2.2.2.2, 3.3.3.3"), 0), "3.3.3.3");
        assert_eq!(forwarded(Some("1.1.1.1, 2.2.2.2, 3.3.3.3"), 1), "2.2.2.2");
        assert_eq!(forwarded(Some("1.1.1.1, 2.2.2.2"), 7), "1.1.1.1");
        assert_eq!(forwarded(Some("junk"), 0), "0.0.0.0");
        assert_eq!(forwarded(Some("fd00::1"), 0), "fd00::1");
    }
}
