//! Reading a file once: the content regexes see its lines, every requested
//! hasher sees its bytes (spec modules.md §3.5).

use std::fs::File;
use std::io::{self, Read};

use md5::Md5;
use regex::bytes::Regex;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use sha3::{Sha3_224, Sha3_256, Sha3_384, Sha3_512};

use super::checks::HashAlgo;

/// The longest line Go's `bufio.Scanner` accepts (its 64 KiB buffer, newline
/// included); a longer line silently ends content reading of the file.
pub const MAX_LINE: usize = 64 * 1024 - 1;

/// Read size.
const CHUNK: usize = 256 * 1024;

/// One content check to evaluate on a file.
pub struct LineCheck<'a> {
    /// The pattern applied to one line.
    pub line: &'a Regex,
    /// The multi-line form used to find candidate lines in a buffer.
    pub buffer: Option<&'a Regex>,
    /// Whether the check's search uses `macroal`.
    pub macroal: bool,
    /// The index of the macroal group (one per search) this check belongs to.
    pub group: usize,
    /// Whether a line *fails* the check when it matches (inverse macroal check).
    pub inverse: bool,
}

/// What reading a file found.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// Per content check: the regex matched at least one line read.
    pub matched: Vec<bool>,
    /// Per macroal group: the 0-based index of the first line failing a check
    /// of the group, and the checks failing on it.
    pub group_failure: Vec<Option<Vec<usize>>>,
    /// Digests (upper-case hex) by algorithm, when reading completed.
    pub digests: Vec<(HashAlgo, String)>,
    /// A read error (Go wording), after which the digests are absent.
    pub error: Option<String>,
    /// The file could not be opened (Go wording of the open error).
    pub open_error: Option<String>,
}

enum Hasher {
    Md5(Md5),
    Sha1(Sha1),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
    Sha3_224(Sha3_224),
    Sha3_256(Sha3_256),
    Sha3_384(Sha3_384),
    Sha3_512(Sha3_512),
}

impl Hasher {
    fn new(algo: HashAlgo) -> Self {
        match algo {
            HashAlgo::Md5 => Hasher::Md5(Md5::new()),
            HashAlgo::Sha1 => Hasher::Sha1(Sha1::new()),
            HashAlgo::Sha256 => Hasher::Sha256(Sha256::new()),
            HashAlgo::Sha384 => Hasher::Sha384(Sha384::new()),
            HashAlgo::Sha512 => Hasher::Sha512(Sha512::new()),
            HashAlgo::Sha3_224 => Hasher::Sha3_224(Sha3_224::new()),
            HashAlgo::Sha3_256 => Hasher::Sha3_256(Sha3_256::new()),
            HashAlgo::Sha3_384 => Hasher::Sha3_384(Sha3_384::new()),
            HashAlgo::Sha3_512 => Hasher::Sha3_512(Sha3_512::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Sha3_224(h) => h.update(data),
            Hasher::Sha3_256(h) => h.update(data),
            Hasher::Sha3_384(h) => h.update(data),
            Hasher::Sha3_512(h) => h.update(data),
        }
    }

    fn finish(self) -> String {
        let digest: Vec<u8> = match self {
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
            Hasher::Sha3_224(h) => h.finalize().to_vec(),
            Hasher::Sha3_256(h) => h.finalize().to_vec(),
            Hasher::Sha3_384(h) => h.finalize().to_vec(),
            Hasher::Sha3_512(h) => h.finalize().to_vec(),
        };
        upper_hex(&digest)
    }
}

/// Upper-case hex, as Go's `%X`.
pub fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    out
}

/// Go's text of an I/O error: the `strerror` text with a lower-case initial
/// and without Rust's `(os error N)` suffix.
pub fn go_errno_text(err: &io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// State of the line evaluation while a file is read.
struct LineState<'a> {
    checks: &'a [LineCheck<'a>],
    matched: Vec<bool>,
    /// Check indices of each macroal group.
    members: Vec<Vec<usize>>,
    group_alive: Vec<bool>,
    group_failure: Vec<Option<Vec<usize>>>,
    groups_alive: usize,
    /// Non-macroal checks not yet matched.
    pending: usize,
    /// Lines are no longer evaluated (all decided, or a line too long).
    done: bool,
}

impl<'a> LineState<'a> {
    fn new(checks: &'a [LineCheck<'a>], groups: usize) -> Self {
        let pending = checks.iter().filter(|check| !check.macroal).count();
        let mut members = vec![Vec::new(); groups];
        for (index, check) in checks.iter().enumerate() {
            if let (true, Some(group)) = (check.macroal, members.get_mut(check.group)) {
                group.push(index);
            }
        }
        let group_alive: Vec<bool> = members.iter().map(|group| !group.is_empty()).collect();
        let groups_alive = group_alive.iter().filter(|alive| **alive).count();
        LineState {
            checks,
            matched: vec![false; checks.len()],
            members,
            group_alive,
            group_failure: vec![None; groups],
            groups_alive,
            pending,
            done: checks.is_empty(),
        }
    }

    fn update_done(&mut self) {
        if self.pending == 0 && self.groups_alive == 0 {
            self.done = true;
        }
    }

    /// Evaluates a region made of complete lines (each ending in `\n`).
    fn region(&mut self, region: &[u8]) {
        if self.done {
            return;
        }
        // Go's scanner stops at the first line longer than its buffer.
        let full = region.len();
        let mut usable = full;
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', region) {
            if end - start > MAX_LINE {
                usable = start;
                break;
            }
            start = end + 1;
        }
        let region = &region[..usable];
        if self.groups_alive == 0 {
            self.search_region(region);
        } else {
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', region) {
                self.line(&region[start..end]);
                start = end + 1;
                if self.done {
                    break;
                }
            }
        }
        if usable < full {
            self.done = true;
        }
    }

    /// One line (without its `\n`), evaluated by every live check.
    fn line(&mut self, line: &[u8]) {
        let line = strip_cr(line);
        for (index, check) in self.checks.iter().enumerate() {
            if !check.macroal && !self.matched[index] && check.line.is_match(line) {
                self.matched[index] = true;
                self.pending -= 1;
            }
        }
        for group in 0..self.members.len() {
            if !self.group_alive[group] {
                continue;
            }
            let mut failing = Vec::new();
            for &index in &self.members[group] {
                let check = &self.checks[index];
                let hit = check.line.is_match(line);
                if hit {
                    self.matched[index] = true;
                }
                if hit == check.inverse {
                    failing.push(index);
                }
            }
            if !failing.is_empty() {
                self.group_failure[group] = Some(failing);
                self.group_alive[group] = false;
                self.groups_alive -= 1;
            }
        }
        self.update_done();
    }

    /// Non-macroal checks only: find candidate lines with the buffer regex.
    fn search_region(&mut self, region: &[u8]) {
        for (index, check) in self.checks.iter().enumerate() {
            if self.matched[index] {
                continue;
            }
            let found = match check.buffer {
                Some(buffer) => region_has_matching_line(buffer, check.line, region),
                None => {
                    let mut start = 0;
                    let mut found = false;
                    for end in memchr::memchr_iter(b'\n', region) {
                        if check.line.is_match(strip_cr(&region[start..end])) {
                            found = true;
                            break;
                        }
                        start = end + 1;
                    }
                    found
                }
            };
            if found {
                self.matched[index] = true;
                self.pending -= 1;
            }
        }
        self.update_done();
    }

    /// The final line when the file does not end with a newline.
    fn last(&mut self, line: &[u8]) {
        if !self.done && !line.is_empty() && line.len() <= MAX_LINE {
            if self.groups_alive == 0 {
                let mut region = line.to_vec();
                region.push(b'\n');
                self.search_region(&region);
            } else {
                self.line(line);
            }
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether some line of `region` (complete lines) matches `line_regex`,
/// using `buffer_regex` (multi-line) to skip to candidate lines.
fn region_has_matching_line(buffer_regex: &Regex, line_regex: &Regex, region: &[u8]) -> bool {
    let mut at = 0;
    while at < region.len() {
        let Some(found) = buffer_regex.find_at(region, at) else {
            return false;
        };
        let start = memchr::memrchr(b'\n', &region[..found.start()]).map_or(0, |nl| nl + 1);
        let start = start.max(at);
        let end = memchr::memchr(b'\n', &region[found.start()..])
            .map_or(region.len(), |nl| found.start() + nl);
        if line_regex.is_match(strip_cr(&region[start..end])) {
            return true;
        }
        at = end + 1;
    }
    false
}

/// Reads `path` once, feeding the content checks (grouped per macroal search)
/// and the hashers of `algos` (a bit set of [`HashAlgo::bit`]).
pub fn read_file(
    path: &std::path::Path,
    checks: &[LineCheck<'_>],
    groups: usize,
    algos: u16,
    decompress: bool,
) -> ReadOutcome {
    let mut outcome = ReadOutcome::default();
    let mut state = LineState::new(checks, groups);
    let mut hashers: Vec<(HashAlgo, Hasher)> = HashAlgo::ALL
        .iter()
        .filter(|algo| algos & algo.bit() != 0)
        .map(|algo| (*algo, Hasher::new(*algo)))
        .collect();
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) => {
            outcome.open_error = Some(format!(
                "open {}: {}",
                path.to_string_lossy(),
                go_errno_text(&err)
            ));
            outcome.matched = state.matched;
            outcome.group_failure = state.group_failure;
            return outcome;
        }
    };
    let mut reader: Box<dyn Read>;
    let mut gzip = false;
    if decompress {
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match file.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    outcome.error = Some(go_errno_text(&err));
                    break;
                }
            }
        }
        let prefix = magic[..got].to_vec();
        let chained = io::Cursor::new(prefix).chain(file);
        if got == 2 && magic == [0x1f, 0x8b] {
            gzip = true;
            reader = Box::new(flate2::read::MultiGzDecoder::new(chained));
        } else {
            reader = Box::new(chained);
        }
    } else {
        reader = Box::new(file);
    }
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    let mut total: u64 = 0;
    while outcome.error.is_none() {
        let carried = buffer.len();
        buffer.resize(carried + CHUNK, 0);
        let read = match reader.read(&mut buffer[carried..]) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {
                buffer.truncate(carried);
                continue;
            }
            Err(err) => {
                buffer.truncate(carried);
                outcome.error = Some(read_error_text(&err, gzip, total));
                break;
            }
        };
        buffer.truncate(carried + read);
        total += read as u64;
        if read == 0 {
            break;
        }
        let fresh = &buffer[carried..];
        for (_, hasher) in &mut hashers {
            hasher.update(fresh);
        }
        if state.done {
            buffer.clear();
            if hashers.is_empty() {
                break;
            }
            continue;
        }
        if let Some(last_newline) = memchr::memrchr(b'\n', &buffer) {
            state.region(&buffer[..=last_newline]);
            buffer.drain(..=last_newline);
        }
        if buffer.len() > MAX_LINE {
            // A line longer than Go's scanner buffer ends content reading.
            state.done = true;
            buffer.clear();
        }
        if state.done && hashers.is_empty() {
            break;
        }
    }
    if outcome.error.is_none() {
        state.last(&buffer);
        outcome.digests = hashers
            .into_iter()
            .map(|(algo, hasher)| (algo, hasher.finish()))
            .collect();
    }
    outcome.matched = state.matched;
    outcome.group_failure = state.group_failure;
    outcome
}

/// Go's wording of a read error.
fn read_error_text(err: &io::Error, gzip: bool, decoded: u64) -> String {
    let text = err.to_string();
    if gzip {
        if text.contains("header") {
            return "gzip: invalid header".to_owned();
        }
        if text.contains("checksum") {
            return "gzip: invalid checksum".to_owned();
        }
        if err.kind() == io::ErrorKind::UnexpectedEof {
            return "unexpected EOF".to_owned();
        }
        return format!("flate: corrupt input before offset {}", decoded + 5);
    }
    go_errno_text(err)
}
