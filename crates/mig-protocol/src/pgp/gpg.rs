//! Signing through the investigator's own GnuPG.
//!
//! GnuPG ≥ 2.1 keeps secret keys behind gpg-agent (pinentry, smartcards), so the
//! only portable way to sign with them is to run `gpg` itself.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::armor::dearmor_signature;
use super::{PgpError, Signer};

/// Signs by running `gpg --batch --armor --detach-sign -u <keyid>` with the data on stdin.
#[derive(Debug, Clone)]
pub struct GpgSigner {
    keyid: String,
    program: PathBuf,
    homedir: Option<PathBuf>,
    fingerprint: OnceLock<String>,
}

impl GpgSigner {
    /// Sign as `keyid` (anything gpg's `-u` accepts; a fingerprint is best).
    pub fn new(keyid: &str) -> Self {
        Self {
            keyid: keyid.to_string(),
            program: PathBuf::from("gpg"),
            homedir: None,
            fingerprint: OnceLock::new(),
        }
    }

    /// Use this GnuPG home directory (`--homedir`) instead of the default.
    pub fn with_homedir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.homedir = Some(dir.into());
        self
    }

    /// Run this program instead of `gpg` found on `PATH`.
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        if let Some(dir) = &self.homedir {
            cmd.arg("--homedir").arg(dir);
        }
        cmd.arg("--batch");
        cmd
    }

    fn run(&self, mut cmd: Command, stdin: &[u8]) -> Result<Vec<u8>, PgpError> {
        let spawn_err = |source| PgpError::GpgSpawn {
            program: self.program.clone(),
            source,
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        // Write from another thread: gpg may fill its output pipes before reading all
        // of a large input.
        let writer = child.stdin.take().map(|mut pipe| {
            let data = stdin.to_vec();
            std::thread::spawn(move || pipe.write_all(&data))
        });
        let output = child.wait_with_output().map_err(spawn_err)?;
        if let Some(writer) = writer {
            // A write error (gpg exited early) shows in gpg's status and stderr below.
            let _ = writer.join();
        }
        if !output.status.success() {
            return Err(PgpError::Gpg {
                program: self.program.clone(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(output.stdout)
    }

    /// Ask gpg for the primary fingerprint of the signing key.
    fn lookup_fingerprint(&self) -> Option<String> {
        let mut cmd = self.command();
        cmd.args(["--with-colons", "--fingerprint", "--list-secret-keys", "--"])
            .arg(&self.keyid);
        let out = self.run(cmd, b"").ok()?;
        let text = String::from_utf8_lossy(&out);
        // The first `fpr` record after the first `sec` record is the primary key's.
        let mut seen_sec = false;
        for line in text.lines() {
            let mut fields = line.split(':');
            match fields.next() {
                Some("sec") => seen_sec = true,
                Some("fpr") if seen_sec => {
                    return fields
                        .nth(8)
                        .filter(|f| !f.is_empty())
                        .map(str::to_uppercase);
                }
                _ => {}
            }
        }
        None
    }
}

impl Signer for GpgSigner {
    fn sign(&self, data: &[u8]) -> Result<String, PgpError> {
        let mut cmd = self.command();
        cmd.args(["--armor", "--detach-sign", "-u"])
            .arg(&self.keyid);
        let out = self.run(cmd, data)?;
        dearmor_signature(&String::from_utf8_lossy(&out))
    }

    /// The primary fingerprint as gpg lists it; the key id given to [`GpgSigner::new`]
    /// (uppercased) if gpg cannot tell.
    fn fingerprint(&self) -> String {
        self.fingerprint
            .get_or_init(|| {
                self.lookup_fingerprint()
                    .unwrap_or_else(|| self.keyid.to_uppercase())
            })
            .clone()
    }
}
