//! The agent's identity (spec protocol.md §8.6): the agent id kept in
//! `<rundir>/.migagtid` and the queueloc `<os>.<id>` derived from it.
//!
//! The id is the base-36 renderings of 8 random 63-bit integers, ≈ 100
//! lowercase alphanumerics, drawn from the operating system's RNG (the
//! original seeded a non-cryptographic PRNG with the clock). It also serves as
//! the shared secret of the stat socket's `/shutdown`.

use std::path::Path;

use rand::RngCore;

/// Errors about the agent id.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot prepare run directory {path}: {source}")]
    RunDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write agent id file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The `GOOS` of this build.
pub fn os_name() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// The `GOARCH` of this build.
pub fn arch_name() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Whether `id` is an acceptable agent id: `^[0-9a-zA-Z]{80,}$`.
pub fn is_valid_id(id: &str) -> bool {
    id.len() >= 80 && id.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

fn base36(mut value: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if value == 0 {
        return "0".to_owned();
    }
    let mut digits = Vec::new();
    while value > 0 {
        digits.push(DIGITS[(value % 36) as usize]);
        value /= 36;
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// A new agent id from the OS RNG (at least 80 characters).
pub fn generate_id() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut id = String::new();
    while id.len() < 80 {
        id.clear();
        for _ in 0..8 {
            id.push_str(&base36(rng.next_u64() >> 1));
        }
    }
    id
}

/// The agent id of `run_dir`: the content of `.migagtid` when valid,
/// otherwise a new id written there (mode 0400; the run dir is created with
/// mode 0755, and a non-directory in its place is removed).
pub fn load_or_create_id(run_dir: &Path) -> Result<String, IdentityError> {
    let file = run_dir.join(".migagtid");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let id = text.trim();
        if is_valid_id(id) {
            return Ok(id.to_owned());
        }
    }
    let run_dir_error = |source| IdentityError::RunDir {
        path: run_dir.display().to_string(),
        source,
    };
    if run_dir.exists() && !run_dir.is_dir() {
        std::fs::remove_file(run_dir).map_err(run_dir_error)?;
    }
    std::fs::create_dir_all(run_dir).map_err(run_dir_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(run_dir, std::fs::Permissions::from_mode(0o755))
            .map_err(run_dir_error)?;
    }
    let id = generate_id();
    let write_error = |source| IdentityError::Write {
        path: file.display().to_string(),
        source,
    };
    // A previous read-only file cannot be truncated in place.
    let _ = std::fs::remove_file(&file);
    std::fs::write(&file, &id).map_err(write_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400))
            .map_err(write_error)?;
    }
    Ok(id)
}

/// The queueloc of an agent id: `<os>.<id>`.
pub fn queueloc(id: &str) -> String {
    format!("{}.{id}", os_name())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let first = generate_id();
        assert!(is_valid_id(&first), "{first}");
        assert!(
            first
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
        assert_ne!(first, generate_id());
        assert!(!is_valid_id("linux.host.1234"));
    }

    #[test]
    fn id_file_is_reused_and_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("run");
        let id = load_or_create_id(&run_dir).unwrap();
        assert_eq!(load_or_create_id(&run_dir).unwrap(), id);
        let file = run_dir.join(".migagtid");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), id);
        // An old-format id is replaced.
        std::fs::remove_file(&file).unwrap();
        std::fs::write(&file, "host.example.1234").unwrap();
        let new = load_or_create_id(&run_dir).unwrap();
        assert_ne!(new, id);
        assert!(is_valid_id(&new));
        assert_eq!(queueloc("abc"), format!("{}.abc", os_name()));
    }
}
