//! `mig file` flags (spec modules.md §3.7): one search labelled `s1`.

use std::collections::BTreeMap;
use std::io::Write;

use mig_goflag::FlagSet;
use serde::Serialize;

use super::params::{Options, Search, validate};
use crate::cli::{help_or_flags, list_or_none, to_json};

/// The help `mig file help` prints (the original's text).
pub const HELP: &str = include_str!("help.txt");

fn flags() -> FlagSet {
    let mut set = FlagSet::named("file");
    for list in [
        "path", "name", "size", "mode", "mtime", "content", "md5", "sha1", "sha2", "sha3",
        "mismatch",
    ] {
        set = set.list(list, "see help");
    }
    set.float("maxdepth", "1000", "see help")
        .float("maxerrors", "30", "see help")
        .float("matchlimit", "1000", "see help")
        .bool_default("matchall", true, "see help")
        .bool("matchany", "see help")
        .bool("macroal", "see help")
        .bool("returnsha256", "see help")
        .bool("decompress", "see help")
        .bool("verbose", "see help")
}

#[derive(Serialize)]
struct Parameters {
    searches: BTreeMap<String, Search>,
}

/// The file module's `ParamsParser`.
pub fn parse_params(
    args: &[String],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Option<String>, String> {
    let Some(parsed) = help_or_flags(args, HELP, &flags(), stdout, stderr)? else {
        return Ok(None);
    };
    let search = Search {
        paths: list_or_none(&parsed, "path"),
        names: parsed.list("name").to_vec(),
        sizes: parsed.list("size").to_vec(),
        modes: parsed.list("mode").to_vec(),
        mtimes: parsed.list("mtime").to_vec(),
        contents: parsed.list("content").to_vec(),
        md5: parsed.list("md5").to_vec(),
        sha1: parsed.list("sha1").to_vec(),
        sha2: parsed.list("sha2").to_vec(),
        sha3: parsed.list("sha3").to_vec(),
        options: Options {
            maxdepth: parsed.float("maxdepth"),
            maxerrors: parsed.float("maxerrors"),
            matchall: parsed.bool("matchall") && !parsed.bool("matchany"),
            macroal: parsed.bool("macroal"),
            mismatch: list_or_none(&parsed, "mismatch"),
            matchlimit: parsed.float("matchlimit"),
            returnsha256: parsed.bool("returnsha256"),
            decompress: parsed.bool("decompress"),
            ..Options::default()
        },
        ..Search::default()
    };
    let searches = BTreeMap::from([("s1".to_owned(), search)]);
    validate(&searches)?;
    Ok(Some(to_json(&Parameters { searches })))
}
