//! `mig-pki [-dir DIR] [-relayhost NAME]... [-days N] [-force]`: makes the
//! relay's CA and certificates (see the library documentation), prints what
//! it made and kept. Non-interactive and idempotent.

use std::path::PathBuf;
use std::process::ExitCode;

use mig_goflag::{FlagError, FlagSet};

fn flags() -> FlagSet {
    FlagSet::named("mig-pki")
        .string("dir", "mig-pki", "output directory")
        .list(
            "relayhost",
            "DNS name or IP address of the relay as agents reach it (repeat; default localhost and 127.0.0.1)",
        )
        .int("days", "1095", "validity of the leaf certificates in days")
        .bool("force", "make everything anew, the CA included")
}

fn main() -> ExitCode {
    let flags = flags();
    let parsed = match flags.parse(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(FlagError::Help) => {
            print!("{}", flags.usage());
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("{error}\n{}", flags.usage());
            return ExitCode::from(2);
        }
    };
    if let Some(extra) = parsed.rest.first() {
        eprintln!("unexpected argument {extra:?}\n{}", flags.usage());
        return ExitCode::from(2);
    }
    let mut relay_hosts = parsed.list("relayhost").to_vec();
    if relay_hosts.is_empty() {
        relay_hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    }
    let Ok(days) = u32::try_from(parsed.int("days")) else {
        eprintln!(
            "mig-pki: -days must be between 1 and 36500, not {}",
            parsed.int("days")
        );
        return ExitCode::from(2);
    };
    let options = mig_pki::Options {
        dir: PathBuf::from(parsed.string("dir")),
        relay_hosts,
        days,
        force: parsed.bool("force"),
    };
    match mig_pki::ensure(&options) {
        Ok(outcome) => {
            for path in &outcome.created {
                println!("created {}", path.display());
            }
            for path in &outcome.kept {
                println!("kept    {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("mig-pki: {error}");
            ExitCode::FAILURE
        }
    }
}
