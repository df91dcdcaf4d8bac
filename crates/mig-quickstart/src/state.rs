//! The state directory: everything the quickstart keeps between runs.
//!
//! ```text
//! <state>/mig.db               SQLite store (actions, commands, agents, investigators)
//! <state>/investigator.key     the investigator's armored secret key (ed25519, 0600)
//! <state>/investigator.asc     its public key
//! <state>/agentkeys/           the agent's keyring (the investigator's public key)
//! <state>/acl.cfg              the agent's ACL: that key, weight enough for every module
//! <state>/mig-agent.cfg        the agent's configuration (module children read it too)
//! <state>/run/                 the agent's run dir (.migagtid: the same agent every run)
//! <state>/migrc                a .migrc for `mig` (gpg.secretkeyfile: no gpg needed)
//! <state>/quickstart.log       the platform's logs
//! ```
//!
//! The key is made once and read back on later runs; the configuration files
//! depend on the API's address and are rewritten at every start.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use mig_protocol::pgp::{KeyAlgo, SecretKeySigner, Signer};

/// The investigator's name in the store and the key's user id.
pub const INVESTIGATOR_NAME: &str = "quickstart investigator";
const USER_ID: &str = "mig-quickstart investigator <quickstart@mig.invalid>";

/// The agent's heartbeat period (the scheduler is told the same).
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// The state directory and its files.
#[derive(Debug, Clone)]
pub struct State {
    pub dir: PathBuf,
}

impl State {
    /// `~/.mig-quickstart`, or `./.mig-quickstart` without a `$HOME`.
    pub fn default_dir() -> PathBuf {
        std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".mig-quickstart")
    }

    /// Creates the directory (0700) if needed; the path is made absolute so
    /// that the files written here work from any directory.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let dir = if dir.is_absolute() {
            dir.to_owned()
        } else {
            std::env::current_dir()
                .context("cannot read the current directory")?
                .join(dir)
        };
        create_private_dir(&dir)?;
        for sub in ["agentkeys", "run"] {
            create_private_dir(&dir.join(sub))?;
        }
        Ok(Self { dir })
    }

    pub fn database(&self) -> PathBuf {
        self.dir.join("mig.db")
    }
    pub fn secret_key(&self) -> PathBuf {
        self.dir.join("investigator.key")
    }
    pub fn public_key(&self) -> PathBuf {
        self.dir.join("investigator.asc")
    }
    pub fn agent_keys(&self) -> PathBuf {
        self.dir.join("agentkeys")
    }
    pub fn acl(&self) -> PathBuf {
        self.dir.join("acl.cfg")
    }
    pub fn agent_config(&self) -> PathBuf {
        self.dir.join("mig-agent.cfg")
    }
    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }
    pub fn migrc(&self) -> PathBuf {
        self.dir.join("migrc")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("quickstart.log")
    }

    /// The investigator's key: read back, or generated (ed25519) on the first run.
    /// Returns the signer and whether it was made now.
    pub fn investigator_key(&self) -> anyhow::Result<(SecretKeySigner, bool)> {
        let path = self.secret_key();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let signer = SecretKeySigner::from_armored(&text, None)
                    .with_context(|| format!("investigator key {}", path.display()))?;
                Ok((signer, false))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let signer = SecretKeySigner::generate(KeyAlgo::Ed25519, USER_ID)
                    .context("cannot generate the investigator key")?;
                let armored = signer
                    .to_armored_secret()
                    .context("cannot armor the investigator key")?;
                write_private(&path, &armored)?;
                Ok((signer, true))
            }
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the agent's trust material and configuration, and the `.migrc`,
    /// for an API at `api_url` (ending with `/`).
    pub fn write_files(&self, signer: &SecretKeySigner, api_url: &str) -> anyhow::Result<()> {
        let public = signer.public_key();
        let armored = public
            .to_armored()
            .context("cannot armor the investigator's public key")?;
        write_file(&self.public_key(), &armored)?;
        write_file(&self.agent_keys().join("investigator.asc"), &armored)?;
        write_file(&self.acl(), &acl_json(&signer.fingerprint()))?;
        write_file(&self.agent_config(), &self.agent_config_text(api_url))?;
        write_file(&self.migrc(), &self.migrc_text(api_url))?;
        Ok(())
    }

    fn agent_config_text(&self, api_url: &str) -> String {
        let mut text = String::from(
            "; written by mig-quickstart at every start\n\
             ; the agent runs in the quickstart process, on its in-process relay\n[agent]\n",
        );
        let lines = [
            ("relay", "amqp://in-process/".to_owned()),
            ("api", api_url.to_owned()),
            ("socket", String::new()),
            ("heartbeatfreq", format!("{}s", HEARTBEAT.as_secs())),
            ("heartbeat", "amqp".to_owned()),
            ("moduletimeout", "60s".to_owned()),
            ("installservice", "false".to_owned()),
            ("discoverpublicip", "false".to_owned()),
            ("discoverawsmeta", "false".to_owned()),
            ("nopersistmods", "true".to_owned()),
            ("refreshenv", "0s".to_owned()),
            ("rundir", self.run_dir().display().to_string()),
            ("agentkeys", self.agent_keys().display().to_string()),
            ("aclfile", self.acl().display().to_string()),
        ];
        for (key, value) in lines {
            let _ = writeln!(text, "    {key} = \"{}\"", escape(&value));
        }
        text.push_str("[logging]\n    mode = \"stdout\"\n    level = \"info\"\n");
        text
    }

    fn migrc_text(&self, api_url: &str) -> String {
        format!(
            "; written by mig-quickstart: mig file -c {} ...\n\
             [api]\n    url = \"{}\"\n\
             [gpg]\n    secretkeyfile = \"{}\"\n\
             [targets]\n    macro = allonline:status='online'\n    macro = allidle:status='idle'\n",
            self.migrc().display(),
            escape(api_url),
            escape(&self.secret_key().display().to_string()),
        )
    }
}

/// An ACL giving `fingerprint` weight 2 on every module (`default`), with a
/// minimum weight of 2.
pub fn acl_json(fingerprint: &str) -> String {
    format!(
        "{{\"default\":{{\"minimumweight\":2,\"investigators\":{{\"quickstart\":{{\"fingerprint\":\"{fingerprint}\",\"weight\":2}}}}}}}}\n"
    )
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    if dir.exists() {
        bail!("{} exists and is not a directory", dir.display());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn acl_authorizes_the_key_alone() {
        let fingerprint = "0123456789ABCDEF0123456789ABCDEF01234567";
        let acl = mig_protocol::acl::Acl::from_json(acl_json(fingerprint).as_bytes()).unwrap();
        for module in mig_agent::runner::module_names() {
            acl.authorize([module.as_str()], &[fingerprint.to_lowercase()])
                .unwrap();
        }
        let other = "F123456789ABCDEF0123456789ABCDEF01234567".to_owned();
        assert!(acl.authorize(["file"], &[other]).is_err());
    }

    #[test]
    fn agent_config_and_migrc_parse() {
        let dir = std::env::temp_dir().join(format!("migqs-unit-{}", std::process::id()));
        let state = State::open(&dir).unwrap();
        let url = "http://127.0.0.1:51664/api/v1/";
        let mut config = mig_agent::AgentConfig::builtin().unwrap();
        config
            .apply_text("mig-agent.cfg", &state.agent_config_text(url))
            .unwrap();
        assert_eq!(config.api, url);
        assert!(config.socket.is_empty());
        assert!(!config.spawn_persistent);
        assert_eq!(config.run_dir, state.run_dir());
        assert_eq!(config.heartbeat_freq, HEARTBEAT);
        let migrc = mig_client::migrc::Migrc::parse("migrc", &state.migrc_text(url)).unwrap();
        assert_eq!(migrc.api_url, url);
        assert_eq!(migrc.secret_key_file, Some(state.secret_key()));
        assert_eq!(migrc.expand_target("allonline"), "status='online'");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
