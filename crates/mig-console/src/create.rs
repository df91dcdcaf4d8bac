//! `create investigator` (§3.9), manifests (§3.7) and loaders (§3.8).

use std::sync::LazyLock;

use base64::Engine;
use mig_client::admin::PublicKeyFile;
use mig_protocol::manifest::{LoaderEntry, ManifestRecord};
use mig_protocol::{Permissions, gojson};

use crate::fmt::indent_json;
use crate::modes::{Flow, entering, mode_loop};
use crate::{Console, RED, prompt};

/// Asks a yes/no question; `Err` for any other answer (which aborts).
fn yes_no(console: &mut Console, question: &str) -> Result<bool, String> {
    match console.ask(question).as_deref() {
        Some("yes") => Ok(true),
        Some("no") => Ok(false),
        Some(other) => Err(format!("invalid answer '{other}': yes or no expected")),
        None => Err("aborted".to_owned()),
    }
}

/// A `(y/n)` confirmation: true only for `y`.
fn confirm(console: &mut Console, question: &str) -> bool {
    console.ask(question).as_deref() == Some("y")
}

/// Reads a name of at least 3 characters.
fn read_name(console: &mut Console) -> Result<String, String> {
    loop {
        let Some(name) = console.read("name> ", &[]) else {
            return Err("aborted".to_owned());
        };
        let name = name.trim().to_owned();
        if name.chars().count() < 3 {
            println!("input name too short");
            continue;
        }
        return Ok(name);
    }
}

static FINGERPRINT: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new("^0x[ABCDEF0-9]{8,64}$").unwrap_or_else(|_| unreachable!("valid regex"))
});

/// `create investigator`.
pub fn create_investigator(console: &mut Console) -> Result<(), String> {
    println!(
        "Entering investigator creation mode.\n\nPlease provide the full name for the new investigator."
    );
    let name = read_name(console)?;
    println!("Name: \"{name}\"");
    println!(
        "\nPermissions restrict an investigator to certain functions within the API.
By default, the investigator is limited to investigation related functions such as
creating investigations or viewing results. Additional permissions can be assigned
which provide increased access for the investigator such as the ability to create
new investigators.

Enter yes to any of the following to add increased privileges."
    );
    let mut permissions = Permissions::DEFAULT;
    for (question, set, what) in [
        (
            "Allow investigator to manage users (admin)? (yes/no)> ",
            Permissions::ADMIN,
            "administrative",
        ),
        (
            "Allow investigator to manage loaders? (yes/no)> ",
            Permissions::LOADER,
            "loader management",
        ),
        (
            "Allow investigator to manage manifests? (yes/no)> ",
            Permissions::MANIFEST,
            "manifest management",
        ),
    ] {
        if yes_no(console, question)? {
            permissions = permissions.union(set);
            println!("Investigator will have {what} permissions");
        } else {
            println!("Investigator will not have {what} permissions");
        }
    }
    println!(
        "\nGenerally you will want a PGP public key associated with the investigator. This provides
the investigator the ability to query agents. It is also possible to skip adding a PGP key,
in which case the investigator will be limited to interactions with the API if API key based
authentication is enabled for the investigator.

Only answer no here if you have an advanced use-case and are familiar with how authentication
in MIG works.
"
    );
    let mut public_key = None;
    if yes_no(console, "Add a public key for the investigator? (yes/no)> ")? {
        println!(
            "Please provide a public key. You can either provide a local path to the
armored public key file, or a full length PGP fingerprint.
example:
pubkey> 0x716CFA6BA8EBB21E860AE231645090E64367737B"
        );
        let Some(answer) = console.read("pubkey> ", &[]) else {
            return Err("aborted".to_owned());
        };
        let answer = answer.trim().to_owned();
        let armored = if FINGERPRINT.is_match(&answer) {
            fetch_from_keyserver(console, &answer)?
        } else {
            println!("retrieving public key from {answer}");
            std::fs::read(&answer)
                .map_err(|err| format!("cannot read the public key file {answer}: {err}"))?
        };
        println!("{}", String::from_utf8_lossy(&armored).trim_end());
        public_key = Some(PublicKeyFile {
            file_name: format!("{name}.asc"),
            armored,
        });
    }
    if !confirm(console, "create investigator? (y/n)> ") {
        println!("Investigator creation aborted");
        return Ok(());
    }
    let investigator = console
        .client
        .post_investigator(&name, permissions, public_key.as_ref())
        .map_err(|err| err.to_string())?;
    println!(
        "Investigator '{}' successfully created with ID {}",
        investigator.name, investigator.id.0
    );
    Ok(())
}

/// Fetches an armored public key by fingerprint from `gpg.keyserver`
/// (default `http://gpg.mozilla.org`; the original ignored a configured one).
fn fetch_from_keyserver(console: &Console, fingerprint: &str) -> Result<Vec<u8>, String> {
    let server = match console.migrc.gpg_keyserver.as_str() {
        "" => "http://gpg.mozilla.org",
        configured => configured,
    };
    let url = format!(
        "{}/pks/lookup?op=get&options=mr&search={fingerprint}",
        server.trim_end_matches('/')
    );
    println!("retrieving public key from {url}");
    let mut response = ureq::get(&url)
        .call()
        .map_err(|err| format!("keyserver {url}: {err}"))?;
    response
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_vec()
        .map_err(|err| format!("keyserver {url}: {err}"))
}

/// A manifest record as shown: `content` replaced by `...` (or `None`).
fn manifest_json(record: &ManifestRecord) -> String {
    let mut shown = record.clone();
    shown.content = if record.content.is_empty() {
        "None".to_owned()
    } else {
        "...".to_owned()
    };
    indent_json(&gojson::to_string(&shown), "  ")
}

/// `create manifest`.
pub fn create_manifest(console: &mut Console) -> Result<(), String> {
    println!("Entering manifest creation mode.\nPlease provide the name of the new manifest");
    let name = read_name(console)?;
    println!("Name: '{name}'");
    println!("Please provide loader targeting string for manifest.");
    let Some(target) = console.read("target> ", &[]) else {
        return Err("aborted".to_owned());
    };
    let target = target.trim().to_owned();
    println!("Target: '{target}'");
    println!("Please enter path to new manifest archive content.");
    let Some(path) = console.read("contentpath> ", &[]) else {
        return Err("aborted".to_owned());
    };
    let path = path.trim().to_owned();
    let bytes = std::fs::read(&path)
        .map_err(|err| format!("cannot read the manifest content {path}: {err}"))?;
    let record = ManifestRecord {
        name,
        target,
        status: "staged".to_owned(),
        content: base64::engine::general_purpose::STANDARD.encode(&bytes),
        ..ManifestRecord::default()
    };
    record
        .files()
        .map_err(|err| format!("invalid manifest content: {err}"))?;
    println!("{}", manifest_json(&record));
    if !confirm(console, "create manifest? (y/n)> ") {
        println!("aborting");
        return Ok(());
    }
    console
        .client
        .post_new_manifest(&record)
        .map_err(|err| err.to_string())?;
    println!("Manifest successfully created");
    Ok(())
}

const MANIFEST_WORDS: &[&str] = &[
    "disable", "entry", "exit", "fetch ", "help", "json", "loaders", "r", "reset", "sign", "shasum",
];

const MANIFEST_HELP: &str = "The following orders are available:
disable                 disable manifest
entry                   show the manifest as a loader would see it
exit                    exit this mode
fetch <path>            fetch manifest content and write it to <path>
help                    show this help
json                    show json of manifest record stored in database
loaders                 show the loader entries the manifest targets
r                       refresh the manifest (get latest version from database)
reset                   reset manifest status (marks manifest as staged, removes signatures)
sign                    add a signature to the manifest record
shasum                  show the sha256 of the files in the manifest";

/// `manifest <id>`: the manifest reader.
pub fn manifest_reader(console: &mut Console, id: u64) -> Result<(), String> {
    let mut record = console
        .client
        .get_manifest_record(id)
        .map_err(|err| err.to_string())?;
    entering("manifest management");
    println!("Manifest: '{}'.\nStatus '{}'.", record.name, record.status);
    let prompt = prompt(RED, &format!("manifest {}>", id % 1000));
    mode_loop(
        console,
        &prompt,
        MANIFEST_WORDS,
        "manifest management",
        |console, _line, words| {
            let reload = |console: &Console| {
                console
                    .client
                    .get_manifest_record(id)
                    .map_err(|err| err.to_string())
            };
            match words[0] {
                "disable" => {
                    console
                        .client
                        .manifest_record_status(id, "disabled")
                        .map_err(|err| err.to_string())?;
                    println!("Manifest record has been disabled");
                    record = reload(console)?;
                }
                "reset" => {
                    console
                        .client
                        .manifest_record_status(id, "staged")
                        .map_err(|err| err.to_string())?;
                    println!("Manifest record has been reset");
                    record = reload(console)?;
                }
                "sign" => {
                    let signer = console.signer.clone().ok_or_else(|| {
                        "cannot sign a manifest without a signing key (gpg.keyid)".to_owned()
                    })?;
                    let response = record.response("").map_err(|err| err.to_string())?;
                    let signature = signer
                        .sign(response.signing_form().as_bytes())
                        .map_err(|err| format!("failed to sign the manifest: {err}"))?;
                    console
                        .client
                        .post_manifest_signature(id, &signature)
                        .map_err(|err| err.to_string())?;
                    println!("Manifest signature has been accepted");
                    record = reload(console)?;
                }
                "entry" => {
                    let mut response = record.response("").map_err(|err| err.to_string())?;
                    response.signatures = Some(record.signatures.clone().unwrap_or_default());
                    println!("{}", indent_json(&gojson::to_string(&response), "  "));
                }
                "shasum" => {
                    let response = record.response("").map_err(|err| err.to_string())?;
                    let mut entries = response.entries.unwrap_or_default();
                    entries.sort_by(|a, b| a.name.cmp(&b.name));
                    for entry in entries {
                        println!("{}  {}", entry.sha256, entry.name);
                    }
                }
                "fetch" => {
                    let Some(path) = words.get(1) else {
                        return Err("error: missing path in 'fetch <path>'".to_owned());
                    };
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(record.content.as_bytes())
                        .map_err(|err| format!("manifest content is not base64: {err}"))?;
                    std::fs::write(path, bytes)
                        .map_err(|err| format!("cannot write {path}: {err}"))?;
                    println!("Manifest content written to {path}");
                }
                "json" => println!("{}", manifest_json(&record)),
                "loaders" => {
                    let loaders = console
                        .client
                        .get_manifest_loaders(id)
                        .map_err(|err| err.to_string())?;
                    for loader in loaders {
                        println!("{}", gojson::to_string(&loader));
                    }
                }
                "r" => {
                    record = reload(console)?;
                    println!("reloaded");
                }
                "help" => println!("{MANIFEST_HELP}"),
                _ => return Ok(None),
            }
            Ok(Some(Flow::Stay))
        },
    );
    Ok(())
}

fn print_loader_key(entry: &LoaderEntry) {
    println!(
        "Loader key including prefix to supply to client will be \"{}{}\"",
        entry.prefix, entry.key
    );
}

/// `create loader`.
pub fn create_loader(console: &mut Console) -> Result<(), String> {
    println!("Entering loader creation mode.\nPlease provide the name of the new entry");
    let name = read_name(console)?;
    println!("Name: '{name}'");
    println!(
        "Please provide loader environment expectation string, or hit enter to leave it empty."
    );
    let Some(expectenv) = console.read("expectenv> ", &[]) else {
        return Err("aborted".to_owned());
    };
    let entry = LoaderEntry {
        name,
        expectenv: expectenv.trim().to_owned(),
        ..LoaderEntry::default()
    };
    println!("{}", indent_json(&gojson::to_string(&entry), "  "));
    println!("Server will assign prefix and key on creation");
    if !confirm(console, "create loader entry? (y/n)> ") {
        println!("aborting");
        return Ok(());
    }
    let created = console
        .client
        .post_new_loader(&entry)
        .map_err(|err| err.to_string())?;
    print_loader_key(&created);
    println!(
        "New entry successfully created (id {}) but is disabled",
        created.id.0
    );
    Ok(())
}

const LOADER_WORDS: &[&str] = &[
    "disable",
    "enable",
    "exit",
    "expectenv ",
    "help",
    "json",
    "key",
    "r",
];

const LOADER_HELP: &str = "The following orders are available:
disable                 disable loader entry
enable                  enable loader entry
expectenv <expr>        set the environment the loader is expected to report (empty clears it)
exit                    exit this mode
help                    show this help
json                    show json of loader entry stored in database
key                     change loader key
r                       refresh the loader entry (get latest version from database)";

/// `loader <id>`: the loader reader.
pub fn loader_reader(console: &mut Console, id: u64) -> Result<(), String> {
    let mut entry = console
        .client
        .get_loader_entry(id)
        .map_err(|err| err.to_string())?;
    entering("loader management");
    println!("Loader: '{}'.\nStatus '{}'.", entry.name, entry.enabled);
    let prompt = prompt(RED, &format!("loader {}>", id % 1000));
    mode_loop(
        console,
        &prompt,
        LOADER_WORDS,
        "loader management",
        |console, _line, words| {
            let reload = |console: &Console| {
                console
                    .client
                    .get_loader_entry(id)
                    .map_err(|err| err.to_string())
            };
            match words[0] {
                "enable" | "disable" => {
                    let enabled = words[0] == "enable";
                    console
                        .client
                        .loader_entry_status(id, enabled)
                        .map_err(|err| err.to_string())?;
                    println!("Loader has been {}d", words[0]);
                    entry = reload(console)?;
                }
                "expectenv" => {
                    let expression = words[1..].join(" ");
                    console
                        .client
                        .loader_entry_expect(id, &expression)
                        .map_err(|err| err.to_string())?;
                    println!("Expected environment match set");
                    entry = reload(console)?;
                }
                "key" => {
                    if !confirm(console, "generate new key for loader? (y/n)> ") {
                        println!("aborting");
                        return Ok(Some(Flow::Stay));
                    }
                    let changed = console
                        .client
                        .loader_entry_key(id)
                        .map_err(|err| err.to_string())?;
                    println!("Loader key changed");
                    print_loader_key(&changed);
                    entry = reload(console)?;
                }
                "json" => println!("{}", indent_json(&gojson::to_string(&entry), "  ")),
                "r" => {
                    entry = reload(console)?;
                    println!("reloaded");
                }
                "help" => println!("{LOADER_HELP}"),
                _ => return Ok(None),
            }
            Ok(Some(Flow::Stay))
        },
    );
    Ok(())
}
