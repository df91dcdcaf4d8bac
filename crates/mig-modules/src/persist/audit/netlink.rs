//! The kernel audit channel: a `NETLINK_AUDIT` socket (rustix), the
//! `audit_status` requests (`AUDIT_GET`/`AUDIT_SET`), rule listing, adding and
//! deleting, and reading the records the kernel sends to the audit pid.

use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::io::Errno;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::sockopt::{self, Timeout};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// `AUDIT_GET`: the status.
pub const AUDIT_GET: u16 = 1000;
/// `AUDIT_SET`: change the status.
pub const AUDIT_SET: u16 = 1001;
/// `AUDIT_ADD_RULE`.
pub const AUDIT_ADD_RULE: u16 = 1011;
/// `AUDIT_DEL_RULE`.
pub const AUDIT_DEL_RULE: u16 = 1012;
/// `AUDIT_LIST_RULES`.
pub const AUDIT_LIST_RULES: u16 = 1013;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const HEADER: usize = 16;

const STATUS_ENABLED: u32 = 0x1;
const STATUS_PID: u32 = 0x4;
const STATUS_RATE_LIMIT: u32 = 0x8;
const STATUS_BACKLOG_LIMIT: u32 = 0x10;

/// The leading fields of `struct audit_status` that every kernel has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    /// `enabled` (0, 1, or 2 = locked).
    pub enabled: u32,
    /// `failure`.
    pub failure: u32,
    /// The audit daemon's pid (0: none).
    pub pid: u32,
    /// Messages per second (0: unlimited).
    pub rate_limit: u32,
    /// Queued messages at most.
    pub backlog_limit: u32,
    /// Messages lost.
    pub lost: u32,
    /// Messages queued.
    pub backlog: u32,
}

impl Status {
    fn from_bytes(data: &[u8]) -> Option<Self> {
        let word = |index: usize| -> Option<u32> {
            let bytes = data.get(4 + index * 4..8 + index * 4)?;
            Some(u32::from_ne_bytes(bytes.try_into().ok()?))
        };
        Some(Self {
            enabled: word(0)?,
            failure: word(1)?,
            pid: word(2)?,
            rate_limit: word(3)?,
            backlog_limit: word(4)?,
            lost: word(5)?,
            backlog: word(6)?,
        })
    }
}

/// One netlink message received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `nlmsg_type` (an audit record type for events).
    pub kind: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// The payload.
    pub data: Vec<u8>,
}

/// A `NETLINK_AUDIT` socket.
#[derive(Debug)]
pub struct AuditSocket {
    fd: OwnedFd,
    seq: u32,
    buffer: Vec<u8>,
    /// Messages read while waiting for a reply (events), handed out first.
    pending: std::collections::VecDeque<Message>,
}

fn kernel() -> SocketAddrNetlink {
    SocketAddrNetlink::new(0, 0)
}

fn errno_text(errno: Errno) -> String {
    std::io::Error::from(errno).to_string()
}

impl AuditSocket {
    /// Opens and binds the socket.
    pub fn open() -> Result<Self, String> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(netlink::AUDIT),
        )
        .map_err(errno_text)?;
        rustix::net::bind(&fd, &kernel()).map_err(errno_text)?;
        Ok(Self {
            fd,
            seq: 0,
            buffer: vec![0u8; 1 << 16],
            pending: std::collections::VecDeque::new(),
        })
    }

    /// Bounds every receive (so a reader can look at a stop flag).
    pub fn set_receive_timeout(&self, timeout: Option<Duration>) -> Result<(), String> {
        sockopt::set_socket_timeout(&self.fd, Timeout::Recv, timeout).map_err(errno_text)
    }

    fn send(&mut self, kind: u16, flags: u16, payload: &[u8]) -> Result<u32, String> {
        self.seq = self.seq.wrapping_add(1);
        let length = u32::try_from(HEADER + payload.len()).map_err(|_| "message too long")?;
        let mut message = Vec::with_capacity(HEADER + payload.len() + 3);
        message.extend_from_slice(&length.to_ne_bytes());
        message.extend_from_slice(&kind.to_ne_bytes());
        message.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        message.extend_from_slice(&self.seq.to_ne_bytes());
        message.extend_from_slice(&0u32.to_ne_bytes());
        message.extend_from_slice(payload);
        while !message.len().is_multiple_of(4) {
            message.push(0);
        }
        rustix::net::sendto(&self.fd, &message, SendFlags::empty(), &kernel())
            .map_err(errno_text)?;
        Ok(self.seq)
    }

    /// Reads one datagram and splits it into messages; `Ok(empty)` on timeout.
    fn receive_batch(&mut self) -> Result<Vec<Message>, String> {
        let length = match rustix::net::recv(&self.fd, &mut self.buffer[..], RecvFlags::empty()) {
            Ok((length, _)) => length,
            // ENOBUFS: the kernel dropped records for us; keep reading.
            Err(Errno::AGAIN | Errno::INTR | Errno::NOBUFS) => return Ok(Vec::new()),
            Err(errno) => return Err(errno_text(errno)),
        };
        Ok(split_messages(
            &self.buffer[..length.min(self.buffer.len())],
        ))
    }

    /// The next message: pending ones first, then from the socket (`None`
    /// on timeout).
    pub fn receive(&mut self) -> Result<Option<Message>, String> {
        if let Some(message) = self.pending.pop_front() {
            return Ok(Some(message));
        }
        let batch = self.receive_batch()?;
        self.pending.extend(batch);
        Ok(self.pending.pop_front())
    }

    /// The replies to request `seq` up to its ACK (`ack`) or `NLMSG_DONE`
    /// (dumps); other messages (events) are kept for [`Self::receive`].
    fn replies(&mut self, seq: u32, ack: bool) -> Result<Vec<Message>, String> {
        let mut replies = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if std::time::Instant::now() > deadline {
                return Err("timed out waiting for the kernel's answer".to_owned());
            }
            for message in self.receive_batch()? {
                if message.seq != seq || message.kind >= 1100 {
                    self.pending.push_back(message);
                    continue;
                }
                match message.kind {
                    NLMSG_ERROR => {
                        let code = message
                            .data
                            .get(..4)
                            .and_then(|bytes| bytes.try_into().ok())
                            .map(i32::from_ne_bytes)
                            .unwrap_or(0);
                        if code != 0 {
                            return Err(errno_text(Errno::from_raw_os_error(-code)));
                        }
                        if ack {
                            return Ok(replies);
                        }
                    }
                    NLMSG_DONE => return Ok(replies),
                    _ => {
                        replies.push(message);
                        if !ack && replies.last().is_some_and(|m| m.kind == AUDIT_GET) {
                            return Ok(replies);
                        }
                    }
                }
            }
        }
    }

    /// `AUDIT_GET`.
    pub fn status(&mut self) -> Result<Status, String> {
        let seq = self.send(AUDIT_GET, 0, &[])?;
        let replies = self.replies(seq, false)?;
        replies
            .iter()
            .find(|message| message.kind == AUDIT_GET)
            .and_then(|message| Status::from_bytes(&message.data))
            .ok_or_else(|| "no audit status in the kernel's answer".to_owned())
    }

    fn set(&mut self, mask: u32, update: impl FnOnce(&mut [u32; 10])) -> Result<(), String> {
        let mut words = [0u32; 10];
        words[0] = mask;
        update(&mut words);
        let payload: Vec<u8> = words.iter().flat_map(|word| word.to_ne_bytes()).collect();
        let seq = self.send(AUDIT_SET, NLM_F_ACK, &payload)?;
        self.replies(seq, true).map(|_| ())
    }

    /// Enables (1) or disables (0) auditing.
    pub fn set_enabled(&mut self, enabled: u32) -> Result<(), String> {
        self.set(STATUS_ENABLED, |words| words[1] = enabled)
    }

    /// Sets the audit daemon pid (0 releases it).
    pub fn set_pid(&mut self, pid: u32) -> Result<(), String> {
        self.set(STATUS_PID, |words| words[3] = pid)
    }

    /// Sets the rate limit.
    pub fn set_rate_limit(&mut self, limit: u32) -> Result<(), String> {
        self.set(STATUS_RATE_LIMIT, |words| words[4] = limit)
    }

    /// Sets the backlog limit.
    pub fn set_backlog_limit(&mut self, limit: u32) -> Result<(), String> {
        self.set(STATUS_BACKLOG_LIMIT, |words| words[5] = limit)
    }

    /// The kernel's rules, each as its `audit_rule_data` bytes.
    pub fn list_rules(&mut self) -> Result<Vec<Vec<u8>>, String> {
        let seq = self.send(AUDIT_LIST_RULES, 0x300, &[])?;
        Ok(self
            .replies(seq, false)?
            .into_iter()
            .filter(|message| message.kind == AUDIT_LIST_RULES)
            .map(|message| message.data)
            .collect())
    }

    /// Adds one rule (`audit_rule_data` bytes).
    pub fn add_rule(&mut self, rule: &[u8]) -> Result<(), String> {
        let seq = self.send(AUDIT_ADD_RULE, NLM_F_ACK, rule)?;
        self.replies(seq, true).map(|_| ())
    }

    /// Deletes one rule (`audit_rule_data` bytes, as listed).
    pub fn delete_rule(&mut self, rule: &[u8]) -> Result<(), String> {
        let seq = self.send(AUDIT_DEL_RULE, NLM_F_ACK, rule)?;
        self.replies(seq, true).map(|_| ())
    }

    /// Deletes every rule.
    pub fn delete_all_rules(&mut self) -> Result<(), String> {
        for rule in self.list_rules()? {
            self.delete_rule(&rule)?;
        }
        Ok(())
    }
}

/// Splits a datagram into netlink messages. The kernel's audit records
/// (types from 1100) count only their payload in `nlmsg_len` (kept that way
/// for auditd); lengths that run past the datagram are clamped.
pub fn split_messages(mut bytes: &[u8]) -> Vec<Message> {
    let mut messages = Vec::new();
    while bytes.len() >= HEADER {
        let word = |range: std::ops::Range<usize>| -> u32 {
            let mut raw = [0u8; 4];
            raw.copy_from_slice(&bytes[range]);
            u32::from_ne_bytes(raw)
        };
        let declared = word(0..4) as usize;
        let kind = u16::from_ne_bytes([bytes[4], bytes[5]]);
        let seq = word(8..12);
        let end = if kind >= 1100 {
            HEADER.saturating_add(declared)
        } else {
            declared
        }
        .clamp(HEADER, bytes.len());
        messages.push(Message {
            kind,
            seq,
            data: bytes[HEADER..end].to_vec(),
        });
        let advance = (end + 3) & !3;
        bytes = bytes.get(advance..).unwrap_or_default();
    }
    messages
}
