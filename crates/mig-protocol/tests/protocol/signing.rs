//! The signing string (§4.1, §4.2): the captured vectors, tamper detection, and a
//! property test against an independent model of Go's encoder.
use std::path::{Path, PathBuf};

use mig_protocol::{Action, gojson};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

fn signing_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/reference/signing")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(signing_dir().join(name)).unwrap()
}

const CASES: [&str; 3] = ["file_search", "netstat_search", "unicode_html_chars"];

#[test]
fn signing_strings_match_the_captured_bytes() {
    for case in CASES {
        let action = Action::from_json(read(&format!("{case}.action.json")).as_bytes()).unwrap();
        let expected = read(&format!("{case}.signed_string.txt"));
        assert_eq!(action.signing_string(), expected, "{case}");
        // The pitfall the capture documents: the typed-struct order is not what is signed.
        if let Ok(typed) = std::fs::read_to_string(
            signing_dir().join(format!("{case}.NOT_signed_string_typed_params.txt")),
        ) {
            assert_ne!(action.signing_string(), typed, "{case}");
        }
    }
}

#[test]
fn the_spec_multi_operation_vector() {
    let action = Action::from_json(
        br#"{"name":"multiop action","target":"status='online'","validfrom":"2017-10-25T16:50:42Z","expireafter":"2017-10-25T16:56:42Z",
        "operations":[{"module":"pkg","parameters":{"pkgmatch":{"matches":["test"]},"vermatch":""}},
        {"module":"file","parameters":{"searches":{"s1":{"paths":["/etc"],"names":["test"],"options":{"maxdepth":1000,"maxerrors":30,"matchall":true,"macroal":false,"mismatch":null,"matchlimit":1000}}}}}]}"#,
    )
    .unwrap();
    assert_eq!(
        action.signing_string(),
        r#"name=multiop action;target=status='online';validfrom=1508950242;expireafter=%!s(int64=1508950602);operations=[{"module":"pkg","parameters":{"pkgmatch":{"matches":["test"]},"vermatch":""}},{"module":"file","parameters":{"searches":{"s1":{"names":["test"],"options":{"macroal":false,"matchall":true,"matchlimit":1000,"maxdepth":1000,"maxerrors":30,"mismatch":null},"paths":["/etc"]}}}}];"#
    );
}

#[test]
fn every_signed_field_changes_the_string() {
    let original = Action::from_json(read("file_search.action.json").as_bytes()).unwrap();
    let base = original.signing_string();
    type Change = Box<dyn Fn(&mut Action)>;
    let changes: Vec<(&str, Change)> = vec![
        ("name", Box::new(|a| a.name.push('x'))),
        ("target", Box::new(|a| a.target.push(' '))),
        (
            "validfrom",
            Box::new(|a| {
                a.validfrom = mig_protocol::GoTime(a.validfrom.0 + chrono::Duration::seconds(1))
            }),
        ),
        (
            "expireafter",
            Box::new(|a| {
                a.expireafter = mig_protocol::GoTime(a.expireafter.0 + chrono::Duration::seconds(1))
            }),
        ),
        (
            "module",
            Box::new(|a| a.operations.as_mut().unwrap()[0].module.push('x')),
        ),
        (
            "parameter",
            Box::new(|a| {
                a.operations.as_mut().unwrap()[0].parameters["searches"]["s1"]["paths"][0] =
                    Value::from("/tmp")
            }),
        ),
        (
            "compressed flag",
            Box::new(|a| a.operations.as_mut().unwrap()[0].want_compressed = true),
        ),
    ];
    for (what, change) in changes {
        let mut action = original.clone();
        change(&mut action);
        assert_ne!(
            action.signing_string(),
            base,
            "changing {what} must change the signed bytes"
        );
    }
    // Fields outside the signature do not change it.
    let mut action = original.clone();
    action.id = mig_protocol::Id(42);
    action.status = "completed".into();
    action.description.author = "someone".into();
    action.counters.sent = 3;
    assert_eq!(action.signing_string(), base);
}

// ---- property test: an independent model of Go's encoder ---------------------

/// Go's float formatting, built from Rust's shortest `{:e}` digits.
fn model_float(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{x:e}"); // e.g. "-1.5e-7", "1e21"
    let (mantissa, exponent) = sci.split_once('e').unwrap();
    let exponent: i32 = exponent.parse().unwrap();
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if !(-6..21).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{exp_sign}{}", exponent.abs());
    }
    // Plain notation: place the decimal point `exponent + 1` digits in.
    let point = exponent + 1;
    let body = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(point as usize - digits.len()))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    format!("{sign}{body}")
}

fn model_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn model(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => model_float(n.as_f64().unwrap()),
        Value::String(s) => model_string(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(model).collect::<Vec<_>>().join(",")
        ),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", model_string(k), model(&map[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _./^$-]{0,12}",
        "[<>&\"\\\\\u{0}-\u{1f}\u{7f}\u{2028}\u{2029}éß☃日😀]{0,8}",
        any::<String>().prop_map(|s| s.chars().take(10).collect()),
    ]
}

fn arb_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<i32>().prop_map(f64::from),
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
        (-30i32..30, 1u32..1000).prop_map(|(e, m)| f64::from(m) * 10f64.powi(e)),
        Just(1e21),
        Just(1e-7),
        Just(-0.0),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number().prop_map(|x| Number::from_f64(x)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((arb_string(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_form_matches_the_model_and_is_stable(params in arb_json()) {
        let canonical = gojson::canonical(&params);
        // Numbers in the model go through f64 exactly as Go's decoder does.
        prop_assert_eq!(&canonical, &model(&params));
        // Parse and re-serialise: the canonical form is a fixed point.
        let reparsed = gojson::parse_value(canonical.as_bytes()).unwrap();
        prop_assert_eq!(gojson::canonical(&reparsed), canonical.clone());
        // The wire encoder agrees with the canonical one on generic trees.
        prop_assert_eq!(gojson::to_string(&reparsed), canonical.clone());
        // And through a whole action: the signing string embeds it unchanged.
        let action = Action {
            name: "n".into(),
            target: "t".into(),
            operations: Some(vec![mig_protocol::Operation::new("file", params.clone())]),
            ..Action::default()
        };
        let json = action.to_json();
        let back = Action::from_json(json.as_bytes()).unwrap();
        prop_assert_eq!(back.signing_string(), action.signing_string());
        let expected_suffix = format!("operations=[{{\"module\":\"file\",\"parameters\":{canonical}}}];");
        prop_assert!(action.signing_string().ends_with(&expected_suffix));
    }
}
