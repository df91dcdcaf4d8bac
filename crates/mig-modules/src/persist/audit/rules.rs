//! The rules file (libaudit-go's JSON) and its encoding into the kernel's
//! `struct audit_rule_data`.
//!
//! `{"audit_rules":[…]}`: an entry with a `path` key is a watch, any other
//! entry a syscall rule. Watches become exit-filter, always-action rules
//! on every syscall with a `path` (file) or `dir` (directory) field, a
//! `perm` field and an optional key — what `auditctl -w <path> -p <perm>
//! -k <key>` loads. Syscall rules set the syscall bits (x86-64 table), then
//! the fields in file order, then the key.
//!
//! Deviations from libaudit-go: an empty `permission` means `rwxa` (the
//! original refused the rule); `arch` accepts `"b64"`/`"b32"` (the original
//! only took a number, and any number meant x86-64; here 32 means i386);
//! field `pid` works (the original's lookup treated field number 0 as
//! unknown).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::tables::SYSCALLS_X86_64;

/// `AUDIT_BITMASK_SIZE`.
const BITMASK_SIZE: usize = 64;
/// `AUDIT_MAX_FIELDS`.
const MAX_FIELDS: usize = 64;
/// `AUDIT_MAX_KEY_LEN`.
const MAX_KEY_LEN: usize = 256;
const PATH_MAX: usize = 4096;
const NAME_MAX: usize = 255;

/// Filters (`flags`).
pub const FILTER_USER: u32 = 0;
pub const FILTER_TASK: u32 = 1;
pub const FILTER_EXIT: u32 = 4;
pub const FILTER_EXCLUDE: u32 = 5;
/// Actions.
pub const NEVER: u32 = 0;
pub const POSSIBLE: u32 = 1;
pub const ALWAYS: u32 = 2;

/// Operators.
pub const BIT_MASK: u32 = 0x0800_0000;
pub const LESS_THAN: u32 = 0x1000_0000;
pub const GREATER_THAN: u32 = 0x2000_0000;
pub const NOT_EQUAL: u32 = 0x3000_0000;
pub const EQUAL: u32 = 0x4000_0000;
pub const BIT_TEST: u32 = BIT_MASK | EQUAL;
pub const LESS_THAN_OR_EQUAL: u32 = LESS_THAN | EQUAL;
pub const GREATER_THAN_OR_EQUAL: u32 = GREATER_THAN | EQUAL;

/// Field numbers (linux/audit.h).
pub mod field {
    pub const PID: u32 = 0;
    pub const UID: u32 = 1;
    pub const EUID: u32 = 2;
    pub const SUID: u32 = 3;
    pub const FSUID: u32 = 4;
    pub const GID: u32 = 5;
    pub const EGID: u32 = 6;
    pub const SGID: u32 = 7;
    pub const FSGID: u32 = 8;
    pub const LOGINUID: u32 = 9;
    pub const PERS: u32 = 10;
    pub const ARCH: u32 = 11;
    pub const MSGTYPE: u32 = 12;
    pub const SUBJ_USER: u32 = 13;
    pub const SUBJ_ROLE: u32 = 14;
    pub const SUBJ_TYPE: u32 = 15;
    pub const SUBJ_SEN: u32 = 16;
    pub const SUBJ_CLR: u32 = 17;
    pub const PPID: u32 = 18;
    pub const OBJ_USER: u32 = 19;
    pub const OBJ_ROLE: u32 = 20;
    pub const OBJ_TYPE: u32 = 21;
    pub const OBJ_LEV_LOW: u32 = 22;
    pub const OBJ_LEV_HIGH: u32 = 23;
    pub const DEVMAJOR: u32 = 100;
    pub const DEVMINOR: u32 = 101;
    pub const INODE: u32 = 102;
    pub const EXIT: u32 = 103;
    pub const SUCCESS: u32 = 104;
    pub const WATCH: u32 = 105;
    pub const PERM: u32 = 106;
    pub const DIR: u32 = 107;
    pub const FILETYPE: u32 = 108;
    pub const OBJ_UID: u32 = 109;
    pub const OBJ_GID: u32 = 110;
    pub const EXE: u32 = 112;
    pub const ARG0: u32 = 200;
    pub const ARG1: u32 = 201;
    pub const ARG2: u32 = 202;
    pub const ARG3: u32 = 203;
    pub const FILTERKEY: u32 = 210;
}

/// Permission bits.
pub const PERM_EXEC: u32 = 1;
pub const PERM_WRITE: u32 = 2;
pub const PERM_READ: u32 = 4;
pub const PERM_ATTR: u32 = 8;

/// `AUDIT_ARCH_X86_64` and `AUDIT_ARCH_I386`.
pub const ARCH_X86_64: u32 = 0xC000_003E;
pub const ARCH_I386: u32 = 0x4000_0003;

/// The field names of rules (auditctl's).
const FIELD_NAMES: &[(&str, u32)] = &[
    ("pid", field::PID),
    ("uid", field::UID),
    ("euid", field::EUID),
    ("suid", field::SUID),
    ("fsuid", field::FSUID),
    ("gid", field::GID),
    ("egid", field::EGID),
    ("sgid", field::SGID),
    ("fsgid", field::FSGID),
    ("auid", field::LOGINUID),
    ("loginuid", field::LOGINUID),
    ("pers", field::PERS),
    ("arch", field::ARCH),
    ("msgtype", field::MSGTYPE),
    ("subj_user", field::SUBJ_USER),
    ("subj_role", field::SUBJ_ROLE),
    ("subj_type", field::SUBJ_TYPE),
    ("subj_sen", field::SUBJ_SEN),
    ("subj_clr", field::SUBJ_CLR),
    ("ppid", field::PPID),
    ("obj_user", field::OBJ_USER),
    ("obj_role", field::OBJ_ROLE),
    ("obj_type", field::OBJ_TYPE),
    ("obj_lev_low", field::OBJ_LEV_LOW),
    ("obj_lev_high", field::OBJ_LEV_HIGH),
    ("devmajor", field::DEVMAJOR),
    ("devminor", field::DEVMINOR),
    ("inode", field::INODE),
    ("exit", field::EXIT),
    ("success", field::SUCCESS),
    ("path", field::WATCH),
    ("perm", field::PERM),
    ("dir", field::DIR),
    ("filetype", field::FILETYPE),
    ("obj_uid", field::OBJ_UID),
    ("obj_gid", field::OBJ_GID),
    ("exe", field::EXE),
    ("a0", field::ARG0),
    ("a1", field::ARG1),
    ("a2", field::ARG2),
    ("a3", field::ARG3),
    ("key", field::FILTERKEY),
];

/// File types of the `filetype` field (S_IF* values).
const FILE_TYPES: &[(&str, u32)] = &[
    ("block", 0o060000),
    ("character", 0o020000),
    ("dir", 0o040000),
    ("fifo", 0o010000),
    ("file", 0o100000),
    ("link", 0o120000),
    ("socket", 0o140000),
];

/// The rules file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RulesFile {
    /// The rules.
    pub audit_rules: Vec<serde_json::Map<String, Value>>,
}

/// A watch rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FileRule {
    pub path: String,
    pub key: String,
    pub permission: String,
    pub strict_path_check: bool,
}

/// One field condition of a syscall rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldCondition {
    pub name: String,
    pub value: Value,
    pub op: String,
}

/// A syscall rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SyscallRule {
    pub key: String,
    pub fields: Vec<FieldCondition>,
    pub syscalls: Vec<String>,
    pub actions: Vec<String>,
}

/// A kernel rule being built (`struct audit_rule_data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleData {
    pub flags: u32,
    pub action: u32,
    pub mask: [u32; BITMASK_SIZE],
    pub fields: Vec<(u32, u32, u32)>,
    pub buf: Vec<u8>,
}

impl Default for RuleData {
    fn default() -> Self {
        Self {
            flags: 0,
            action: 0,
            mask: [0; BITMASK_SIZE],
            fields: Vec::new(),
            buf: Vec::new(),
        }
    }
}

impl RuleData {
    /// The wire form (native endian, as the kernel reads it).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1040 + self.buf.len());
        let mut push = |word: u32| out.extend_from_slice(&word.to_ne_bytes());
        push(self.flags);
        push(self.action);
        push(self.fields.len() as u32);
        self.mask.iter().for_each(|word| push(*word));
        for column in 0..3 {
            for index in 0..MAX_FIELDS {
                let value = self
                    .fields
                    .get(index)
                    .map_or(0, |(field, value, op)| [*field, *value, *op][column]);
                push(value);
            }
        }
        push(self.buf.len() as u32);
        out.extend_from_slice(&self.buf);
        out
    }

    fn push_field(&mut self, field: u32, value: u32, op: u32) -> Result<(), String> {
        if self.fields.len() >= MAX_FIELDS - 1 {
            return Err("max fields for rule exceeded".to_owned());
        }
        self.fields.push((field, value, op));
        Ok(())
    }

    fn push_string(&mut self, field: u32, text: &str, op: u32) -> Result<(), String> {
        let limit = if field == field::FILTERKEY {
            MAX_KEY_LEN
        } else {
            PATH_MAX
        };
        if text.len() > limit {
            return Err("max rule length exceeded".to_owned());
        }
        self.push_field(field, text.len() as u32, op)?;
        self.buf.extend_from_slice(text.as_bytes());
        Ok(())
    }

    fn has_syscalls(&self) -> bool {
        self.mask.iter().any(|word| *word != 0)
    }
}

/// The number of an x86-64 syscall.
pub fn syscall_number(name: &str) -> Option<u32> {
    SYSCALLS_X86_64
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, number)| *number)
}

/// The name of an x86-64 syscall.
pub fn syscall_name(number: u32) -> Option<&'static str> {
    SYSCALLS_X86_64
        .iter()
        .find(|(_, known)| *known == number)
        .map(|(name, _)| *name)
}

fn check_path(path: &str) -> Result<(), String> {
    if path.len() >= PATH_MAX {
        return Err(format!("path {path:?} too large"));
    }
    if !path.starts_with('/') {
        return Err(format!("path {path:?} must be absolute"));
    }
    if path.contains("..") {
        return Err(format!(
            "path {path:?} cannot contain special directory values"
        ));
    }
    let base = Path::new(path)
        .file_name()
        .map(|name| name.len())
        .unwrap_or(0);
    if base > NAME_MAX {
        return Err(format!("base name of {path:?} too large"));
    }
    Ok(())
}

fn permissions(text: &str) -> Result<u32, String> {
    if text.is_empty() {
        return Ok(PERM_READ | PERM_WRITE | PERM_EXEC | PERM_ATTR);
    }
    if text.len() > 4 {
        return Err(format!("invalid permission string {text:?}"));
    }
    text.to_lowercase().chars().try_fold(0, |bits, c| match c {
        'r' => Ok(bits | PERM_READ),
        'w' => Ok(bits | PERM_WRITE),
        'x' => Ok(bits | PERM_EXEC),
        'a' => Ok(bits | PERM_ATTR),
        other => Err(format!("unknown permission {other:?}")),
    })
}

/// Encodes a watch. A missing path is an error starting with `skipping
/// rule` (a warning) unless `strict_path_check`.
pub fn encode_watch(rule: &FileRule) -> Result<RuleData, String> {
    check_path(&rule.path)?;
    let trimmed = rule.path.trim_end_matches('/');
    let path = if trimmed.is_empty() { "/" } else { trimmed };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !rule.strict_path_check => {
            return Err(format!("skipping rule: stat {path}: {err}"));
        }
        Err(err) => return Err(format!("stat {path}: {err}")),
    };
    let mut data = RuleData {
        flags: FILTER_EXIT,
        action: ALWAYS,
        ..RuleData::default()
    };
    // Every syscall and class bit, as auditctl's "all" (libaudit-go left
    // the last word clear; the kernel turns its class bits into syscalls).
    data.mask = [u32::MAX; BITMASK_SIZE];
    let kind = if metadata.is_dir() {
        field::DIR
    } else {
        field::WATCH
    };
    data.push_string(kind, path, EQUAL)?;
    data.push_field(field::PERM, permissions(&rule.permission)?, EQUAL)?;
    if !rule.key.is_empty() {
        data.push_string(field::FILTERKEY, &rule.key, EQUAL)?;
    }
    Ok(data)
}

fn operator(op: &str) -> Result<u32, String> {
    Ok(match op {
        "eq" => EQUAL,
        "nt_eq" => NOT_EQUAL,
        "gt" => GREATER_THAN,
        "lt" => LESS_THAN,
        "gt_or_eq" => GREATER_THAN_OR_EQUAL,
        "lt_or_eq" => LESS_THAN_OR_EQUAL,
        "and" => BIT_MASK,
        "and_eq" => BIT_TEST,
        other => return Err(format!("unknown operator {other:?}")),
    })
}

fn number(name: &str, value: &Value) -> Result<u32, String> {
    match value {
        // Go converts float64 to uint32: negative values wrap (exit=-13).
        Value::Number(n) => n
            .as_i64()
            .map(|v| v as u32)
            .or_else(|| n.as_f64().map(|v| v as i64 as u32))
            .ok_or_else(|| format!("field {name}: bad number {n}")),
        other => Err(format!("field {name}: {other} should be a number")),
    }
}

fn user_id(name: &str) -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut parts = line.split(':');
        (parts.next()? == name).then_some(())?;
        parts.nth(1)?.parse().ok()
    })
}

/// Encodes a syscall rule: `(rule, warnings)`.
pub fn encode_syscall(rule: &SyscallRule) -> Result<RuleData, String> {
    let mut data = RuleData::default();
    for name in &rule.syscalls {
        let number = if name == "all" {
            data.mask = [u32::MAX; BITMASK_SIZE];
            continue;
        } else {
            syscall_number(name).ok_or_else(|| format!("invalid syscall {name}"))?
        };
        let word = (number / 32) as usize;
        if word >= BITMASK_SIZE - 1 {
            return Err("word size greater than AUDIT_BITMASK_SIZE".to_owned());
        }
        data.mask[word] |= 1 << (number % 32);
    }
    let mut action = None;
    let mut filter = None;
    for word in &rule.actions {
        match word.as_str() {
            "never" => action = Some(NEVER),
            "possible" => action = Some(POSSIBLE),
            "always" => action = Some(ALWAYS),
            "task" => filter = Some(FILTER_TASK),
            "entry" | "exit" => filter = Some(FILTER_EXIT),
            "user" => filter = Some(FILTER_USER),
            "exclude" => filter = Some(FILTER_EXCLUDE),
            _ => {}
        }
    }
    let filter =
        filter.ok_or_else(|| format!("filters not set or invalid: {}", rule.actions.join(",")))?;
    let action = action.ok_or_else(|| format!("action not set: {}", rule.actions.join(",")))?;
    data.flags = filter;
    data.action = action;
    let syscall_added = data.has_syscalls();
    for condition in &rule.fields {
        let id = FIELD_NAMES
            .iter()
            .find(|(name, _)| *name == condition.name)
            .map(|(_, id)| *id)
            .ok_or_else(|| format!("unknown field {}", condition.name))?;
        let op = operator(&condition.op)?;
        encode_field(
            &mut data,
            id,
            &condition.name,
            &condition.value,
            op,
            filter,
            syscall_added,
        )?;
    }
    if !rule.key.is_empty() {
        if !syscall_added {
            return Err("key field needs a watch or syscall given prior to it".to_owned());
        }
        data.push_string(field::FILTERKEY, &rule.key, EQUAL)?;
    }
    Ok(data)
}

/// A field value that must be a string.
fn string<'a>(name: &str, value: &'a Value) -> Result<&'a str, String> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(format!("field {name}: {other} should be a string")),
    }
}

fn encode_field(
    data: &mut RuleData,
    id: u32,
    name: &str,
    value: &Value,
    op: u32,
    filter: u32,
    syscall_added: bool,
) -> Result<(), String> {
    if filter == FILTER_EXCLUDE && id != field::MSGTYPE {
        return Err("exclude filter only valid with AUDIT_MSGTYPE".to_owned());
    }
    let exit_only = |what: &str| -> Result<(), String> {
        if filter == FILTER_EXIT {
            Ok(())
        } else {
            Err(format!("{what} can only be used with exit filter list"))
        }
    };
    let encoded = match id {
        field::UID
        | field::EUID
        | field::SUID
        | field::FSUID
        | field::LOGINUID
        | field::OBJ_UID
        | field::OBJ_GID => match value {
            Value::String(text) if text == "unset" => u32::MAX,
            Value::String(text) => {
                user_id(text).ok_or_else(|| format!("field {name}: unknown user {text}"))?
            }
            other => number(name, other)?,
        },
        field::GID | field::EGID | field::SGID | field::FSGID => number(name, value)?,
        field::EXIT => {
            exit_only(name)?;
            number(name, value)?
        }
        field::MSGTYPE => {
            if filter != FILTER_EXCLUDE && filter != FILTER_USER {
                return Err("msgtype field can only be used with exclude filter list".to_owned());
            }
            number(name, value)?
        }
        // Object fields and watches are for the exit list only; all of
        // these are strings.
        field::OBJ_USER
        | field::OBJ_ROLE
        | field::OBJ_TYPE
        | field::OBJ_LEV_LOW
        | field::OBJ_LEV_HIGH
        | field::WATCH
        | field::DIR => {
            exit_only(name)?;
            return data.push_string(id, string(name, value)?, op);
        }
        field::SUBJ_USER
        | field::SUBJ_ROLE
        | field::SUBJ_TYPE
        | field::SUBJ_SEN
        | field::SUBJ_CLR
        | field::FILTERKEY
        | field::EXE => return data.push_string(id, string(name, value)?, op),
        field::ARCH => {
            if !syscall_added {
                return Err("arch should be mentioned before syscall".to_owned());
            }
            if op != EQUAL && op != NOT_EQUAL {
                return Err("arch must have = or != operator".to_owned());
            }
            match value {
                Value::String(text) if text == "b64" || text == "x86_64" => ARCH_X86_64,
                Value::String(text) if text == "b32" || text == "i386" => ARCH_I386,
                Value::Number(n) if n.as_f64() == Some(32.0) => ARCH_I386,
                Value::Number(_) => ARCH_X86_64,
                other => return Err(format!("field arch: unsupported value {other}")),
            }
        }
        field::PERM => {
            exit_only(name)?;
            if op != EQUAL {
                return Err(format!("{name} only takes = or != operators"));
            }
            let Value::String(text) = value else {
                return Err(format!("field {name}: {value} should be a string"));
            };
            if text.is_empty() {
                return Err(format!("invalid permission string {text:?}"));
            }
            permissions(text)?
        }
        field::FILETYPE => {
            let Value::String(text) = value else {
                return Err(format!("expected string but filetype found {value}"));
            };
            FILE_TYPES
                .iter()
                .find(|(known, _)| known == text)
                .map(|(_, bits)| *bits)
                .ok_or_else(|| format!("filetype {text} not found"))?
        }
        field::ARG0 | field::ARG1 | field::ARG2 | field::ARG3 => number(name, value)?,
        field::DEVMAJOR | field::INODE | field::SUCCESS => {
            exit_only(name)?;
            if id == field::INODE && op != EQUAL && op != NOT_EQUAL {
                return Err(format!("{name} only takes = or != operators"));
            }
            number(name, value)?
        }
        field::PPID => {
            exit_only(name)?;
            number(name, value)?
        }
        _ => number(name, value)?,
    };
    data.push_field(id, encoded, op)
}

/// The kernel rules of a rules file and the warnings of skipped rules.
pub fn encode_rules(content: &[u8]) -> Result<(Vec<RuleData>, Vec<String>), String> {
    let file: RulesFile = serde_json::from_slice(content).map_err(|err| err.to_string())?;
    let mut rules = Vec::new();
    let mut warnings = Vec::new();
    for (index, entry) in file.audit_rules.iter().enumerate() {
        let entry = Value::Object(entry.clone());
        let encoded = if entry.get("path").is_some() {
            let rule: FileRule = serde_json::from_value(entry)
                .map_err(|err| format!("audit_rules[{index}]: {err}"))?;
            encode_watch(&rule)
        } else {
            let rule: SyscallRule = serde_json::from_value(entry)
                .map_err(|err| format!("audit_rules[{index}]: {err}"))?;
            encode_syscall(&rule)
        };
        match encoded {
            Ok(rule) => rules.push(rule),
            Err(message) if message.starts_with("skipping rule") => warnings.push(message),
            Err(message) => return Err(format!("audit_rules[{index}]: {message}")),
        }
    }
    Ok((rules, warnings))
}
