//! Tests of the example module: a table of parameter sets through the whole
//! module (JSON in, result JSON out), printing, and the registry.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;
use crate::registry::{ModuleName, run_module};

fn run(parameters: serde_json::Value) -> ExampleResult {
    let json = run_module(ModuleName::Example, &parameters, &ModuleContext::default());
    mig_protocol::gojson::from_str(&json).unwrap()
}

#[test]
fn validation_table() {
    let refused = "ValidateParameters: LookupHost parameter is not a valid FQDN.";
    let cases = [
        (json!({"lookuphost": ["localhost"]}), None),
        (json!({"lookuphost": ["www.mozilla.org", "a-b.c"]}), None),
        (json!({"lookuphost": ["-bad.example"]}), Some(refused)),
        (
            json!({"lookuphost": ["under_score.example"]}),
            Some(refused),
        ),
        (json!({"lookuphost": ["trailing.dot."]}), Some(refused)),
        (json!({"lookuphost": [""]}), Some(refused)),
        (json!({"gethostname": "yes"}), Some("invalid type")),
    ];
    for (parameters, error) in cases {
        let decoded: Result<Parameters, _> = mig_protocol::gojson::from_value(&parameters);
        let outcome = decoded
            .map_err(|err| err.to_string())
            .and_then(|parameters| validate(&parameters));
        match error {
            None => assert_eq!(outcome, Ok(()), "{parameters}"),
            Some(prefix) => {
                let message = outcome.unwrap_err();
                assert!(message.starts_with(prefix), "{parameters}: {message}");
            }
        }
    }
}

#[test]
fn hostname_addresses_and_lookup() {
    let result =
        run(json!({"gethostname": true, "getaddresses": true, "lookuphost": ["localhost"]}));
    assert!(result.success, "{:?}", result.errors);
    let elements = result.elements.as_ref().unwrap();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(elements.hostname, kernel.trim());
    assert!(!elements.addresses.contains(&"127.0.0.1/8".to_owned()));
    assert!(elements.addresses.iter().all(|cidr| cidr.contains('/')));
    let localhost = &elements.lookeduphost["localhost"];
    assert!(
        localhost.iter().any(|ip| ip == "127.0.0.1" || ip == "::1"),
        "{localhost:?}"
    );
    // The hostname and every address count; lookups do not.
    let found = result.statistics.as_ref().unwrap().stufffound;
    assert_eq!(found, 1 + elements.addresses.len() as i64);
    assert!(result.foundanything);
}

#[test]
fn nothing_asked_is_nothing_found() {
    let json = run_module(ModuleName::Example, &json!({}), &ModuleContext::default());
    assert_eq!(
        json,
        r#"{"foundanything":false,"success":true,"elements":{},"statistics":{"stufffound":0},"errors":null}"#
    );
}

#[test]
fn failures_are_results() {
    let json = run_module(
        ModuleName::Example,
        &json!({"lookuphost": ["bad_name"]}),
        &ModuleContext::default(),
    );
    assert_eq!(
        json,
        r#"{"foundanything":false,"success":false,"elements":null,"statistics":null,"errors":["ValidateParameters: LookupHost parameter is not a valid FQDN."]}"#
    );
    // A name that does not resolve (.invalid never does) is fatal, as in the original.
    let result = run(json!({"lookuphost": ["nosuchhost.invalid"]}));
    assert!(!result.success);
    assert!(result.errors.unwrap()[0].starts_with("lookup nosuchhost.invalid: "));
}

#[test]
fn printing() {
    let result = ExampleResult {
        foundanything: true,
        success: true,
        elements: Some(Elements {
            hostname: "fedbox2".to_owned(),
            addresses: vec!["172.21.0.3/20".to_owned()],
            lookeduphost: [("localhost".to_owned(), vec!["127.0.0.1".to_owned()])].into(),
        }),
        statistics: Some(Statistics { stufffound: 2 }),
        errors: Some(vec!["something".to_owned()]),
    };
    assert_eq!(
        print(&result, false),
        vec![
            "hostname is fedbox2",
            "address is 172.21.0.3/20",
            "lookedup host localhost has IP 127.0.0.1",
            "error: something",
            "stat: 2 stuff found",
        ]
    );
    assert_eq!(print(&result, true).len(), 3);
}
