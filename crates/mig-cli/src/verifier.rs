//! `mig-action-verifier`: checks an action (or a command's action) the way an
//! agent would, and says why it would be refused.
//!
//! ```text
//! mig-action-verifier -a ACTION.json [-k KEYDIR] [-acl ACL.cfg] [-now RFC3339] [-skew 60s] [-show-string]
//! mig-action-verifier -c COMMAND.json ...
//! ```
//!
//! Success prints `Valid signature` (and `ACL: authorized` with `-acl`) and exits
//! 0; any failure prints one line `[error] <why>` on stdout and exits 1.
//! Unlike the original, a bad signature is a failure (it exited 0), and the
//! keys come from `gpg --export` rather than a GnuPG 1 `pubring.gpg`. The
//! configuration is `-conf`, else `~/.migrc` when it exists (no generator:
//! verifying needs no API): its `gpg.home`, and the public half of its
//! `gpg.secretkeyfile` when it has one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use mig_client::migrc::Migrc;
use mig_protocol::acl::{self, Acl, VerifyPolicy};
use mig_protocol::gcfg::parse_go_duration;
use mig_protocol::pgp::{Keyring, SecretKeySigner};
use mig_protocol::{Action, Command, GoTime};

use crate::goflag::{FlagError, FlagSet};

const USAGE_HEAD: &str = "Mozilla InvestiGator Action Verifier
usage: mig-action-verifier <-a action file> <-c command file> [-k key dir] [-acl acl.cfg] [-now RFC3339] [-show-string]

Command line to verify an action *or* command.
Options:
";

fn flags() -> FlagSet {
    FlagSet::new()
        .bool("V", "Show build version and exit")
        .string("a", "", "Load action from file")
        .string("c", "", "Load command from file")
        .string("conf", "", "Load configuration from file (default ~/.migrc); its gpg home holds the public keys")
        .string("k", "", "Directory of armored public keys (an agent's agentkeys dir); default: the GnuPG public keyring")
        .string("acl", "", "Also check the agent ACL in this file (acl.cfg)")
        .string("now", "", "Check the validity window at this time (RFC 3339), default now")
        .string("skew", "60s", "Clock-skew allowance on both ends of the validity window, as the agent's")
        .bool("show-string", "Print the exact signing string and exit")
}

/// Runs the tool with `args` (without the program name); returns the exit code.
pub fn run(args: &[String], stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let flag_set = flags();
    let parsed = match flag_set.parse(args.iter().cloned()) {
        Ok(parsed) => parsed,
        Err(FlagError::Help) => {
            let _ = write!(stderr, "{USAGE_HEAD}{}", flag_set.defaults());
            return 0;
        }
        Err(err) => {
            let _ = writeln!(stdout, "[error] {err}");
            let _ = write!(stderr, "{USAGE_HEAD}{}", flag_set.defaults());
            return 1;
        }
    };
    if parsed.bool("V") {
        let _ = writeln!(stdout, "{}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    let action_file = parsed.string("a");
    let command_file = parsed.string("c");
    if action_file.is_empty() == command_file.is_empty() {
        let _ = writeln!(
            stdout,
            "[error] either an action file or a command file must be provided"
        );
        let _ = write!(stderr, "{USAGE_HEAD}{}", flag_set.defaults());
        return 1;
    }
    let options = Options {
        action_file: (!action_file.is_empty()).then(|| PathBuf::from(action_file)),
        command_file: (!command_file.is_empty()).then(|| PathBuf::from(command_file)),
        key_dir: (!parsed.string("k").is_empty()).then(|| PathBuf::from(parsed.string("k"))),
        migrc: (!parsed.string("conf").is_empty()).then(|| PathBuf::from(parsed.string("conf"))),
        acl_file: (!parsed.string("acl").is_empty()).then(|| PathBuf::from(parsed.string("acl"))),
        now: parsed.string("now").to_owned(),
        skew: parsed.string("skew").to_owned(),
        show_string: parsed.bool("show-string"),
    };
    match verify(&options, stdout) {
        Ok(()) => 0,
        Err(message) => {
            let _ = writeln!(stdout, "[error] {message}");
            1
        }
    }
}

struct Options {
    action_file: Option<PathBuf>,
    command_file: Option<PathBuf>,
    key_dir: Option<PathBuf>,
    migrc: Option<PathBuf>,
    acl_file: Option<PathBuf>,
    now: String,
    skew: String,
    show_string: bool,
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()))
}

fn load_action(options: &Options) -> Result<Action, String> {
    if let Some(path) = &options.action_file {
        return Action::from_json(&read_file(path)?)
            .map_err(|err| format!("{} is not a valid action: {err}", path.display()));
    }
    let path = options
        .command_file
        .as_deref()
        .ok_or("no action or command file")?;
    let command = Command::from_json(&read_file(path)?)
        .map_err(|err| format!("{} is not a valid command: {err}", path.display()))?;
    command.check_returned().map_err(|err| err.to_string())?;
    Ok(command.action)
}

fn verify(options: &Options, stdout: &mut dyn Write) -> Result<(), String> {
    let action = load_action(options)?;
    if options.show_string {
        stdout
            .write_all(action.signing_string().as_bytes())
            .map_err(|err| err.to_string())?;
        return Ok(());
    }
    let now = if options.now.is_empty() {
        GoTime::now()
    } else {
        GoTime::parse(&options.now)
            .map_err(|err| format!("invalid -now {:?}: {err}", options.now))?
    };
    let skew = parse_go_duration(&options.skew)
        .map_err(|err| format!("invalid -skew {:?}: {err}", options.skew))?;
    let skew = chrono::Duration::from_std(skew)
        .map_err(|err| format!("invalid -skew {:?}: {err}", options.skew))?;
    let keyring = load_keyring(options)?;
    if keyring.is_empty() {
        return Err("no public keys to verify with".to_owned());
    }
    let acl = match &options.acl_file {
        Some(path) => Some(
            Acl::from_json(&read_file(path)?)
                .map_err(|err| format!("{}: {err}", path.display()))?,
        ),
        None => None,
    };
    // Signatures first, so "Valid signature" is printed before an ACL refusal.
    let signature_policy = VerifyPolicy {
        now,
        skew,
        acl: None,
    };
    let signers =
        acl::verify_action(&action, &keyring, &signature_policy).map_err(|err| err.to_string())?;
    let _ = writeln!(stdout, "Valid signature");
    if let Some(acl) = &acl {
        acl.authorize(
            action.operations().iter().map(|op| op.module.as_str()),
            &signers,
        )
        .map_err(|err| err.to_string())?;
        let _ = writeln!(stdout, "ACL: authorized");
    }
    Ok(())
}

fn load_keyring(options: &Options) -> Result<Keyring, String> {
    if let Some(dir) = &options.key_dir {
        return Keyring::load_dir(dir).map_err(|err| err.to_string());
    }
    let migrc = match &options.migrc {
        Some(path) => Migrc::load(path).map_err(|err| err.to_string())?,
        None => {
            let path = Migrc::default_path();
            match Migrc::load(&path) {
                Ok(migrc) => migrc,
                Err(mig_client::migrc::MigrcError::Missing { .. }) => Migrc::default(),
                Err(err) => return Err(err.to_string()),
            }
        }
    };
    // A `.migrc` that signs with a secret key file (`gpg.secretkeyfile`, as
    // mig-quickstart writes) verifies with that key's public half; GnuPG's
    // keyring is read too unless the file names no GnuPG home.
    let Some(secret_key_file) = &migrc.secret_key_file else {
        return export_gnupg_keys(migrc.gpg_home.as_deref());
    };
    let mut keyring = match &migrc.gpg_home {
        Some(home) => export_gnupg_keys(Some(home))?,
        None => Keyring::new(),
    };
    let text = std::fs::read_to_string(secret_key_file).map_err(|err| {
        format!(
            "cannot read the secret key file {}: {err}",
            secret_key_file.display()
        )
    })?;
    let passphrase = std::env::var("MIGPGPPASSPHRASE").ok();
    let key = SecretKeySigner::from_armored(&text, passphrase.as_deref())
        .map_err(|err| format!("secret key file {}: {err}", secret_key_file.display()))?;
    keyring.add(key.public_key());
    Ok(keyring)
}

/// The investigator's GnuPG public keyring, through `gpg --export`.
fn export_gnupg_keys(home: Option<&Path>) -> Result<Keyring, String> {
    let mut gpg = Process::new("gpg");
    if let Some(home) = home {
        gpg.arg("--homedir").arg(home);
    }
    let output = gpg
        .args(["--batch", "--armor", "--export"])
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run gpg to read the public keyring: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "gpg --export failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    if text.trim().is_empty() {
        return Ok(Keyring::new());
    }
    Keyring::from_armored_keys(&text).map_err(|err| err.to_string())
}
