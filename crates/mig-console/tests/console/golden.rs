//! Output that does not depend on the data, compared with the original's
//! transcripts (cli/console/*.txt; the captures drop trailing spaces).

use crate::harness::Env;

fn golden(case: &str) -> String {
    let full = format!(
        "{}/../../../shared/vectors/reference/cli/console/{case}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|err| panic!("{full}: {err}"));
    // Between the order's line and the next prompt (the last line written).
    let lines: Vec<&str> = text.trim_end().lines().collect();
    normalize(&lines[1..lines.len() - 1].join("\n"))
}

fn normalize(text: &str) -> String {
    text.replace('\r', "")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim_matches('\n')
        .to_owned()
}

#[test]
fn help_texts_and_errors_match_the_original() {
    let env = Env::start();
    let mut console = env.spawn();
    assert_eq!(normalize(&console.order("help", "mig>")), golden("01_help"));
    // The search help holds a `mig> ` of its own: read up to its last words.
    console.send("search help");
    let last = "Spaces are used to separate search parameters.";
    let help = console.expect(last) + last;
    console.prompt("mig>");
    assert_eq!(normalize(&help), golden("03_search_help"));
    assert_eq!(
        normalize(&console.order("frobnicate", "mig>")),
        golden("30_unknown_order")
    );

    let id = env.action.id.0;
    let action_prompt = format!("action {}>", id % 1000);
    console.send(&format!("action {id}"));
    console.prompt(&action_prompt);
    assert_eq!(
        normalize(&console.order("help", &action_prompt)),
        golden("11_action_help")
    );
    console.send("exit");
    console.prompt("mig>");

    let agent_prompt = format!("agent {}>", env.agent.id.0 % 1000);
    console.send(&format!("agent {}", env.agent.id.0));
    console.prompt(&agent_prompt);
    assert_eq!(
        normalize(&console.order("help", &agent_prompt)),
        golden("22_agent_help")
    );
    console.send("exit");
    console.prompt("mig>");

    let inv_prompt = format!("inv {}>", env.bob_id);
    console.send(&format!("investigator {}", env.bob_id));
    console.prompt(&inv_prompt);
    assert_eq!(
        normalize(&console.order("help", &inv_prompt)),
        golden("26_investigator_help")
    );
    console.send("exit");
    console.prompt("mig>");
    console.leave();
}
