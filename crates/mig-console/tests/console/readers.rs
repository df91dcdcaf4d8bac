//! The action, command and agent readers on the seeded action.

use crate::harness::Env;

#[test]
fn read_an_action_its_command_and_its_agent() {
    let env = Env::start();
    let id = env.action.id.0;
    let action_prompt = format!("action {}>", id % 1000);
    let mut console = env.spawn();

    console.send(&format!("action {id}"));
    console.expect("Entering action reader mode.");
    console.expect("Action: 'file -t allonline -path /etc -name ^passwd$ -content ^root '.");
    console.expect("Launched by 'bob ");
    console.expect("Status 'completed'.");
    console.expect("1 sent, 1 done, 1 succeeded");
    console.prompt(&action_prompt);

    let details = console.order("details", &action_prompt);
    for line in [
        format!("ID             {id}"),
        "Target         status='online'".to_owned(),
        "Status         completed".to_owned(),
        format!(
            "Investigators  bob - keyid: {}",
            env.action.investigators[0].pgpfingerprint
        ),
        "Operations     count=1 => file;".to_owned(),
        "Counters       sent=1; done=1; in flight=0".to_owned(),
        "success=1; cancelled=0; expired=0; failed=0; timeout=0".to_owned(),
    ] {
        assert!(details.contains(&line), "{line:?} in\n{details}");
    }
    let counters = console.order("counters", &action_prompt);
    assert!(
        counters.contains("1 sent, 1 done, 1 succeeded"),
        "{counters}"
    );
    let found = console.order("results found", &action_prompt);
    assert!(found.contains("vm /etc/passwd [lastmodified:"), "{found}");
    assert!(found.contains("1 agent has found results"), "{found}");
    let all = console.order("results", &action_prompt);
    assert!(all.contains("vm command success"), "{all}");
    assert!(all.contains("1 agent has all results"), "{all}");
    let list = console.order("list", &action_prompt);
    assert!(
        list.contains(&format!("{:20}    vm [{}]", env.command_id, env.agent.id.0)),
        "{list}"
    );
    assert!(list.contains("1 agents have returned"), "{list}");
    let filtered = console.order("list all | grep -v vm", &action_prompt);
    assert!(filtered.contains("0 agents have returned"), "{filtered}");
    let json = console.order("json", &action_prompt);
    assert!(json.contains("\"module\": \"file\""), "{json}");
    assert!(json.contains("\"status\": \"completed\""), "{json}");
    let investigators = console.order("investigators", &action_prompt);
    assert!(investigators.contains("bob - Key ID: "), "{investigators}");
    let times = console.order("times", &action_prompt);
    assert!(
        times.contains("Valid from   '") && times.contains(" +0000 UTC'"),
        "{times}"
    );
    let unknown = console.order("commands", &action_prompt);
    assert!(
        unknown.contains("Unknown order 'commands'. You are in action reader mode. Try `help`."),
        "{unknown}"
    );
    let help = console.order("help", &action_prompt);
    assert!(
        help.contains("results <show> <render> display results of all commands"),
        "{help}"
    );

    // Into the command reader and back.
    let command_prompt = format!("command {}>", env.command_id % 1000);
    console.send(&format!("command {}", env.command_id));
    console.expect(&format!(
        "Command {} ran on agent 'vm' based on action 'file -t allonline",
        env.command_id
    ));
    console.prompt(&command_prompt);
    let results = console.order("results found", &command_prompt);
    assert!(results.contains("/etc/passwd [lastmodified:"), "{results}");
    console.send("exit");
    console.prompt(&action_prompt);
    console.send("exit");
    console.prompt("mig>");

    let agent_id = env.agent.id.0;
    let agent_prompt = format!("agent {}>", agent_id % 1000);
    console.send(&format!("agent {agent_id}"));
    console.expect(&format!("Agent {agent_id} named 'vm'"));
    console.prompt(&agent_prompt);
    let details = console.order("details", &agent_prompt);
    for line in [
        format!("Agent ID {agent_id}"),
        "name       vm".to_owned(),
        "status     online".to_owned(),
        "environment {".to_owned(),
        "    \"os\": \"linux\",".to_owned(),
    ] {
        assert!(details.contains(&line), "{line:?} in\n{details}");
    }
    let last = console.order("lastactions", &agent_prompt);
    assert!(last.contains("file -t allonline -path /et..."), "{last}");
    console.send("exit");
    console.prompt("mig>");

    let status = console.order("status", "mig>");
    assert!(
        status.contains("| * 1 online agents on 1 endpoints"),
        "{status}"
    );
    assert!(status.contains(&format!("| {id}")), "{status}");
    console.leave();
}
