//! `example`: the reference module (spec modules.md §5.5). It reports the
//! hostname, the interface addresses and DNS lookups; copy this folder to
//! start a new module (see `docs/modules/README.md`).
//!
//! The parts every module has, in the order a reader meets them:
//! 1. `Parameters`: what the investigator sends, decoded leniently as Go did
//!    (`#[serde(default)]`, unknown keys ignored).
//! 2. `Elements` and `Statistics`: the result, field order = JSON order.
//! 3. `run_parameters`: validate, do the work, fill a `TypedResult`.
//!    Failures are data: a fatal one is `TypedResult::failure`.
//! 4. `print`: the lines `mig` shows, byte-exact with the original.
//! 5. `impl Module`: the name in the registry and the glue.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::ToSocketAddrs;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::result::{Module, ModuleContext, TypedResult};

/// Parameters: `{"gethostname":true,"getaddresses":true,"lookuphost":["www.mozilla.org"]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// Report the hostname.
    pub gethostname: bool,
    /// Report the interface addresses (CIDR), loopback excepted.
    pub getaddresses: bool,
    /// Host names to resolve.
    pub lookuphost: Option<Vec<String>>,
}

/// `elements` (every field omitted when empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Elements {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// Host → its addresses (keys sorted, as Go encodes maps).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub lookeduphost: BTreeMap<String, Vec<String>>,
}

/// `statistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    /// Hostname and addresses found (lookups are not counted).
    pub stufffound: i64,
}

/// The module.
pub struct Example;

/// The example module's result type.
pub type ExampleResult = TypedResult<Elements, Statistics>;

/// The original's FQDN check (POSIX regex; anchored at both ends).
const FQDN: &str = r"^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]{0,61}[a-zA-Z0-9]))*$";

/// Every host must look like a FQDN.
pub fn validate(parameters: &Parameters) -> Result<(), String> {
    let fqdn = Regex::new(FQDN).map_err(|err| err.to_string())?;
    match parameters
        .lookuphost
        .iter()
        .flatten()
        .find(|host| !fqdn.is_match(host))
    {
        Some(_) => Err("ValidateParameters: LookupHost parameter is not a valid FQDN.".to_owned()),
        None => Ok(()),
    }
}

/// The kernel's hostname (what Go's `os.Hostname` reads on Linux).
fn hostname() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .map_err(|err| format!("open /proc/sys/kernel/hostname: {err}"))
}

/// Interface addresses as CIDR text, without `127.0.0.1/8` and `::1/128`.
fn addresses() -> Result<Vec<String>, String> {
    let interfaces = if_addrs::get_if_addrs().map_err(|err| format!("route ip+net: {err}"))?;
    Ok(interfaces
        .iter()
        .map(|interface| match &interface.addr {
            if_addrs::IfAddr::V4(v4) => format!("{}/{}", v4.ip, u32::from(v4.netmask).count_ones()),
            if_addrs::IfAddr::V6(v6) => {
                format!("{}/{}", v6.ip, u128::from(v6.netmask).count_ones())
            }
        })
        .filter(|cidr| cidr != "127.0.0.1/8" && cidr != "::1/128")
        .collect())
}

/// The addresses `host` resolves to, each once.
fn lookup(host: &str) -> Result<Vec<String>, String> {
    let resolved = (host, 0)
        .to_socket_addrs()
        .map_err(|err| format!("lookup {host}: {err}"))?;
    let mut ips: Vec<String> = Vec::new();
    for address in resolved {
        let ip = address.ip().to_string();
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    Ok(ips)
}

/// Runs the module on decoded parameters.
pub fn run_parameters(parameters: &Parameters) -> ExampleResult {
    if let Err(message) = validate(parameters) {
        return TypedResult::failure(message);
    }
    let mut elements = Elements::default();
    let mut statistics = Statistics::default();
    if parameters.gethostname {
        match hostname() {
            Ok(name) => elements.hostname = name,
            Err(message) => return TypedResult::failure(message),
        }
        statistics.stufffound += 1;
    }
    if parameters.getaddresses {
        match addresses() {
            Ok(found) => elements.addresses = found,
            Err(message) => return TypedResult::failure(message),
        }
        statistics.stufffound += elements.addresses.len() as i64;
    }
    for host in parameters.lookuphost.iter().flatten() {
        match lookup(host) {
            Ok(ips) => elements.lookeduphost.insert(host.clone(), ips),
            Err(message) => return TypedResult::failure(message),
        };
    }
    TypedResult {
        foundanything: statistics.stufffound > 0,
        success: true,
        elements: Some(elements),
        statistics: Some(statistics),
        errors: None,
    }
}

/// The printed lines of a result.
pub fn print(result: &ExampleResult, found_only: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(elements) = &result.elements {
        if !elements.hostname.is_empty() {
            lines.push(format!("hostname is {}", elements.hostname));
        }
        for address in &elements.addresses {
            lines.push(format!("address is {address}"));
        }
        for (host, ips) in &elements.lookeduphost {
            for ip in ips {
                lines.push(format!("lookedup host {host} has IP {ip}"));
            }
        }
    }
    if found_only {
        return lines;
    }
    for error in result.errors.iter().flatten() {
        lines.push(format!("error: {error}"));
    }
    let found = result.statistics.as_ref().map_or(0, |s| s.stufffound);
    lines.push(format!("stat: {found} stuff found"));
    lines
}

impl Module for Example {
    const NAME: &'static str = "example";
    type Elements = Elements;
    type Statistics = Statistics;

    fn run(parameters: &serde_json::Value, _context: &ModuleContext) -> ExampleResult {
        match mig_protocol::gojson::from_value::<Parameters>(parameters) {
            Ok(parameters) => run_parameters(&parameters),
            Err(err) => TypedResult::failure(err.to_string()),
        }
    }

    fn print(result: &ExampleResult, found_only: bool) -> Vec<String> {
        print(result, found_only)
    }
}
