//! `~/.migrc`, the investigator's configuration (spec clients.md §1.1).
//!
//! ```text
//! [api]
//!     url = "https://mig.example.net/api/v1/"
//!     skipverifycert = off
//! [gpg]
//!     home = "/home/bob/.gnupg/"
//!     keyid = "1E6A08C563BB4EF22E2584A1D96514026D885D08"
//! [targets]
//!     macro = allonline:status='online'
//! ```

use std::path::{Path, PathBuf};

use mig_protocol::gcfg::{Document, GcfgError};

/// A loaded `.migrc`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Migrc {
    /// API base URL, always ending with `/`; empty when the file has none.
    pub api_url: String,
    /// Disable TLS certificate verification of the API.
    pub skip_verify_cert: bool,
    /// GnuPG home directory; `None` means GnuPG's own default.
    pub gpg_home: Option<PathBuf>,
    /// Fingerprint of the investigator's signing key.
    pub gpg_keyid: String,
    /// Keyserver used by `create investigator`.
    pub gpg_keyserver: String,
    /// An API key to send as `X-MIGAPIKEY` instead of signed tokens.
    pub api_key: String,
    /// mig-rs extension `gpg.secretkeyfile`: sign with this armored secret
    /// key file instead of running `gpg`.
    pub secret_key_file: Option<PathBuf>,
    /// Target macros, `name` → target, in file order.
    pub macros: Vec<(String, String)>,
}

/// Why a `.migrc` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MigrcError {
    #[error("no configuration found at {}", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Syntax(#[from] GcfgError),
}

const SECTIONS: &[(&str, &[&str])] = &[
    ("api", &["url", "skipverifycert"]),
    (
        "gpg",
        &[
            "home",
            "keyid",
            "keyserver",
            "useapikeyauth",
            "secretkeyfile",
        ],
    ),
    ("targets", &["macro"]),
];

impl Migrc {
    /// The default location: `$HOME/.migrc`.
    pub fn default_path() -> PathBuf {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".migrc")
    }

    /// Reads and parses a `.migrc` file.
    pub fn load(path: &Path) -> Result<Self, MigrcError> {
        let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => MigrcError::Missing {
                path: path.to_owned(),
            },
            _ => MigrcError::Read {
                path: path.to_owned(),
                source,
            },
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses `.migrc` text; `file_name` appears in errors. Unknown sections
    /// and keys are errors, as in the original.
    pub fn parse(file_name: &str, text: &str) -> Result<Self, MigrcError> {
        let document = Document::parse(file_name, text)?;
        for section in document.sections() {
            let Some((_, known)) = SECTIONS
                .iter()
                .find(|(name, _)| section.name().eq_ignore_ascii_case(name))
            else {
                return Err(section
                    .error("", format!("unknown section {:?}", section.name()))
                    .into());
            };
            section.reject_unknown(known)?;
        }
        let mut config = Migrc::default();
        if let Some(api) = document.section("api") {
            if let Some(url) = api.string("url")? {
                config.api_url = if url.is_empty() || url.ends_with('/') {
                    url
                } else {
                    format!("{url}/")
                };
            }
            config.skip_verify_cert = api.bool("skipverifycert")?.unwrap_or(false);
        }
        if let Some(gpg) = document.section("gpg") {
            config.gpg_home = gpg
                .string("home")?
                .filter(|home| !home.is_empty())
                .map(PathBuf::from);
            config.gpg_keyid = gpg.string("keyid")?.unwrap_or_default();
            config.gpg_keyserver = gpg.string("keyserver")?.unwrap_or_default();
            config.api_key = gpg.string("useapikeyauth")?.unwrap_or_default();
            config.secret_key_file = gpg
                .string("secretkeyfile")?
                .filter(|path| !path.is_empty())
                .map(PathBuf::from);
        }
        if let Some(targets) = document.section("targets") {
            for definition in targets.get_all("macro") {
                match definition.split_once(':') {
                    Some((name, target)) if !name.is_empty() => {
                        config.macros.push((name.to_owned(), target.to_owned()))
                    }
                    _ => {
                        return Err(targets
                            .error("macro", format!("invalid macro format: {definition:?}"))
                            .into());
                    }
                }
            }
        }
        Ok(config)
    }

    /// The target a macro name stands for, or the text itself.
    pub fn expand_target<'a>(&'a self, target: &'a str) -> &'a str {
        self.macros
            .iter()
            .find(|(name, _)| name == target)
            .map_or(target, |(_, expansion)| expansion.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let config = Migrc::parse(
            ".migrc",
            r#"
[api]
    url = "https://mig.example.net/api/v1"
    skipverifycert = off
[gpg]
    home = "/home/bob/.gnupg/"
    keyid = "1E6A08C563BB4EF22E2584A1D96514026D885D08"
[targets]
    macro = allonline:status='online'
    macro = "linuxops:environment->>'os'='linux' AND tags#>>'{operator}'='IT'"
"#,
        )
        .unwrap();
        assert_eq!(config.api_url, "https://mig.example.net/api/v1/");
        assert_eq!(
            config.gpg_home.as_deref(),
            Some(Path::new("/home/bob/.gnupg/"))
        );
        assert_eq!(config.expand_target("allonline"), "status='online'");
        assert_eq!(
            config.expand_target("linuxops"),
            "environment->>'os'='linux' AND tags#>>'{operator}'='IT'"
        );
        assert_eq!(config.expand_target("status='idle'"), "status='idle'");
    }

    #[test]
    fn errors_name_the_place() {
        let err = Migrc::parse(".migrc", "[api]\nurl = x\nbogus = 1\n").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = Migrc::parse(".migrc", "[targets]\nmacro = nocolon\n").unwrap_err();
        assert!(
            err.to_string().contains("macro") && err.to_string().contains("nocolon"),
            "{err}"
        );
        let err = Migrc::load(Path::new("/nonexistent/.migrc")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no configuration found at /nonexistent/.migrc"
        );
    }
}
