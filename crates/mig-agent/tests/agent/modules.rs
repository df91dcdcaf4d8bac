//! Modules end to end through a real `mig-agent` process and the machine's
//! RabbitMQ: a signed action in, the module run in its child process, the
//! result on the relay, printed as `mig` prints it.
use crate::support;

use mig_modules::{ModuleName, print_result};
use mig_protocol::status::CommandStatus;
use serde_json::json;
use support::*;

/// A scribe document over a temporary tree: filecontent with a variable,
/// hasline, a raw object and an `if` dependency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scribe_through_the_agent() {
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("conf.d")).unwrap();
    std::fs::write(
        tree.path().join("conf.d/sshd_config"),
        "Port 22\nPermitRootLogin no\n",
    )
    .unwrap();
    std::fs::write(tree.path().join("motd"), "welcome\n").unwrap();
    let root = tree.path().display().to_string();
    let document = json!({
        "variables": [{"key": "root", "value": root}],
        "objects": [
            {"object": "permitroot", "filecontent": {"path": "${root}", "file": "^sshd_config$",
                "expression": "^PermitRootLogin\\s+(\\S+)"}},
            {"object": "motd-welcome", "hasline": {"path": "${root}", "file": "^motd$", "expression": "welcome"}},
            {"object": "version", "raw": {"identifiers": [{"identifier": "app", "value": "1.2.3-1"}]}}
        ],
        "tests": [
            {"test": "root-login-off", "object": "permitroot", "exactmatch": {"value": "no"}},
            {"test": "motd", "object": "motd-welcome", "exactmatch": {"value": "true"}},
            {"test": "app-outdated", "name": "app older than 1.10", "object": "version",
             "evr": {"operation": "<", "value": "1.10"}, "if": ["root-login-off"]}
        ]
    });

    let setup = AgentSetup::default();
    let mut sandbox = Sandbox::new(&setup).await;
    let _agent = sandbox.start_agent();
    let queueloc = sandbox.queueloc().await;
    sandbox.wait_consumer(&queueloc).await;
    let signed = sign(
        action(vec![("scribe", json!({"scribedoc": document}))]),
        &[&bob()],
    );
    let reply = sandbox.roundtrip(&queueloc, &signed).await;
    assert_eq!(reply.status, CommandStatus::Success, "{}", errors(&reply));
    let results = reply.results.unwrap();
    assert_eq!(results.len(), 1);
    let result = &results[0];
    assert!(result.success && result.foundanything, "{result:?}");
    let printed: Vec<String> = print_result(ModuleName::Scribe, result, true)
        .unwrap()
        .into_iter()
        .map(|line| line.replace(&root, "<root>"))
        .collect();
    assert_eq!(
        printed,
        vec![
            "master [true] name:\"root-login-off\" id:\"root-login-off\" hastrue:true error:\"\"",
            "sub [true] name:\"root-login-off\" id:\"root-login-off\" identifier:\"<root>/conf.d/sshd_config\"",
            "master [true] name:\"motd\" id:\"motd\" hastrue:true error:\"\"",
            "sub [true] name:\"motd\" id:\"motd\" identifier:\"<root>/motd\"",
            "master [true] name:\"app older than 1.10\" id:\"app-outdated\" hastrue:true error:\"\"",
            "sub [true] name:\"app older than 1.10\" id:\"app-outdated\" identifier:\"app\"",
        ]
    );
}
