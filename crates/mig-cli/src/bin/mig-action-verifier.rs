//! `mig-action-verifier`: see [`mig_cli::verifier`].

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = mig_cli::verifier::run(
        &args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
