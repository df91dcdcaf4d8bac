//! Heartbeats published on the relay by legacy agents (spec protocol.md §7.8),
//! written to the store in batches; current agents POST theirs to the API.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use mig_protocol::Agent;
use mig_protocol::relay::{MAX_HEARTBEAT_BYTES, QUEUE_HEARTBEATS};
use mig_relay::{Delivery, Relay};
use mig_store::Store;
use mig_store::store::HeartbeatOutcome;
use regex::Regex;

use crate::Shared;
use crate::periodic::handle_duplicate_queueloc;
use crate::results::{next_batch, requeue, subscribe};

/// The queueloc whitelist of legacy heartbeats: exact queuelocs, or `re:<regex>`
/// lines matched against the whole queueloc.
#[derive(Debug, Default, Clone)]
pub struct Whitelist {
    exact: Vec<String>,
    patterns: Vec<Regex>,
}

impl Whitelist {
    /// Parses the whitelist file's text; a bad regular expression is an error naming its line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut whitelist = Whitelist::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match line.strip_prefix("re:").filter(|_| line.len() > 4) {
                Some(expression) => {
                    let regex = Regex::new(&format!("^(?:{expression})$"))
                        .map_err(|err| format!("line {}: {err}", index + 1))?;
                    whitelist.patterns.push(regex);
                }
                None => whitelist.exact.push(line.to_owned()),
            }
        }
        Ok(whitelist)
    }

    /// Reads the whitelist file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        Self::parse(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    /// Whether `queueloc` may heartbeat.
    pub fn allows(&self, queueloc: &str) -> bool {
        self.exact.iter().any(|entry| entry == queueloc)
            || self
                .patterns
                .iter()
                .any(|pattern| pattern.is_match(queueloc))
    }
}

pub(crate) async fn heartbeat_loop<S: Store, R: Relay>(shared: Arc<Shared<S, R>>) {
    // Twice a batch, so that the relay keeps delivering while a batch is written
    // (the one being gathered, the one being written).
    let prefetch =
        u16::try_from(shared.tuning.heartbeat_batch.saturating_mul(2)).unwrap_or(u16::MAX);
    let Some(mut subscription) = subscribe(&shared, QUEUE_HEARTBEATS, prefetch).await else {
        return;
    };
    // A batch is written while the next one is gathered, so that reading from
    // the relay and writing to the database overlap. One writer keeps the
    // batches in order, which their acknowledgements (`multiple`) rely on.
    let (batches, mut to_write) = tokio::sync::mpsc::channel::<Vec<Delivery>>(1);
    let reader = async {
        let batches = batches;
        while let Some(batch) =
            next_batch(&shared, &mut subscription, shared.tuning.heartbeat_batch).await
        {
            if batches.send(batch).await.is_err() {
                return;
            }
        }
    };
    let writer = async {
        while let Some(batch) = to_write.recv().await {
            if !process_heartbeats(&shared, batch).await
                && !shared.pause(shared.tuning.retry_pause).await
            {
                return;
            }
        }
    };
    tokio::join!(reader, writer);
}

/// Validates one heartbeat as the original did; `None` means drop it.
pub(crate) fn accept_heartbeat(
    body: &[u8],
    timeout: chrono::Duration,
    now: chrono::DateTime<Utc>,
    whitelist: Option<&Whitelist>,
) -> Option<Agent> {
    if body.len() > MAX_HEARTBEAT_BYTES {
        tracing::warn!(bytes = body.len(), "heartbeat too large, dropped");
        return None;
    }
    let mut agent = match Agent::from_json(body) {
        Ok(agent) => agent,
        Err(err) => {
            tracing::warn!(error = %err, "heartbeat is not an agent document, dropped");
            return None;
        }
    };
    if agent.heartbeatts.to_utc() < now - timeout {
        tracing::debug!(queueloc = %agent.queueloc, "stale heartbeat dropped");
        return None;
    }
    if !matches!(agent.mode.as_str(), "" | "daemon" | "checkin")
        || agent.name.len() > 1024
        || agent.version.len() > 128
        || agent.queueloc.is_empty()
    {
        tracing::warn!(queueloc = %agent.queueloc, "invalid heartbeat dropped");
        return None;
    }
    if let Some(whitelist) = whitelist
        && !whitelist.allows(&agent.queueloc)
    {
        tracing::warn!(queueloc = %agent.queueloc, "heartbeat from an agent not in the whitelist, ignored");
        return None;
    }
    agent.heartbeatts = now.into();
    Some(agent)
}

async fn process_heartbeats<S: Store, R: Relay>(
    shared: &Shared<S, R>,
    mut batch: Vec<Delivery>,
) -> bool {
    let now = Utc::now();
    let timeout =
        chrono::Duration::from_std(shared.config.agent.timeout).unwrap_or(chrono::Duration::MAX);
    let whitelist = match &shared.config.agent.whitelist {
        Some(path) => match Whitelist::load(path) {
            Ok(whitelist) => Some(whitelist),
            Err(err) => {
                // Fail closed: a broken whitelist admits nobody.
                tracing::error!(error = %err, "cannot read the agent whitelist; heartbeats ignored");
                Some(Whitelist::default())
            }
        },
        None => None,
    };
    let agents: Vec<Agent> = batch
        .iter()
        .filter_map(|delivery| accept_heartbeat(&delivery.body, timeout, now, whitelist.as_ref()))
        .collect();
    if !agents.is_empty() {
        let started = std::time::Instant::now();
        match shared.store.upsert_heartbeats(&agents, now).await {
            Ok(outcomes) => {
                tracing::debug!(
                    heartbeats = agents.len(),
                    store_ms = started.elapsed().as_millis() as u64,
                    "heartbeats stored"
                );
                for (agent, outcome) in agents.iter().zip(outcomes) {
                    if let HeartbeatOutcome::RevivedDestroyed(_) = outcome
                        && shared.config.agent.detect_multi_agents
                    {
                        handle_duplicate_queueloc(shared, &agent.queueloc, now).await;
                    }
                }
            }
            Err(err) => {
                tracing::error!(error = %err, heartbeats = agents.len(), "cannot store heartbeats; they go back to the queue");
                for delivery in batch {
                    requeue(delivery).await;
                }
                return false;
            }
        }
    }
    // One acknowledgement for the whole batch: the deliveries of a batch are
    // consecutive on their subscription and every one of them is settled now.
    if let Some(last) = batch.pop()
        && let Err(err) = last.ack_multiple().await
    {
        tracing::warn!(error = %err, "cannot acknowledge heartbeats; the relay will redeliver them");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitelist_entries() {
        let whitelist = Whitelist::parse("linux.abc\nre:linux\\.z.*\n\nre:\n").unwrap();
        assert!(whitelist.allows("linux.abc"));
        assert!(whitelist.allows("linux.zzz"));
        assert!(!whitelist.allows("xlinux.zzz"));
        assert!(!whitelist.allows("linux.ab"));
        // "re:" alone is four characters: an exact entry, not a pattern.
        assert!(whitelist.allows("re:"));
        assert!(
            Whitelist::parse("re:((\n")
                .unwrap_err()
                .starts_with("line 1:")
        );
    }

    #[test]
    fn heartbeat_validation() {
        let now = Utc::now();
        let timeout = chrono::Duration::minutes(20);
        let fresh = format!(
            r#"{{"name":"h","queueloc":"linux.q","mode":"daemon","pid":1,"heartbeatts":"{}"}}"#,
            mig_protocol::GoTime::from(now)
        );
        assert!(accept_heartbeat(fresh.as_bytes(), timeout, now, None).is_some());
        // Decoding is case-insensitive, as the original's.
        let camel = fresh.replace("queueloc", "queueLoc");
        assert_eq!(
            accept_heartbeat(camel.as_bytes(), timeout, now, None)
                .unwrap()
                .queueloc,
            "linux.q"
        );
        let stale = r#"{"name":"h","queueloc":"linux.q","mode":"daemon","pid":1}"#;
        assert!(accept_heartbeat(stale.as_bytes(), timeout, now, None).is_none());
        let bad_mode = fresh.replace("daemon", "evil");
        assert!(accept_heartbeat(bad_mode.as_bytes(), timeout, now, None).is_none());
        let whitelist = Whitelist::parse("linux.other\n").unwrap();
        assert!(accept_heartbeat(fresh.as_bytes(), timeout, now, Some(&whitelist)).is_none());
        assert!(
            accept_heartbeat(&vec![b' '; MAX_HEARTBEAT_BYTES + 1], timeout, now, None).is_none()
        );
    }
}
