//! The interactive `.migrc` generator (clients.md §1.2), answers fed on
//! stdin: the original's transcripts when the investigator declines or has
//! no GnuPG directory, then a whole dialogue with a real GnuPG home holding
//! Bob's key and a real API, after which the tools start from the written
//! file and sign with `gpg`.

use std::path::Path;
use std::process::Command;

use chrono::Utc;

use super::support::{Api, BOB_SECRET, same_as, signing, tool};

/// The captures' HOME without a `.migrc` (nothing is written there).
const EMPTY_HOME: &str = "/srv/migref/emptyhome";
const FILE_ARGS: [&str; 7] = [
    "file",
    "-t",
    "allonline",
    "-path",
    "/etc",
    "-name",
    "^passwd$",
];

#[test]
fn declining_and_missing_gnupg_are_the_originals() {
    let home = Path::new(EMPTY_HOME);
    let mig = env!("CARGO_BIN_EXE_mig");
    same_as(
        &tool(mig, &FILE_ARGS, home, b"n\n"),
        "err_missing_migrc_answer_n",
    );
    same_as(
        &tool(mig, &FILE_ARGS, home, b""),
        "err_missing_migrc_stdin_devnull",
    );
    // An explicit -c that does not exist: the same generator.
    same_as(
        &tool(
            mig,
            &[
                "file",
                "-c",
                "/srv/migref/capwork/nonexistent.migrc",
                "-t",
                "allonline",
                "-path",
                "/etc",
                "-name",
                "^passwd$",
            ],
            Path::new("/srv/migref/home"),
            b"",
        ),
        "err_c_missing_file",
    );
    // The other tools ask the same way.
    let run = tool(
        env!("CARGO_BIN_EXE_mig-agent-search"),
        &["-t", "allonline"],
        home,
        b"n\n",
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "no configuration found at /srv/migref/emptyhome/.migrc\n\
         error: ReadConfiguration() -> MakeConfiguration() -> aborting creating configuration file\n"
    );
    let run = tool(
        env!("CARGO_BIN_EXE_mig-action-generator"),
        &["-i", "x.json"],
        home,
        b"n\n",
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "generate a new configuration file at /srv/migref/emptyhome/.migrc? (Y/n)> \
         FATAL: ReadConfiguration() -> MakeConfiguration() -> aborting creating configuration file\n"
    );
}

#[test]
fn a_whole_dialogue_then_the_tools_use_the_file() {
    let api = Api::start();
    let mut agent = mig_protocol::Agent {
        name: "vm".to_owned(),
        queueloc: "linux.setup".to_owned(),
        mode: "daemon".to_owned(),
        pid: 42,
        ..Default::default()
    };
    agent.environment.os = "linux".to_owned();
    api.seed_agent(&agent, Utc::now(), Utc::now());

    // A short path: gpg-agent's socket lives in the GnuPG home.
    let home = tempfile::Builder::new()
        .prefix("migs")
        .tempdir_in("/tmp")
        .unwrap();
    let gnupg = home.path().join(".gnupg");
    std::fs::create_dir(&gnupg).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let status = Command::new("gpg")
        .arg("--homedir")
        .arg(&gnupg)
        .args(["--batch", "--quiet", "--import"])
        .arg(signing(BOB_SECRET))
        .status()
        .unwrap();
    assert!(status.success());
    let fingerprint = super::support::bob()
        .public_key()
        .fingerprint()
        .to_uppercase();
    let user_id = super::support::bob().public_key().user_id().unwrap();

    // Yes; Bob's key; an address that does not answer; the API.
    let answers = format!("y\n\nhttp://127.0.0.1:9/api/v1/\n{}\n", api.url);
    let run = tool(
        env!("CARGO_BIN_EXE_mig-agent-search"),
        &["-t", "allonline"],
        home.path(),
        answers.as_bytes(),
    );
    let file = home.path().join(".migrc");
    let file_name = file.display();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr,
        format!("no configuration found at {file_name}\n")
    );
    let (dialogue, results) = run.stdout.split_at(run.stdout.find("name; id;").unwrap());
    assert!(
        dialogue.starts_with(&format!(
            "generate a new configuration file at {file_name}? (Y/n)> \
             found key \"{user_id}\" with fingerprint \"{fingerprint}\".\nuse this key? (Y/n)> \
             using key \"{fingerprint}\"\n\
             URL of API? (e.g., https://mig.example.net/api/v1/)> \
             API connection failed: Get \"http://127.0.0.1:9/api/v1/\": "
        )),
        "{dialogue}"
    );
    assert!(
        dialogue.ends_with(&format!(
            "\nURL of API? (e.g., https://mig.example.net/api/v1/)> \
             \ncreated configuration file at {file_name}\n\n"
        )),
        "{dialogue}"
    );
    assert_eq!(results.lines().count(), 2, "{results}");
    assert!(
        results.lines().nth(1).unwrap().starts_with("vm; "),
        "{results}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!(
            "[api]\n\turl = \"{}\"\n[gpg]\n\thome = \"{}\"\n\tkeyid = \"{fingerprint}\"\n[targets]\n\tmacro = allonline:status='online'\n",
            api.url,
            gnupg.display()
        )
    );

    // A second start reads the file and asks nothing (tokens signed by gpg).
    let run = tool(
        env!("CARGO_BIN_EXE_mig-agent-search"),
        &["-p", "name=vm"],
        home.path(),
        b"",
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert!(run.stdout.starts_with("name; id;") && run.stdout.contains("\nvm; "));
    // mig too: it signs the action with gpg and the API accepts it.
    let run = tool(
        env!("CARGO_BIN_EXE_mig"),
        &["file", "-t", "allonline", "-s", "-path", "/etc"],
        home.path(),
        b"",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("\"pgpsignatures\": ["),
        "{}",
        run.stdout
    );
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(&gnupg)
        .args(["--kill", "all"])
        .status();
}

#[test]
fn the_verifier_reads_the_default_migrc() {
    // ~/.migrc signing with a secret key file (as mig-quickstart writes it):
    // the verifier checks with that key, no GnuPG involved.
    let home = tempfile::tempdir().unwrap();
    super::support::write_migrc(&home.path().join(".migrc"), "http://127.0.0.1:9/api/v1/");
    let action = signing("file_search.action.json");
    let run = tool(
        env!("CARGO_BIN_EXE_mig-action-verifier"),
        &[
            "-a",
            action.to_str().unwrap(),
            "-now",
            "2024-01-02T03:05:00Z",
        ],
        home.path(),
        b"",
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "Valid signature\n"),
        "{}",
        run.stderr
    );
    // Another key's file: the same action is refused.
    let other = mig_protocol::pgp::SecretKeySigner::generate(
        mig_protocol::pgp::KeyAlgo::Ed25519,
        "Other <other@example.net>",
    )
    .unwrap();
    let other_file = home.path().join("other.asc");
    std::fs::write(&other_file, other.to_armored_secret().unwrap()).unwrap();
    std::fs::write(
        home.path().join(".migrc"),
        format!(
            "[api]\n    url = \"http://127.0.0.1:9/api/v1/\"\n[gpg]\n    secretkeyfile = \"{}\"\n",
            other_file.display()
        ),
    )
    .unwrap();
    let run = tool(
        env!("CARGO_BIN_EXE_mig-action-verifier"),
        &[
            "-a",
            action.to_str().unwrap(),
            "-now",
            "2024-01-02T03:05:00Z",
        ],
        home.path(),
        b"",
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.starts_with("[error] signature 0 is invalid"),
        "{}",
        run.stdout
    );
}
