//! Linux procfs and sysfs readers of the netstat module.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// An IP network (a host value is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address.
    pub base: IpAddr,
    /// The prefix length.
    pub prefix: u8,
    /// Whether the value was a plain IP rather than a CIDR.
    pub is_host_value: bool,
}

impl Cidr {
    /// A single address.
    pub fn host(ip: IpAddr) -> Self {
        let prefix = if ip.is_ipv4() { 32 } else { 128 };
        Self {
            base: ip,
            prefix,
            is_host_value: true,
        }
    }

    /// Parses `ip/prefix` as Go's `net.ParseCIDR`.
    pub fn parse(text: &str) -> Option<Self> {
        let (ip, prefix) = text.split_once('/')?;
        let ip: IpAddr = ip.parse().ok()?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
            return None;
        }
        let prefix: u8 = prefix.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self {
            base: ip,
            prefix,
            is_host_value: false,
        })
    }

    /// Go's `IPNet.Contains`: IPv4 networks contain IPv4-mapped IPv6 addresses.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as IPv4, as Go's `To4`.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Go's `net.IP.String()` (IPv4-mapped addresses dotted).
pub fn go_ip(ip: IpAddr) -> String {
    unmap(ip).to_string()
}

/// One socket row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// Local address.
    pub local: IpAddr,
    /// Local port.
    pub local_port: u16,
    /// Remote address.
    pub remote: IpAddr,
    /// Remote port.
    pub remote_port: u16,
    /// The socket inode (the link target `socket:[inode]` in `/proc/<pid>/fd`).
    pub inode: u64,
}

fn hex_u32(text: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    if text.len() != 8 {
        return None;
    }
    for byte in text {
        value = (value << 4) | (*byte as char).to_digit(16)?;
    }
    Some(value)
}

/// Decodes `HEX:HEX` (IPv4 little-endian; IPv6 four byte-reversed words).
pub fn decode_address(text: &[u8]) -> Option<(IpAddr, u16)> {
    let colon = text.iter().position(|byte| *byte == b':')?;
    let (address, port) = (&text[..colon], &text[colon + 1..]);
    let port = u16::from_str_radix(std::str::from_utf8(port).ok()?, 16).ok()?;
    let ip = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(hex_u32(address)?.swap_bytes())),
        32 => {
            let mut octets = [0u8; 16];
            for (index, word) in address.chunks(8).enumerate() {
                let word = hex_u32(word)?.swap_bytes().to_be_bytes();
                octets[index * 4..index * 4 + 4].copy_from_slice(&word);
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// Parses `/proc/net/{tcp,udp,tcp6,udp6}` (header skipped; malformed rows skipped).
pub fn parse_sockets(text: &[u8]) -> Vec<Socket> {
    text.split(|byte| *byte == b'\n')
        .skip(1)
        .filter_map(|line| {
            let mut fields = line
                .split(|byte| *byte == b' ')
                .filter(|field| !field.is_empty());
            let _slot = fields.next()?;
            let (local, local_port) = decode_address(fields.next()?)?;
            let (remote, remote_port) = decode_address(fields.next()?)?;
            let inode = fields.nth(6)?;
            let inode = std::str::from_utf8(inode).ok()?.parse().ok()?;
            Some(Socket {
                local,
                local_port,
                remote,
                remote_port,
                inode,
            })
        })
        .collect()
}

/// One `/proc/net/arp` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpRow {
    /// Column 1.
    pub ip: String,
    /// Column 4.
    pub mac: String,
}

/// Parses `/proc/net/arp` (header skipped, rows with fewer than 4 fields skipped).
pub fn parse_arp(text: &str) -> Vec<ArpRow> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 4).then(|| ArpRow {
                ip: fields[0].to_owned(),
                mac: fields[3].to_owned(),
            })
        })
        .collect()
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Interface index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// MAC text, empty when absent or all zero (as Go's `net.Interfaces`).
    pub mac: String,
}

/// The interfaces of `<sys>/class/net`, by index.
pub fn interfaces(sys_root: &Path) -> Vec<Interface> {
    let Ok(entries) = std::fs::read_dir(sys_root.join("class/net")) else {
        return Vec::new();
    };
    let mut interfaces: Vec<Interface> = entries
        .flatten()
        .map(|entry| {
            let dir = entry.path();
            let read = |file: &str| {
                std::fs::read_to_string(dir.join(file))
                    .map(|text| text.trim().to_owned())
                    .unwrap_or_default()
            };
            let mac = read("address").to_lowercase();
            let mac = if mac.bytes().all(|b| b == b'0' || b == b':') {
                String::new()
            } else {
                mac
            };
            Interface {
                index: read("ifindex").parse().unwrap_or(u32::MAX),
                name: entry.file_name().to_string_lossy().into_owned(),
                mac,
            }
        })
        .collect();
    interfaces.sort_by(|a, b| (a.index, &a.name).cmp(&(b.index, &b.name)));
    interfaces
}

/// The host's addresses: IPv4 from `fib_trie` local host entries, then IPv6
/// from `if_inet6`.
pub fn local_addresses(proc_root: &Path) -> Vec<IpAddr> {
    let mut addresses: Vec<IpAddr> = Vec::new();
    if let Ok(trie) = std::fs::read_to_string(proc_root.join("net/fib_trie")) {
        let mut last: Option<Ipv4Addr> = None;
        for line in trie.lines() {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("|-- ") {
                last = rest.trim().parse().ok();
            } else if trimmed.starts_with("/32 host LOCAL")
                && let Some(ip) = last
                && !addresses.contains(&IpAddr::V4(ip))
            {
                addresses.push(IpAddr::V4(ip));
            }
        }
    }
    if let Ok(inet6) = std::fs::read_to_string(proc_root.join("net/if_inet6")) {
        for line in inet6.lines() {
            let Some(hex) = line.split_whitespace().next() else {
                continue;
            };
            if let Ok(value) = u128::from_str_radix(hex, 16)
                && hex.len() == 32
            {
                addresses.push(IpAddr::V6(Ipv6Addr::from(value)));
            }
        }
    }
    addresses
}

fn numeric_dirs(proc_root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut pids: Vec<(u32, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.parse::<u32>().ok().map(|pid| (pid, name))
        })
        .collect();
    pids.sort();
    pids.into_iter().map(|(_, name)| name).collect()
}

/// Socket inode → (pid, process name), from every readable `/proc/<pid>/fd`.
pub fn socket_owners(proc_root: &Path) -> HashMap<u64, (u32, String)> {
    let mut owners = HashMap::new();
    for pid in numeric_dirs(proc_root) {
        let dir = proc_root.join(&pid);
        let Ok(fds) = std::fs::read_dir(dir.join("fd")) else {
            continue;
        };
        let mut name: Option<String> = None;
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.as_os_str().as_encoded_bytes();
            let Some(inode) = target
                .strip_prefix(b"socket:[")
                .and_then(|rest| rest.strip_suffix(b"]"))
                .and_then(|digits| std::str::from_utf8(digits).ok())
                .and_then(|digits| digits.parse::<u64>().ok())
            else {
                continue;
            };
            let name = name
                .get_or_insert_with(|| {
                    std::fs::read_to_string(dir.join("comm"))
                        .map(|text| text.trim_end_matches('\n').to_owned())
                        .unwrap_or_default()
                })
                .clone();
            owners
                .entry(inode)
                .or_insert((pid.parse().unwrap_or(0), name));
        }
    }
    owners
}

/// Network namespaces: (link text of `/proc/<pid>/ns/net`, first pid whose
/// `net/tcp` is readable), in pid order of first appearance.
pub fn namespaces(proc_root: &Path) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for pid in numeric_dirs(proc_root) {
        let Ok(link) = std::fs::read_link(proc_root.join(&pid).join("ns/net")) else {
            continue;
        };
        let link = link.to_string_lossy().into_owned();
        if found.iter().any(|(name, _)| *name == link) {
            continue;
        }
        if std::fs::metadata(proc_root.join(&pid).join("net/tcp")).is_ok() {
            found.push((link, pid));
        }
    }
    found
}

/// Go's `open <path>: <reason>`.
pub fn open_error(path: &Path, err: &std::io::Error) -> String {
    let reason = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    };
    format!("open {}: {reason}", path.display())
}
