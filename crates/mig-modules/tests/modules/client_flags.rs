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
fn agentdestroy_has_no_command_line() {
    assert!(ModuleName::AgentDestroy.params_parser().is_none());
}
