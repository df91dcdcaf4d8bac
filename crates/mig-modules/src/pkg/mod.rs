//! `pkg`: installed OS packages whose name matches regexes (spec modules.md
//! §4.2).
//!
//! The inventory is the original's: `rpm -qa` rows first, then the `ii` rows
//! of `dpkg -l`. The dpkg part is read from the dpkg database
//! (`/var/lib/dpkg/status`) directly instead of running `dpkg -l`, with the
//! same rows in the same order: installed packages (`install ok installed`)
//! sorted by name and architecture, the name qualified with `:<arch>` as
//! `dpkg -l` shows it (for `Multi-Arch: same` and foreign packages).

pub mod client;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::duration::go_duration;
use crate::result::{Module, ModuleContext, TypedResult};

/// Parameters: `{"pkgmatch":{"matches":["^openssl"]},"vermatch":"^1\\."}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// Name regexes.
    pub pkgmatch: PkgMatch,
    /// Optional version regex; a leading `!` inverts it.
    pub vermatch: String,
}

/// The name regexes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PkgMatch {
    /// Unanchored regexes on the package name.
    pub matches: Option<Vec<String>>,
}

/// One installed package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Package {
    /// Name (dpkg names may carry `:<arch>`).
    pub name: String,
    /// Version (rpm: EVR).
    pub version: String,
    /// `rpm` or `dpkg`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Architecture.
    pub arch: String,
}

/// `elements`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Elements {
    /// Matching packages (`[]` when none).
    pub packages: Vec<Package>,
}

/// `statistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    /// Run time as a Go duration string.
    pub execruntime: String,
}

/// The module.
pub struct Pkg;

/// The pkg module's result type.
pub type PkgResult = TypedResult<Elements, Statistics>;

/// Where the inventory comes from, replaceable in tests.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `rpm` command (looked up on `PATH` unless a path).
    pub rpm: PathBuf,
    /// The dpkg status database.
    pub dpkg_status: PathBuf,
    /// dpkg's native architecture (names of other architectures are qualified).
    pub native_arch: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rpm: PathBuf::from("rpm"),
            dpkg_status: PathBuf::from("/var/lib/dpkg/status"),
            native_arch: native_arch().to_owned(),
        }
    }
}

/// Debian's name of the architecture this program was built for.
pub fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "i386",
        "aarch64" => "arm64",
        "arm" => "armhf",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64el",
        "mips64" if cfg!(target_endian = "little") => "mips64el",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The rpm packages (`rpm -qa`), none when rpm is absent or fails.
pub fn rpm_packages(rpm: &std::path::Path) -> Vec<Package> {
    let Ok(output) = Command::new(rpm)
        .args(["-qa", "--queryformat", "%{NAME} %{EVR} %{ARCH}\\n"])
        .output()
    else {
        return Vec::new();
    };
    if !output.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 3).then(|| Package {
                name: fields[0].to_owned(),
                version: fields[1].to_owned(),
                kind: "rpm".to_owned(),
                arch: fields[2].to_owned(),
            })
        })
        .collect()
}

/// The `ii` packages of a dpkg status database, as `dpkg -l` lists them.
pub fn dpkg_packages(status: &[u8], native_arch: &str) -> Vec<Package> {
    let mut packages = Vec::new();
    let mut stanza = Stanza::default();
    for line in status.split(|byte| *byte == b'\n') {
        if line.is_empty() || line == b"\r" {
            stanza.finish(native_arch, &mut packages);
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let value = trim(&line[colon + 1..]);
        match &line[..colon] {
            b"Package" => stanza.name = value,
            b"Status" => stanza.status = value,
            b"Version" => stanza.version = value,
            b"Architecture" => stanza.arch = value,
            b"Multi-Arch" => stanza.multiarch = value,
            _ => {}
        }
    }
    stanza.finish(native_arch, &mut packages);
    packages.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    packages
        .into_iter()
        .map(|(_, _, package)| package)
        .collect()
}

fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|byte| !byte.is_ascii_whitespace())
        .map_or(start, |index| index + 1);
    &value[start..end.max(start)]
}

/// The fields of one status stanza that `dpkg -l` shows.
#[derive(Default)]
struct Stanza<'a> {
    name: &'a [u8],
    status: &'a [u8],
    version: &'a [u8],
    arch: &'a [u8],
    multiarch: &'a [u8],
}

impl<'a> Stanza<'a> {
    /// Appends the stanza as `(sort name, sort arch, package)` if it is an
    /// `ii` row with the four columns `dpkg -l` prints, and resets it.
    fn finish(&mut self, native_arch: &str, out: &mut Vec<(String, String, Package)>) {
        let stanza = std::mem::take(self);
        let installed = {
            let mut words = stanza
                .status
                .split(u8::is_ascii_whitespace)
                .filter(|w| !w.is_empty());
            words.next() == Some(b"install")
                && words.next() == Some(b"ok")
                && words.next() == Some(b"installed")
        };
        if !installed
            || stanza.name.is_empty()
            || stanza.version.is_empty()
            || stanza.arch.is_empty()
        {
            return;
        }
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let name = text(stanza.name);
        let arch = text(stanza.arch);
        let qualified = stanza.multiarch == b"same" || (arch != "all" && arch != native_arch);
        let shown = if qualified {
            format!("{name}:{arch}")
        } else {
            name.clone()
        };
        out.push((
            name,
            arch.clone(),
            Package {
                name: shown,
                version: text(stanza.version),
                kind: "dpkg".to_owned(),
                arch,
            },
        ));
    }
}

/// The whole inventory: rpm packages, then dpkg packages.
pub fn inventory(config: &Config) -> Vec<Package> {
    let mut packages = rpm_packages(&config.rpm);
    if let Ok(status) = std::fs::read(&config.dpkg_status) {
        packages.extend(dpkg_packages(&status, &config.native_arch));
    }
    packages
}

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|_| crate::file::checks::go_regex_error(pattern))
}

/// Runs the module on decoded parameters.
pub fn run_parameters(parameters: &Parameters, config: &Config, started: Instant) -> PkgResult {
    let fatal = |message: String| PkgResult {
        statistics: Some(Statistics {
            execruntime: go_duration(started.elapsed()),
        }),
        ..TypedResult::failure(message)
    };
    let matches = parameters.pkgmatch.matches.clone().unwrap_or_default();
    if matches.is_empty() {
        return fatal("must specify at least one package to match".to_owned());
    }
    let mut names = Vec::with_capacity(matches.len());
    for pattern in &matches {
        match compile(pattern) {
            Ok(regex) => names.push(regex),
            Err(message) => return fatal(message),
        }
    }
    let version = if parameters.vermatch.is_empty() {
        None
    } else {
        let (pattern, inverted) = match parameters.vermatch.strip_prefix('!') {
            Some(rest) if !rest.is_empty() => (rest, true),
            _ => (parameters.vermatch.as_str(), false),
        };
        match compile(pattern) {
            Ok(regex) => Some((regex, inverted)),
            Err(message) => return fatal(message),
        }
    };
    let packages = inventory(config);
    let mut found = Vec::new();
    for name in &names {
        for package in &packages {
            if !name.is_match(&package.name) {
                continue;
            }
            if let Some((regex, inverted)) = &version
                && regex.is_match(&package.version) == *inverted
            {
                continue;
            }
            found.push(package.clone());
        }
    }
    PkgResult {
        foundanything: !found.is_empty(),
        success: true,
        elements: Some(Elements { packages: found }),
        statistics: Some(Statistics {
            execruntime: go_duration(started.elapsed()),
        }),
        errors: None,
    }
}

/// Runs the module with an explicit inventory configuration.
pub fn run_with(parameters: &serde_json::Value, config: &Config) -> PkgResult {
    let started = Instant::now();
    match mig_protocol::gojson::from_value::<Parameters>(parameters) {
        Ok(parameters) => run_parameters(&parameters, config, started),
        Err(err) => PkgResult {
            statistics: Some(Statistics {
                execruntime: go_duration(started.elapsed()),
            }),
            ..TypedResult::failure(err.to_string())
        },
    }
}

/// The printed lines of a result.
pub fn print(result: &PkgResult, found_only: bool) -> Vec<String> {
    let mut lines: Vec<String> = result
        .elements
        .iter()
        .flat_map(|elements| &elements.packages)
        .map(|package| {
            format!(
                "pkgmatch name={} version={} type={} arch={}",
                package.name, package.version, package.kind, package.arch
            )
        })
        .collect();
    if !found_only {
        let runtime = result
            .statistics
            .as_ref()
            .map(|statistics| statistics.execruntime.as_str());
        result.push_errors_and_runtime(&mut lines, runtime);
    }
    lines
}

impl Module for Pkg {
    const NAME: &'static str = "pkg";
    type Elements = Elements;
    type Statistics = Statistics;

    fn run(parameters: &serde_json::Value, _context: &ModuleContext) -> PkgResult {
        run_with(parameters, &Config::default())
    }

    fn input_error(message: String) -> PkgResult {
        PkgResult {
            statistics: Some(Statistics::default()),
            ..TypedResult::failure(message)
        }
    }

    fn print(result: &PkgResult, found_only: bool) -> Vec<String> {
        print(result, found_only)
    }
}
