//! `create action`: the launcher builds, signs and launches an action that
//! the API accepts (its signature verified there), then the action reader.

use mig_api::Store as _;

use crate::harness::Env;

#[test]
fn build_sign_and_launch_an_action() {
    let env = Env::start();
    let mut console = env.spawn();
    console.send("create action");
    console.expect("Entering action launcher with template ''.");
    console.prompt("launcher>");
    let out = console.order("addoperation file -path /etc -name ^passwd$", "launcher>");
    assert!(
        out.contains("Inserting file operation with parameters:"),
        "{out}"
    );
    assert!(out.contains("\"^passwd$\""), "{out}");
    let out = console.order("setname console launch", "launcher>");
    assert!(out.contains("Name set to 'console launch'"), "{out}");
    let out = console.order("settarget allonline", "launcher>");
    assert!(
        out.contains("1 agents will be targetted. To get the list, use 'listagents'"),
        "{out}"
    );
    let out = console.order("listagents", "launcher>");
    assert!(
        out.contains(&format!("{:20}   vm", env.agent.id.0)),
        "{out}"
    );
    let out = console.order("sign", "launcher>");
    assert!(out.contains("Times must be set prior to signing"), "{out}");
    let out = console.order("settimes now 10m", "launcher>");
    assert!(
        out.contains("Valid from   '") && out.contains("Expire after '"),
        "{out}"
    );
    let out = console.order("sign", "launcher>");
    assert!(out.contains("Action signed"), "{out}");
    let out = console.order("details", "launcher>");
    assert!(out.contains("Operations: 1 -> file;"), "{out}");
    assert!(out.contains("Signatures: 1"), "{out}");
    let out = console.order("bogus", "launcher>");
    assert!(
        out.contains("Unknown order 'bogus'. You are in action launcher mode. Try `help`."),
        "{out}"
    );
    console.send("launch nofollow");
    let (_, launched) = console.expect_regex(
        r"Action 'console launch' successfully launched with ID '\d+' on target 'status='online''",
    );
    let id: u64 = launched.split('\'').nth(3).unwrap().parse().unwrap();
    console.expect("Entering action reader mode.");
    let action_prompt = format!("action {}>", id % 1000);
    console.prompt(&action_prompt);
    let stored = env
        .block_on(env.store.get_action(mig_protocol::Id(id)))
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "console launch");
    assert_eq!(stored.target, "status='online'");
    assert_eq!(stored.signatures().len(), 1);
    assert_eq!(
        stored.investigators.len(),
        1,
        "the API verified bob's signature"
    );
    console.send("exit");
    console.prompt("mig>");
    console.leave();
}
