//! YARA-X, the pure-Rust engine, behind the non-default `yara-x` feature
//! (`cargo build -p mig-agent --features mig-modules/yara-x`): no libyara on
//! the host at all, at the price of a much longer build (wasmtime; about ten
//! minutes cold on two cores, which is why CI builds the default engine) and
//! of YARA-X's small syntax differences from YARA. Built without YARA-X's
//! format modules (`pe`, `elf`, …): rules that import them fail to compile.
//!
//! Same interface as [`super::libyara`]: compile, scan a file, scan a
//! process's blocks as one image (YARA-X's block scanner accepts overlapping
//! blocks and counts each match once).

use std::time::Duration;

use super::BlockSource;

/// The engine's name, for messages and benchmarks.
pub const ENGINE: &str = "yara-x";

/// YARA-X is linked in: always available.
pub fn available() -> Result<(), String> {
    Ok(())
}

/// Compiled rules, shared by the scanning threads.
pub struct Rules {
    rules: yara_x::Rules,
}

fn timeout(seconds: i32) -> Duration {
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

fn scan_error(err: &yara_x::ScanError) -> String {
    match err {
        yara_x::ScanError::Timeout => "scanning timed out".to_owned(),
        yara_x::ScanError::OpenError { .. } => "could not open file".to_owned(),
        yara_x::ScanError::MapError { .. } => "could not map file into memory".to_owned(),
        other => other.to_string(),
    }
}

impl Rules {
    /// Compiles `source`; the error is YARA-X's report (with line and column).
    pub fn compile(source: &str) -> Result<Rules, String> {
        yara_x::compile(source)
            .map(|rules| Rules { rules })
            .map_err(|err| format!("yara rules: {}", err.to_string().trim_end()))
    }

    /// The identifiers of the rules matching the file at `path`.
    pub fn scan_file(&self, path: &str, timeout_seconds: i32) -> Result<Vec<String>, String> {
        let mut scanner = yara_x::Scanner::new(&self.rules);
        scanner.set_timeout(timeout(timeout_seconds));
        let results = scanner.scan_file(path).map_err(|err| scan_error(&err))?;
        Ok(results
            .matching_rules()
            .map(|rule| rule.identifier().to_owned())
            .collect())
    }

    /// The identifiers of the rules matching the blocks `source` yields,
    /// scanned as one image.
    pub fn scan_blocks(
        &self,
        source: &mut dyn BlockSource,
        timeout_seconds: i32,
    ) -> Result<Vec<String>, String> {
        let mut scanner = yara_x::blocks::Scanner::new(&self.rules);
        scanner.set_timeout(timeout(timeout_seconds));
        for index in 0..source.len() {
            let (base, _) = source.block(index);
            if let Some(data) = source.fetch(index) {
                scanner
                    .scan(base as usize, data)
                    .map_err(|err| scan_error(&err))?;
            }
        }
        let results = scanner.finish().map_err(|err| scan_error(&err))?;
        Ok(results
            .matching_rules()
            .map(|rule| rule.identifier().to_owned())
            .collect())
    }
}
