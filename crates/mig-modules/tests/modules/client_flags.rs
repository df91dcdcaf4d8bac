//! Each module's `mig <module>` flags → operation parameters (spec
//! modules.md), the help cases, and flag errors that name the flag.

use mig_modules::ModuleName;

fn vector(path: &str) -> String {
    let full = format!(
        "{}/../../../shared/vectors/reference/cli/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|err| panic!("{full}: {err}"))
}

/// Runs a module's parser: (result, stdout, stderr).
fn parse(module: &str, args: &[&str]) -> (Result<Option<String>, String>, String, String) {
    let parser = ModuleName::from_name(module)
        .unwrap()
        .params_parser()
        .unwrap();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let result = parser(&args, &mut stdout, &mut stderr);
    (
        result,
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn params(module: &str, args: &[&str]) -> String {
    let (result, _, stderr) = parse(module, args);
    result
        .unwrap_or_else(|err| panic!("{module} {args:?}: {err}\n{stderr}"))
        .unwrap()
}

#[test]
fn file_reference_capture() {
    assert_eq!(
        params(
            "file",
            &["-path", "/etc", "-name", "^passwd$", "-content", "^root"]
        ),
        r#"{"searches":{"s1":{"paths":["/etc"],"contents":["^root"],"names":["^passwd$"],"options":{"maxdepth":1000,"maxerrors":30,"matchall":true,"macroal":false,"mismatch":null,"matchlimit":1000}}}}"#
    );
    assert_eq!(
        params(
            "file",
            &[
                "-path",
                "/a",
                "-path",
                "/b",
                "-size",
                "<10m",
                "-mode",
                "x",
                "-mtime",
                "<90d",
                "-md5",
                "d41d8cd98f00b204e9800998ecf8427e",
                "-mismatch",
                "name",
                "-matchany",
                "-maxdepth",
                "3",
                "-maxerrors",
                "0",
                "-matchlimit",
                "5",
                "-macroal",
                "-returnsha256",
                "-decompress",
                "-verbose"
            ]
        ),
        r#"{"searches":{"s1":{"paths":["/a","/b"],"sizes":["\u003c10m"],"modes":["x"],"mtimes":["\u003c90d"],"md5":["d41d8cd98f00b204e9800998ecf8427e"],"options":{"maxdepth":3,"maxerrors":0,"matchall":false,"macroal":true,"mismatch":["name"],"matchlimit":5,"returnsha256":true,"decompress":true}}}}"#
    );
}

#[test]
fn file_help_and_errors() {
    for args in [&[][..], &["help"][..], &[""][..]] {
        let (result, stdout, _) = parse("file", args);
        assert_eq!(result, Ok(None));
        assert_eq!(stdout, vector("help_file.stdout.txt"));
    }
    // The original's flag error: message, usage, then `error: …` from mig.
    let (result, _, stderr) = parse(
        "file",
        &[
            "-path",
            "/srv/migref/fixtures/files",
            "-sha256",
            "f3796f5285a1c6791acb0647ea7d1f1e686bf37f7787bdeb7000d7516808540f",
        ],
    );
    let err = result.unwrap_err();
    assert_eq!(
        format!("{stderr}error: {err}\n"),
        vector("file_sha256_flag_unsupported.stderr.txt")
    );
    let (result, _, _) = parse("file", &["-path", "/etc", "-maxdepth", "deep"]);
    assert_eq!(
        result.unwrap_err(),
        "invalid value \"deep\" for flag -maxdepth: parse error"
    );
    let (result, _, _) = parse("file", &["-name", "x"]);
    assert!(result.unwrap_err().contains("search path"));
    let (result, _, _) = parse("file", &["-path", "/etc", "-size", "huge"]);
    assert!(result.is_err());
}

#[test]
fn netstat_flags() {
    assert_eq!(
        params(
            "netstat",
            &[
                "-lp",
                "22",
                "-ci",
                "10.0.0.0/8",
                "-lm",
                "^8c:",
                "-nm",
                "x",
                "-li",
                "127.0.0.1",
                "-ni",
                "10.1.2.3",
                "-namespaces"
            ]
        ),
        r#"{"localmac":["^8c:"],"localip":["127.0.0.1"],"neighbormac":["x"],"neighborip":["10.1.2.3"],"connectedip":["10.0.0.0/8"],"listeningport":["22"],"namespaces":true}"#
    );
    for args in [&[][..], &["help"][..]] {
        let (result, stdout, _) = parse("netstat", args);
        assert_eq!(result.unwrap_err(), "help printed");
        assert_eq!(stdout, vector("help_netstat.stdout.txt"));
    }
    let (result, _, stderr) = parse("netstat", &["-xx"]);
    assert_eq!(result.unwrap_err(), "flag provided but not defined: -xx");
    assert!(stderr.starts_with("flag provided but not defined: -xx\nUsage of netstat:\n"));
}

#[test]
fn ping_flags() {
    assert_eq!(
        params(
            "ping",
            &[
                "-d",
                "127.0.0.1",
                "-p",
                "tcp",
                "-dp",
                "22",
                "-c",
                "2",
                "-t",
                "1"
            ]
        ),
        r#"{"destination":"127.0.0.1","destinationport":22,"protocol":"tcp","count":2,"timeout":1}"#
    );
    assert_eq!(
        params("ping", &["-d", "example.net"]),
        r#"{"destination":"example.net","destinationport":-1,"protocol":"icmp","count":3,"timeout":5}"#
    );
    let (result, stdout, _) = parse("ping", &["help"]);
    assert_eq!(result.unwrap_err(), "help printed");
    assert_eq!(stdout, vector("help_ping.stdout.txt"));
    let (result, _, _) = parse("ping", &["-d", "x", "-c", "many"]);
    assert!(result.unwrap_err().contains("-c"));
    let (result, _, _) = parse("ping", &["-d", "x", "-p", "sctp"]);
    assert!(result.unwrap_err().contains("-p"));
}

#[test]
fn pkg_sshkey_timedrift_flags() {
    assert_eq!(
        params(
            "pkg",
            &["-name", "^bash$", "-name", "linux", "-version", "^5"]
        ),
        r#"{"pkgmatch":{"matches":["^bash$","linux"]},"vermatch":"^5"}"#
    );
    let (result, stdout, _) = parse("pkg", &["help"]);
    assert_eq!(result, Ok(None));
    assert_eq!(stdout, vector("help_pkg.stdout.txt"));

    assert_eq!(
        params("sshkey", &["-path", "/root", "-maxdepth", "2"]),
        r#"{"paths":["/root"],"maxdepth":2}"#
    );
    assert_eq!(params("sshkey", &[]), r#"{"paths":null,"maxdepth":0}"#);
    let (result, stdout, _) = parse("sshkey", &["help"]);
    assert_eq!(result, Ok(None));
    assert_eq!(stdout, vector("help_sshkey.stdout.txt"));

    assert_eq!(params("timedrift", &[]), r#"{"drift":""}"#);
    assert_eq!(params("timedrift", &["-drift", "5s"]), r#"{"drift":"5s"}"#);
    let (result, _, _) = parse("timedrift", &["-drift", "five"]);
    assert_eq!(result.unwrap_err(), "invalid drift duration. try help.");
    let (result, stdout, _) = parse("timedrift", &["help"]);
    assert_eq!(result.unwrap_err(), "help printed");
    assert_eq!(stdout, vector("help_timedrift.stdout.txt"));
}

#[test]
fn agentdestroy_and_example_have_no_command_line() {
    assert!(ModuleName::AgentDestroy.params_parser().is_none());
    assert!(
        ModuleName::from_name("example")
            .unwrap()
            .params_parser()
            .is_none()
    );
}

#[test]
fn scribe_flags() {
    let (result, stdout, _) = parse("scribe", &[]);
    assert_eq!(result, Ok(None));
    assert!(stdout.starts_with("Query parameters\n----------------\n-path <path>"));
    let (result, _, _) = parse("scribe", &["-json"]);
    assert_eq!(result.unwrap_err(), "-path option is required");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("doc.json");
    std::fs::write(
        &json,
        r#"{"objects":[{"object":"o","raw":{"identifiers":[{"identifier":"i","value":"1.0"}]}}],"tests":[{"test":"t","object":"o"}]}"#,
    )
    .unwrap();
    let yaml = dir.path().join("doc.yaml");
    std::fs::write(
        &yaml,
        "# the same document\nobjects:\n  - object: o\n    raw:\n      identifiers:\n        - identifier: i\n          value: 1.0\ntests:\n  - test: t\n    object: o\n",
    )
    .unwrap();
    let expected = r#"{"scribedoc":{"objects":[{"object":"o","filecontent":{},"filename":{},"package":{},"raw":{"identifiers":[{"identifier":"i","value":"1.0"}]},"hasline":{}}],"tests":[{"test":"t","name":"","object":"o","evr":{},"regexp":{},"exactmatch":{}}]},"onlytrue":true,"humanoutput":false,"jsonoutput":true}"#;
    for doc in [&json, &yaml] {
        let doc = doc.to_str().unwrap();
        assert_eq!(
            params("scribe", &["-path", doc, "-onlytrue", "-json"]),
            expected,
            "{doc}"
        );
    }
    // A bad document is refused on the investigator's machine, naming the
    // file, then the field and the line.
    std::fs::write(&yaml, "objects:\n  - object: o\n    raw: [1, 2]\n").unwrap();
    let (result, _, _) = parse("scribe", &["-path", yaml.to_str().unwrap()]);
    assert_eq!(
        result.unwrap_err(),
        format!(
            "{}: YAML document: objects[0].raw: invalid type: sequence, expected struct Raw at line 3 column 10",
            yaml.display()
        )
    );
    let (result, _, _) = parse("scribe", &["-path", "/nonexistent/doc.yaml"]);
    assert!(
        result
            .unwrap_err()
            .starts_with("open /nonexistent/doc.yaml: ")
    );
}

#[test]
fn memory_and_persistent_module_flags() {
    assert_eq!(
        params(
            "memory",
            &["-name", "sshd", "-content", "ssh-rsa", "-matchany"]
        ),
        r#"{"searches":{"s1":{"names":["sshd"],"contents":["ssh-rsa"],"options":{}}}}"#
    );
    let (result, stdout, _) = parse("memory", &["help"]);
    assert_eq!(result, Ok(None));
    assert!(stdout.starts_with("Memory module parameters"));
    for module in ["fswatch", "dispatch"] {
        assert_eq!(params(module, &["help"]), "{}");
    }
    assert_eq!(
        params("examplepersist", &["-echo", "hello"]),
        r#"{"string":"hello"}"#
    );
}
