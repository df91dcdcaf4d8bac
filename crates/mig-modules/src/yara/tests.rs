#![allow(clippy::unwrap_used)]

use super::*;

fn params(yara: &str, filesearch: &str) -> serde_json::Value {
    serde_json::json!({"yara": yara, "filesearch": filesearch})
}

fn run(parameters: serde_json::Value) -> YaraResult {
    Yara::run(&parameters, &ModuleContext::default())
}

#[test]
fn tokeniser_is_the_originals() {
    assert_eq!(
        tokens("-path /bin -name '\\.so$'"),
        vec!["-path", "/bin", "-name", "\\.so$"]
    );
    // Greedy: two quoted arguments on one line merge (QUIRK-KEEP).
    assert_eq!(
        tokens("-name 'a' -content 'b c'"),
        vec!["-name", "a' -content 'b c"]
    );
    assert_eq!(
        tokens("  -path\t/etc\n-name \"x y\""),
        vec!["-path", "/etc", "-name", "x y"]
    );
    assert!(tokens("   ").is_empty());
}

#[test]
fn validation_names_what_is_wrong() {
    let empty = run(params("", "-path /bin"));
    assert!(!empty.success);
    assert_eq!(
        empty.errors.unwrap(),
        vec!["yara rules are a required option"]
    );
    let bad_search = run(params("rule a { condition: true }", "-path /bin -size zz"));
    assert!(!bad_search.success);
    let bad_regex = validate(&Parameters {
        yara: "rule a { condition: true }".to_owned(),
        filesearch: String::new(),
        processname: "(".to_owned(),
    });
    assert!(
        bad_regex
            .unwrap_err()
            .starts_with("processname: invalid regex")
    );
    let not_an_object = run(serde_json::json!([1, 2]));
    assert!(!not_an_object.success);
}

#[test]
fn blocks_overlap_and_cover_regions() {
    let region = Region {
        start: 0x1000,
        end: 0x1000 + 2 * BLOCK as u64 + 5,
    };
    let cut = blocks(&[
        region,
        Region {
            start: 0x9000_0000,
            end: 0x9000_1000,
        },
    ]);
    let step = (BLOCK - BLOCK_OVERLAP) as u64;
    assert_eq!(cut[0], (0x1000, BLOCK));
    assert_eq!(cut[1], (0x1000 + step, BLOCK));
    // The last block of the region ends exactly at its end.
    let (last_start, last_size) = cut[cut.len() - 2];
    assert_eq!(last_start + last_size as u64, region.end);
    assert_eq!(cut[cut.len() - 1], (0x9000_0000, 0x1000));
    // Consecutive blocks of a region overlap by BLOCK_OVERLAP.
    for pair in cut[..cut.len() - 1].windows(2) {
        assert_eq!(
            pair[0].0 + pair[0].1 as u64 - pair[1].0,
            BLOCK_OVERLAP as u64
        );
    }
}

#[test]
fn prints_as_the_original() {
    let result = YaraResult {
        foundanything: true,
        success: true,
        elements: Some(Elements {
            matches: Some(vec![YaraMatch {
                object: "/bin/x".to_owned(),
                matched_rules: vec!["a".to_owned(), "b".to_owned()],
            }]),
        }),
        statistics: None,
        errors: Some(vec!["/bin/y: could not open file".to_owned()]),
    };
    assert_eq!(print(&result, true), vec!["/bin/x [a,b]"]);
    assert_eq!(
        print(&result, false),
        vec!["/bin/x [a,b]", "/bin/y: could not open file"]
    );
    let json = mig_protocol::gojson::to_string(&result);
    assert!(
        json.contains(r#""elements":{"Matches":[{"Object":"/bin/x","MatchedRules":["a","b"]}]}"#),
        "{json}"
    );
    assert!(json.contains(r#""statistics":null"#), "{json}");
}

/// Everything below needs the engine: the host's libyara (installed by
/// scripts/test), or YARA-X with the `yara-x` feature.
fn need_libyara() {
    available().unwrap();
}

#[test]
fn compile_errors_name_the_line() {
    need_libyara();
    let err = Rules::compile("rule a {\n strings: $x = \"x\"\n condition: $y\n}")
        .err()
        .unwrap();
    assert!(err.contains("$y"), "{err}");
    let result = run(params("rule {", "-path /tmp"));
    assert!(!result.success);
    let first = &result.errors.unwrap()[0];
    if ENGINE == "libyara" {
        assert!(err.starts_with("yara rules: line "), "{err}");
        assert!(first.starts_with("yara rules: line 1:"), "{first}");
    } else {
        // YARA-X's report: `error[E…]: …` then ` --> line:<n>:<column>`.
        assert!(err.starts_with("yara rules: error"), "{err}");
        assert!(err.contains("line:3:"), "{err}");
        assert!(first.starts_with("yara rules: error"), "{first}");
    }
}

#[test]
fn files_matching_rules_are_reported_with_every_rule() {
    need_libyara();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one"), b"xx MARKER-ONE xx").unwrap();
    std::fs::write(
        dir.path().join("both"),
        b"MARKER-ONE and \x4d\x5a\x90\x00 here",
    )
    .unwrap();
    std::fs::write(dir.path().join("none"), b"nothing to see").unwrap();
    let rules = r#"
rule one { strings: $a = "MARKER-ONE" condition: $a }
rule mz { strings: $h = { 4D 5A 90 00 } condition: $h }
rule never { condition: false }
"#;
    let root = dir.path().to_str().unwrap();
    let result = run(params(rules, &format!("-path {root} -name .")));
    assert!(result.success, "{:?}", result.errors);
    assert!(result.foundanything);
    assert_eq!(result.errors, None);
    let mut matches = result.elements.unwrap().matches.unwrap();
    matches.sort_by(|a, b| a.object.cmp(&b.object));
    assert_eq!(
        matches,
        vec![
            YaraMatch {
                object: format!("{root}/both"),
                matched_rules: vec!["one".to_owned(), "mz".to_owned()],
            },
            YaraMatch {
                object: format!("{root}/one"),
                matched_rules: vec!["one".to_owned()],
            },
        ]
    );
}

#[test]
fn nothing_found_is_a_success_with_null_matches() {
    need_libyara();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"abc").unwrap();
    let root = dir.path().to_str().unwrap();
    let result = run(params(
        "rule x { strings: $a = \"zzz\" condition: $a }",
        &format!("-path {root} -name ^nomatch$"),
    ));
    assert!(result.success);
    assert!(!result.foundanything);
    // The file search's empty placeholder is not scanned.
    assert_eq!(result.errors, None);
    assert_eq!(result.elements.unwrap().matches, None);
}

#[test]
fn unreadable_files_become_soft_errors() {
    need_libyara();
    let rules = Rules::compile("rule t { condition: true }").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    std::fs::write(&good, b"x").unwrap();
    let files = vec![
        "/nonexistent/mig-yara-test".to_owned(),
        good.to_str().unwrap().to_owned(),
    ];
    let (matches, errors) = scan_files(&rules, &files, 2);
    assert_eq!(
        errors,
        vec!["/nonexistent/mig-yara-test: could not open file"]
    );
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0].matched_rules, vec!["t"]);
}

fn parse(args: &[&str]) -> Result<Option<String>, String> {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    client::parse_params(&args, &mut std::io::sink(), &mut std::io::sink())
}

#[test]
fn command_line_embeds_the_rules_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yar");
    std::fs::write(&rules, "rule a { condition: true }").unwrap();
    let rules = rules.to_str().unwrap();
    assert_eq!(
        parse(&["-rules", rules, "-files", "-path /bin -name ssh"])
            .unwrap()
            .unwrap(),
        r#"{"yara":"rule a { condition: true }","filesearch":"-path /bin -name ssh"}"#
    );
    assert_eq!(
        parse(&["-rules", rules, "-processname", "^/usr/sbin/sshd$"])
            .unwrap()
            .unwrap(),
        r#"{"yara":"rule a { condition: true }","filesearch":"","processname":"^/usr/sbin/sshd$"}"#
    );
    assert_eq!(
        parse(&["-files", "-path /"]).unwrap_err(),
        "-rules option is required"
    );
    assert_eq!(
        parse(&["-rules", rules]).unwrap_err(),
        "-files option is required"
    );
    assert_eq!(
        parse(&["-rules", "/nonexistent.yar", "-files", "-path /"]).unwrap_err(),
        "open /nonexistent.yar: no such file or directory"
    );
    assert!(
        parse(&["-rules", rules, "-processname", "("])
            .unwrap_err()
            .starts_with("processname:")
    );
    let mut help = Vec::new();
    let printed = client::parse_params(&["help".to_owned()], &mut help, &mut std::io::sink());
    assert_eq!(printed.unwrap(), None);
    assert!(
        String::from_utf8(help)
            .unwrap()
            .starts_with("Query parameters\n")
    );
}
