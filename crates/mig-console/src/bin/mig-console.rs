//! `mig-console`: see [`mig_console`].

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = mig_console::run(&args);
    std::process::exit(code);
}
