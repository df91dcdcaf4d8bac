//! Properties of the target compiler: no input makes it panic, and user values never reach
//! the SQL text.

use mig_store::target::{Dialect, TargetParam, compile, parse};
use proptest::prelude::*;

/// Fragments of the grammar, valid and hostile, to build plausible targets from.
const FRAGMENTS: &[&str] = &[
    "status",
    "name",
    "id",
    "pid",
    "heartbeattime",
    "environment",
    "tags",
    "agents",
    ".",
    "->",
    "->>",
    "#>",
    "#>>",
    "'os'",
    "'{aws,instanceid}'",
    "0",
    "1.5",
    "-",
    "+",
    "=",
    "<>",
    "!=",
    "<",
    ">=",
    "LIKE",
    "ILIKE",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "AND",
    "OR",
    "(",
    ")",
    ",",
    "TRUE",
    "'online'",
    "'%web%'",
    "NOW()",
    "interval",
    "'10 minutes'",
    "select",
    "agentid",
    "from",
    "commands",
    "json_array_elements",
    "results",
    "as",
    "r",
    "where",
    "actionid",
    "'true'",
    "'{foundanything}'",
    ";",
    "--",
    "/*",
    "::",
    "||",
    "$$",
    "'",
    "\"",
    "pg_sleep",
    "\u{2019}",
];

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..24).prop_map(|parts| parts.join(" "))
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(target in any::<String>()) {
        let _ = parse(&target);
    }

    #[test]
    fn grammar_soup_never_panics_and_compiles_when_parsed(target in fragments()) {
        if parse(&target).is_ok() {
            for dialect in [Dialect::Postgres, Dialect::Sqlite] {
                prop_assert!(compile(&target, dialect, 1).is_ok(), "{}", target);
            }
        }
    }

    #[test]
    fn string_values_only_travel_as_parameters(value in any::<String>()) {
        prop_assume!(!value.contains('\0'));
        let target = format!("name = '{}' OR tags->>'{}' LIKE '{}'",
            value.replace('\'', "''"), value.replace('\'', "''"), value.replace('\'', "''"));
        match compile(&target, Dialect::Postgres, 1) {
            Ok(compiled) => {
                prop_assert_eq!(compiled.sql, "(agents.name = $1 OR (agents.tags ->> $2) LIKE $3)");
                prop_assert_eq!(&compiled.params[0], &TargetParam::Text(value.clone()));
                prop_assert_eq!(&compiled.params[1], &TargetParam::Text(value.clone()));
            }
            // Only a pattern ending in a lone backslash is refused.
            Err(error) => prop_assert!(value.ends_with('\\'), "{}", error),
        }
    }
}
