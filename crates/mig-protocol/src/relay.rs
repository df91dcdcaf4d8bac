//! Names and message properties of the relay topology (spec protocol.md §5).
//!
//! Every AMQP exchange, queue and routing key of MIG is spelled here and only here.

/// The virtual host of the deployment guide.
pub const DEFAULT_VHOST: &str = "mig";

/// Direct, durable exchange carrying commands to agents.
pub const EXCHANGE_TO_AGENTS: &str = "toagents";

/// Direct, durable exchange carrying results (and legacy heartbeats) to schedulers.
pub const EXCHANGE_TO_SCHEDULERS: &str = "toschedulers";

/// Topic exchange of the legacy worker events.
pub const EXCHANGE_TO_WORKERS: &str = "toworkers";

/// Prefix of every agent queue and routing key.
pub const AGENT_QUEUE_PREFIX: &str = "mig.agt.";

/// Queue and routing key of results.
pub const QUEUE_RESULTS: &str = "mig.agt.results";

/// Queue and routing key of legacy AMQP heartbeats.
pub const QUEUE_HEARTBEATS: &str = "mig.agt.heartbeats";

/// Content type of every MIG message, although the body is JSON [COMPAT].
pub const CONTENT_TYPE: &str = "text/plain";

/// AMQP persistent delivery mode.
pub const DELIVERY_MODE_PERSISTENT: u8 = 2;

/// Largest legacy heartbeat body the scheduler accepts.
pub const MAX_HEARTBEAT_BYTES: usize = 102_400;

/// The queue (and routing key) of the agent with `queueloc`.
pub fn agent_queue(queueloc: &str) -> String {
    format!("{AGENT_QUEUE_PREFIX}{queueloc}")
}

/// Whether a result body passes the scheduler's shape check [COMPAT]: at
/// least 10 bytes, first byte `{`, last byte `}`.
pub fn is_plausible_result_body(body: &[u8]) -> bool {
    body.len() >= 10 && body.first() == Some(&b'{') && body.last() == Some(&b'}')
}

/// The `expiration` property of a command message: the action's validity
/// window in milliseconds, not relative to now [COMPAT].
pub fn command_expiration_ms(action: &crate::action::Action) -> u64 {
    let window = action.expireafter.0 - action.validfrom.0;
    u64::try_from(window.num_milliseconds()).unwrap_or(0)
}

/// The `expiration` property of a result or legacy heartbeat: ten heartbeat periods.
pub fn result_expiration_ms(heartbeat_period: std::time::Duration) -> u64 {
    u64::try_from(heartbeat_period.as_millis().saturating_mul(10)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(agent_queue("linux.abc"), "mig.agt.linux.abc");
        assert!(is_plausible_result_body(br#"{"id":1234}"#));
        assert!(!is_plausible_result_body(b"{\"id\":1234}\n"));
        assert!(!is_plausible_result_body(b"{}"));
        assert_eq!(
            result_expiration_ms(std::time::Duration::from_secs(30)),
            300_000
        );
    }
}
