//! `mig-agent`: see [`mig_agent::cli`].

fn main() -> std::process::ExitCode {
    mig_agent::cli::main(std::env::args().skip(1).collect())
}
