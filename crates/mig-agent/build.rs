//! Bakes a configuration into the agent: `MIG_AGENT_BUILTIN_CONFIG=/path/to/mig-agent.cfg
//! cargo build -p mig-agent` embeds that file as the built-in configuration, used
//! (key by key, under the file's) when no `-c` file exists.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=MIG_AGENT_BUILTIN_CONFIG");
    let text = match std::env::var_os("MIG_AGENT_BUILTIN_CONFIG") {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(error) => panic!(
                    "MIG_AGENT_BUILTIN_CONFIG: cannot read {}: {error}",
                    path.display()
                ),
            }
        }
        _ => String::new(),
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(error) = std::fs::write(out.join("builtin-mig-agent.cfg"), text) {
        panic!("cannot write the built-in configuration: {error}");
    }
}
