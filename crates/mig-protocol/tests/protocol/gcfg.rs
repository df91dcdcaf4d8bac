//! Tests of the gcfg reader: syntax tables, typed getters, Go durations, and the four
//! real configuration files of MIG (scheduler, API, agent, investigator's .migrc).

use std::time::Duration;

use mig_protocol::gcfg::{Document, GcfgError, parse_go_duration};

fn parse(text: &str) -> Document {
    match Document::parse("test.cfg", text) {
        Ok(document) => document,
        Err(error) => panic!("parse failed: {error}\n--- input ---\n{text}"),
    }
}

fn parse_error(text: &str) -> String {
    match Document::parse("test.cfg", text) {
        Ok(document) => {
            panic!("expected a syntax error, parsed {document:?}\n--- input ---\n{text}")
        }
        Err(error) => error.to_string(),
    }
}

/// `[s] key` of `text`, as `get` returns it.
fn get(text: &str, section: &str, key: &str) -> Option<String> {
    parse(text).section(section)?.get(key).map(str::to_string)
}

#[test]
fn values() {
    // (what, input, section, key, expected value)
    let cases: &[(&str, &str, &str, &str, Option<&str>)] = &[
        ("plain", "[a]\nk = v", "a", "k", Some("v")),
        ("no spaces", "[a]\nk=v", "a", "k", Some("v")),
        ("indented", "  [a]\n\tk  =   v  ", "a", "k", Some("v")),
        (
            "inner spaces kept",
            "[a]\nk = a  b\tc",
            "a",
            "k",
            Some("a  b\tc"),
        ),
        ("empty value", "[a]\nk =", "a", "k", Some("")),
        ("empty value, spaces", "[a]\nk =   ", "a", "k", Some("")),
        ("bare name reads empty", "[a]\nk", "a", "k", Some("")),
        ("absent key", "[a]\nk = v", "a", "x", None),
        ("absent section", "[a]\nk = v", "b", "k", None),
        ("quoted", "[a]\nk = \"v w\"", "a", "k", Some("v w")),
        (
            "quoted keeps spaces",
            "[a]\nk = \"  v  \"",
            "a",
            "k",
            Some("  v  "),
        ),
        ("quoted empty", "[a]\nk = \"\"", "a", "k", Some("")),
        (
            "escape quote",
            r#"[a]
k = "say \"hi\"""#,
            "a",
            "k",
            Some("say \"hi\""),
        ),
        (
            "escape backslash",
            r#"[a]
k = "C:\\mig\\""#,
            "a",
            "k",
            Some("C:\\mig\\"),
        ),
        (
            "escape newline, tab",
            r#"[a]
k = "a\nb\tc""#,
            "a",
            "k",
            Some("a\nb\tc"),
        ),
        (
            "semicolon in quotes",
            "[a]\nk = \"a;b\"",
            "a",
            "k",
            Some("a;b"),
        ),
        (
            "hash in quotes",
            "[a]\nk = \"tags#>>'{x}'\"",
            "a",
            "k",
            Some("tags#>>'{x}'"),
        ),
        (
            "quotes mid-value",
            "[a]\nk = a\"b c\"d",
            "a",
            "k",
            Some("ab cd"),
        ),
        (
            "quoted then bare",
            "[a]\nk = \"x\" y",
            "a",
            "k",
            Some("x y"),
        ),
        (
            "inline ; comment",
            "[a]\nk = v ; comment",
            "a",
            "k",
            Some("v"),
        ),
        (
            "inline # comment",
            "[a]\nk = v# comment",
            "a",
            "k",
            Some("v"),
        ),
        (
            "comment after quoted",
            "[a]\nk = \"v;\" # c",
            "a",
            "k",
            Some("v;"),
        ),
        ("comment after bare name", "[a]\nk ; c", "a", "k", Some("")),
        (
            "comment after header",
            "[a] ; c\nk = v",
            "a",
            "k",
            Some("v"),
        ),
        (
            "comment lines",
            "; one\n# two\n[a]\n  ; three\nk = v\n#four",
            "a",
            "k",
            Some("v"),
        ),
        ("blank lines", "\n\n[a]\n\n\nk = v\n\n", "a", "k", Some("v")),
        ("crlf", "[a]\r\nk = v\r\nj = \"w\"\r\n", "a", "k", Some("v")),
        (
            "crlf quoted",
            "[a]\r\nk = v\r\nj = \"w x\"\r\n",
            "a",
            "j",
            Some("w x"),
        ),
        ("bom", "\u{feff}[a]\nk = v", "a", "k", Some("v")),
        (
            "continuation",
            "[a]\nk = one \\\n  two",
            "a",
            "k",
            Some("one   two"),
        ),
        (
            "continuation crlf",
            "[a]\r\nk = one\\\r\ntwo\r\n",
            "a",
            "k",
            Some("onetwo"),
        ),
        (
            "continuation then comment",
            "[a]\nk = a\\\nb ; c",
            "a",
            "k",
            Some("ab"),
        ),
        (
            "value with = and :",
            "[a]\nk = a=b:c",
            "a",
            "k",
            Some("a=b:c"),
        ),
        (
            "url",
            "[a]\nk = http://localhost:1664/api/v1/",
            "a",
            "k",
            Some("http://localhost:1664/api/v1/"),
        ),
        (
            "unicode value",
            "[a]\nk = héllo µ",
            "a",
            "k",
            Some("héllo µ"),
        ),
        (
            "key case",
            "[a]\nHeartBeatFreq = 5m",
            "a",
            "heartbeatfreq",
            Some("5m"),
        ),
        (
            "lookup case",
            "[a]\nheartbeatfreq = 5m",
            "a",
            "HEARTBEATFREQ",
            Some("5m"),
        ),
        ("section case", "[Agent]\nk = v", "AGENT", "k", Some("v")),
        (
            "names with - and _",
            "[my-sec_1]\nmy-key_2 = v",
            "my-sec_1",
            "my-key_2",
            Some("v"),
        ),
        ("spaces in header", "[ a ]\nk = v", "a", "k", Some("v")),
        ("last wins", "[a]\nk = 1\nk = 2", "a", "k", Some("2")),
        (
            "merged sections",
            "[a]\nk = 1\n[b]\nj = 2\n[A]\nk = 3",
            "a",
            "k",
            Some("3"),
        ),
        ("subsection not plain", "[a \"s\"]\nk = v", "a", "k", None),
    ];
    for (what, input, section, key, expected) in cases {
        let got = get(input, section, key);
        assert_eq!(got.as_deref(), *expected, "case {what:?}: input {input:?}");
    }
}

#[test]
fn subsections() {
    let document = parse(
        "[module \"file\"]\nmax = 1\n[module \"Netstat\"]\nmax = 2\n[module]\nmax = 3\n\
         [module \"q\\\"uote\"]\nmax = 4\n",
    );
    let max = |sub: Option<&str>| {
        let section = match sub {
            Some(sub) => document.subsection("MODULE", sub),
            None => document.section("module"),
        };
        section.and_then(|s| s.get("max")).map(str::to_string)
    };
    assert_eq!(max(Some("file")).as_deref(), Some("1"));
    assert_eq!(max(Some("Netstat")).as_deref(), Some("2"));
    assert_eq!(
        max(Some("netstat")),
        None,
        "subsection names are case-sensitive"
    );
    assert_eq!(max(None).as_deref(), Some("3"));
    assert_eq!(max(Some("q\"uote")).as_deref(), Some("4"));
    let listed: Vec<(&str, Option<&str>)> = document
        .sections()
        .map(|s| (s.name(), s.subsection()))
        .collect();
    assert_eq!(
        listed,
        [
            ("module", Some("file")),
            ("module", Some("Netstat")),
            ("module", None),
            ("module", Some("q\"uote"))
        ]
    );
    let error = document
        .subsection("module", "q\"uote")
        .unwrap()
        .error("max", "too big");
    assert_eq!(
        error.to_string(),
        r#"test.cfg:8: [module "q\"uote"] max: too big"#
    );
}

#[test]
fn sections_keep_file_order_and_header_lines() {
    let document = parse("; c\n[B]\nx = 1\n\n[a]\n[b]\ny = 2\n");
    let listed: Vec<(&str, usize)> = document.sections().map(|s| (s.name(), s.line())).collect();
    assert_eq!(listed, [("b", 2), ("a", 5)]);
    let b = document.section("b").unwrap();
    assert_eq!(b.keys().collect::<Vec<_>>(), ["x", "y"]);
    assert!(document.section("a").unwrap().keys().next().is_none());
}

#[test]
fn booleans() {
    // (value line, expected)
    let cases: &[(&str, Option<bool>)] = &[
        ("k", Some(true)),
        ("k ; bare with comment", Some(true)),
        ("k = true", Some(true)),
        ("k = TRUE", Some(true)),
        ("k = True", Some(true)),
        ("k = yes", Some(true)),
        ("k = Yes", Some(true)),
        ("k = on", Some(true)),
        ("k = ON", Some(true)),
        ("k = 1", Some(true)),
        ("k = \"on\"", Some(true)),
        ("k = false", Some(false)),
        ("k = False", Some(false)),
        ("k = no", Some(false)),
        ("k = NO", Some(false)),
        ("k = off", Some(false)),
        ("k = Off", Some(false)),
        ("k = 0", Some(false)),
        ("k = on\nk = off", Some(false)),
        ("other = 1", None),
    ];
    for (line, expected) in cases {
        let input = format!("[a]\n{line}");
        let got = parse(&input).section("a").unwrap().bool("k");
        assert_eq!(got, Ok(*expected), "input {input:?}");
    }
    let invalid: &[(&str, &str)] = &[
        (
            "k = maybe",
            r#"test.cfg:2: [a] k: invalid boolean "maybe": expected true/false, yes/no, on/off or 1/0"#,
        ),
        (
            "k =",
            r#"test.cfg:2: [a] k: invalid boolean "": expected true/false, yes/no, on/off or 1/0"#,
        ),
        (
            "k = 2",
            r#"test.cfg:2: [a] k: invalid boolean "2": expected true/false, yes/no, on/off or 1/0"#,
        ),
        (
            "k = \" on\"",
            r#"test.cfg:2: [a] k: invalid boolean " on": expected true/false, yes/no, on/off or 1/0"#,
        ),
    ];
    for (line, expected) in invalid {
        let input = format!("[a]\n{line}");
        let error = parse(&input).section("a").unwrap().bool("k").unwrap_err();
        assert_eq!(error.to_string(), *expected, "input {input:?}");
    }
}

#[test]
fn repeated_keys_are_multi_valued() {
    // (lines, expected get_all("macro"))
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("macro = a", &["a"]),
        ("macro = a\nmacro = b\nmacro = c", &["a", "b", "c"]),
        ("macro = a\nother = x\nMACRO = b", &["a", "b"]),
        ("macro = a\nmacro =\nmacro = b", &["a", "", "b"]),
        // gcfg: a bare name resets a multi-valued variable.
        ("macro = a\nmacro\nmacro = b", &["b"]),
        ("macro = a\nmacro", &[]),
    ];
    for (lines, expected) in cases {
        let input = format!("[targets]\n{lines}");
        let document = parse(&input);
        let section = document.section("targets").unwrap();
        assert_eq!(section.get_all("macro"), *expected, "input {input:?}");
    }
    let document = parse("[agent]\ntags = a:1\n[other]\ntags = x\n[agent]\ntags = b:2");
    assert_eq!(
        document.section("agent").unwrap().get_all("tags"),
        ["a:1", "b:2"]
    );
}

#[test]
fn strings() {
    let document = parse("[a]\ns = \"x y\"\nempty =\nbare\n");
    let a = document.section("a").unwrap();
    assert_eq!(a.string("s"), Ok(Some("x y".to_string())));
    assert_eq!(a.string("empty"), Ok(Some(String::new())));
    assert_eq!(a.string("absent"), Ok(None));
    assert_eq!(
        a.string("bare").unwrap_err().to_string(),
        "test.cfg:4: [a] bare: missing value"
    );
}

#[test]
fn integers() {
    // (value, expected as i64 or the error message's tail)
    let cases: &[(&str, Result<i64, &str>)] = &[
        ("5432", Ok(5432)),
        ("0", Ok(0)),
        ("-12", Ok(-12)),
        ("+7", Ok(7)),
        ("010", Ok(10)), // gcfg: a leading zero is decimal, not octal
        ("0x1F", Ok(31)),
        ("0XfF", Ok(255)),
        ("-0x10", Ok(-16)),
        ("\" 42 \"", Ok(42)),
        ("9223372036854775807", Ok(i64::MAX)),
        (
            "9223372036854775808",
            Err(r#"invalid integer "9223372036854775808": out of range"#),
        ),
        (
            "abc",
            Err(r#"invalid integer "abc": expected a decimal or 0x-prefixed hexadecimal number"#),
        ),
        (
            "1.5",
            Err(r#"invalid integer "1.5": expected a decimal or 0x-prefixed hexadecimal number"#),
        ),
        (
            "",
            Err(r#"invalid integer "": expected a decimal or 0x-prefixed hexadecimal number"#),
        ),
        (
            "0x",
            Err(r#"invalid integer "0x": expected hexadecimal digits after 0x"#),
        ),
        (
            "0xg",
            Err(r#"invalid integer "0xg": expected hexadecimal digits after 0x"#),
        ),
    ];
    for (value, expected) in cases {
        let input = format!("[postgres]\nport = {value}");
        let got = parse(&input)
            .section("postgres")
            .unwrap()
            .int::<i64>("port");
        match expected {
            Ok(number) => assert_eq!(got, Ok(Some(*number)), "input {input:?}"),
            Err(message) => assert_eq!(
                got.unwrap_err().to_string(),
                format!("test.cfg:2: [postgres] port: {message}"),
                "input {input:?}"
            ),
        }
    }
    let document = parse("[stats]\nmaxactions = 300\nneg = -1\nbare");
    let stats = document.section("stats").unwrap();
    assert_eq!(
        stats.int::<u8>("maxactions").unwrap_err().to_string(),
        r#"test.cfg:2: [stats] maxactions: invalid integer "300": out of range"#
    );
    assert_eq!(stats.int::<u16>("maxactions"), Ok(Some(300)));
    assert!(stats.int::<u32>("neg").is_err());
    assert_eq!(stats.int::<u32>("absent"), Ok(None));
    assert_eq!(
        stats.int::<u32>("bare").unwrap_err().to_string(),
        "test.cfg:4: [stats] bare: missing value"
    );
}

const SECOND: u64 = 1_000_000_000;

#[test]
fn go_durations() {
    // Examples from Go's time.ParseDuration documentation and tests, in nanoseconds.
    let valid: &[(&str, u64)] = &[
        ("0", 0),
        ("-0", 0),
        ("+0", 0),
        ("0s", 0),
        ("5s", 5 * SECOND),
        ("300s", 300 * SECOND),
        ("+5s", 5 * SECOND),
        ("1s", SECOND),
        ("87s", 87 * SECOND),
        ("5m", 300 * SECOND),
        ("20m", 1200 * SECOND),
        ("72h", 72 * 3600 * SECOND),
        ("1h30m", 5400 * SECOND),
        ("1.5h", 5400 * SECOND),
        ("2h45m30s", (2 * 3600 + 45 * 60 + 30) * SECOND),
        ("300ms", 300_000_000),
        ("100ms", 100_000_000),
        ("1.5s", 1_500_000_000),
        ("1.s", SECOND),
        (".5s", 500_000_000),
        ("1.0s", SECOND),
        ("1.004s", 1_004_000_000),
        ("100.00100s", 100_001_000_000),
        ("10ns", 10),
        ("11us", 11_000),
        ("12µs", 12_000), // U+00B5 micro sign
        ("12μs", 12_000), // U+03BC greek mu
        ("13ms", 13_000_000),
        ("3h30m40s", (3 * 3600 + 30 * 60 + 40) * SECOND),
        ("10.5s4m", 250_500_000_000),
        ("1h1m1s1ms1us1ns", 3_661_001_001_001),
        ("39h9m14.425s", 140_954_425_000_000),
        ("0.3333333333333333333h", 20 * 60 * SECOND),
        ("9223372036854775807ns", 9_223_372_036_854_775_807),
        ("9223372036854775.807us", 9_223_372_036_854_775_807),
        ("2562047h47m16.854775807s", 9_223_372_036_854_775_807),
    ];
    for (text, nanos) in valid {
        assert_eq!(
            parse_go_duration(text),
            Ok(Duration::from_nanos(*nanos)),
            "duration {text:?}"
        );
    }
    let invalid: &[(&str, &str)] = &[
        ("", "expected a number and a unit"),
        ("3", r#"missing unit after "3""#),
        ("1.5", r#"missing unit after "1.5""#),
        ("5x", r#"unknown unit "x""#),
        ("5 m", r#"unknown unit " m""#),
        ("5S", r#"unknown unit "S""#),
        ("1d", r#"unknown unit "d""#),
        ("-5m", "negative durations are not allowed"),
        ("-1h30m", "negative durations are not allowed"),
        ("s", r#"expected a number at "s""#),
        (".", r#"expected a number at ".""#),
        ("-", "expected a number and a unit"),
        ("+.s", r#"expected a number at ".s""#),
        ("1..5s", r#"malformed number "1..5""#),
        ("1h 30m", r#"unknown unit "h ""#),
        ("9223372036854775808ns", "out of range"),
        ("2562047h47m16.854775808s", "out of range"),
        ("9999999999999999999999h", "out of range"),
        ("5m ", r#"unknown unit "m ""#),
    ];
    for (text, reason) in invalid {
        assert_eq!(
            parse_go_duration(text),
            Err(reason.to_string()),
            "duration {text:?}"
        );
    }
}

#[test]
fn duration_getter() {
    let document = parse("[agent]\ntimeout = \"20m\"\nempty = \"\"\nbad = 5x\nneg = -5m\nbare\n");
    let agent = document.section("agent").unwrap();
    assert_eq!(
        agent.duration("timeout"),
        Ok(Some(Duration::from_secs(1200)))
    );
    assert_eq!(agent.duration("absent"), Ok(None));
    assert_eq!(
        agent.duration("empty"),
        Ok(None),
        "MIG reads an empty duration as unset"
    );
    let errors = [
        (
            "bad",
            r#"test.cfg:4: [agent] bad: invalid duration "5x": unknown unit "x""#,
        ),
        (
            "neg",
            r#"test.cfg:5: [agent] neg: invalid duration "-5m": negative durations are not allowed"#,
        ),
        ("bare", "test.cfg:6: [agent] bare: missing value"),
    ];
    for (key, expected) in errors {
        assert_eq!(agent.duration(key).unwrap_err().to_string(), expected);
    }
}

#[test]
fn syntax_errors_name_file_line_and_section() {
    // (input, full message)
    let cases: &[(&str, &str)] = &[
        (
            "k = v",
            r#"test.cfg:1: variable "k" appears before any section header"#,
        ),
        (
            "; c\n\nbare",
            r#"test.cfg:3: variable "bare" appears before any section header"#,
        ),
        ("[agent", "test.cfg:1: missing ']' after section name"),
        ("[agent ; c ]", "test.cfg:1: missing ']' after section name"),
        (
            "[a \"sub\"",
            "test.cfg:1: missing ']' after subsection name",
        ),
        (
            "[a \"sub\" x]",
            "test.cfg:1: expected ']' after subsection name",
        ),
        ("[a \"sub]", "test.cfg:1: unterminated subsection name"),
        ("[a \"\"]", "test.cfg:1: empty subsection name"),
        (
            "[a \"x\\y\"]",
            r#"test.cfg:1: invalid escape sequence "\y""#,
        ),
        ("[]", "test.cfg:1: missing section name"),
        ("[ ]", "test.cfg:1: missing section name"),
        ("[1abc]", r#"test.cfg:1: invalid section name "1abc""#),
        ("[a.b]", r#"test.cfg:1: invalid section name "a.b""#),
        ("[a b]", r#"test.cfg:1: invalid section name "a b""#),
        (
            "[a] x",
            r#"test.cfg:1: unexpected text after section header: "x""#,
        ),
        (
            "[a]\nfoo bar = 1",
            r#"test.cfg:2: [a]: invalid variable name "foo bar""#,
        ),
        (
            "[a]\nfoo.bar = 1",
            r#"test.cfg:2: [a]: invalid variable name "foo.bar""#,
        ),
        (
            "[a]\n1abc = 1",
            r#"test.cfg:2: [a]: invalid variable name "1abc""#,
        ),
        (
            "[a]\n-x = 1",
            r#"test.cfg:2: [a]: invalid variable name "-x""#,
        ),
        (
            "[a]\nfoo bar",
            r#"test.cfg:2: [a]: invalid variable name "foo bar""#,
        ),
        (
            "[a]\n= 1",
            "test.cfg:2: [a]: missing variable name before '='",
        ),
        ("[a]\n]", r#"test.cfg:2: [a]: invalid variable name "]""#),
        (
            "[a]\nk = \"open",
            "test.cfg:2: [a] k: unterminated quoted value",
        ),
        (
            "[a]\nk = \"open\\\"",
            "test.cfg:2: [a] k: unterminated quoted value",
        ),
        (
            "[a]\nk = \"a\nb\"",
            "test.cfg:2: [a] k: unterminated quoted value",
        ),
        (
            "[a]\n\nk = \"bad \\x escape\"",
            r#"test.cfg:3: [a] k: invalid escape sequence "\x" in quoted value"#,
        ),
        (
            "[a]\nk = C:\\mig",
            "test.cfg:2: [a] k: a '\\' outside quotes must end the line (line continuation)",
        ),
        (
            "[a]\nk = x \\",
            "test.cfg:2: [a] k: line continuation at end of file",
        ),
        (
            "[a]\nk = x \\\n\"y",
            "test.cfg:3: [a] k: unterminated quoted value",
        ),
        (
            "[a]\nk = 1\n[b \"s\"]\nk = \"x",
            r#"test.cfg:4: [b "s"] k: unterminated quoted value"#,
        ),
        ("[a]\nk = a\0b", "test.cfg:2: illegal character NUL"),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_error(input), *expected, "input {input:?}");
    }
}

#[test]
fn error_structure() {
    let error = Document::parse("mig-agent.cfg", "[agent]\nrelay = \"x").unwrap_err();
    assert!(matches!(error, GcfgError::Syntax { .. }));
    assert_eq!(error.location().file, "mig-agent.cfg");
    assert_eq!(error.location().line, Some(2));
    assert_eq!(error.location().section.as_deref(), Some("agent"));
    assert_eq!(error.location().key.as_deref(), Some("relay"));
    assert_eq!(error.message(), "unterminated quoted value");
}

#[test]
fn validation_errors_for_raw_then_validated_config() {
    let document =
        Document::parse("scheduler.cfg", "[agent]\n\ntimeout = 20m\n[collector]\n").unwrap();
    let agent = document.section("agent").unwrap();
    // A key present: located at its line.
    assert_eq!(
        agent
            .error("timeout", "must be longer than heartbeatfreq")
            .to_string(),
        "scheduler.cfg:3: [agent] timeout: must be longer than heartbeatfreq"
    );
    // A key absent from a present section: located at the section header.
    assert_eq!(
        agent
            .error("heartbeatfreq", "missing required value")
            .to_string(),
        "scheduler.cfg:1: [agent] heartbeatfreq: missing required value"
    );
    // A section absent from the file: no line.
    assert_eq!(
        document
            .error("Periodic", "freq", "missing required value")
            .to_string(),
        "scheduler.cfg: [periodic] freq: missing required value"
    );
    let error = agent.error("timeout", "x");
    assert!(matches!(error, GcfgError::Value { .. }));
}

#[test]
fn reject_unknown_keys() {
    let document = parse("[api]\nurl = x\nSkipVerifyCert\nurll = y\n");
    let api = document.section("api").unwrap();
    assert_eq!(
        api.reject_unknown(&["url"]).unwrap_err().to_string(),
        "test.cfg:3: [api] skipverifycert: unknown variable"
    );
    assert_eq!(
        api.reject_unknown(&["url", "skipverifycert"])
            .unwrap_err()
            .to_string(),
        "test.cfg:4: [api] urll: unknown variable"
    );
    assert_eq!(
        api.reject_unknown(&["url", "skipverifycert", "urll"]),
        Ok(())
    );
    assert_eq!(
        api.keys().collect::<Vec<_>>(),
        ["url", "skipverifycert", "urll"]
    );
}

// ---------------------------------------------------------------------------------
// Realistic files, keys and sample values from the specs (protocol §7.1, §8.2,
// api §1.2, clients §1.1).

const SCHEDULER_CFG: &str = r#"; MIG scheduler configuration (conf/scheduler.cfg.inc)
[agent]
    ; timeout controls the inactivity period after which agents are marked offline
    timeout = "20m"

    ; heartbeatfreq maps to the agent configuration and helps the scheduler
    ; detect duplicate agents, and some other things
    heartbeatfreq = "5m"

    ; whitelist contains a list of agent queues that are allowed
    ; to send heartbeats and receive commands
    whitelist = "/var/cache/mig/agents_whitelist.txt"

    ; detect endpoints that are running multiple agents
    detectmultiagents = true

    ; issue kill orders to duplicate agents running on the same endpoint
    killdupagents = false

    logactions = off

; the collector continuously pulls
; pending messages from the spool
[collector]
    freq = "1s"

; the periodic runs less often that
; the collector and does cleanup and DB updates
[periodic]
    freq = "87s"
    deleteafter = "72h"
    queuescleanupfreq = "24h"

[directories]
    spool = "/var/cache/mig/"
    tmp = "/var/tmp/"

[postgres]
    host = "127.0.0.1"
    port = 5432
    dbname = "mig"
    user = "migscheduler"
    password = "123456"
    sslmode = "disable"
    maxconn = 10

[mq]
    host = "127.0.0.1"
    port = 5672
    user = "guest"
    pass = "guest"
    vhost = "mig"
    usetls = false
    cacert = "/etc/mig/ca.crt"
    tlscert = "/etc/mig/scheduler.crt"
    tlskey = "/etc/mig/scheduler.key"
    timeout = "600s"

[logging]
    mode = "stdout" ; stdout | file | syslog
    level = "debug"
    ; for file logging
    ; file = "mig_scheduler.log"
    ; for syslog, logs go into local3
    ; host = "localhost"
    ; port = 514
    ; protocol = "udp"

[debug]
    heartbeats = off
"#;

#[test]
fn sample_scheduler_cfg() {
    let document = Document::parse("scheduler.cfg", SCHEDULER_CFG).unwrap();
    let names: Vec<&str> = document.sections().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "agent",
            "collector",
            "periodic",
            "directories",
            "postgres",
            "mq",
            "logging",
            "debug"
        ]
    );
    let agent = document.section("agent").unwrap();
    assert_eq!(
        agent.duration("timeout"),
        Ok(Some(Duration::from_secs(20 * 60)))
    );
    assert_eq!(
        agent.duration("heartbeatfreq"),
        Ok(Some(Duration::from_secs(300)))
    );
    assert_eq!(
        agent.get("whitelist"),
        Some("/var/cache/mig/agents_whitelist.txt")
    );
    assert_eq!(agent.bool("detectmultiagents"), Ok(Some(true)));
    assert_eq!(agent.bool("killdupagents"), Ok(Some(false)));
    assert_eq!(agent.bool("logactions"), Ok(Some(false)));
    assert_eq!(
        agent.reject_unknown(&[
            "timeout",
            "heartbeatfreq",
            "whitelist",
            "detectmultiagents",
            "killdupagents",
            "logactions"
        ]),
        Ok(())
    );
    let periodic = document.section("periodic").unwrap();
    assert_eq!(periodic.duration("freq"), Ok(Some(Duration::from_secs(87))));
    assert_eq!(
        periodic.duration("deleteafter"),
        Ok(Some(Duration::from_secs(72 * 3600)))
    );
    assert_eq!(
        periodic.duration("queuescleanupfreq"),
        Ok(Some(Duration::from_secs(24 * 3600)))
    );
    assert_eq!(
        document.section("collector").unwrap().duration("freq"),
        Ok(Some(Duration::from_secs(1)))
    );
    let postgres = document.section("postgres").unwrap();
    assert_eq!(postgres.int::<u16>("port"), Ok(Some(5432)));
    assert_eq!(postgres.int::<u32>("maxconn"), Ok(Some(10)));
    assert_eq!(postgres.get("user"), Some("migscheduler"));
    let mq = document.section("mq").unwrap();
    assert_eq!(mq.int::<u16>("port"), Ok(Some(5672)));
    assert_eq!(mq.get("vhost"), Some("mig"));
    assert_eq!(mq.bool("usetls"), Ok(Some(false)));
    assert_eq!(mq.duration("timeout"), Ok(Some(Duration::from_secs(600))));
    let logging = document.section("logging").unwrap();
    assert_eq!(logging.get("mode"), Some("stdout"));
    assert_eq!(logging.get("file"), None);
    assert_eq!(
        document.section("debug").unwrap().bool("heartbeats"),
        Ok(Some(false))
    );
    assert_eq!(
        document.section("directories").unwrap().get("tmp"),
        Some("/var/tmp/")
    );
}

const API_CFG: &str = "[authentication]\r
    # turn this on after initial setup, once you have at least\r
    # one active investigator in the database\r
    enabled = on\r
    tokenduration = 10m\r
\r
[manifest]\r
    requiredsignatures = 2\r
\r
[server]\r
    ip = \"127.0.0.1\"\r
    port = 12345\r
    host = \"http://localhost:12345\"\r
    baseroute = \"/api/v1\"\r
    clientpublicip = \"x-forwarded-for:1\"\r
\r
[postgres]\r
    host = \"127.0.0.1\"\r
    port = 5432\r
    dbname = \"mig\"\r
    user = \"migapi\"\r
    password = \"s3cr;t#pass\"\r
    sslmode = \"disable\"\r
    maxconn = 0\r
\r
[logging]\r
    mode = \"stdout\"\r
    level = \"info\"\r
    maxfilesize = 0x100000\r
";

#[test]
fn sample_api_cfg() {
    let document = Document::parse("api.cfg", API_CFG).unwrap();
    let authentication = document.section("authentication").unwrap();
    assert_eq!(authentication.bool("enabled"), Ok(Some(true)));
    assert_eq!(
        authentication.duration("tokenduration"),
        Ok(Some(Duration::from_secs(600)))
    );
    assert_eq!(
        document
            .section("manifest")
            .unwrap()
            .int::<u32>("requiredsignatures"),
        Ok(Some(2))
    );
    let server = document.section("server").unwrap();
    assert_eq!(server.get("ip"), Some("127.0.0.1"));
    assert_eq!(server.int::<u16>("port"), Ok(Some(12345)));
    assert_eq!(
        format!(
            "{}{}",
            server.get("host").unwrap(),
            server.get("baseroute").unwrap()
        ),
        "http://localhost:12345/api/v1"
    );
    assert_eq!(server.get("clientpublicip"), Some("x-forwarded-for:1"));
    let postgres = document.section("postgres").unwrap();
    assert_eq!(postgres.get("password"), Some("s3cr;t#pass"));
    assert_eq!(postgres.get("user"), Some("migapi"));
    assert_eq!(postgres.int::<u32>("maxconn"), Ok(Some(0)));
    let logging = document.section("logging").unwrap();
    assert_eq!(logging.get("level"), Some("info"));
    assert_eq!(logging.int::<i64>("maxfilesize"), Ok(Some(1 << 20)));
    // A required key the validation step finds missing.
    assert!(
        document
            .section("server")
            .unwrap()
            .get("tokenduration")
            .is_none()
    );
    assert_eq!(
        server
            .error(
                "clientpublicip",
                "argument must be peer or x-forwarded-for:<int>"
            )
            .to_string(),
        "api.cfg:15: [server] clientpublicip: argument must be peer or x-forwarded-for:<int>"
    );
}

const AGENT_CFG: &str = r#"[agent]
    ; relay connection string
    relay = "amqp://agent:SomeRandomPassword@localhost:5672/mig"
    api = "http://localhost:1664/api/v1/"
    socket = "127.0.0.1:51664"
    heartbeatfreq = "300s"
    moduletimeout = "300s"
    refreshenv = "5m"
    isimmortal = on
    installservice = on
    discoverpublicip = on
    discoverawsmeta = off
    checkin = off
    extraprivacymode = off
    onlyverifypubkey = off
    nopersistmods
    proxies = "proxy1:8888,proxy2:8888"

    ; tags, one per line, name:value
    tags = "operator:IT"
    tags = environment:production
    tags = "url:http://a:b" # anything after a second ':' is lost by the agent

[stats]
    maxactions = 15

[certs]
    ca = "/etc/mig/ca.crt"
    cert = "/etc/mig/agent.crt"
    key = "/etc/mig/agent.key"

[logging]
    mode = "file"
    level = "info"
    file = "C:\\mig\\mig-agent.log"
    maxfilesize = 10485760
"#;

#[test]
fn sample_mig_agent_cfg() {
    let document = Document::parse("mig-agent.cfg", AGENT_CFG).unwrap();
    let agent = document.section("agent").unwrap();
    assert_eq!(
        agent.get("relay"),
        Some("amqp://agent:SomeRandomPassword@localhost:5672/mig")
    );
    assert_eq!(agent.get("api"), Some("http://localhost:1664/api/v1/"));
    assert_eq!(
        agent.duration("heartbeatfreq"),
        Ok(Some(Duration::from_secs(300)))
    );
    assert_eq!(
        agent.duration("moduletimeout"),
        Ok(Some(Duration::from_secs(300)))
    );
    assert_eq!(
        agent.duration("refreshenv"),
        Ok(Some(Duration::from_secs(300)))
    );
    assert_eq!(agent.bool("isimmortal"), Ok(Some(true)));
    assert_eq!(agent.bool("discoverawsmeta"), Ok(Some(false)));
    assert_eq!(agent.bool("nopersistmods"), Ok(Some(true)));
    assert_eq!(agent.bool("checkin"), Ok(Some(false)));
    assert_eq!(agent.get("proxies").map(|p| p.split(',').count()), Some(2));
    assert_eq!(
        agent.get_all("tags"),
        ["operator:IT", "environment:production", "url:http://a:b"]
    );
    assert_eq!(
        document.section("stats").unwrap().int::<u8>("maxactions"),
        Ok(Some(15))
    );
    assert_eq!(
        document.section("certs").unwrap().get("key"),
        Some("/etc/mig/agent.key")
    );
    let logging = document.section("logging").unwrap();
    assert_eq!(logging.get("file"), Some(r"C:\mig\mig-agent.log"));
    assert_eq!(logging.int::<u64>("maxfilesize"), Ok(Some(10_485_760)));
}

const MIGRC: &str = r#"[api]
    url = "https://mig.example.net/api/v1/"
    skipverifycert = off
[gpg]
    home = "/home/bob/.gnupg/"
    keyid = "1E6A08C563BB4EF22E2584A1D96514026D885D08"
    keyserver = "hkp://keyserver.ubuntu.com:11371"
[targets]
    macro = allonline:status='online'
    macro = "linuxops:environment->>'os'='linux' AND tags#>>'{operator}'='IT'"
    macro = idle:status='idle' ; trailing comment
"#;

#[test]
fn sample_migrc() {
    let document = Document::parse(".migrc", MIGRC).unwrap();
    let api = document.section("api").unwrap();
    assert_eq!(
        api.string("url"),
        Ok(Some("https://mig.example.net/api/v1/".to_string()))
    );
    assert_eq!(api.bool("skipverifycert"), Ok(Some(false)));
    let gpg = document.section("gpg").unwrap();
    assert_eq!(
        gpg.get("keyid"),
        Some("1E6A08C563BB4EF22E2584A1D96514026D885D08")
    );
    assert_eq!(gpg.get("home"), Some("/home/bob/.gnupg/"));
    assert_eq!(gpg.get("useapikeyauth"), None);
    let targets = document.section("targets").unwrap();
    assert_eq!(
        targets.get_all("macro"),
        [
            "allonline:status='online'",
            "linuxops:environment->>'os'='linux' AND tags#>>'{operator}'='IT'",
            "idle:status='idle'",
        ]
    );
    // The .migrc quirk: an unquoted macro with `#>>` is cut at the `#`.
    let unquoted = parse("[targets]\nmacro = linux:tags#>>'{operator}'='IT'");
    assert_eq!(
        unquoted.section("targets").unwrap().get_all("macro"),
        ["linux:tags"]
    );
}

#[test]
fn generated_migrc_with_tabs() {
    // The file written by the interactive generator (clients §1.2) is tab-indented.
    let text = "[api]\n\turl = \"https://mig.example.net/api/v1/\"\n[gpg]\n\thome = \"/home/bob/.gnupg\"\n\tkeyid = \"ABCD\"\n[targets]\n\tmacro = allonline:status='online'\n";
    let document = parse(text);
    assert_eq!(
        document.section("gpg").unwrap().get("home"),
        Some("/home/bob/.gnupg")
    );
    assert_eq!(
        document.section("targets").unwrap().get_all("macro"),
        ["allonline:status='online'"]
    );
}

proptest::proptest! {
    /// Arbitrary text, biased towards the dialect's special characters, never panics
    /// the parser, and every getter on whatever parsed is total.
    #[test]
    fn parsing_never_panics(text in r#"([\[\]"\\;#= \t\r\na-zA-Z0-9.:_-]|µ|é){0,80}"#) {
        if let Ok(document) = Document::parse("fuzz.cfg", &text) {
            for section in document.sections() {
                for key in section.keys().collect::<Vec<_>>() {
                    let _ = section.get(key);
                    let _ = section.get_all(key);
                    let _ = section.string(key);
                    let _ = section.bool(key);
                    let _ = section.int::<i64>(key);
                    let _ = section.duration(key);
                }
            }
        }
    }

    #[test]
    fn durations_never_panic(text in r#"[-+0-9.a-zµμ ]{0,30}"#) {
        let _ = parse_go_duration(&text);
    }

    /// Whole-second durations round-trip through Go's h/m/s spelling.
    #[test]
    fn durations_round_trip(seconds in 0u64..10_000_000) {
        let text = format!("{}h{}m{}s", seconds / 3600, seconds / 60 % 60, seconds % 60);
        proptest::prop_assert_eq!(parse_go_duration(&text), Ok(Duration::from_secs(seconds)));
    }
}
