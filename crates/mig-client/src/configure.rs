//! `ReadConfiguration` and the interactive `.migrc` generator (spec clients.md
//! §1.1 rule 1, §1.2): when the configuration file is missing, the tools say
//! so on stderr and offer to write one, asking on stdout and reading answers
//! from stdin.
//!
//! ```text
//! generate a new configuration file at /home/bob/.migrc? (Y/n)>
//! found key "Bob <bob@example.net>" with fingerprint "1E6A…5D08".
//! use this key? (Y/n)>
//! using key "1E6A…5D08"
//! URL of API? (e.g., https://mig.example.net/api/v1/)>
//! ```
//!
//! The prompts, the file written and the messages are the original's. The
//! keys offered are the GnuPG secret keys able to sign, listed with `gpg
//! --list-secret-keys` (the original read a GnuPG 1 `secring.gpg`), in
//! `$GNUPGHOME` or else `$HOME/.gnupg`. End of input answers "yes" to the
//! yes/no questions, as in the original, but ends the API URL question with
//! an error (the original asked forever).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::migrc::{Migrc, MigrcError};

/// Why no configuration could be read or made.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be used.
    #[error(transparent)]
    Load(#[from] MigrcError),
    /// The file was missing and the generator did not write one.
    #[error("MakeConfiguration() -> {0}")]
    Make(#[from] MakeError),
}

/// Why the generator stopped.
#[derive(Debug, thiserror::Error)]
pub enum MakeError {
    #[error("aborting creating configuration file")]
    Aborted,
    /// The GnuPG directory does not exist (worded as the original).
    #[error("error opening secring: open {}/secring.gpg: no such file or directory", dir.display())]
    NoGnupgHome { dir: PathBuf },
    #[error("cannot list the secret keys in {}: {message}", dir.display())]
    ListKeys { dir: PathBuf, message: String },
    #[error("no suitable key found in {}", dir.display())]
    NoKey { dir: PathBuf },
    #[error("no API URL given before the end of input")]
    NoUrl,
    #[error("cannot read the answer: {0}")]
    Input(std::io::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A secret key the investigator may sign with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKey {
    /// The first user id, e.g. `Bob <bob@example.net>`.
    pub user_id: String,
    /// The primary key's fingerprint, upper case.
    pub fingerprint: String,
}

/// Where the generator talks and what it uses.
pub struct Prompter<'a> {
    /// Answers, one per line.
    pub input: &'a mut dyn BufRead,
    /// Questions and messages.
    pub stdout: &'a mut dyn Write,
    /// The secret keys of a GnuPG directory ([`gpg_secret_keys`] by default).
    pub list_keys: &'a dyn Fn(&Path) -> Result<Vec<SecretKey>, String>,
    /// Whether an API URL answers ([`api_answers`] by default).
    pub check_url: &'a dyn Fn(&str) -> Result<(), String>,
}

/// `ReadConfiguration`: loads `path`; when it does not exist, prints `no
/// configuration found at <path>` on `stderr`, runs the generator with the
/// real `gpg` and network check, then loads what it wrote.
pub fn read_configuration(
    path: &Path,
    input: &mut dyn BufRead,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Migrc, ConfigError> {
    match Migrc::load(path) {
        Err(err @ MigrcError::Missing { .. }) => {
            let _ = writeln!(stderr, "{err}");
            let _ = stderr.flush();
            let mut prompter = Prompter {
                input,
                stdout,
                list_keys: &gpg_secret_keys,
                check_url: &api_answers,
            };
            make_configuration(path, &default_gnupg_home(), &mut prompter)?;
            Ok(Migrc::load(path)?)
        }
        other => Ok(other?),
    }
}

/// The GnuPG directory the generator looks in: `$GNUPGHOME`, else `$HOME/.gnupg`.
pub fn default_gnupg_home() -> PathBuf {
    match std::env::var_os("GNUPGHOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".gnupg"),
    }
}

/// One answer line without its line end; `None` at end of input.
fn answer(prompter: &mut Prompter<'_>, question: &str) -> Result<Option<String>, MakeError> {
    let _ = write!(prompter.stdout, "{question}");
    let _ = prompter.stdout.flush();
    let mut line = String::new();
    let read = prompter
        .input
        .read_line(&mut line)
        .map_err(MakeError::Input)?;
    if read == 0 {
        return Ok(None);
    }
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(Some(trimmed.to_owned()))
}

/// `y`, `Y`, an empty line and the end of input mean yes.
fn is_yes(answer: Option<&str>) -> bool {
    matches!(answer, None | Some("" | "y" | "Y"))
}

/// The generator (§1.2): asks, picks a key of `gnupg_home`, asks for the API
/// URL until it answers, and writes `file`.
pub fn make_configuration(
    file: &Path,
    gnupg_home: &Path,
    prompter: &mut Prompter<'_>,
) -> Result<(), MakeError> {
    let question = format!(
        "generate a new configuration file at {}? (Y/n)> ",
        file.display()
    );
    if !is_yes(answer(prompter, &question)?.as_deref()) {
        return Err(MakeError::Aborted);
    }
    if !gnupg_home.is_dir() {
        let _ = write!(
            prompter.stdout,
            "\nIt was not possible to open your secring.gpg. The configuration generator expects\n\
             to find the keyring in the standard GPG location, and is looking in {}. If your keyring\n\
             is located elsewhere, you may need to create the configuration file yourself. Consult the\n\
             documentation for additional details.\n\n",
            gnupg_home.display()
        );
        let _ = prompter.stdout.flush();
        return Err(MakeError::NoGnupgHome {
            dir: gnupg_home.to_owned(),
        });
    }
    let keys = (prompter.list_keys)(gnupg_home).map_err(|message| MakeError::ListKeys {
        dir: gnupg_home.to_owned(),
        message,
    })?;
    let mut chosen = None;
    for key in keys {
        let question = format!(
            "found key {} with fingerprint {}.\nuse this key? (Y/n)> ",
            go_quote(&key.user_id),
            go_quote(&key.fingerprint)
        );
        if is_yes(answer(prompter, &question)?.as_deref()) {
            let _ = writeln!(prompter.stdout, "using key {}", go_quote(&key.fingerprint));
            chosen = Some(key.fingerprint);
            break;
        }
    }
    let Some(fingerprint) = chosen else {
        return Err(MakeError::NoKey {
            dir: gnupg_home.to_owned(),
        });
    };
    let url = loop {
        let Some(url) = answer(
            prompter,
            "URL of API? (e.g., https://mig.example.net/api/v1/)> ",
        )?
        else {
            let _ = writeln!(prompter.stdout);
            return Err(MakeError::NoUrl);
        };
        match (prompter.check_url)(&url) {
            Ok(()) => break url,
            Err(err) => {
                let _ = writeln!(prompter.stdout, "API connection failed: {err}");
            }
        }
    };
    let text = format!(
        "[api]\n\turl = \"{}\"\n[gpg]\n\thome = \"{}\"\n\tkeyid = \"{}\"\n[targets]\n\tmacro = allonline:status='online'\n",
        gcfg_escape(&url),
        gcfg_escape(&gnupg_home.display().to_string()),
        gcfg_escape(&fingerprint)
    );
    write_new(file, &text).map_err(|source| MakeError::Write {
        path: file.to_owned(),
        source,
    })?;
    let _ = write!(
        prompter.stdout,
        "\ncreated configuration file at {}\n\n",
        file.display()
    );
    let _ = prompter.stdout.flush();
    Ok(())
}

/// Creates `file` (readable by its owner only) with `text`; never replaces one.
fn write_new(file: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(file)?;
    out.write_all(text.as_bytes())?;
    out.sync_all()
}

/// A gcfg quoted value's escapes.
fn gcfg_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Go's `%q` for the strings shown here: printable characters kept, `"` and
/// `\` escaped, control characters as `\n`, `\t`, `\xNN` or `\uNNNN`.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The secret keys of `gnupg_home` that can sign and are neither revoked nor
/// expired, through `gpg --list-secret-keys --with-colons`.
pub fn gpg_secret_keys(gnupg_home: &Path) -> Result<Vec<SecretKey>, String> {
    let output = Command::new("gpg")
        .arg("--homedir")
        .arg(gnupg_home)
        .args(["--batch", "--with-colons", "--list-secret-keys"])
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run gpg: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "gpg --list-secret-keys failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(parse_secret_key_listing(&String::from_utf8_lossy(
        &output.stdout,
    )))
}

/// Reads `gpg --with-colons --list-secret-keys` output.
pub fn parse_secret_key_listing(listing: &str) -> Vec<SecretKey> {
    struct Pending {
        usable: bool,
        fingerprint: Option<String>,
        user_id: Option<String>,
    }
    let mut keys = Vec::new();
    let mut pending: Option<Pending> = None;
    let mut in_primary = false;
    let finish = |pending: Option<Pending>, keys: &mut Vec<SecretKey>| {
        if let Some(Pending {
            usable: true,
            fingerprint: Some(fingerprint),
            user_id,
        }) = pending
        {
            keys.push(SecretKey {
                user_id: user_id.unwrap_or_default(),
                fingerprint,
            });
        }
    };
    for line in listing.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        let field = |index: usize| fields.get(index).copied().unwrap_or("");
        match field(0) {
            "sec" => {
                finish(pending.take(), &mut keys);
                let validity = field(1);
                let capabilities = field(11);
                pending = Some(Pending {
                    usable: !matches!(validity, "r" | "e" | "d" | "i")
                        && capabilities.contains('S'),
                    fingerprint: None,
                    user_id: None,
                });
                in_primary = true;
            }
            "ssb" | "sub" => in_primary = false,
            "fpr" if in_primary => {
                if let Some(key) = pending.as_mut().filter(|key| key.fingerprint.is_none()) {
                    key.fingerprint = Some(field(9).to_ascii_uppercase());
                }
            }
            "uid" if field(1) != "r" => {
                if let Some(key) = pending.as_mut().filter(|key| key.user_id.is_none()) {
                    key.user_id = Some(unescape_colons(field(9)));
                }
            }
            _ => {}
        }
    }
    finish(pending, &mut keys);
    keys
}

/// gpg's `--with-colons` escapes (`\x3a` for `:` and other octets).
fn unescape_colons(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x'))
            .then(|| text.get(i + 2..i + 4))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(value) = escaped {
            out.push(value);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `url` answers an HTTP GET at all (any status will do, as Go's
/// `http.Get`); the transport error otherwise.
pub fn api_answers(url: &str) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(15)))
        .build()
        .into();
    agent
        .get(url)
        .call()
        .map(|_| ())
        .map_err(|err| format!("Get {}: {err}", go_quote(url)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LISTING: &str = "\
sec:u:255:22:AAAA:1700000000:::u:::scESC:::+:::23::0:
fpr:::::::::1E6A08C563BB4EF22E2584A1D96514026D885D08:
grp:::::::::0000:
uid:u::::1700000000::HASH::Bob The Investigator <bob\\x3aa@example.net>::::::::::0:
ssb:u:255:18:BBBB:1700000000::::::e:::+:::23:
fpr:::::::::FFFF08C563BB4EF22E2584A1D96514026D885D08:
sec:e:255:22:CCCC:1600000000:1600000001::u:::scESC:::+:::23::0:
fpr:::::::::0000000000000000000000000000000000000001:
uid:e::::1600000000::HASH::Expired <old@example.net>::::::::::0:
sec:u:255:22:DDDD:1700000000:::u:::eE:::+:::23::0:
fpr:::::::::0000000000000000000000000000000000000002:
uid:u::::1700000000::HASH::Encrypt only::::::::::0:
sec:u:255:22:EEEE:1700000000:::u:::scESC:::+:::23::0:
fpr:::::::::abcdef0000000000000000000000000000000003:
uid:r::::1700000000::HASH::Revoked uid::::::::::0:
uid:u::::1700000000::HASH::Second <s@example.net>::::::::::0:
";

    #[test]
    fn listing_keeps_signing_keys_with_their_first_valid_uid() {
        let keys = parse_secret_key_listing(LISTING);
        assert_eq!(
            keys,
            vec![
                SecretKey {
                    user_id: "Bob The Investigator <bob:a@example.net>".to_owned(),
                    fingerprint: "1E6A08C563BB4EF22E2584A1D96514026D885D08".to_owned(),
                },
                SecretKey {
                    user_id: "Second <s@example.net>".to_owned(),
                    fingerprint: "ABCDEF0000000000000000000000000000000003".to_owned(),
                },
            ]
        );
    }

    fn run(
        answers: &str,
        keys: Vec<SecretKey>,
        urls_ok_from: usize,
    ) -> (Result<(), MakeError>, String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let gnupg = dir.path().join(".gnupg");
        std::fs::create_dir(&gnupg).unwrap();
        let file = dir.path().join(".migrc");
        let mut input = std::io::Cursor::new(answers.as_bytes().to_vec());
        let mut stdout = Vec::new();
        let calls = std::cell::Cell::new(0usize);
        let list = move |_: &Path| Ok(keys.clone());
        let check = |url: &str| {
            calls.set(calls.get() + 1);
            if calls.get() > urls_ok_from {
                Ok(())
            } else {
                Err(format!("Get {}: refused", go_quote(url)))
            }
        };
        let mut prompter = Prompter {
            input: &mut input,
            stdout: &mut stdout,
            list_keys: &list,
            check_url: &check,
        };
        let result = make_configuration(&file, &gnupg, &mut prompter);
        (result, String::from_utf8(stdout).unwrap(), dir)
    }

    fn two_keys() -> Vec<SecretKey> {
        vec![
            SecretKey {
                user_id: "Alice".to_owned(),
                fingerprint: "AAAA".to_owned(),
            },
            SecretKey {
                user_id: "Bob \"B\"".to_owned(),
                fingerprint: "BBBB".to_owned(),
            },
        ]
    }

    #[test]
    fn writes_the_originals_file() {
        let (result, out, dir) = run("\nn\ny\nnowhere\nhttp://api/v1/\n", two_keys(), 1);
        result.unwrap();
        let file = dir.path().join(".migrc");
        assert_eq!(
            out,
            format!(
                "generate a new configuration file at {f}? (Y/n)> \
                 found key \"Alice\" with fingerprint \"AAAA\".\nuse this key? (Y/n)> \
                 found key \"Bob \\\"B\\\"\" with fingerprint \"BBBB\".\nuse this key? (Y/n)> \
                 using key \"BBBB\"\n\
                 URL of API? (e.g., https://mig.example.net/api/v1/)> \
                 API connection failed: Get \"nowhere\": refused\n\
                 URL of API? (e.g., https://mig.example.net/api/v1/)> \
                 \ncreated configuration file at {f}\n\n",
                f = file.display()
            )
        );
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            written,
            format!(
                "[api]\n\turl = \"http://api/v1/\"\n[gpg]\n\thome = \"{}\"\n\tkeyid = \"BBBB\"\n[targets]\n\tmacro = allonline:status='online'\n",
                dir.path().join(".gnupg").display()
            )
        );
        let migrc = Migrc::load(&file).unwrap();
        assert_eq!(migrc.api_url, "http://api/v1/");
        assert_eq!(migrc.gpg_keyid, "BBBB");
        assert_eq!(migrc.expand_target("allonline"), "status='online'");
    }

    #[test]
    fn refusals_and_end_of_input() {
        let (result, out, _dir) = run("n\n", two_keys(), 0);
        assert_eq!(
            result.unwrap_err().to_string(),
            "aborting creating configuration file"
        );
        assert!(out.ends_with("(Y/n)> "), "{out}");
        let (result, _, dir) = run("y\nn\nn\n", two_keys(), 0);
        assert_eq!(
            result.unwrap_err().to_string(),
            format!(
                "no suitable key found in {}",
                dir.path().join(".gnupg").display()
            )
        );
        // End of input: yes, yes, then no URL.
        let (result, out, dir) = run("", two_keys(), 0);
        assert_eq!(
            result.unwrap_err().to_string(),
            "no API URL given before the end of input"
        );
        assert!(out.contains("using key \"AAAA\""), "{out}");
        assert!(!dir.path().join(".migrc").exists());
    }
}
