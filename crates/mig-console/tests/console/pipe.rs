//! The dialogue piped on a non-terminal stdin, as scripts (and the
//! deployment walkthrough) create their first investigator.

use std::io::Write;
use std::process::Stdio;

use mig_api::Store as _;
use mig_protocol::Permissions;

use crate::harness::{Env, OTHER_PUBLIC, vector_path};

#[test]
fn create_investigator_from_piped_stdin() {
    let env = Env::start();
    let mut child = env
        .command()
        .arg("-q")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dialogue = format!(
        "create investigator\nDana Pipe\nyes\nyes\nyes\nyes\n{}\ny\n",
        vector_path(OTHER_PUBLIC).display()
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dialogue.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let (_, id) = stdout
        .split_once("Investigator 'Dana Pipe' successfully created with ID ")
        .unwrap_or_else(|| panic!("{stdout}\n{stderr}"));
    let id: u64 = id.lines().next().unwrap().trim().parse().unwrap();
    // -q: no banner, no footer.
    assert!(
        !stdout.contains("Gators are going back underwater."),
        "{stdout}"
    );
    let dana = env
        .block_on(env.store.get_investigator(mig_protocol::Id(id)))
        .unwrap()
        .unwrap();
    assert_eq!(dana.permissions, Permissions::ALL);
    assert!(!dana.pgpfingerprint.is_empty());
}
