//! `mig`: see [`mig_cli::mig`].

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let mut io = mig_cli::mig::Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        terminal: mig_cli::mig::stderr_is_terminal(),
        stop: None,
        tick: Duration::from_secs(1),
    };
    let code = mig_cli::mig::run(&args, &mut io);
    drop(io);
    use std::io::Write;
    let _ = stdout.flush();
    std::process::exit(code);
}
