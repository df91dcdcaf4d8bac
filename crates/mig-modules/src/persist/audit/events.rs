//! Audit records: parsing `audit(<timestamp>:<serial>): k=v …`, libaudit-go's
//! field interpretation, and the assembly of multi-record events.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;

use super::tables::RECORD_TYPES;

/// `AUDIT_EOE`: the end of a multi-record event.
pub const EOE: u16 = 1320;
const AVC: u16 = 1400;
const USER_AVC: u16 = 1107;
const EXECVE: u16 = 1309;
const USER_TTY: u16 = 1124;
const MQ_OPEN: u16 = 1312;
const CRYPTO_KEY_USER: u16 = 2404;
const NETFILTER_PKT: u16 = 1324;
const ADD_GROUP: u16 = 1116;
const DEL_GROUP: u16 = 1117;
const GRP_MGMT: u16 = 1132;

/// Serials buffered at most while waiting for their EOE (oldest dropped).
const MAX_PENDING: usize = 4096;

/// One audit event as the module alerts it (libaudit-go's `AuditEvent`, Go
/// field names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    #[serde(rename = "Serial")]
    pub serial: String,
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Data")]
    pub data: BTreeMap<String, String>,
    #[serde(rename = "Raw")]
    pub raw: String,
}

/// The name of a record type (`SYSCALL`), if known.
pub fn type_name(kind: u16) -> Option<&'static str> {
    RECORD_TYPES
        .binary_search_by_key(&kind, |(number, _)| *number)
        .ok()
        .map(|index| RECORD_TYPES[index].1)
}

/// Parses one record's text; `interpret` turns values into names.
pub fn parse_record(text: &str, kind: u16, interpret: bool) -> Result<AuditEvent, String> {
    let raw = text.to_owned();
    let rest = text
        .strip_prefix("audit(")
        .ok_or("malformed, missing audit prefix")?;
    let colon = rest
        .find(':')
        .ok_or("malformed, can't locate start of fields")?;
    let timestamp = &rest[..colon];
    let rest = &rest[colon + 1..];
    let close = rest
        .find(')')
        .ok_or("malformed, can't locate end of prefix")?;
    let serial = &rest[..close];
    let body = rest[close..]
        .strip_prefix("): ")
        .or_else(|| rest[close..].strip_prefix(")"))
        .ok_or("malformed, prefix termination unexpected")?;
    let mut data = BTreeMap::new();
    let mut key = String::new();
    let mut value = String::new();
    let mut after_avc = false;
    let mut tokens = body.split(' ').filter(|token| !token.is_empty()).peekable();
    let store = |key: &str, value: &str, data: &mut BTreeMap<String, String>| {
        let shown = if interpret {
            interpret_field(key, value, kind)
        } else {
            value.to_owned()
        };
        data.insert(key.to_owned(), shown);
    };
    while let Some(token) = tokens.next() {
        match token.find('=') {
            None => {
                if kind == AVC || kind == USER_AVC {
                    if token == "avc:" {
                        after_avc = true;
                        continue;
                    }
                    if after_avc {
                        key = "seresult".to_owned();
                        value = token.to_owned();
                        store(&key, &value, &mut data);
                        after_avc = false;
                        continue;
                    }
                    if token.starts_with('{') {
                        key = "seperms".to_owned();
                        let mut perms = Vec::new();
                        for next in tokens.by_ref() {
                            if next == "}" {
                                break;
                            }
                            perms.push(next);
                        }
                        value = perms.join(",");
                        store(&key, &value, &mut data);
                        continue;
                    }
                    if token == "for" {
                        continue;
                    }
                }
                // A value with spaces: the token belongs to the previous key.
                if key.is_empty() {
                    continue;
                }
                value.push(' ');
                value.push_str(token);
                fix_punctuation(&mut value);
                store(&key, &value, &mut data);
            }
            Some(index) => {
                key = token[..index].to_owned();
                value = token[index + 1..].to_owned();
                if key == "msg" && value.starts_with('\'') {
                    match value.find('=') {
                        None => continue,
                        Some(inner) => {
                            key = value[1..inner].to_owned();
                            value = value[inner + 1..].to_owned();
                        }
                    }
                }
                fix_punctuation(&mut value);
                store(&key, &value, &mut data);
            }
        }
    }
    Ok(AuditEvent {
        serial: serial.to_owned(),
        timestamp: timestamp.to_owned(),
        kind: type_name(kind).unwrap_or_default().to_owned(),
        data,
        raw,
    })
}

fn fix_punctuation(value: &mut String) {
    if value.ends_with('\'') {
        value.pop();
    }
    if value.ends_with(',') {
        value.pop();
    }
    if value.ends_with(')') && value != "(none)" && value != "(null)" {
        value.pop();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldType {
    Uid,
    Gid,
    Syscall,
    Arch,
    Exit,
    Perm,
    Escaped,
    Mode,
    ModeShort,
    Sockaddr,
    Promisc,
    Success,
    List,
    Session,
    Raw,
}

fn field_type(name: &str) -> FieldType {
    use FieldType::*;
    match name {
        "auid" | "uid" | "euid" | "suid" | "fsuid" | "ouid" | "oauid" | "iuid" | "id"
        | "inode_uid" | "sauid" | "obj_uid" => Uid,
        "obj_gid" | "gid" | "egid" | "sgid" | "fsgid" | "ogid" | "igid" | "inode_gid"
        | "new_gid" => Gid,
        "syscall" => Syscall,
        "arch" => Arch,
        "exit" => Exit,
        "path" | "comm" | "exe" | "file" | "name" | "watch" | "cwd" | "cmd" | "acct" | "dir"
        | "key" | "vm" | "old-disk" | "new-disk" | "old-fs" | "new-fs" | "device" | "cgroup"
        | "apparmor" | "operation" | "denied_mask" | "info" | "profile" | "requested_mask"
        | "old-rng" | "new-rng" | "ocomm" | "sigev_signo" | "grp" | "new_group" | "proctitle" => {
            Escaped
        }
        "perm" | "perm_mask" => Perm,
        "mode" => Mode,
        "saddr" => Sockaddr,
        "prom" | "old_prom" => Promisc,
        "res" | "result" => Success,
        "list" => List,
        "ses" => Session,
        _ => Raw,
    }
}

/// libaudit-go's interpretation of one field value; values that do not
/// parse are kept as they are.
pub fn interpret_field(name: &str, value: &str, kind: u16) -> String {
    let ty = if kind == EXECVE && name.starts_with('a') && name != "argc" && !name.contains("_len")
    {
        FieldType::Escaped
    } else if (kind == AVC && name == "saddr") || (kind == CRYPTO_KEY_USER && name == "fp") {
        FieldType::Raw
    } else if kind == USER_TTY && name == "msg" {
        FieldType::Escaped
    } else if kind == NETFILTER_PKT && name == "saddr" {
        FieldType::Raw
    } else if name == "acct" {
        if value.starts_with('"') || i64::from_str_radix(value, 16).is_err() {
            FieldType::Escaped
        } else {
            FieldType::Raw
        }
    } else if kind == MQ_OPEN && name == "mode" {
        FieldType::ModeShort
    } else if name == "id" && matches!(kind, ADD_GROUP | GRP_MGMT | DEL_GROUP) {
        FieldType::Gid
    } else {
        field_type(name)
    };
    let shown = match ty {
        FieldType::Uid => Some(user_name(value)),
        FieldType::Syscall => value
            .parse()
            .ok()
            .and_then(super::rules::syscall_name)
            .map(str::to_owned),
        FieldType::Arch => Some(go_arch().to_owned()),
        FieldType::Exit => value.parse::<i64>().ok().map(|code| {
            if code == 0 {
                "success".to_owned()
            } else {
                value.to_owned()
            }
        }),
        FieldType::Perm => value.parse::<i64>().ok().map(perm_text),
        FieldType::Escaped => Some(unescape(value)),
        FieldType::Mode => i64::from_str_radix(value, 8).ok().map(mode_text),
        FieldType::ModeShort => i64::from_str_radix(value, 8).ok().map(mode_short_text),
        FieldType::Sockaddr => sockaddr_text(value),
        FieldType::Promisc => value
            .parse::<i64>()
            .ok()
            .map(|v| if v == 0 { "no" } else { "yes" }.to_owned()),
        FieldType::Success => value.parse::<i64>().ok().map(|v| {
            match v {
                1 => "yes",
                0 => "no",
                _ => "unset",
            }
            .to_owned()
        }),
        FieldType::List => value.parse::<u32>().ok().and_then(|list| {
            Some(
                match list {
                    0 => "user",
                    1 => "task",
                    2 => "entry",
                    4 => "exit",
                    5 => "exclude",
                    _ => return None,
                }
                .to_owned(),
            )
        }),
        FieldType::Session => (value == "4294967295").then(|| "unset".to_owned()),
        FieldType::Gid | FieldType::Raw => None,
    };
    shown.unwrap_or_else(|| value.to_owned())
}

/// Go's `runtime.GOARCH` of this build (what libaudit-go prints for `arch`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        other => other,
    }
}

fn user_name(uid: &str) -> String {
    let found = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut parts = line.split(':');
                let name = parts.next()?;
                (parts.nth(1)? == uid).then(|| name.to_owned())
            })
        });
    found.unwrap_or_else(|| format!("unknown({uid})"))
}

fn perm_text(mut bits: i64) -> String {
    if bits == 0 {
        bits = 0x0F;
    }
    let names = [(4, "read"), (2, "write"), (1, "exec"), (8, "attr")];
    names
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

fn mode_text(mode: i64) -> String {
    let mut name = match mode & 0o170000 {
        0o140000 => "socket".to_owned(),
        0o060000 => "block".to_owned(),
        0o100000 => "file".to_owned(),
        0o040000 => "dir".to_owned(),
        0o020000 => "character".to_owned(),
        0o010000 => "fifo".to_owned(),
        0o120000 => "link".to_owned(),
        other => format!("{:03o}", other / 0o010000),
    };
    if mode & 0o4000 != 0 {
        name.push_str(",suid");
    }
    if mode & 0o2000 != 0 {
        name.push_str(",sgid");
    }
    if mode & 0o1000 != 0 {
        name.push_str(",sticky");
    }
    name.push_str(&format!("{:03o}", mode & 0o777));
    name
}

fn mode_short_text(mode: i64) -> String {
    let mut parts = Vec::new();
    if mode & 0o4000 != 0 {
        parts.push("suid");
    }
    if mode & 0o2000 != 0 {
        parts.push("sgid");
    }
    if mode & 0o1000 != 0 {
        parts.push("sticky");
    }
    format!("{}0{:03o}", parts.join(","), mode & 0o777)
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Quoted values lose their quotes; hex-encoded ones are decoded (NULs, as
/// in proctitle's argument separators, are kept).
fn unescape(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        return value[1..value.len() - 1].to_owned();
    }
    if value.starts_with('(') || value.len() < 2 {
        return value.to_owned();
    }
    match hex_decode(value) {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => value.to_owned(),
    }
}

fn sockaddr_text(value: &str) -> Option<String> {
    let bytes = hex_decode(value)?;
    let family = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]);
    let name = match family {
        1 => "local",
        2 => "inet",
        10 => "inet6",
        16 => "netlink",
        17 => "packet",
        _ => return Some(format!("unknown family ({family})")),
    };
    let port = || Some(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]));
    Some(match family {
        1 => {
            let path = bytes.get(2..).unwrap_or_default();
            let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
            format!("{name} {}", String::from_utf8_lossy(&path[..end]))
        }
        2 => {
            let ip = std::net::Ipv4Addr::new(
                *bytes.get(4)?,
                *bytes.get(5)?,
                *bytes.get(6)?,
                *bytes.get(7)?,
            );
            format!("{name} host:{ip} serv:{}", port()?)
        }
        10 => {
            let raw: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            let ip = std::net::Ipv6Addr::from(raw);
            format!("{name} host:{ip} serv:{}", port()?)
        }
        16 => {
            let pid = i32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
            format!("{name} pid:{pid}")
        }
        _ => name.to_owned(),
    })
}

/// Assembles events from records: types 1300–1699 are held by serial until
/// their EOE and merged into it; other known types pass at once; unknown
/// types are dropped.
#[derive(Debug, Default)]
pub struct Assembler {
    pending: HashMap<String, Vec<AuditEvent>>,
    order: VecDeque<String>,
}

impl Assembler {
    /// Feeds one record; returns the event it completes, if any.
    pub fn push(&mut self, kind: u16, text: &str) -> Option<AuditEvent> {
        type_name(kind)?;
        let text = text.trim_end_matches(['\0', '\n']);
        let event = parse_record(text, kind, true).ok()?;
        if !(1300..1700).contains(&kind) {
            return Some(event);
        }
        if kind != EOE {
            if !self.pending.contains_key(&event.serial) {
                self.order.push_back(event.serial.clone());
                if self.order.len() > MAX_PENDING
                    && let Some(oldest) = self.order.pop_front()
                {
                    self.pending.remove(&oldest);
                }
            }
            self.pending
                .entry(event.serial.clone())
                .or_default()
                .push(event);
            return None;
        }
        let parts = self.pending.remove(&event.serial)?;
        self.order.retain(|serial| *serial != event.serial);
        let mut merged = event;
        let prefix = merged.raw.len();
        for part in parts {
            merged.data.extend(part.data);
            if let Some(rest) = part.raw.get(prefix..)
                && !rest.is_empty()
            {
                merged.raw.push(' ');
                merged.raw.push_str(rest);
            }
        }
        Some(merged)
    }
}
