//! `search` over every kind the seeded store has, and its errors.

use crate::harness::Env;

#[test]
fn search_agents_actions_commands_investigators() {
    let env = Env::start();
    let mut console = env.spawn();

    let agents = console.order("search agent where name=vm and status=online", "mig>");
    assert!(agents.contains("Searching agent after "), "{agents}");
    assert!(
        agents.contains(
            "---   ID  ---- + ----         Name         ---- + -- Status -- + -- Last Heartbeat --"
        ),
        "{agents}"
    );
    assert!(
        agents.contains(&format!("{:20}   vm ", env.agent.id.0)),
        "{agents}"
    );
    let actions = console.order("search action where name=%passwd% limit=3", "mig>");
    assert!(actions.contains("limited to 3 results"), "{actions}");
    assert!(
        actions.contains(&format!(
            "{}   file -t allonline -path /et...   status='online'",
            env.action.id.0
        )),
        "{actions}"
    );
    let commands = console.order(
        &format!("search command where actionid={}", env.action.id.0),
        "mig>",
    );
    assert!(
        commands.contains(&format!("{:14}   file -t allonline", env.command_id)),
        "{commands}"
    );
    let investigators = console.order("search investigator where name=bo%", "mig>");
    assert!(
        investigators.contains("Default,PermAdmin,PermLoader,PermManifest"),
        "{investigators}"
    );
    let none = console.order("search agent where name=nosuchagent", "mig>");
    assert!(
        none.contains("No results found for search query: type=agent"),
        "{none}"
    );
    let help = console.order("search help", "mig>");
    assert!(help.contains("usage: search <action|agent|command|investigator|loader|manifest>"));

    let bad = console.order("search bogus where name=x", "mig>");
    assert!(
        bad.contains("Invalid search 'search bogus where name=x'. Try `search help`."),
        "{bad}"
    );
    let bad = console.order("search agent where version=2024%", "mig>");
    assert!(
        bad.contains("search() -> parseSearchQuery() -> Unknown search key 'version'"),
        "{bad}"
    );
    let bad = console.order("search agent with name=vm", "mig>");
    assert!(
        bad.contains("Expected keyword 'where' after search type. Got 'with'"),
        "{bad}"
    );
    let bad = console.order("search agent where after=yesterday", "mig>");
    assert!(bad.contains("after date not in RFC3339 format"), "{bad}");
    console.leave();
}
