//! `netstat`: local and neighbour MAC and IP addresses, connected peers and
//! listening ports (spec modules.md §4.1), from Linux procfs and sysfs.
//!
//! Sources, all under an injectable root: interfaces and their MACs from
//! `/sys/class/net`, local IPv4 addresses from `/proc/net/fib_trie` (the
//! `/32 host LOCAL` entries), IPv6 ones from `/proc/net/if_inet6`, neighbours
//! from `/proc/net/arp`, sockets from `/proc/net/{tcp,udp,tcp6,udp6}`.
//! Improvement over the original (mig#103): socket elements carry the owning
//! process (`pid`, `process`, both omitted when unknown) found through the
//! socket inodes of `/proc/<pid>/fd` where readable.

pub mod client;
pub mod procfs;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::duration::go_duration;
use crate::result::{Module, ModuleContext, TypedResult};

pub use procfs::{Cidr, Socket};

/// Parameters (lists omitted when empty, `namespaces` always present).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// MAC regexes of local interfaces (case-insensitive).
    #[serde(skip_serializing_if = "is_empty")]
    pub localmac: Option<Vec<String>>,
    /// Local IPs or CIDRs.
    #[serde(skip_serializing_if = "is_empty")]
    pub localip: Option<Vec<String>>,
    /// MAC regexes of ARP neighbours.
    #[serde(skip_serializing_if = "is_empty")]
    pub neighbormac: Option<Vec<String>>,
    /// IPs or CIDRs of ARP neighbours.
    #[serde(skip_serializing_if = "is_empty")]
    pub neighborip: Option<Vec<String>>,
    /// IPs or CIDRs of socket peers.
    #[serde(skip_serializing_if = "is_empty")]
    pub connectedip: Option<Vec<String>>,
    /// Local ports (decimal strings).
    #[serde(skip_serializing_if = "is_empty")]
    pub listeningport: Option<Vec<String>>,
    /// Look into every network namespace.
    pub namespaces: bool,
}

fn is_empty(values: &Option<Vec<String>>) -> bool {
    values.as_ref().is_none_or(Vec::is_empty)
}

/// One thing found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Element {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub localmacaddr: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remotemacaddr: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub localaddr: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub localport: f64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remoteaddr: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub remoteport: f64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The owning process id, when readable (mig#103).
    #[serde(skip_serializing_if = "is_zero")]
    pub pid: f64,
    /// The owning process name (`/proc/<pid>/comm`), when readable (mig#103).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub process: String,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// `elements`: kind → value → found elements (`null` when none).
pub type Elements = BTreeMap<String, BTreeMap<String, Option<Vec<Element>>>>;

/// `statistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    /// Rows and interfaces examined.
    pub examined: f64,
    /// Run time as a Go duration string.
    pub exectime: String,
    /// Never incremented, as in the original.
    pub totalhits: f64,
}

/// The module.
pub struct Netstat;

/// The netstat module's result type.
pub type NetstatResult = TypedResult<Elements, Statistics>;

/// Where the host is read from, replaceable in tests.
#[derive(Debug, Clone)]
pub struct Config {
    /// procfs (`/proc`).
    pub proc_root: PathBuf,
    /// sysfs (`/sys`).
    pub sys_root: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            proc_root: PathBuf::from("/proc"),
            sys_root: PathBuf::from("/sys"),
        }
    }
}

/// A validated IP or CIDR value.
fn parse_ip_value(value: &str) -> Result<Cidr, String> {
    let family = if value.contains(':') { "IPv6" } else { "IPv4" };
    if value.find('/').is_some_and(|index| index > 0) {
        Cidr::parse(value).ok_or_else(|| {
            format!(
                "invalid {family} CIDR {value}: invalid CIDR address: {value}. Must be an IP or a CIDR."
            )
        })
    } else {
        value
            .parse::<IpAddr>()
            .map(Cidr::host)
            .map_err(|_| format!("invalid {family} {value}. Must be an IP or a CIDR."))
    }
}

fn parse_port(value: &str) -> Result<u16, String> {
    let port: i64 = value
        .parse()
        .map_err(|_| format!("{value} is not a valid port"))?;
    u16::try_from(port).map_err(|_| "port out of range. must be between 1 and 65535".to_owned())
}

fn compile_mac(value: &str, insensitive: bool) -> Result<Regex, String> {
    let pattern = if insensitive {
        format!("(?i){value}")
    } else {
        value.to_owned()
    };
    Regex::new(&pattern).map_err(|_| {
        format!(
            "Invalid MAC regexp '{value}'. Compilation failed with '{}'. Must be a valid regular expression.",
            crate::file::checks::go_regex_error(&pattern)
        )
    })
}

/// Compiled parameters.
struct Plan {
    localmac: Vec<(String, Regex)>,
    neighbormac: Vec<(String, Regex)>,
    neighborip: Vec<(String, Cidr)>,
    localip: Vec<(String, Cidr)>,
    connectedip: Vec<(String, Cidr)>,
    listeningport: Vec<(String, u16)>,
}

fn values(list: &Option<Vec<String>>) -> impl Iterator<Item = &String> {
    list.iter().flatten()
}

/// Validates and compiles parameters in the original's order.
fn plan(parameters: &Parameters) -> Result<Plan, String> {
    let macs = |list: &Option<Vec<String>>, insensitive: bool| {
        values(list)
            .map(|value| compile_mac(value, insensitive).map(|regex| (value.clone(), regex)))
            .collect::<Result<Vec<_>, String>>()
    };
    let ips = |list: &Option<Vec<String>>| {
        values(list)
            .map(|value| parse_ip_value(value).map(|cidr| (value.clone(), cidr)))
            .collect::<Result<Vec<_>, String>>()
    };
    let localmac = macs(&parameters.localmac, true)?;
    let neighbormac = macs(&parameters.neighbormac, false)?;
    let neighborip = ips(&parameters.neighborip)?;
    let localip = ips(&parameters.localip)?;
    let connectedip = ips(&parameters.connectedip)?;
    let listeningport = values(&parameters.listeningport)
        .map(|value| parse_port(value).map(|port| (value.clone(), port)))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Plan {
        localmac,
        neighbormac,
        neighborip,
        localip,
        connectedip,
        listeningport,
    })
}

/// The socket tables of one namespace.
struct Namespace {
    name: String,
    /// The pid whose `net/` is read (`None`: `<proc>/net`).
    pid: Option<String>,
}

/// Runs the module on decoded parameters.
pub fn run_parameters(parameters: &Parameters, config: &Config) -> NetstatResult {
    let started = Instant::now();
    let plan = match plan(parameters) {
        Ok(plan) => plan,
        Err(message) => return TypedResult::failure(message),
    };
    let proc = &config.proc_root;
    let mut elements = Elements::new();
    let mut errors: Vec<String> = Vec::new();
    let mut examined = 0u64;
    let mut found = false;
    let mut record = |kind: &str, value: &str, hits: Vec<Element>| {
        found |= !hits.is_empty();
        elements
            .entry(kind.to_owned())
            .or_default()
            .insert(value.to_owned(), (!hits.is_empty()).then_some(hits));
    };
    let namespaces = if parameters.namespaces {
        procfs::namespaces(proc)
            .into_iter()
            .map(|(name, pid)| Namespace {
                name,
                pid: Some(pid),
            })
            .collect()
    } else {
        vec![Namespace {
            name: "default".to_owned(),
            pid: None,
        }]
    };
    let net_file = |namespace: &Namespace, file: &str| match &namespace.pid {
        Some(pid) => proc.join(pid).join("net").join(file),
        None => proc.join("net").join(file),
    };

    if !plan.localmac.is_empty() {
        let interfaces = procfs::interfaces(&config.sys_root);
        for (value, regex) in &plan.localmac {
            let mut hits = Vec::new();
            for interface in &interfaces {
                examined += 1;
                if regex.is_match(&interface.mac) {
                    hits.push(Element {
                        localmacaddr: interface.mac.clone(),
                        ..Element::default()
                    });
                }
            }
            record("localmac", value, hits);
        }
    }

    for (kind, list) in [
        ("neighbormac", None),
        ("neighborip", Some(&plan.neighborip)),
    ] {
        let patterns: Vec<(&String, Option<&Regex>, Option<&Cidr>)> = match list {
            None => plan
                .neighbormac
                .iter()
                .map(|(value, regex)| (value, Some(regex), None))
                .collect(),
            Some(ips) => ips
                .iter()
                .map(|(value, cidr)| (value, None, Some(cidr)))
                .collect(),
        };
        for (value, regex, cidr) in patterns {
            let mut hits = Vec::new();
            for namespace in &namespaces {
                let path = net_file(namespace, "arp");
                let rows = match std::fs::read_to_string(&path) {
                    Ok(text) => procfs::parse_arp(&text),
                    Err(err) => {
                        let function = if regex.is_some() {
                            "HasSeenMac"
                        } else {
                            "HasSeenIP"
                        };
                        errors.push(format!("{function}(): {}", procfs::open_error(&path, &err)));
                        continue;
                    }
                };
                for row in rows {
                    examined += 1;
                    let matched = match (regex, cidr) {
                        (Some(regex), _) => regex.is_match(&row.mac),
                        (_, Some(cidr)) => {
                            row.ip.parse::<IpAddr>().is_ok_and(|ip| cidr.contains(ip))
                        }
                        _ => false,
                    };
                    if matched {
                        hits.push(Element {
                            remotemacaddr: row.mac,
                            remoteaddr: row.ip,
                            namespace: namespace.name.clone(),
                            ..Element::default()
                        });
                    }
                }
            }
            record(kind, value, hits);
        }
    }

    if !plan.localip.is_empty() {
        let addresses = procfs::local_addresses(proc);
        for (value, cidr) in &plan.localip {
            let mut hits = Vec::new();
            for address in &addresses {
                examined += 1;
                let text = procfs::go_ip(*address);
                let matched = if cidr.is_host_value {
                    text == *value
                } else {
                    cidr.contains(*address)
                };
                if matched {
                    hits.push(Element {
                        localaddr: text,
                        ..Element::default()
                    });
                }
            }
            record("localip", value, hits);
        }
    }

    if !plan.connectedip.is_empty() || !plan.listeningport.is_empty() {
        // Each namespace's four tables, read once for every value.
        let mut tables: Vec<(&Namespace, &str, Vec<Socket>)> = Vec::new();
        let mut table_errors: Vec<(String, String)> = Vec::new();
        for namespace in &namespaces {
            for file in ["tcp", "udp", "tcp6", "udp6"] {
                let path = net_file(namespace, file);
                match std::fs::read(&path) {
                    Ok(text) => tables.push((namespace, file, procfs::parse_sockets(&text))),
                    Err(err) => {
                        table_errors.push((file.to_owned(), procfs::open_error(&path, &err)))
                    }
                }
            }
        }
        let owners: HashMap<u64, (u32, String)> = procfs::socket_owners(proc);
        let owner = |socket: &Socket| owners.get(&socket.inode).cloned().unwrap_or_default();
        for (value, cidr) in &plan.connectedip {
            let files: &[&str] = if value.contains(':') {
                &["tcp6", "udp6"]
            } else {
                &["tcp", "udp", "tcp6", "udp6"]
            };
            for (file, error) in &table_errors {
                if files.contains(&file.as_str()) {
                    errors.push(format!("HasIPConnected(): {error}"));
                }
            }
            let mut hits = Vec::new();
            for namespace in &namespaces {
                for file in files {
                    for (_, _, sockets) in tables
                        .iter()
                        .filter(|(ns, name, _)| std::ptr::eq(*ns, namespace) && name == file)
                    {
                        for socket in sockets {
                            examined += 1;
                            if cidr.contains(socket.remote) {
                                let (pid, process) = owner(socket);
                                hits.push(Element {
                                    localaddr: procfs::go_ip(socket.local),
                                    localport: f64::from(socket.local_port),
                                    remoteaddr: procfs::go_ip(socket.remote),
                                    remoteport: f64::from(socket.remote_port),
                                    namespace: namespace.name.clone(),
                                    pid: f64::from(pid),
                                    process,
                                    ..Element::default()
                                });
                            }
                        }
                    }
                }
            }
            record("connectedip", value, hits);
        }
        for (value, port) in &plan.listeningport {
            for (_, error) in &table_errors {
                errors.push(format!("HasListeningPort(): {error}"));
            }
            let mut hits = Vec::new();
            for (namespace, _, sockets) in &tables {
                for socket in sockets {
                    examined += 1;
                    if socket.local_port == *port {
                        let (pid, process) = owner(socket);
                        hits.push(Element {
                            localaddr: procfs::go_ip(socket.local),
                            localport: f64::from(socket.local_port),
                            namespace: namespace.name.clone(),
                            pid: f64::from(pid),
                            process,
                            ..Element::default()
                        });
                    }
                }
            }
            record("listeningport", value, hits);
        }
    }

    TypedResult {
        foundanything: found,
        success: true,
        elements: Some(elements),
        statistics: Some(Statistics {
            examined: examined as f64,
            exectime: go_duration(started.elapsed()),
            totalhits: 0.0,
        }),
        errors: (!errors.is_empty()).then_some(errors),
    }
}

/// The masking of the agent's extra privacy mode: connected peers' addresses.
pub fn enhance_privacy(result: &mut NetstatResult) {
    let Some(elements) = result.elements.as_mut() else {
        return;
    };
    if let Some(connected) = elements.get_mut("connectedip") {
        for element in connected.values_mut().flatten().flatten() {
            element.remoteaddr = "masked".to_owned();
        }
    }
}

/// The printed lines of a result.
pub fn print(result: &NetstatResult, found_only: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let empty = BTreeMap::new();
    let elements = result.elements.as_ref();
    let suffix = |element: &Element| {
        if element.namespace.is_empty() || element.namespace == "default" {
            String::new()
        } else {
            format!(" namespace:[{}]", element.namespace)
        }
    };
    for (kind, label) in [
        ("localmac", ""),
        ("neighbormac", "neighbormac"),
        ("neighborip", "neighborIP"),
        ("localip", "localip"),
        ("connectedip", "connectedip"),
        ("listeningport", "listeningport"),
    ] {
        let by_value = elements.and_then(|e| e.get(kind)).unwrap_or(&empty);
        for (value, found) in by_value {
            let found = found.as_deref().unwrap_or_default();
            if found.is_empty() {
                if !found_only && !label.is_empty() {
                    lines.push(format!(
                        "did not find anything for netstat {label}:'{value}'"
                    ));
                }
                continue;
            }
            for element in found {
                let ns = suffix(element);
                lines.push(match kind {
                    "localmac" => format!(
                        "found local mac {} for netstat localmac:'{value}'{ns}",
                        element.localmacaddr
                    ),
                    "neighbormac" => format!(
                        "found neighbor mac {} {} for netstat neighbormac:'{value}'{ns}",
                        element.remotemacaddr, element.remoteaddr
                    ),
                    "neighborip" => format!(
                        "found neighbor IP {} {} for netstat neighborIP:'{value}'{ns}",
                        element.remoteaddr, element.remotemacaddr
                    ),
                    "localip" => format!(
                        "found local ip {} for netstat localip:'{value}'{ns}",
                        element.localaddr
                    ),
                    "connectedip" => format!(
                        "found connected tuple {}:{} with local tuple {}:{} for netstat connectedip:'{value}'{ns}",
                        element.remoteaddr, element.remoteport, element.localaddr, element.localport
                    ),
                    _ => format!(
                        "found listening port {} for netstat listeningport:'{value}'{ns}",
                        element.localport
                    ),
                });
            }
        }
    }
    if !found_only {
        for error in result.errors.iter().flatten() {
            lines.push(format!("error: {error}"));
        }
        let statistics = result.statistics.clone().unwrap_or_default();
        lines.push(format!(
            "Statistics: total hits {} examined {} items exectime {}",
            statistics.totalhits, statistics.examined, statistics.exectime
        ));
    }
    lines
}

/// Runs the module with an explicit host root.
pub fn run_with(parameters: &serde_json::Value, config: &Config) -> NetstatResult {
    match mig_protocol::gojson::from_value::<Parameters>(parameters) {
        Ok(parameters) => run_parameters(&parameters, config),
        Err(err) => TypedResult::failure(err.to_string()),
    }
}

impl Module for Netstat {
    const NAME: &'static str = "netstat";
    type Elements = Elements;
    type Statistics = Statistics;

    fn run(parameters: &serde_json::Value, _context: &ModuleContext) -> NetstatResult {
        run_with(parameters, &Config::default())
    }

    fn enhance_privacy(result: &mut NetstatResult) {
        enhance_privacy(result);
    }

    fn print(result: &NetstatResult, found_only: bool) -> Vec<String> {
        print(result, found_only)
    }
}
