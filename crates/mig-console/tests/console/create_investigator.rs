//! The seed's dialogue: `create investigator` with a name, the three
//! permission questions, a public key file and the confirmation; then the new
//! investigator's details and public key in investigator mode.

use mig_api::Store as _;
use mig_protocol::Permissions;
use mig_protocol::pgp::PublicKey;

use crate::harness::{Env, OTHER_PUBLIC, vector};

#[test]
fn create_investigator_then_show_details_and_pubkey() {
    let env = Env::start();
    let key_path = env.other_public_key();
    let fingerprint = PublicKey::from_armored(&vector(OTHER_PUBLIC))
        .unwrap()
        .fingerprint()
        .to_uppercase();
    let mut console = env.spawn();

    console.send("create investigator");
    console.expect("Entering investigator creation mode.");
    console.expect("name> ");
    console.send("Carol Console");
    console.expect("Name: \"Carol Console\"");
    console.expect("Allow investigator to manage users (admin)? (yes/no)> ");
    console.send("no");
    console.expect("Investigator will not have administrative permissions");
    console.expect("Allow investigator to manage loaders? (yes/no)> ");
    console.send("no");
    console.expect("Investigator will not have loader management permissions");
    console.expect("Allow investigator to manage manifests? (yes/no)> ");
    console.send("yes");
    console.expect("Investigator will have manifest management permissions");
    console.expect("Add a public key for the investigator? (yes/no)> ");
    console.send("yes");
    console.expect("pubkey> 0x716CFA6BA8EBB21E860AE231645090E64367737B");
    console.expect("pubkey> ");
    console.send(key_path.to_str().unwrap());
    console.expect(&format!(
        "retrieving public key from {}",
        key_path.display()
    ));
    console.expect("-----END PGP PUBLIC KEY BLOCK-----");
    console.expect("create investigator? (y/n)> ");
    console.send("y");
    let (_, created) =
        console.expect_regex(r"Investigator 'Carol Console' successfully created with ID \d+");
    let id: u64 = created.rsplit(' ').next().unwrap().parse().unwrap();
    console.prompt("mig>");

    // Stored as asked.
    let carol = env
        .block_on(env.store.get_investigator(mig_protocol::Id(id)))
        .unwrap()
        .unwrap();
    assert_eq!(carol.name, "Carol Console");
    assert_eq!(carol.pgpfingerprint, fingerprint);
    assert_eq!(
        carol.permissions,
        Permissions::DEFAULT.union(Permissions::MANIFEST)
    );

    console.send(&format!("investigator {id}"));
    console.expect(&format!("Investigator {id} named 'Carol Console'"));
    let inv_prompt = format!("inv {id}>");
    console.prompt(&inv_prompt);
    let details = console.order("details", &inv_prompt);
    for line in [
        format!("Investigator ID {id}"),
        "name           Carol Console".to_owned(),
        "status         active".to_owned(),
        "permissions    Default,PermManifest".to_owned(),
        format!("key id         {fingerprint}"),
        "api key set    false".to_owned(),
    ] {
        assert!(details.contains(&line), "{line:?} in\n{details}");
    }
    let pubkey = console.order("pubkey", &inv_prompt);
    assert!(
        pubkey.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----")
            && pubkey.contains("-----END PGP PUBLIC KEY BLOCK-----"),
        "{pubkey}"
    );
    // The key shown is the key given.
    let shown: String = pubkey
        .lines()
        .map(str::trim_end)
        .skip_while(|line| !line.starts_with("-----BEGIN"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        PublicKey::from_armored(&shown)
            .unwrap()
            .fingerprint()
            .to_uppercase(),
        fingerprint
    );
    let out = console.order("apikey active", &inv_prompt);
    assert!(out.contains("API key for investigator set to \""), "{out}");
    let out = console.order("details", &inv_prompt);
    assert!(out.contains("api key set    true"), "{out}");
    console.send("apikey active");
    console.expect("investigator already has an assigned API key");
    console.expect("generate new key? (y/n)> ");
    console.send("n");
    console.expect("aborted");
    console.prompt(&inv_prompt);
    let out = console.order("setperms PermAdmin PermBogus", &inv_prompt);
    assert!(out.contains("invalid permission \"PermBogus\""), "{out}");
    let out = console.order("setperms PermAdmin", &inv_prompt);
    assert!(
        out.contains("Investigator permissions set to Default,PermAdmin"),
        "{out}"
    );
    let out = console.order("showperms", &inv_prompt);
    assert!(
        out.contains("PermManifest\r\nPermLoader\r\nPermAdmin"),
        "{out}"
    );
    let out = console.order("lastactions", &inv_prompt);
    assert!(
        out.contains("----- ID ----- + --------    Action Name"),
        "{out}"
    );
    let status = console.order("setstatus disabled", &inv_prompt);
    assert!(
        status.contains("Investigator status set to disabled"),
        "{status}"
    );
    console.send("exit");
    console.prompt("mig>");
    console.leave();
}

#[test]
fn create_investigator_aborts_on_a_bad_answer_or_refusal() {
    let env = Env::start();
    let mut console = env.spawn();
    console.send("create investigator");
    console.expect("name> ");
    console.send("Al");
    console.expect("input name too short");
    console.expect("name> ");
    console.send("Alice Abort");
    console.expect("(admin)? (yes/no)> ");
    console.send("maybe");
    console.expect("invalid answer 'maybe': yes or no expected");
    console.prompt("mig>");

    console.send("create investigator");
    console.expect("name> ");
    console.send("Alice Abort");
    for _ in 0..3 {
        console.expect("(yes/no)> ");
        console.send("yes");
    }
    console.expect("Add a public key for the investigator? (yes/no)> ");
    console.send("no");
    console.expect("create investigator? (y/n)> ");
    console.send("n");
    console.expect("Investigator creation aborted");
    console.prompt("mig>");
    let all = env
        .block_on(env.store.get_investigator(mig_protocol::Id(env.bob_id + 1)))
        .unwrap();
    assert!(all.is_none(), "nothing created: {all:?}");
    console.leave();
}
