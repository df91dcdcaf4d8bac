//! `mig-agent-search`: see [`mig_cli::agent_search`].

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let mut io = mig_cli::agent_search::Io {
        stdin: &mut stdin,
        stdout: &mut stdout,
        stderr: &mut stderr,
    };
    let code = mig_cli::agent_search::run(&args, &mut io);
    let _ = stdout.flush();
    std::process::exit(code);
}
