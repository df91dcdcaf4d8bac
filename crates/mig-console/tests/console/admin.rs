//! Loaders and manifests: create, enable, set expectations, sign, checksums.

use std::process::Command;

use crate::harness::Env;

#[test]
fn loaders_and_manifests() {
    let env = Env::start();
    let mut console = env.spawn();

    // A loader entry.
    console.send("create loader");
    console.expect("name> ");
    console.send("loader one");
    console.expect("expectenv> ");
    console.send("");
    console.expect("Server will assign prefix and key on creation");
    console.expect("create loader entry? (y/n)> ");
    console.send("y");
    console.expect_regex(r#"Loader key including prefix to supply to client will be "\w{40}""#);
    let (_, created) =
        console.expect_regex(r"New entry successfully created \(id \d+\) but is disabled");
    let id: u64 = created
        .split("(id ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    console.prompt("mig>");
    let loader_prompt = format!("loader {}>", id % 1000);
    console.send(&format!("loader {id}"));
    console.expect("Loader: 'loader one'.");
    console.expect("Status 'false'.");
    console.prompt(&loader_prompt);
    let out = console.order("enable", &loader_prompt);
    assert!(out.contains("Loader has been enabled"), "{out}");
    let out = console.order("expectenv id > 0", &loader_prompt);
    assert!(out.contains("Expected environment match set"), "{out}");
    let out = console.order("json", &loader_prompt);
    // Go's JSON escapes `>`.
    assert!(
        out.contains("\"enabled\": true") && out.contains("\"expectenv\": \"id \\u003e 0\""),
        "{out}"
    );
    console.send("key");
    console.expect("generate new key for loader? (y/n)> ");
    console.send("y");
    console.expect("Loader key changed");
    console.prompt(&loader_prompt);
    console.send("exit");
    console.prompt("mig>");
    let out = console.order("search loader where loadername=loader%", "mig>");
    assert!(out.contains("loader one"), "{out}");

    // A manifest from a .tar.gz.
    let content = env.home.path().join("content");
    std::fs::create_dir(&content).unwrap();
    std::fs::write(content.join("mig-agent"), b"agent binary").unwrap();
    let archive = env.home.path().join("m.tar.gz");
    assert!(
        Command::new("tar")
            .arg("czf")
            .arg(&archive)
            .arg("-C")
            .arg(&content)
            .arg("mig-agent")
            .status()
            .unwrap()
            .success()
    );
    console.send("create manifest");
    console.expect("name> ");
    console.send("manifest one");
    console.expect("target> ");
    console.send("id > 0");
    console.expect("contentpath> ");
    console.send(archive.to_str().unwrap());
    console.expect("\"content\": \"...\"");
    console.expect("create manifest? (y/n)> ");
    console.send("y");
    console.expect("Manifest successfully created");
    console.prompt("mig>");
    let out = console.order("search manifest where manifestname=manifest%", "mig>");
    let row = out
        .lines()
        .find(|line| line.contains("manifest one"))
        .unwrap_or_else(|| panic!("{out}"));
    let manifest_id: u64 = row.split_whitespace().next().unwrap().parse().unwrap();
    let manifest_prompt = format!("manifest {}>", manifest_id % 1000);
    console.send(&format!("manifest {manifest_id}"));
    console.expect("Manifest: 'manifest one'.");
    console.expect("Status 'staged'.");
    console.prompt(&manifest_prompt);
    let out = console.order("shasum", &manifest_prompt);
    // sha256("agent binary"), sha256sum style.
    let sum = out
        .lines()
        .find_map(|line| line.trim().strip_suffix("  mig-agent"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(sum.len(), 64, "{out}");
    let out = console.order("sign", &manifest_prompt);
    assert!(
        out.contains("Manifest signature has been accepted"),
        "{out}"
    );
    let out = console.order("entry", &manifest_prompt);
    assert!(
        out.contains("\"name\": \"mig-agent\"") && out.contains("\"signatures\": ["),
        "{out}"
    );
    let out = console.order("loaders", &manifest_prompt);
    assert!(out.contains("\"name\":\"loader one\""), "{out}");
    let fetched = env.home.path().join("fetched.tar.gz");
    let out = console.order(&format!("fetch {}", fetched.display()), &manifest_prompt);
    assert!(out.contains("Manifest content written to"), "{out}");
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(&archive).unwrap()
    );
    let out = console.order("reset", &manifest_prompt);
    assert!(out.contains("Manifest record has been reset"), "{out}");
    let out = console.order("disable", &manifest_prompt);
    assert!(out.contains("Manifest record has been disabled"), "{out}");
    console.send("exit");
    console.prompt("mig>");
    console.leave();
}
