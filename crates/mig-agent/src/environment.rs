//! Environment discovery (spec protocol.md §8.4): hostname, OS ident, init
//! system, interface addresses, public IP, and the module list.
//!
//! Differences from the original: the ident comes from `/etc/os-release`
//! (`<first word of NAME> <VERSION_ID> <VERSION_CODENAME>`, e.g.
//! `Debian 12 bookworm`, as `lsb_release` printed it) and its absence is not
//! fatal; systemd is detected by `/run/systemd/system` as `sd_booted()` does
//! (the original reported `upstart` on Debian 12); AWS metadata is not
//! queried by this build.

use std::path::Path;
use std::time::Duration;

use mig_protocol::AgentEnv;

use crate::http::{Request, Url, send};
use crate::identity::{arch_name, os_name};

/// The host's name: the kernel hostname when it holds a `.`, else the FQDN
/// from `hostname --fqdn` when its first label is the kernel hostname.
pub fn hostname() -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default();
    if kernel.contains('.') {
        return kernel;
    }
    let fqdn = std::process::Command::new("hostname")
        .arg("--fqdn")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    if !fqdn.is_empty() && (kernel.is_empty() || fqdn.split('.').next() == Some(kernel.as_str())) {
        return fqdn;
    }
    if kernel.is_empty() {
        "localhost".to_owned()
    } else {
        kernel
    }
}

/// The OS ident from os-release text.
pub fn ident_from_os_release(text: &str) -> Option<String> {
    let value = |key: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(name, _)| name.trim() == key)
            .map(|(_, value)| value.trim().trim_matches('"').trim_matches('\'').to_owned())
            .filter(|value| !value.is_empty())
    };
    let name = value("NAME")?;
    let mut ident = name.split_whitespace().next()?.to_owned();
    for key in ["VERSION_ID", "VERSION_CODENAME"] {
        if let Some(part) = value(key) {
            ident.push(' ');
            ident.push_str(&part);
        }
    }
    Some(ident)
}

/// The OS ident: os-release, else the first line of `/etc/issue`.
pub fn ident() -> String {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(ident) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| ident_from_os_release(&text))
        {
            return ident;
        }
    }
    std::fs::read_to_string("/etc/issue")
        .ok()
        .and_then(|text| text.lines().next().map(|line| line.trim().to_owned()))
        .filter(|line| line.len() > 3)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The init system of the host.
pub fn init_system() -> String {
    if !cfg!(target_os = "linux") {
        return match os_name() {
            "darwin" => "launchd",
            "windows" => "windows",
            _ => "sysvinit",
        }
        .to_owned();
    }
    init_from(
        Path::new("/run/systemd/system").is_dir(),
        &std::fs::read("/proc/1/cmdline").unwrap_or_default(),
    )
}

/// The init system from the systemd marker and PID 1's command line.
pub fn init_from(systemd_booted: bool, cmdline: &[u8]) -> String {
    if systemd_booted {
        return "systemd".to_owned();
    }
    let cmdline = String::from_utf8_lossy(cmdline).replace('\0', " ");
    let cmdline = cmdline.trim();
    let init = if cmdline.contains("init [") {
        "sysvinit"
    } else if cmdline.contains("systemd") {
        "systemd"
    } else if cmdline.contains("init") {
        let program = cmdline.split(' ').next().unwrap_or("/sbin/init");
        let resolved = std::fs::canonicalize(program)
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        if resolved.contains("systemd") {
            "systemd"
        } else if resolved.contains("upstart") || Path::new("/sbin/initctl").exists() {
            "upstart"
        } else {
            "sysvinit"
        }
    } else {
        "sysvinit"
    };
    init.to_owned()
}

/// Interface addresses as CIDR strings, except `127.0.0.1/8` and `::1/128`.
pub fn addresses() -> Vec<String> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    interfaces
        .iter()
        .map(|interface| match &interface.addr {
            if_addrs::IfAddr::V4(v4) => {
                format!("{}/{}", v4.ip, u32::from(v4.netmask).count_ones())
            }
            if_addrs::IfAddr::V6(v6) => {
                format!("{}/{}", v6.ip, u128::from(v6.netmask).count_ones())
            }
        })
        .filter(|cidr| cidr != "127.0.0.1/8" && cidr != "::1/128")
        .collect()
}

/// The public IP as the API sees it (`GET <api>/ip`), through each proxy in
/// turn then directly; `None` when nothing answered with an IP.
pub async fn public_ip(api: &str, proxies: &[String]) -> Option<String> {
    let url = Url::join(api, "ip");
    let attempts = proxies
        .iter()
        .map(|proxy| Some(proxy.as_str()))
        .chain([None]);
    for proxy in attempts {
        let request = Request {
            method: "GET",
            url: &url,
            proxy,
            ..Request::default()
        };
        match send(request, Duration::from_secs(5)).await {
            Ok(response) if response.status == 200 => {
                let text = String::from_utf8_lossy(&response.body).trim().to_owned();
                if text.parse::<std::net::IpAddr>().is_ok() {
                    return Some(text);
                }
                tracing::debug!(%url, body = %text, "public ip answer is not an address");
            }
            Ok(response) => {
                tracing::debug!(%url, status = response.status, "public ip request refused")
            }
            Err(error) => tracing::debug!(%error, "public ip request failed"),
        }
    }
    None
}

/// Discovers the environment (everything but the proxy state).
pub async fn discover(api: &str, proxies: &[String], discover_public_ip: bool) -> AgentEnv {
    let public_ip = if discover_public_ip {
        public_ip(api, proxies).await.unwrap_or_default()
    } else {
        String::new()
    };
    let (init, ident, addresses) =
        tokio::task::spawn_blocking(|| (init_system(), ident(), addresses()))
            .await
            .unwrap_or_default();
    AgentEnv {
        init,
        ident,
        os: os_name().to_owned(),
        arch: arch_name().to_owned(),
        addresses,
        publicip: public_ip,
        modules: crate::runner::module_names(),
        ..AgentEnv::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn os_release_idents() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";
        assert_eq!(ident_from_os_release(debian).unwrap(), "Debian 12 bookworm");
        let centos = "NAME=\"CentOS Linux\"\nVERSION_ID=\"7\"\n";
        assert_eq!(ident_from_os_release(centos).unwrap(), "CentOS 7");
        assert_eq!(ident_from_os_release("ID=x\n"), None);
    }

    #[test]
    fn systemd_is_detected() {
        // Regression: the original reported upstart on Debian 12 (PID 1 = /sbin/init).
        assert_eq!(init_from(true, b"/sbin/init\0splash\0"), "systemd");
        assert_eq!(init_from(false, b"/lib/systemd/systemd\0"), "systemd");
        assert_eq!(init_from(false, b"init [2]\0"), "sysvinit");
        assert_eq!(init_from(false, b"bash\0"), "sysvinit");
    }

    #[test]
    fn loopback_is_not_listed() {
        let addresses = addresses();
        assert!(!addresses.contains(&"127.0.0.1/8".to_owned()));
        assert!(addresses.iter().all(|address| address.contains('/')));
    }
}
