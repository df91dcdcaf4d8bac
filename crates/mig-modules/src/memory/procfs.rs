//! What the memory module reads from procfs: the pids, a process's name, its
//! mappings (libraries and readable regions), and its memory through
//! `/proc/<pid>/mem` with positional reads — the target is never stopped.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The numeric entries of `/proc`, ascending.
pub fn pids() -> io::Result<Vec<u32>> {
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// The process name as the original shows it: the canonical path of the
/// executable, or `[<Name: of status>]` when that is unreadable (kernel
/// threads, other users without privileges); empty when the process is gone.
pub fn process_name(pid: u32) -> String {
    let exe = format!("/proc/{pid}/exe");
    if let Ok(path) = std::fs::canonicalize(&exe).or_else(|_| std::fs::read_link(&exe)) {
        return path.to_string_lossy().into_owned();
    }
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Name:"))
                .map(|name| format!("[{}]", name.trim()))
        })
        .unwrap_or_default()
}

/// One line of `/proc/<pid>/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `rwxp` permissions.
    pub perms: String,
    /// The path column (may be empty or a `[pseudo]` name).
    pub path: String,
}

/// Parses the text of `/proc/<pid>/maps`; malformed lines are skipped.
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(6, ' ');
            let range = fields.next()?;
            let perms = fields.next()?;
            let (_offset, _dev, _inode) = (fields.next()?, fields.next()?, fields.next()?);
            let path = fields.next().unwrap_or("").trim_start().to_owned();
            let (start, end) = range.split_once('-')?;
            Some(Mapping {
                start: u64::from_str_radix(start, 16).ok()?,
                end: u64::from_str_radix(end, 16).ok()?,
                perms: perms.to_owned(),
                path,
            })
        })
        .collect()
}

/// Reads the mappings of a process.
pub fn maps(pid: u32) -> io::Result<Vec<Mapping>> {
    Ok(parse_maps(&std::fs::read_to_string(format!(
        "/proc/{pid}/maps"
    ))?))
}

/// The libraries of a process: the distinct paths of its mappings, without
/// the executable itself, `/dev/zero` and pseudo-mappings (`[heap]`, …).
pub fn libraries(mappings: &[Mapping], exe: &str) -> Vec<String> {
    let mut libraries: Vec<String> = Vec::new();
    for mapping in mappings {
        let path = mapping.path.as_str();
        if path.is_empty()
            || path == exe
            || path == "/dev/zero"
            || path == "/dev/zero (deleted)"
            || (path.starts_with('[') && path.ends_with(']'))
        {
            continue;
        }
        if !libraries.iter().any(|known| known == path) {
            libraries.push(path.to_owned());
        }
    }
    libraries
}

/// A range of readable memory: adjacent readable mappings merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
}

/// The readable regions at or above `offset`: mappings whose permissions
/// start with `r`, without `[vsyscall]`, adjacent ones merged.
pub fn readable_regions(mappings: &[Mapping], offset: u64) -> Vec<Region> {
    let mut regions: Vec<Region> = Vec::new();
    for mapping in mappings {
        if !mapping.perms.starts_with('r') || mapping.path == "[vsyscall]" {
            continue;
        }
        let start = mapping.start.max(offset);
        if start >= mapping.end {
            continue;
        }
        match regions.last_mut() {
            Some(last) if last.end == mapping.start => last.end = mapping.end,
            _ => regions.push(Region {
                start,
                end: mapping.end,
            }),
        }
    }
    regions
}

/// Opens `/proc/<pid>/mem` for reading (the kernel checks ptrace-attach
/// rights here: root or CAP_SYS_PTRACE, or the same user within Yama's
/// `ptrace_scope`).
pub fn open_mem(pid: u32) -> io::Result<File> {
    File::open(Path::new("/proc").join(pid.to_string()).join("mem"))
}

/// Fills `buf` from `address` with positional reads; returns how many bytes
/// were read (fewer at the end of readable memory). The first failure is
/// returned only when nothing was read.
pub fn read_at(mem: &File, buf: &mut [u8], address: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match mem.read_at(&mut buf[done..], address + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) if done == 0 => return Err(err),
            Err(_) => break,
        }
    }
    Ok(done)
}
