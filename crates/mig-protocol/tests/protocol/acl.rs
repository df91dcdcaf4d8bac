//! The agent's ACL rules (§2.10, §4.4), one case a line, each with its reason.
use mig_protocol::acl::{Acl, AclError};

const ALICE: &str = "1E6A08C563BB4EF22E2584A1D96514026D885D08";
const BOB: &str = "552C3A182AFC28A1B18AF9DF806B936C4A575483";
const CAROL: &str = "E3315F6E9D114853ADECAD4CA24D5256A965B080";
const SCHEDULER: &str = "397FD1F5E3DD4020BEF0E37E0F382D21C84C143A";

fn acl() -> Acl {
    Acl::from_json(
        format!(
            r#"{{
            "default": {{"minimumweight": 2, "investigators": {{
                "alice": {{"fingerprint": "{ALICE}", "weight": 2}},
                "bob":   {{"fingerprint": "{BOB}", "weight": 1}},
                "carol": {{"fingerprint": "{CAROL}", "weight": 1}}}}}},
            "file": {{"minimumweight": 1, "investigators": {{
                "alice": {{"fingerprint": "{lower}", "weight": 1}},
                "bob":   {{"fingerprint": "{BOB}", "weight": 1}}}}}},
            "memory": {{"minimumweight": 3, "investigators": {{
                "alice":       {{"fingerprint": "{ALICE}", "weight": 2}},
                "alice again": {{"fingerprint": "{ALICE}", "weight": 2}},
                "bob":         {{"fingerprint": "{BOB}", "weight": 1}}}}}},
            "agentdestroy": {{"MinimumWeight": 1, "Investigators": {{
                "scheduler": {{"Fingerprint": "{SCHEDULER}", "Weight": 1}}}}}},
            "broken": {{"minimumweight": 0, "investigators": {{
                "alice": {{"fingerprint": "{ALICE}", "weight": 5}}}}}},
            "yara": {{"minimumweight": 2, "investigators": {{
                "alice": {{"fingerprint": "{spaced}", "weight": 2}}}}}}
        }}"#,
            lower = ALICE.to_lowercase(),
            spaced = "1E6A 08C5 63BB 4EF2 2E25  84A1 D965 1402 6D88 5D08",
        )
        .as_bytes(),
    )
    .unwrap()
}

#[derive(Debug, PartialEq)]
enum Want {
    Ok,
    NoOperations,
    NoEntry,
    BadMinimum,
    Duplicate,
    Underweight,
}

fn outcome(result: Result<(), AclError>) -> Want {
    match result {
        Ok(()) => Want::Ok,
        Err(AclError::NoOperations) => Want::NoOperations,
        Err(AclError::NoEntry { .. }) => Want::NoEntry,
        Err(AclError::BadMinimum { .. }) => Want::BadMinimum,
        Err(AclError::DuplicateSigner { .. }) => Want::Duplicate,
        Err(AclError::Underweight { .. }) => Want::Underweight,
        Err(other) => panic!("unexpected {other}"),
    }
}

#[test]
fn acl_table() {
    use Want::*;
    let acl = acl();
    #[rustfmt::skip]
    let cases: &[(&str, &[&str], &[&str], Want)] = &[
        ("module entry, enough weight", &["file"], &[BOB], Ok),
        ("module entry, fingerprint compared case-insensitively (ACL has lower case)", &["file"], &[ALICE], Ok),
        ("signer fingerprint given in lower case", &["file"], &[&BOB.to_lowercase()], Ok),
        ("module entry, signer not listed adds 0", &["file"], &[CAROL], Underweight),
        ("no module entry: default applies", &["netstat"], &[ALICE], Ok),
        ("default applies and is not merged with module entries", &["netstat"], &[BOB], Underweight),
        ("default: two weight-1 signers reach 2", &["netstat"], &[BOB, CAROL], Ok),
        ("default: signer order does not matter", &["netstat"], &[CAROL, BOB], Ok),
        ("module entry is used instead of default even when default would allow", &["agentdestroy"], &[ALICE], Underweight),
        ("scheduler key may destroy agents (field names case-insensitive in acl.cfg)", &["agentdestroy"], &[SCHEDULER], Ok),
        ("scheduler key alone may not run file", &["file"], &[SCHEDULER], Underweight),
        ("every operation must pass: second module under-weighted", &["file", "netstat"], &[BOB], Underweight),
        ("every operation passes", &["file", "netstat"], &[ALICE], Ok),
        ("multi-operation, one module has a stricter entry", &["file", "memory"], &[ALICE], Underweight),
        ("two ACL rows with the same fingerprint count once", &["memory"], &[ALICE], Underweight),
        ("the same key twice in the ACL plus another key", &["memory"], &[ALICE, BOB], Ok),
        ("the same key signing twice is refused", &["file"], &[BOB, BOB], Duplicate),
        ("the same key signing twice, differently cased, is refused", &["file"], &[BOB, &BOB.to_lowercase()], Duplicate),
        ("the same key twice cannot reach a weight of 2", &["netstat"], &[BOB, BOB], Duplicate),
        ("no signers at all", &["file"], &[], Underweight),
        ("an action with no operations is refused", &[], &[ALICE], NoOperations),
        ("minimumweight below 1 is an invalid entry, refused even for heavy signers", &["broken"], &[ALICE], BadMinimum),
        ("module lookup is case-sensitive: FILE falls back to default", &["FILE"], &[BOB], Underweight),
        ("fingerprints written with spaces, as gpg prints them", &["yara"], &[ALICE], Ok),
        ("unknown signer with a lookalike fingerprint", &["file"], &["1E6A08C563BB4EF22E2584A1D96514026D885D09"], Underweight),
    ];
    assert!(cases.len() >= 20);
    for (reason, modules, signers, want) in cases {
        let signers: Vec<String> = signers.iter().map(|s| s.to_string()).collect();
        let got = outcome(acl.authorize(modules.iter().copied(), &signers));
        assert_eq!(&got, want, "{reason}");
    }
}

#[test]
fn no_default_entry_and_no_module_entry_is_refused() {
    let acl = Acl::from_json(format!(r#"{{"file":{{"minimumweight":1,"investigators":{{"a":{{"fingerprint":"{ALICE}","weight":1}}}}}}}}"#).as_bytes()).unwrap();
    assert_eq!(
        outcome(acl.authorize(["netstat"], &[ALICE.to_string()])),
        Want::NoEntry
    );
    assert_eq!(
        outcome(acl.authorize(["file"], &[ALICE.to_string()])),
        Want::Ok
    );
}

#[test]
fn builtin_acl_authorises_nobody() {
    let acl = Acl::default();
    assert_eq!(
        outcome(acl.authorize(["file"], &[ALICE.to_string()])),
        Want::Underweight
    );
}

#[test]
fn malformed_acl_files_name_the_problem() {
    let err = Acl::from_json(br#"{"file":{"minimumweight":1,"investigators":{"bob":{"fingerprint":"ABCD","weight":1}}}}"#).unwrap_err();
    assert!(err.to_string().contains("\"bob\""), "{err}");
    assert!(err.to_string().contains("40 hex digits"), "{err}");
    let err = Acl::from_json(b"{not json").unwrap_err();
    assert!(err.to_string().starts_with("invalid acl"), "{err}");
    let err = Acl::from_json(br#"{"file":{"minimumweight":"high"}}"#).unwrap_err();
    assert!(err.to_string().contains("invalid acl"), "{err}");
}
