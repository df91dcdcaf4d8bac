//! The replay guard: an action already run is refused while it is still valid.
//!
//! The original had none (§4.4 step 8): the same command delivered twice ran
//! twice. The guard keeps the ids of the actions run, each with its
//! `expireafter`, in `<rundir>/mig-agent.replay` (one `<id> <unix seconds>`
//! line each, written to a temporary file then renamed), so a restarted agent
//! still refuses them. Entries are dropped once their action has expired
//! beyond the clock-skew allowance: the window check refuses it from then on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mig_protocol::Id;

/// Errors of the replay guard.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("action {0} was already run")]
    Replayed(Id),
    #[error("cannot record action {id} in {path}: {source}")]
    Write {
        id: Id,
        path: String,
        source: std::io::Error,
    },
}

/// The set of actions run, persisted in the run directory.
#[derive(Debug)]
pub struct ReplayGuard {
    path: PathBuf,
    /// Action id → `expireafter` (Unix seconds).
    seen: BTreeMap<u64, i64>,
    /// How long after `expireafter` an entry is kept (the clock-skew allowance).
    grace_seconds: i64,
}

impl ReplayGuard {
    /// The file of the guard in `run_dir`.
    pub fn file(run_dir: &Path) -> PathBuf {
        run_dir.join("mig-agent.replay")
    }

    /// Loads the guard of `run_dir` (a missing or damaged file is an empty guard;
    /// damaged lines are skipped).
    pub fn load(run_dir: &Path, grace: std::time::Duration) -> Self {
        let path = Self::file(run_dir);
        let seen = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (id, expire) = line.split_once(' ')?;
                Some((id.parse().ok()?, expire.trim().parse().ok()?))
            })
            .collect();
        Self {
            path,
            seen,
            grace_seconds: i64::try_from(grace.as_secs()).unwrap_or(i64::MAX),
        }
    }

    /// How many actions are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no action is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Records action `id` (valid until `expire_after`, Unix seconds) as run,
    /// or refuses it if it already was. The record is on disk before this
    /// returns `Ok`.
    pub fn check_and_record(
        &mut self,
        id: Id,
        expire_after: i64,
        now: i64,
    ) -> Result<(), ReplayError> {
        let grace = self.grace_seconds;
        self.seen
            .retain(|_, expire| expire.saturating_add(grace) >= now);
        if self.seen.contains_key(&id.0) {
            return Err(ReplayError::Replayed(id));
        }
        self.seen.insert(id.0, expire_after);
        let mut text = String::new();
        for (seen_id, expire) in &self.seen {
            text.push_str(&format!("{seen_id} {expire}\n"));
        }
        let temporary = self.path.with_extension("replay.tmp");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &self.path))
            .map_err(|source| {
                self.seen.remove(&id.0);
                ReplayError::Write {
                    id,
                    path: self.path.display().to_string(),
                    source,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn replays_are_refused_across_restarts_until_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let grace = Duration::from_secs(60);
        let mut guard = ReplayGuard::load(dir.path(), grace);
        guard.check_and_record(Id(7), 1_000, 500).unwrap();
        assert!(matches!(
            guard.check_and_record(Id(7), 1_000, 600),
            Err(ReplayError::Replayed(Id(7)))
        ));
        let mut restarted = ReplayGuard::load(dir.path(), grace);
        assert_eq!(restarted.len(), 1);
        assert!(restarted.check_and_record(Id(7), 1_000, 700).is_err());
        // Long expired: forgotten (the window check refuses it anyway).
        restarted.check_and_record(Id(8), 5_000, 2_000).unwrap();
        assert_eq!(ReplayGuard::load(dir.path(), grace).len(), 1);
    }
}
