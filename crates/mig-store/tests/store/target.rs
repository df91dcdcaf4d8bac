//! Target compiler tests: the documented forms and their SQL for both dialects, refused
//! injection attempts, and execution of the compiled SQL on SQLite and on the machine's
//! PostgreSQL (which must be running: these tests fail, never skip, without it).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mig_store::target::{
    CompiledTarget, Dialect, MAX_LENGTH, TargetError, TargetParam, compile, compile_at, parse,
    sqlite_timestamp,
};
use sqlx::postgres::{PgArguments, PgPoolOptions};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool, Postgres, Row, Sqlite, SqlitePool};

/// Documented target forms (protocol §7.3, api §5.3, clients §1.1 and §2.3) with the SQL and
/// parameters each dialect gets: target, PostgreSQL SQL, its parameters, SQLite SQL, its
/// parameters (as `Debug` text). SQLite times are computed for `fixed_now()`.
const DOCUMENTED: &[(&str, &str, &str, &str, &str)] = &[
    (
        r#"status='online'"#,
        r#"agents.status = $1"#,
        r#"[Text("online")]"#,
        r#"agents.status = ?1"#,
        r#"[Text("online")]"#,
    ),
    (
        r#"status='online' AND mode='daemon'"#,
        r#"(agents.status = $1 AND agents.mode = $2)"#,
        r#"[Text("online"), Text("daemon")]"#,
        r#"(agents.status = ?1 AND agents.mode = ?2)"#,
        r#"[Text("online"), Text("daemon")]"#,
    ),
    (
        r#"name LIKE '%<b>&%' AND status='online'"#,
        r#"(agents.name LIKE $1 AND agents.status = $2)"#,
        r#"[Text("%<b>&%"), Text("online")]"#,
        r#"(agents.name GLOB ?1 AND agents.status = ?2)"#,
        r#"[Text("*<b>&*"), Text("online")]"#,
    ),
    (
        r#"queueloc LIKE 'linux.%' AND environment->>'ident' ILIKE '%ubuntu%'"#,
        r#"(agents.queueloc LIKE $1 AND (agents.environment ->> $2) ILIKE $3)"#,
        r#"[Text("linux.%"), Text("ident"), Text("%ubuntu%")]"#,
        r#"(agents.queueloc GLOB ?1 AND (SELECT CASE j1.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(j1.value AS TEXT) END FROM json_each(agents.environment) AS j1 WHERE j1.key = ?2) LIKE ?3 ESCAPE '\')"#,
        r#"[Text("linux.*"), Text("ident"), Text("%ubuntu%")]"#,
    ),
    (
        r#"tags->>'operator'='opsec'"#,
        r#"(agents.tags ->> $1) = $2"#,
        r#"[Text("operator"), Text("opsec")]"#,
        r#"(SELECT CASE j1.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(j1.value AS TEXT) END FROM json_each(agents.tags) AS j1 WHERE j1.key = ?1) = ?2"#,
        r#"[Text("operator"), Text("opsec")]"#,
    ),
    (
        r#"name='host1'"#,
        r#"agents.name = $1"#,
        r#"[Text("host1")]"#,
        r#"agents.name = ?1"#,
        r#"[Text("host1")]"#,
    ),
    (
        r#"environment->>'os'='linux' AND tags#>>'{operator}'='IT'"#,
        r#"((agents.environment ->> $1) = $2 AND (agents.tags #>> ARRAY[$3]::text[]) = $4)"#,
        r#"[Text("os"), Text("linux"), Text("operator"), Text("IT")]"#,
        r#"((SELECT CASE j1.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(j1.value AS TEXT) END FROM json_each(agents.environment) AS j1 WHERE j1.key = ?1) = ?2 AND (SELECT CASE j2.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(j2.value AS TEXT) END FROM json_each(agents.tags) AS j2 WHERE CAST(j2.key AS TEXT) = ?3) = ?4)"#,
        r#"[Text("os"), Text("linux"), Text("operator"), Text("IT")]"#,
    ),
    (
        r#"name ILIKE '%web%'"#,
        r#"agents.name ILIKE $1"#,
        r#"[Text("%web%")]"#,
        r#"agents.name LIKE ?1 ESCAPE '\'"#,
        r#"[Text("%web%")]"#,
    ),
    (
        r#"status='idle' OR status='online'"#,
        r#"(agents.status = $1 OR agents.status = $2)"#,
        r#"[Text("idle"), Text("online")]"#,
        r#"(agents.status = ?1 OR agents.status = ?2)"#,
        r#"[Text("idle"), Text("online")]"#,
    ),
    (
        r#"STATUS IN ('online', 'idle')"#,
        r#"agents.status IN ($1, $2)"#,
        r#"[Text("online"), Text("idle")]"#,
        r#"agents.status IN (?1, ?2)"#,
        r#"[Text("online"), Text("idle")]"#,
    ),
    (
        r#"status != 'offline'"#,
        r#"agents.status <> $1"#,
        r#"[Text("offline")]"#,
        r#"agents.status <> ?1"#,
        r#"[Text("offline")]"#,
    ),
    (
        r#"status <> 'offline' AND mode = 'checkin'"#,
        r#"(agents.status <> $1 AND agents.mode = $2)"#,
        r#"[Text("offline"), Text("checkin")]"#,
        r#"(agents.status <> ?1 AND agents.mode = ?2)"#,
        r#"[Text("offline"), Text("checkin")]"#,
    ),
    (
        r#"id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=1234 and r#>>'{foundanything}' = 'true') AND status='online'"#,
        r#"(agents.id IN (SELECT c.agentid FROM commands AS c, json_array_elements(CASE WHEN json_typeof(c.results) = 'array' THEN c.results ELSE '[]'::json END) AS r WHERE c.actionid = $1 AND r #>> '{foundanything}' = $2) AND agents.status = $3)"#,
        r#"[Int(1234), Text("true"), Text("online")]"#,
        r#"(agents.id IN (SELECT c.agentid FROM commands AS c, json_each(CASE WHEN json_valid(c.results) THEN CASE json_type(c.results) WHEN 'array' THEN c.results END END) AS r WHERE c.actionid = ?1 AND r.type = 'object' AND (CASE json_type(r.value, '$.foundanything') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'text' THEN json_extract(r.value, '$.foundanything') END) = ?2) AND agents.status = ?3)"#,
        r#"[Int(1234), Text("true"), Text("online")]"#,
    ),
    (
        r#"id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=1234 and r#>>'{foundanything}' = 'false') AND status='online'"#,
        r#"(agents.id IN (SELECT c.agentid FROM commands AS c, json_array_elements(CASE WHEN json_typeof(c.results) = 'array' THEN c.results ELSE '[]'::json END) AS r WHERE c.actionid = $1 AND r #>> '{foundanything}' = $2) AND agents.status = $3)"#,
        r#"[Int(1234), Text("false"), Text("online")]"#,
        r#"(agents.id IN (SELECT c.agentid FROM commands AS c, json_each(CASE WHEN json_valid(c.results) THEN CASE json_type(c.results) WHEN 'array' THEN c.results END END) AS r WHERE c.actionid = ?1 AND r.type = 'object' AND (CASE json_type(r.value, '$.foundanything') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'text' THEN json_extract(r.value, '$.foundanything') END) = ?2) AND agents.status = ?3)"#,
        r#"[Int(1234), Text("false"), Text("online")]"#,
    ),
    (
        r#"id IN (select agentid from commands, json_array_elements(commands.results) as r where commands.actionid = 1234 and r#>>'{foundanything}' = 'true')"#,
        r#"agents.id IN (SELECT c.agentid FROM commands AS c, json_array_elements(CASE WHEN json_typeof(c.results) = 'array' THEN c.results ELSE '[]'::json END) AS r WHERE c.actionid = $1 AND r #>> '{foundanything}' = $2)"#,
        r#"[Int(1234), Text("true")]"#,
        r#"agents.id IN (SELECT c.agentid FROM commands AS c, json_each(CASE WHEN json_valid(c.results) THEN CASE json_type(c.results) WHEN 'array' THEN c.results END END) AS r WHERE c.actionid = ?1 AND r.type = 'object' AND (CASE json_type(r.value, '$.foundanything') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'text' THEN json_extract(r.value, '$.foundanything') END) = ?2)"#,
        r#"[Int(1234), Text("true")]"#,
    ),
    (
        r#"id NOT IN (SELECT agentid FROM commands, json_array_elements(commands.results) AS r WHERE actionid=5 AND r#>>'{foundanything}'='true')"#,
        r#"(NOT (agents.id IN (SELECT c.agentid FROM commands AS c, json_array_elements(CASE WHEN json_typeof(c.results) = 'array' THEN c.results ELSE '[]'::json END) AS r WHERE c.actionid = $1 AND r #>> '{foundanything}' = $2)))"#,
        r#"[Int(5), Text("true")]"#,
        r#"(NOT (agents.id IN (SELECT c.agentid FROM commands AS c, json_each(CASE WHEN json_valid(c.results) THEN CASE json_type(c.results) WHEN 'array' THEN c.results END END) AS r WHERE c.actionid = ?1 AND r.type = 'object' AND (CASE json_type(r.value, '$.foundanything') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'text' THEN json_extract(r.value, '$.foundanything') END) = ?2)))"#,
        r#"[Int(5), Text("true")]"#,
    ),
    (
        r#"heartbeattime > NOW() - interval '10 minutes'"#,
        r#"agents.heartbeattime > (now() - make_interval(secs => $1))"#,
        r#"[IntervalSeconds(600.0)]"#,
        r#"agents.heartbeattime > ?1"#,
        r#"[Timestamp(2024-06-01T11:50:00Z)]"#,
    ),
    (
        r#"heartbeattime > now() - INTERVAL '1 hour 30 minutes'"#,
        r#"agents.heartbeattime > (now() - make_interval(secs => $1))"#,
        r#"[IntervalSeconds(5400.0)]"#,
        r#"agents.heartbeattime > ?1"#,
        r#"[Timestamp(2024-06-01T10:30:00Z)]"#,
    ),
    (
        r#"heartbeattime >= CURRENT_TIMESTAMP - interval '2 days' AND heartbeattime < NOW()"#,
        r#"(agents.heartbeattime >= (now() - make_interval(secs => $1)) AND agents.heartbeattime < now())"#,
        r#"[IntervalSeconds(172800.0)]"#,
        r#"(agents.heartbeattime >= ?1 AND agents.heartbeattime < ?2)"#,
        r#"[Timestamp(2024-05-30T12:00:00Z), Timestamp(2024-06-01T12:00:00Z)]"#,
    ),
    (
        r#"environment->'aws'->>'instanceid' = 'i-123'"#,
        r#"(agents.environment -> $1 ->> $2) = $3"#,
        r#"[Text("aws"), Text("instanceid"), Text("i-123")]"#,
        r#"(SELECT CASE j2.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(j2.value AS TEXT) END FROM json_each((SELECT CASE WHEN j1.type IN ('object', 'array') THEN j1.value END FROM json_each(agents.environment) AS j1 WHERE j1.key = ?1)) AS j2 WHERE j2.key = ?2) = ?3"#,
        r#"[Text("aws"), Text("instanceid"), Text("i-123")]"#,
    ),
    (
        r#"environment#>>'{aws,instanceid}' = 'i-123'"#,
        r#"(agents.environment #>> ARRAY[$1, $2]::text[]) = $3"#,
        r#"[Text("aws"), Text("instanceid"), Text("i-123")]"#,
        r#"(SELECT CASE j2.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(j2.value AS TEXT) END FROM json_each((SELECT CASE WHEN j1.type IN ('object', 'array') THEN j1.value END FROM json_each(agents.environment) AS j1 WHERE CAST(j1.key AS TEXT) = ?1)) AS j2 WHERE CAST(j2.key AS TEXT) = ?2) = ?3"#,
        r#"[Text("aws"), Text("instanceid"), Text("i-123")]"#,
    ),
    (
        r#"environment->'addresses'->>0 LIKE '10.%'"#,
        r#"(agents.environment -> $1 ->> CAST($2 AS integer)) LIKE $3"#,
        r#"[Text("addresses"), Int(0), Text("10.%")]"#,
        r#"(SELECT CASE j2.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(j2.value AS TEXT) END FROM json_each((SELECT CASE WHEN j1.type IN ('object', 'array') THEN j1.value END FROM json_each(agents.environment) AS j1 WHERE j1.key = ?1)) AS j2 WHERE j2.key = ?2) GLOB ?3"#,
        r#"[Text("addresses"), Int(0), Text("10.*")]"#,
    ),
    (
        r#"environment->>'isproxied' = 'true'"#,
        r#"(agents.environment ->> $1) = $2"#,
        r#"[Text("isproxied"), Text("true")]"#,
        r#"(SELECT CASE j1.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(j1.value AS TEXT) END FROM json_each(agents.environment) AS j1 WHERE j1.key = ?1) = ?2"#,
        r#"[Text("isproxied"), Text("true")]"#,
    ),
    (
        r#"name NOT LIKE 'test%'"#,
        r#"agents.name NOT LIKE $1"#,
        r#"[Text("test%")]"#,
        r#"agents.name NOT GLOB ?1"#,
        r#"[Text("test*")]"#,
    ),
    (
        r#"name NOT ILIKE '%TEST\_%'"#,
        r#"agents.name NOT ILIKE $1"#,
        r#"[Text("%TEST\\_%")]"#,
        r#"agents.name NOT LIKE ?1 ESCAPE '\'"#,
        r#"[Text("%TEST\\_%")]"#,
    ),
    (
        r#"pid = 1234"#,
        r#"agents.pid = $1"#,
        r#"[Int(1234)]"#,
        r#"agents.pid = ?1"#,
        r#"[Int(1234)]"#,
    ),
    (
        r#"pid > 100 AND pid <= 2000"#,
        r#"(agents.pid > $1 AND agents.pid <= $2)"#,
        r#"[Int(100), Int(2000)]"#,
        r#"(agents.pid > ?1 AND agents.pid <= ?2)"#,
        r#"[Int(100), Int(2000)]"#,
    ),
    (
        r#"id = '42' OR id = 43 OR id = 1.5"#,
        r#"(agents.id = $1 OR agents.id = $2 OR agents.id = $3)"#,
        r#"[Int(42), Int(43), Float(1.5)]"#,
        r#"(agents.id = ?1 OR agents.id = ?2 OR agents.id = ?3)"#,
        r#"[Int(42), Int(43), Float(1.5)]"#,
    ),
    (
        r#"version NOT IN ('20240101-1.prod', '20240102-1.prod')"#,
        r#"agents.version NOT IN ($1, $2)"#,
        r#"[Text("20240101-1.prod"), Text("20240102-1.prod")]"#,
        r#"agents.version NOT IN (?1, ?2)"#,
        r#"[Text("20240101-1.prod"), Text("20240102-1.prod")]"#,
    ),
    (
        r#"tags IS NULL OR loadername IS NOT NULL"#,
        r#"(agents.tags IS NULL OR agents.loadername IS NOT NULL)"#,
        r#"[]"#,
        r#"(agents.tags IS NULL OR agents.loadername IS NOT NULL)"#,
        r#"[]"#,
    ),
    (
        r#"NOT (status='online')"#,
        r#"(NOT (agents.status = $1))"#,
        r#"[Text("online")]"#,
        r#"(NOT (agents.status = ?1))"#,
        r#"[Text("online")]"#,
    ),
    (
        r#"NOT status = 'online' AND TRUE"#,
        r#"((NOT (agents.status = $1)) AND $2)"#,
        r#"[Text("online"), Bool(true)]"#,
        r#"((NOT (agents.status = ?1)) AND ?2)"#,
        r#"[Text("online"), Bool(true)]"#,
    ),
    (
        r#"agents.status = 'online' AND agents.environment->>'os' = 'darwin'"#,
        r#"(agents.status = $1 AND (agents.environment ->> $2) = $3)"#,
        r#"[Text("online"), Text("os"), Text("darwin")]"#,
        r#"(agents.status = ?1 AND (SELECT CASE j1.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN NULL ELSE CAST(j1.value AS TEXT) END FROM json_each(agents.environment) AS j1 WHERE j1.key = ?2) = ?3)"#,
        r#"[Text("online"), Text("os"), Text("darwin")]"#,
    ),
    (
        r#"starttime < '2024-01-01T00:00:00Z'"#,
        r#"agents.starttime < $1"#,
        r#"[Timestamp(2024-01-01T00:00:00Z)]"#,
        r#"agents.starttime < ?1"#,
        r#"[Timestamp(2024-01-01T00:00:00Z)]"#,
    ),
    (
        r#"starttime >= '2024-01-01 00:00:00+02'"#,
        r#"agents.starttime >= $1"#,
        r#"[Timestamp(2023-12-31T22:00:00Z)]"#,
        r#"agents.starttime >= ?1"#,
        r#"[Timestamp(2023-12-31T22:00:00Z)]"#,
    ),
    (
        r#"(name = 'a' OR name = 'b') AND (status = 'online' OR status = 'idle')"#,
        r#"((agents.name = $1 OR agents.name = $2) AND (agents.status = $3 OR agents.status = $4))"#,
        r#"[Text("a"), Text("b"), Text("online"), Text("idle")]"#,
        r#"((agents.name = ?1 OR agents.name = ?2) AND (agents.status = ?3 OR agents.status = ?4))"#,
        r#"[Text("a"), Text("b"), Text("online"), Text("idle")]"#,
    ),
    (
        r#"name = 'x'' OR ''1''=''1'"#,
        r#"agents.name = $1"#,
        r#"[Text("x' OR '1'='1")]"#,
        r#"agents.name = ?1"#,
        r#"[Text("x' OR '1'='1")]"#,
    ),
    (
        r#"FALSE"#,
        r#"$1"#,
        r#"[Bool(false)]"#,
        r#"?1"#,
        r#"[Bool(false)]"#,
    ),
];

fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
}

#[test]
fn documented_forms_compile_to_the_expected_sql() {
    assert!(DOCUMENTED.len() >= 25);
    for (target, postgres, postgres_params, sqlite, sqlite_params) in DOCUMENTED {
        let compiled = compile_at(target, Dialect::Postgres, 1, fixed_now())
            .unwrap_or_else(|error| panic!("{target}: {error}"));
        assert_eq!(compiled.sql, *postgres, "postgres sql of {target}");
        assert_eq!(
            format!("{:?}", compiled.params),
            *postgres_params,
            "postgres params of {target}"
        );
        let compiled = compile_at(target, Dialect::Sqlite, 1, fixed_now())
            .unwrap_or_else(|error| panic!("{target}: {error}"));
        assert_eq!(compiled.sql, *sqlite, "sqlite sql of {target}");
        assert_eq!(
            format!("{:?}", compiled.params),
            *sqlite_params,
            "sqlite params of {target}"
        );
    }
}

#[test]
fn found_in_action_is_recognised() {
    use mig_store::target::Expr;
    let target = "id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=6212738473826 and r#>>'{foundanything}' = 'false') AND status='online'";
    let Ok(Expr::And(operands)) = parse(target) else {
        panic!("{target}");
    };
    assert_eq!(
        operands[0],
        Expr::FoundInAction {
            action_id: 6_212_738_473_826,
            found: false
        }
    );
}

#[test]
fn placeholders_follow_the_callers_own() {
    let compiled = compile("tags->>'operator' = 'IT'", Dialect::Postgres, 3).unwrap();
    assert_eq!(compiled.sql, "(agents.tags ->> $3) = $4");
    let compiled = compile(
        "heartbeattime > NOW() - interval '1 minute'",
        Dialect::Sqlite,
        5,
    )
    .unwrap();
    assert_eq!(compiled.sql, "agents.heartbeattime > ?5");
    let TargetParam::Timestamp(time) = compiled.params[0] else {
        panic!("{:?}", compiled.params);
    };
    let age = Utc::now() - time;
    assert!(
        age >= TimeDelta::seconds(59) && age <= TimeDelta::seconds(70),
        "{age}"
    );
}

/// Injection attempts and other refused input, each with the token the error must name.
const REFUSED: &[(&str, &str)] = &[
    ("status='online'; drop table agents", ";"),
    ("status='online';", ";"),
    ("1=1 --", "--"),
    ("status='online' -- and mode='daemon'", "--"),
    ("/* */ status='online'", "/*"),
    ("status='online' or pg_sleep(10)", "pg_sleep"),
    ("status='online' AND pg_sleep(10) IS NULL", "pg_sleep"),
    ("name = 'x' || (select name from investigators)", "||"),
    ("id in (select id from investigators)", "id"),
    ("name IN (select name from agents)", "select"),
    ("environment->>'a'::int = 1", "::"),
    ("heartbeattime > now() - '1 hour'::interval", "::"),
    (
        "status='online' union select name from investigators",
        "union",
    ),
    ("status='online' UNION SELECT * FROM investigators", "*"),
    ("name = $$x$$", "$$"),
    ("name = $1", "$"),
    ("name = E'\\x27 or 1=1'", "E'"),
    ("name = U&'\\0027'", "U&"),
    (
        "id in (select agentid from commands where id in (select 1))",
        "where",
    ),
    (
        "id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=(select max(id) from actions) and r#>>'{foundanything}' = 'true')",
        "(",
    ),
    (
        "id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=1 and r#>>'{foundanything}' = 'true' or true)",
        "or",
    ),
    (
        "id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=1 and r#>>'{foundanything}' = 'maybe')",
        "'maybe'",
    ),
    ("current_setting('is_superuser') = 'on'", "current_setting"),
    ("lo_import('/etc/passwd') = 1", "lo_import"),
    ("pg_read_file('/etc/passwd') IS NOT NULL", "pg_read_file"),
    ("version() IS NULL", "version"),
    ("exists (select 1)", "exists"),
    ("tags->>'x' = 'a' AND (SELECT 1) = 1", "SELECT"),
    ("status = (select 'online')", "("),
    ("name = \u{2019}x\u{2019}", "\u{2019}"),
    ("status=\u{ff07}online\u{ff07}", "\u{ff07}"),
    ("status='online'\u{a0}", "\u{a0}"),
    ("name = 'a\0b'", "\0"),
    ("status='online'\0", "\0"),
    ("\"status\" = 'online'", "\""),
    ("status = 'online' AND 1=1", "="),
    ("name = 'a' OR 'a'='a'", "="),
    ("status = 'online' \\g", "\\"),
    ("name ~ '^web'", "~"),
    ("environment @> '{\"os\":\"linux\"}'", "@"),
    ("tags ? 'operator'", "?"),
    ("name SIMILAR TO 'a%'", "SIMILAR"),
    ("queueloc LIKE 'linux.%' ESCAPE '!'", "ESCAPE"),
    ("set role postgres", "set"),
    ("password = 'x'", "password"),
    ("status = ANY(ARRAY['online'])", "["),
    ("status = ANY('{online}')", "ANY"),
    ("heartbeattime > clock_timestamp()", "clock_timestamp"),
    ("heartbeattime > now() - interval '1 month'", "'1 month'"),
    (
        "heartbeattime > now() - interval '10 minutes; drop'",
        "'10 minutes; drop'",
    ),
    ("name = 'unterminated", "'unterminated"),
    ("(status='online'))", ")"),
    ("name = 0x1F", "0x1F"),
    ("status = NULL", "NULL"),
    ("tags = '{}'", "="),
    ("name LIKE 'abc\\'", "'abc\\'"),
    (
        "name = 'a' AND dblink('host=evil', 'select 1') IS NULL",
        "dblink",
    ),
];

#[test]
fn injection_attempts_are_refused_naming_the_token() {
    assert!(REFUSED.len() >= 30);
    for (target, token) in REFUSED {
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            match compile(target, dialect, 1) {
                Ok(compiled) => panic!("{target:?} was accepted: {}", compiled.sql),
                Err(error) => {
                    assert_eq!(error.token(), Some(*token), "{target:?}: {error}");
                    let offset = error.offset().unwrap();
                    assert!(target[offset..].starts_with(token), "{target:?}: {error}");
                    let message = error.to_string();
                    assert!(message.starts_with("unsupported token"), "{message}");
                    assert!(!message.ends_with('.'), "{message}");
                }
            }
        }
    }
}

#[test]
fn error_message_shape() {
    let error = parse("status='online' or pg_sleep(10)").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unsupported token \"pg_sleep\" at 19: functions other than NOW() are not allowed"
    );
}

#[test]
fn overlong_deep_and_empty_targets_are_refused() {
    let overlong = format!("name = '{}'", "a".repeat(MAX_LENGTH));
    assert!(matches!(parse(&overlong), Err(TargetError::TooLong { .. })));
    let deep = format!("{}status='online'{}", "(".repeat(1000), ")".repeat(1000));
    assert_eq!(parse(&deep).unwrap_err().token(), Some("("));
    let nots = "NOT ".repeat(100_000);
    assert!(parse(&nots).is_err());
    assert_eq!(parse(""), Err(TargetError::Empty));
    assert_eq!(parse(" \n\t"), Err(TargetError::Empty));
    assert!(matches!(
        parse("status ="),
        Err(TargetError::UnexpectedEnd { offset: 8, .. })
    ));
}

/// A doubled quote is part of the string: the classic injection is just a strange name.
#[test]
fn quotes_stay_inside_parameters() {
    let compiled = compile("name = 'x'' OR ''1''=''1'", Dialect::Postgres, 1).unwrap();
    assert_eq!(compiled.sql, "agents.name = $1");
    assert_eq!(
        compiled.params,
        vec![TargetParam::Text("x' OR '1'='1".to_string())]
    );
}

// ---------------------------------------------------------------------------------------
// Execution on both backends.

/// One row of the test `agents` table.
struct TestAgent {
    id: i64,
    name: &'static str,
    queueloc: &'static str,
    mode: &'static str,
    version: &'static str,
    pid: i32,
    status: &'static str,
    environment: Option<&'static str>,
    tags: Option<&'static str>,
    heartbeat_minutes_ago: i64,
    starttime: &'static str,
    loadername: Option<&'static str>,
}

const AGENTS: &[TestAgent] = &[
    TestAgent {
        id: 1,
        name: "web1",
        queueloc: "linux.web1",
        mode: "daemon",
        version: "20240101-1.prod",
        pid: 100,
        status: "online",
        environment: Some(
            r#"{"os":"linux","ident":"Ubuntu 22.04","arch":"amd64","isproxied":false,"addresses":["10.0.0.1/24","fe80::1/64"],"aws":{"instanceid":"i-aaa"}}"#,
        ),
        tags: Some(r#"{"operator":"IT"}"#),
        heartbeat_minutes_ago: 1,
        starttime: "2023-12-31T23:00:00Z",
        loadername: None,
    },
    TestAgent {
        id: 2,
        name: "Web2",
        queueloc: "linux.web2",
        mode: "daemon",
        version: "20240102-1.prod",
        pid: 2000,
        status: "online",
        environment: Some(
            r#"{"os":"linux","ident":"Debian 12","isproxied":true,"addresses":["192.168.1.2/24"],"aws":{}}"#,
        ),
        tags: Some(r#"{"operator":"opsec"}"#),
        heartbeat_minutes_ago: 3,
        starttime: "2024-01-10T00:00:00Z",
        loadername: Some("loader-b"),
    },
    TestAgent {
        id: 3,
        name: "db1",
        queueloc: "linux.db1",
        mode: "checkin",
        version: "20240101-1.prod",
        pid: 300,
        status: "idle",
        environment: Some(r#"{"os":"linux","ident":"CentOS 7","isproxied":false,"aws":{}}"#),
        tags: Some("null"),
        heartbeat_minutes_ago: 30,
        starttime: "2024-01-10T00:00:00Z",
        loadername: None,
    },
    TestAgent {
        id: 4,
        name: "mac1",
        queueloc: "darwin.mac1",
        mode: "daemon",
        version: "20240102-1.prod",
        pid: 400,
        status: "online",
        environment: Some(
            r#"{"os":"darwin","ident":"macOS 14","isproxied":false,"aws":{"instanceid":"i-bbb"}}"#,
        ),
        tags: Some(r#"{"operator":"IT"}"#),
        heartbeat_minutes_ago: 2,
        starttime: "2023-12-31T21:00:00Z",
        loadername: Some("loader-a"),
    },
    TestAgent {
        id: 5,
        name: "win1",
        queueloc: "windows.win1",
        mode: "daemon",
        version: "20231201-1.prod",
        pid: 500,
        status: "offline",
        environment: Some(r#"{"os":"windows","isproxied":false,"aws":{}}"#),
        tags: Some("{}"),
        heartbeat_minutes_ago: 2880,
        starttime: "2024-01-10T00:00:00Z",
        loadername: None,
    },
    TestAgent {
        id: 6,
        name: "win2",
        queueloc: "windows.win2",
        mode: "daemon",
        version: "20240102-1.prod",
        pid: 600,
        status: "online",
        environment: Some(
            r#"{"os":"windows","ident":"Windows Server 2022","isproxied":false,"aws":{}}"#,
        ),
        tags: Some(r#"{"operator":"IT","team":"blue"}"#),
        heartbeat_minutes_ago: 5,
        starttime: "2024-01-10T00:00:00Z",
        loadername: None,
    },
    TestAgent {
        id: 7,
        name: "it's%_*[x]",
        queueloc: "linux.odd",
        mode: "daemon",
        version: "1.0",
        pid: 700,
        status: "online",
        environment: Some(r#"{"os":"linux","ident":"ubuntu-like","isproxied":false,"aws":{}}"#),
        tags: Some(r#"{"operator":"it"}"#),
        heartbeat_minutes_ago: 7,
        starttime: "2024-01-10T00:00:00Z",
        loadername: None,
    },
    TestAgent {
        id: 8,
        name: "gone1",
        queueloc: "linux.gone",
        mode: "daemon",
        version: "20231201-1.prod",
        pid: 800,
        status: "destroyed",
        environment: Some(r#"{"os":"linux","ident":"Ubuntu 18.04","isproxied":false,"aws":{}}"#),
        tags: None,
        heartbeat_minutes_ago: 4320,
        starttime: "2024-01-10T00:00:00Z",
        loadername: None,
    },
    TestAgent {
        id: 9,
        name: "WEB3",
        queueloc: "linux.web3",
        mode: "daemon",
        version: "20240102-1.prod",
        pid: 900,
        status: "online",
        environment: Some(r#"{"os":"linux","ident":"ubuntu 20.04","isproxied":false,"aws":{}}"#),
        tags: Some(r#"{"operator":"IT"}"#),
        heartbeat_minutes_ago: 20,
        starttime: "2024-01-10T00:00:00Z",
        loadername: None,
    },
    TestAgent {
        id: 10,
        name: "café-ünï",
        queueloc: "linux.cafe",
        mode: "daemon",
        version: "20240102-1.prod",
        pid: 1000,
        status: "online",
        environment: Some(r#"{"os":"linux","ident":"Ubuntu Ünïcode","isproxied":false,"aws":{}}"#),
        tags: Some(r#"{"opérateur":"IT","with\"quote":"yes"}"#),
        heartbeat_minutes_ago: 1,
        starttime: "2024-01-10T00:00:00Z",
        loadername: None,
    },
    TestAgent {
        id: 11,
        name: "bare",
        queueloc: "linux.bare",
        mode: "daemon",
        version: "0",
        pid: 1100,
        status: "online",
        environment: None,
        tags: None,
        heartbeat_minutes_ago: 1,
        starttime: "2024-01-10T00:00:00Z",
        loadername: None,
    },
];

/// Commands: id, action id, agent id, results (JSON text, or SQL NULL).
const COMMANDS: &[(i64, i64, i64, Option<&str>)] = &[
    (
        1,
        100,
        1,
        Some(r#"[{"foundanything":true},{"foundanything":false}]"#),
    ),
    (2, 100, 2, Some(r#"[{"foundanything":false}]"#)),
    (3, 100, 4, Some(r#"[{"foundanything":true,"elements":{}}]"#)),
    (4, 100, 3, None),
    (5, 100, 6, Some("null")),
    (6, 100, 11, Some("[]")),
    (7, 100, 9, Some(r#"[1,"x",null]"#)),
    (8, 200, 6, Some(r#"[{"foundanything":true}]"#)),
    (9, 200, 1, Some(r#"[{"foundanything":"true"}]"#)),
    (10, 200, 2, Some(r#"[{"foundanything":null}]"#)),
];

const ALL: &[&str] = &[
    "web1",
    "Web2",
    "db1",
    "mac1",
    "win1",
    "win2",
    "it's%_*[x]",
    "gone1",
    "WEB3",
    "café-ünï",
    "bare",
];
const ONLINE: &[&str] = &[
    "web1",
    "Web2",
    "mac1",
    "win2",
    "it's%_*[x]",
    "WEB3",
    "café-ünï",
    "bare",
];

/// Targets and the agents each must select, on both backends.
const EXPECTATIONS: &[(&str, &[&str])] = &[
    ("status='online'", ONLINE),
    ("status='online' AND mode='daemon'", ONLINE),
    (
        "status='idle' OR status='online'",
        &[
            "web1",
            "Web2",
            "db1",
            "mac1",
            "win2",
            "it's%_*[x]",
            "WEB3",
            "café-ünï",
            "bare",
        ],
    ),
    (
        "status IN ('online','idle') AND environment->>'os' = 'windows'",
        &["win2"],
    ),
    ("status != 'online'", &["db1", "win1", "gone1"]),
    ("NOT (status='online')", &["db1", "win1", "gone1"]),
    ("mode = 'checkin'", &["db1"]),
    ("name='web1'", &["web1"]),
    ("name LIKE '%web%'", &["web1"]),
    ("name LIKE 'web_'", &["web1"]),
    ("name ILIKE '%web%'", &["web1", "Web2", "WEB3"]),
    ("name LIKE 'it''s\\%\\_*[x]'", &["it's%_*[x]"]),
    ("name LIKE '%\\%%'", &["it's%_*[x]"]),
    ("name LIKE 'café%'", &["café-ünï"]),
    ("name ILIKE 'CAF%'", &["café-ünï"]),
    (
        "name NOT LIKE '%e%'",
        &[
            "db1",
            "mac1",
            "win1",
            "win2",
            "it's%_*[x]",
            "WEB3",
            "café-ünï",
        ],
    ),
    ("name LIKE '%<b>&%' AND status='online'", &[]),
    ("queueloc LIKE 'windows.%'", &["win1", "win2"]),
    (
        "queueloc LIKE 'linux.%' AND environment->>'ident' ILIKE '%ubuntu%'",
        &["web1", "it's%_*[x]", "gone1", "WEB3", "café-ünï"],
    ),
    (
        "environment->>'ident' NOT LIKE 'Ubuntu%'",
        &["Web2", "db1", "mac1", "win2", "it's%_*[x]", "WEB3"],
    ),
    ("tags->>'operator'='opsec'", &["Web2"]),
    (
        "environment->>'os'='linux' AND tags#>>'{operator}'='IT'",
        &["web1", "WEB3"],
    ),
    ("tags->>'opérateur' = 'IT'", &["café-ünï"]),
    ("tags->>'with\"quote' = 'yes'", &["café-ünï"]),
    ("tags IS NULL", &["gone1", "bare"]),
    (
        "tags->>'operator' IS NULL",
        &["db1", "win1", "gone1", "café-ünï", "bare"],
    ),
    ("environment->'aws'->>'instanceid' = 'i-aaa'", &["web1"]),
    (
        "environment#>>'{aws,instanceid}' IS NOT NULL",
        &["web1", "mac1"],
    ),
    ("environment->'addresses'->>0 LIKE '10.%'", &["web1"]),
    ("environment#>>'{addresses,1}' = 'fe80::1/64'", &["web1"]),
    ("environment->>'isproxied' = 'true'", &["Web2"]),
    (
        "environment->>'isproxied' = 'false'",
        &[
            "web1",
            "db1",
            "mac1",
            "win1",
            "win2",
            "it's%_*[x]",
            "gone1",
            "WEB3",
            "café-ünï",
        ],
    ),
    (
        "environment->>'aws' = '{}'",
        &[
            "Web2",
            "db1",
            "win1",
            "win2",
            "it's%_*[x]",
            "gone1",
            "WEB3",
            "café-ünï",
        ],
    ),
    ("loadername IS NOT NULL", &["Web2", "mac1"]),
    ("pid > 100 AND pid <= 600", &["db1", "mac1", "win1", "win2"]),
    ("id = '4' OR id = 9", &["mac1", "WEB3"]),
    ("id IN (1, 2, 3)", &["web1", "Web2", "db1"]),
    (
        "version NOT IN ('20240101-1.prod', '20240102-1.prod')",
        &["win1", "it's%_*[x]", "gone1", "bare"],
    ),
    (
        "heartbeattime > NOW() - interval '10 minutes'",
        &[
            "web1",
            "Web2",
            "mac1",
            "win2",
            "it's%_*[x]",
            "café-ünï",
            "bare",
        ],
    ),
    (
        "heartbeattime > now() - INTERVAL '1 hour'",
        &[
            "web1",
            "Web2",
            "db1",
            "mac1",
            "win2",
            "it's%_*[x]",
            "WEB3",
            "café-ünï",
            "bare",
        ],
    ),
    (
        "heartbeattime > NOW() - interval '4m'",
        &["web1", "Web2", "mac1", "café-ünï", "bare"],
    ),
    (
        "heartbeattime < NOW() - INTERVAL '1 day'",
        &["win1", "gone1"],
    ),
    (
        "heartbeattime < current_timestamp - interval '1 hour 30 minutes' AND heartbeattime > NOW() - interval '2 days 1 hour'",
        &["win1"],
    ),
    ("starttime < '2024-01-01T00:00:00Z'", &["web1", "mac1"]),
    (
        "starttime >= '2024-01-01 00:00:00+02'",
        &[
            "web1",
            "Web2",
            "db1",
            "win1",
            "win2",
            "it's%_*[x]",
            "gone1",
            "WEB3",
            "café-ünï",
            "bare",
        ],
    ),
    ("destructiontime > NOW()", ALL),
    (
        "(name = 'web1' OR name = 'mac1') AND (status = 'online' OR status = 'idle')",
        &["web1", "mac1"],
    ),
    (
        "agents.status = 'online' AND agents.environment->>'os' = 'darwin'",
        &["mac1"],
    ),
    ("name = 'x'' OR ''1''=''1'", &[]),
    ("TRUE", ALL),
    ("FALSE", &[]),
    (
        "id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=100 and r#>>'{foundanything}' = 'true') AND status='online'",
        &["web1", "mac1"],
    ),
    (
        "id IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=100 and r#>>'{foundanything}' = 'false') AND status='online'",
        &["web1", "Web2"],
    ),
    (
        "id IN (select agentid from commands, json_array_elements(commands.results) as r where commands.actionid = 200 and r#>>'{foundanything}' = 'true')",
        &["web1", "win2"],
    ),
    (
        "id NOT IN (select agentid from commands, json_array_elements(commands.results) as r where actionid=100 and r#>>'{foundanything}' = 'true')",
        &[
            "Web2",
            "db1",
            "win1",
            "win2",
            "it's%_*[x]",
            "gone1",
            "WEB3",
            "café-ünï",
            "bare",
        ],
    ),
];

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(ToString::to_string).collect();
    names.sort();
    names
}

fn time_of(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn bind_postgres<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    params: &[TargetParam],
) -> Query<'q, Postgres, PgArguments> {
    for param in params {
        query = match param {
            TargetParam::Text(text) => query.bind(text.clone()),
            TargetParam::Int(value) => query.bind(*value),
            TargetParam::Float(value) | TargetParam::IntervalSeconds(value) => query.bind(*value),
            TargetParam::Bool(value) => query.bind(*value),
            TargetParam::Timestamp(time) => query.bind(*time),
        };
    }
    query
}

fn bind_sqlite<'q>(
    mut query: Query<'q, Sqlite, SqliteArguments>,
    params: &[TargetParam],
) -> Query<'q, Sqlite, SqliteArguments> {
    for param in params {
        query = match param {
            TargetParam::Text(text) => query.bind(text.clone()),
            TargetParam::Int(value) => query.bind(*value),
            TargetParam::Float(value) | TargetParam::IntervalSeconds(value) => query.bind(*value),
            TargetParam::Bool(value) => query.bind(*value),
            TargetParam::Timestamp(time) => query.bind(sqlite_timestamp(time)),
        };
    }
    query
}

async fn select_postgres(pool: &PgPool, compiled: &CompiledTarget, prefix: &str) -> Vec<String> {
    let sql = format!("SELECT name FROM agents WHERE {prefix}({})", compiled.sql);
    let mut query = sqlx::query(AssertSqlSafe(sql.clone()));
    if !prefix.is_empty() {
        query = query.bind("online").bind("idle");
    }
    let rows = bind_postgres(query, &compiled.params)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|error| panic!("postgres: {sql}: {error}"));
    let mut names: Vec<String> = rows.iter().map(|row| row.get::<String, _>(0)).collect();
    names.sort();
    names
}

async fn select_sqlite(pool: &SqlitePool, compiled: &CompiledTarget, prefix: &str) -> Vec<String> {
    let sql = format!("SELECT name FROM agents WHERE {prefix}({})", compiled.sql);
    let mut query = sqlx::query(AssertSqlSafe(sql.clone()));
    if !prefix.is_empty() {
        query = query.bind("online").bind("idle");
    }
    let rows = bind_sqlite(query, &compiled.params)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|error| panic!("sqlite: {sql}: {error}"));
    let mut names: Vec<String> = rows.iter().map(|row| row.get::<String, _>(0)).collect();
    names.sort();
    names
}

async fn fill_sqlite(pool: &SqlitePool, now: DateTime<Utc>) {
    pool.execute(
        "CREATE TABLE agents (id INTEGER PRIMARY KEY, name TEXT NOT NULL, queueloc TEXT NOT NULL, \
         mode TEXT NOT NULL, version TEXT NOT NULL, pid INTEGER NOT NULL, starttime TEXT NOT NULL, \
         destructiontime TEXT, heartbeattime TEXT NOT NULL, refreshtime TEXT NOT NULL, status TEXT, \
         environment TEXT, tags TEXT, loadername TEXT); \
         CREATE TABLE commands (id INTEGER PRIMARY KEY, actionid INTEGER NOT NULL, \
         agentid INTEGER NOT NULL REFERENCES agents(id), status TEXT NOT NULL, results TEXT, \
         starttime TEXT NOT NULL, finishtime TEXT);",
    )
    .await
    .unwrap();
    for agent in AGENTS {
        let heartbeat = now - TimeDelta::minutes(agent.heartbeat_minutes_ago);
        sqlx::query("INSERT INTO agents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)")
            .bind(agent.id)
            .bind(agent.name)
            .bind(agent.queueloc)
            .bind(agent.mode)
            .bind(agent.version)
            .bind(agent.pid)
            .bind(sqlite_timestamp(&time_of(agent.starttime)))
            .bind(sqlite_timestamp(&time_of("9998-01-11T11:11:11Z")))
            .bind(sqlite_timestamp(&heartbeat))
            .bind(sqlite_timestamp(&heartbeat))
            .bind(agent.status)
            .bind(agent.environment)
            .bind(agent.tags)
            .bind(agent.loadername)
            .execute(pool)
            .await
            .unwrap();
    }
    for (id, action_id, agent_id, results) in COMMANDS {
        sqlx::query("INSERT INTO commands VALUES (?1, ?2, ?3, 'success', ?4, ?5, NULL)")
            .bind(*id)
            .bind(*action_id)
            .bind(*agent_id)
            .bind(*results)
            .bind(sqlite_timestamp(&now))
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn fill_postgres(pool: &PgPool, now: DateTime<Utc>) {
    // The column types of protocol §9.1.
    for statement in [
        "CREATE TABLE agents (id numeric NOT NULL PRIMARY KEY, name varchar(2048) NOT NULL, \
         queueloc varchar(2048) NOT NULL, mode varchar(2048) NOT NULL, version varchar(2048) NOT NULL, \
         pid integer NOT NULL, starttime timestamp with time zone NOT NULL, \
         destructiontime timestamp with time zone, heartbeattime timestamp with time zone NOT NULL, \
         refreshtime timestamp with time zone NOT NULL, status varchar(255), environment json, \
         tags json, loadername varchar(2048))",
        "CREATE TABLE commands (id numeric NOT NULL PRIMARY KEY, actionid numeric NOT NULL, \
         agentid numeric NOT NULL REFERENCES agents(id), status varchar(255) NOT NULL, results json, \
         starttime timestamp with time zone NOT NULL, finishtime timestamp with time zone)",
    ] {
        pool.execute(statement).await.unwrap();
    }
    for agent in AGENTS {
        let heartbeat = now - TimeDelta::minutes(agent.heartbeat_minutes_ago);
        sqlx::query(
            "INSERT INTO agents VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             CAST($12 AS json), CAST($13 AS json), $14)",
        )
        .bind(agent.id)
        .bind(agent.name)
        .bind(agent.queueloc)
        .bind(agent.mode)
        .bind(agent.version)
        .bind(agent.pid)
        .bind(time_of(agent.starttime))
        .bind(time_of("9998-01-11T11:11:11Z"))
        .bind(heartbeat)
        .bind(heartbeat)
        .bind(agent.status)
        .bind(agent.environment)
        .bind(agent.tags)
        .bind(agent.loadername)
        .execute(pool)
        .await
        .unwrap();
    }
    for (id, action_id, agent_id, results) in COMMANDS {
        sqlx::query(
            "INSERT INTO commands VALUES ($1, $2, $3, 'success', CAST($4 AS json), $5, NULL)",
        )
        .bind(*id)
        .bind(*action_id)
        .bind(*agent_id)
        .bind(*results)
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// The scheduler's shape (protocol §7.3): its own parameters first, the target's after them.
const SCHEDULER_PREFIX: &str = "agents.status IN ($1, $2) AND ";
const SCHEDULER_PREFIX_SQLITE: &str = "agents.status IN (?1, ?2) AND ";
const SCHEDULER_TARGET: &str = "environment->>'os'='linux'";
const SCHEDULER_EXPECTED: &[&str] = &["web1", "Web2", "db1", "it's%_*[x]", "WEB3", "café-ünï"];

#[tokio::test]
async fn documented_forms_select_the_expected_agents_on_sqlite() {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    fill_sqlite(&pool, Utc::now()).await;
    for (target, expected) in EXPECTATIONS {
        let compiled =
            compile(target, Dialect::Sqlite, 1).unwrap_or_else(|error| panic!("{target}: {error}"));
        assert_eq!(
            select_sqlite(&pool, &compiled, "").await,
            sorted(expected),
            "sqlite: {target}"
        );
    }
    let compiled = compile(SCHEDULER_TARGET, Dialect::Sqlite, 3).unwrap();
    assert_eq!(
        select_sqlite(&pool, &compiled, SCHEDULER_PREFIX_SQLITE).await,
        sorted(SCHEDULER_EXPECTED)
    );
}

// PostgreSQL: a database of our own (mig-testkit), named
// mig_target_test_<unix seconds>_<pid>_<random>.

const DATABASE_PREFIX: &str = "mig_target_test_";

async fn run_postgres_expectations(url: String) {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .unwrap();
    fill_postgres(&pool, Utc::now()).await;
    for (target, expected) in EXPECTATIONS {
        let compiled = compile(target, Dialect::Postgres, 1)
            .unwrap_or_else(|error| panic!("{target}: {error}"));
        assert_eq!(
            select_postgres(&pool, &compiled, "").await,
            sorted(expected),
            "postgres: {target}"
        );
    }
    let compiled = compile(SCHEDULER_TARGET, Dialect::Postgres, 3).unwrap();
    assert_eq!(
        select_postgres(&pool, &compiled, SCHEDULER_PREFIX).await,
        sorted(SCHEDULER_EXPECTED)
    );
    pool.close().await;
}

#[tokio::test]
async fn documented_forms_select_the_expected_agents_on_postgres() {
    mig_testkit::with_database(DATABASE_PREFIX, run_postgres_expectations).await;
}
