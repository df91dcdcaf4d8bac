//! Renders a target AST as a parameterised SQL expression for PostgreSQL or SQLite.
//!
//! Every piece of SQL text written here is a constant of this file; user values only ever
//! become [`TargetParam`]s. Columns are qualified with `agents.` so that the sub-selects this
//! file writes cannot capture them; callers must name the table `agents` (no alias).
//!
//! Backend differences, and how each is bridged:
//!
//! * `LIKE` is case-sensitive in PostgreSQL and ASCII-case-insensitive in SQLite. On SQLite a
//!   `LIKE` is compiled to `GLOB` with the pattern translated in Rust (`%` → `*`, `_` → `?`,
//!   literal `*`, `?`, `[` bracketed, `\x` → literal `x`), which is case-sensitive and has the
//!   same one-character semantics. `ILIKE` becomes `LIKE … ESCAPE '\'`; SQLite folds only ASCII
//!   letters, PostgreSQL folds all of Unicode (a documented difference).
//! * JSON members: PostgreSQL gets `->`, `->>`, `#>`, `#>>` with bound keys. SQLite gets one
//!   `json_each` scalar sub-query per step, matching `key` against a bound parameter (so any
//!   key, quotes included, works without building a JSON path string), and renders the final
//!   value as PostgreSQL's `->>` would: `'true'`/`'false'` for booleans, NULL for JSON null,
//!   the text of numbers and strings.
//! * Time: PostgreSQL gets `now()` and `make_interval(secs => $n)`. SQLite stores timestamps as
//!   fixed-width RFC 3339 text (see [`sqlite_timestamp`]); `NOW() ± interval` is computed in
//!   Rust at compile time and bound as a [`TargetParam::Timestamp`].
//! * The found-in-action sub-select uses `json_array_elements` on PostgreSQL and `json_each`
//!   on SQLite; both skip `results` that are not JSON arrays instead of failing.

use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};

use super::TargetError;
use super::parser::{Expr, JsonColumn, JsonStep, Literal, Operand, parse};

/// The SQL dialect to compile for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: `$n` placeholders, `json` operators, `now()`.
    Postgres,
    /// SQLite: `?n` placeholders, `json_each`, timestamps as RFC 3339 text.
    Sqlite,
}

/// A value bound to a placeholder of a compiled target.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetParam {
    /// Bind as text.
    Text(String),
    /// Bind as a 64-bit integer.
    Int(i64),
    /// Bind as a double.
    Float(f64),
    /// Bind as a boolean.
    Bool(bool),
    /// A number of seconds for `make_interval(secs => …)` (PostgreSQL only); bind as a double.
    IntervalSeconds(f64),
    /// A point in time: bind as `timestamptz` on PostgreSQL and as the text of
    /// [`sqlite_timestamp`] on SQLite.
    Timestamp(DateTime<Utc>),
}

/// A target compiled to a SQL boolean expression and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledTarget {
    /// The expression, with placeholders numbered from the `first_placeholder` given to
    /// [`compile`]; it refers to the table as `agents`.
    pub sql: String,
    /// The values of the placeholders, in order.
    pub params: Vec<TargetParam>,
}

/// Parses `target` and compiles it for `dialect`, numbering placeholders from
/// `first_placeholder` (1 when the target's parameters come first; 0 is treated as 1).
pub fn compile(
    target: &str,
    dialect: Dialect,
    first_placeholder: usize,
) -> Result<CompiledTarget, TargetError> {
    compile_at(target, dialect, first_placeholder, Utc::now())
}

/// Like [`compile`], with the time SQLite uses for `NOW()` given by the caller.
pub fn compile_at(
    target: &str,
    dialect: Dialect,
    first_placeholder: usize,
    now: DateTime<Utc>,
) -> Result<CompiledTarget, TargetError> {
    let expr = parse(target)?;
    expr.to_sql(dialect, first_placeholder, now)
}

/// Formats a timestamp as SQLite stores it: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, UTC, fixed width,
/// so that text comparison orders timestamps.
pub fn sqlite_timestamp(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

impl Expr {
    /// Renders this expression for `dialect`, numbering placeholders from `first_placeholder`.
    pub fn to_sql(
        &self,
        dialect: Dialect,
        first_placeholder: usize,
        now: DateTime<Utc>,
    ) -> Result<CompiledTarget, TargetError> {
        let mut writer = Writer {
            dialect,
            first_placeholder: first_placeholder.max(1),
            now,
            sql: String::new(),
            params: Vec::new(),
            json_levels: 0,
        };
        writer.expr(self)?;
        Ok(CompiledTarget {
            sql: writer.sql,
            params: writer.params,
        })
    }
}

struct Writer {
    dialect: Dialect,
    first_placeholder: usize,
    now: DateTime<Utc>,
    sql: String,
    params: Vec<TargetParam>,
    /// Counter for unique `json_each` aliases in SQLite.
    json_levels: usize,
}

impl Writer {
    /// Appends a placeholder bound to `param`.
    fn param(&mut self, param: TargetParam) {
        let number = self.first_placeholder + self.params.len();
        self.params.push(param);
        let prefix = match self.dialect {
            Dialect::Postgres => '$',
            Dialect::Sqlite => '?',
        };
        let _ = write!(self.sql, "{prefix}{number}");
    }

    fn push(&mut self, text: &str) {
        self.sql.push_str(text);
    }

    fn expr(&mut self, expr: &Expr) -> Result<(), TargetError> {
        match expr {
            Expr::And(operands) | Expr::Or(operands) => {
                let joiner = if matches!(expr, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.push("(");
                for (index, operand) in operands.iter().enumerate() {
                    if index > 0 {
                        self.push(joiner);
                    }
                    self.expr(operand)?;
                }
                self.push(")");
            }
            Expr::Not(inner) => {
                // And, Or and Not render their own parentheses; wrap the others so that the
                // operand of NOT reads unambiguously whatever the backend's precedence.
                let wrap = !matches!(**inner, Expr::And(_) | Expr::Or(_) | Expr::Not(_));
                self.push(if wrap { "(NOT (" } else { "(NOT " });
                self.expr(inner)?;
                self.push(if wrap { "))" } else { ")" });
            }
            Expr::Bool(value) => self.param(TargetParam::Bool(*value)),
            Expr::Compare { left, op, right } => {
                self.operand(left)?;
                self.push(" ");
                self.push(op.sql());
                self.push(" ");
                self.operand(right)?;
            }
            Expr::Like {
                operand,
                pattern,
                case_insensitive,
                negated,
            } => {
                self.operand(operand)?;
                self.push(if *negated { " NOT" } else { "" });
                match (self.dialect, case_insensitive) {
                    (Dialect::Postgres, false) => {
                        self.push(" LIKE ");
                        self.param(TargetParam::Text(pattern.clone()));
                    }
                    (Dialect::Postgres, true) => {
                        self.push(" ILIKE ");
                        self.param(TargetParam::Text(pattern.clone()));
                    }
                    (Dialect::Sqlite, false) => {
                        self.push(" GLOB ");
                        self.param(TargetParam::Text(like_to_glob(pattern)));
                    }
                    (Dialect::Sqlite, true) => {
                        self.push(" LIKE ");
                        self.param(TargetParam::Text(pattern.clone()));
                        self.push(" ESCAPE '\\'");
                    }
                }
            }
            Expr::InList {
                operand,
                values,
                negated,
            } => {
                self.operand(operand)?;
                self.push(if *negated { " NOT IN (" } else { " IN (" });
                for (index, value) in values.iter().enumerate() {
                    if index > 0 {
                        self.push(", ");
                    }
                    self.literal(value);
                }
                self.push(")");
            }
            Expr::IsNull { operand, negated } => {
                self.operand(operand)?;
                self.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            Expr::FoundInAction { action_id, found } => self.found_in_action(*action_id, *found),
        }
        Ok(())
    }

    fn found_in_action(&mut self, action_id: i64, found: bool) {
        let value = TargetParam::Text(if found { "true" } else { "false" }.to_string());
        match self.dialect {
            Dialect::Postgres => {
                self.push(
                    "agents.id IN (SELECT c.agentid FROM commands AS c, \
                     json_array_elements(CASE WHEN json_typeof(c.results) = 'array' \
                     THEN c.results ELSE '[]'::json END) AS r WHERE c.actionid = ",
                );
                self.param(TargetParam::Int(action_id));
                self.push(" AND r #>> '{foundanything}' = ");
                self.param(value);
                self.push(")");
            }
            Dialect::Sqlite => {
                self.push(
                    "agents.id IN (SELECT c.agentid FROM commands AS c, \
                     json_each(CASE WHEN json_valid(c.results) THEN CASE json_type(c.results) \
                     WHEN 'array' THEN c.results END END) AS r WHERE c.actionid = ",
                );
                self.param(TargetParam::Int(action_id));
                self.push(
                    " AND r.type = 'object' AND (CASE json_type(r.value, '$.foundanything') \
                     WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                     WHEN 'text' THEN json_extract(r.value, '$.foundanything') END) = ",
                );
                self.param(value);
                self.push(")");
            }
        }
    }

    fn literal(&mut self, literal: &Literal) {
        let param = match literal {
            Literal::Text(text) => TargetParam::Text(text.clone()),
            Literal::Int(value) => TargetParam::Int(*value),
            Literal::Float(value) => TargetParam::Float(*value),
            Literal::Timestamp(value) => TargetParam::Timestamp(*value),
        };
        self.param(param);
    }

    fn operand(&mut self, operand: &Operand) -> Result<(), TargetError> {
        match operand {
            Operand::Column(column) => {
                self.push("agents.");
                self.push(column.name());
            }
            Operand::Literal(literal) => self.literal(literal),
            Operand::Now { offset_micros } => self.now(*offset_micros)?,
            Operand::JsonText { column, steps } => match self.dialect {
                Dialect::Postgres => self.json_postgres(*column, steps),
                Dialect::Sqlite => self.json_sqlite(*column, steps),
            },
        }
        Ok(())
    }

    fn now(&mut self, offset_micros: Option<i64>) -> Result<(), TargetError> {
        match self.dialect {
            Dialect::Postgres => match offset_micros {
                None => self.push("now()"),
                Some(micros) => {
                    self.push(if micros < 0 {
                        "(now() - make_interval(secs => "
                    } else {
                        "(now() + make_interval(secs => "
                    });
                    // Intervals are bounded to about 100 years, far inside f64 precision.
                    #[allow(clippy::cast_precision_loss)]
                    let seconds = micros.unsigned_abs() as f64 / 1_000_000.0;
                    self.param(TargetParam::IntervalSeconds(seconds));
                    self.push("))");
                }
            },
            Dialect::Sqlite => {
                let time = self
                    .now
                    .checked_add_signed(TimeDelta::microseconds(offset_micros.unwrap_or(0)))
                    .ok_or(TargetError::TimeOutOfRange)?;
                self.param(TargetParam::Timestamp(time));
            }
        }
        Ok(())
    }

    fn json_postgres(&mut self, column: JsonColumn, steps: &[JsonStep]) {
        self.push("(agents.");
        self.push(column.column().name());
        for (index, step) in steps.iter().enumerate() {
            let last = index + 1 == steps.len();
            match step {
                JsonStep::Key(key) => {
                    self.push(if last { " ->> " } else { " -> " });
                    self.param(TargetParam::Text(key.clone()));
                }
                JsonStep::Index(position) => {
                    self.push(if last { " ->> " } else { " -> " });
                    self.push("CAST(");
                    self.param(TargetParam::Int(*position));
                    self.push(" AS integer)");
                }
                JsonStep::Path(elements) => {
                    self.push(if last { " #>> ARRAY[" } else { " #> ARRAY[" });
                    for (element_index, element) in elements.iter().enumerate() {
                        if element_index > 0 {
                            self.push(", ");
                        }
                        self.param(TargetParam::Text(element.clone()));
                    }
                    self.push("]::text[]");
                }
            }
        }
        self.push(")");
    }

    /// Renders JSON access as nested `json_each` scalar sub-queries, innermost first.
    ///
    /// Each level is `(SELECT <value> FROM json_each(<previous>) AS jN WHERE <key match>)`;
    /// intermediate levels keep only objects and arrays (anything else cannot be descended
    /// into, which PostgreSQL answers with NULL too), the last level renders text.
    fn json_sqlite(&mut self, column: JsonColumn, steps: &[JsonStep]) {
        enum Match {
            Key(String),
            Index(i64),
            PathElement(String),
        }
        let matches: Vec<Match> = steps
            .iter()
            .flat_map(|step| match step {
                JsonStep::Key(key) => vec![Match::Key(key.clone())],
                JsonStep::Index(position) => vec![Match::Index(*position)],
                JsonStep::Path(elements) => elements
                    .iter()
                    .map(|element| Match::PathElement(element.clone()))
                    .collect(),
            })
            .collect();
        // The opening halves are written outermost first, so build from the outside in.
        let count = matches.len();
        let aliases: Vec<String> = (0..count)
            .map(|_| {
                self.json_levels += 1;
                format!("j{}", self.json_levels)
            })
            .collect();
        for (level, alias) in aliases.iter().enumerate().rev() {
            let last = level + 1 == count;
            if last {
                let _ = write!(
                    self.sql,
                    "(SELECT CASE {alias}.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                     WHEN 'null' THEN NULL ELSE CAST({alias}.value AS TEXT) END FROM json_each("
                );
            } else {
                let _ = write!(
                    self.sql,
                    "(SELECT CASE WHEN {alias}.type IN ('object', 'array') THEN {alias}.value END \
                     FROM json_each("
                );
            }
        }
        self.push("agents.");
        self.push(column.column().name());
        for (level, step) in matches.iter().enumerate() {
            let alias = &aliases[level];
            let _ = write!(self.sql, ") AS {alias} WHERE ");
            match step {
                Match::Key(key) => {
                    let _ = write!(self.sql, "{alias}.key = ");
                    self.param(TargetParam::Text(key.clone()));
                }
                Match::Index(position) => {
                    let _ = write!(self.sql, "{alias}.key = ");
                    self.param(TargetParam::Int(*position));
                }
                Match::PathElement(element) => {
                    let _ = write!(self.sql, "CAST({alias}.key AS TEXT) = ");
                    self.param(TargetParam::Text(element.clone()));
                }
            }
            self.push(")");
        }
    }
}

/// Translates a PostgreSQL LIKE pattern (default escape `\`) into an equivalent SQLite GLOB
/// pattern; the parser has already refused a pattern ending in a lone escape.
fn like_to_glob(pattern: &str) -> String {
    let mut glob = String::with_capacity(pattern.len() + 8);
    let mut characters = pattern.chars();
    while let Some(character) = characters.next() {
        match character {
            '%' => glob.push('*'),
            '_' => glob.push('?'),
            '\\' => {
                if let Some(escaped) = characters.next() {
                    push_glob_literal(&mut glob, escaped);
                }
            }
            other => push_glob_literal(&mut glob, other),
        }
    }
    glob
}

fn push_glob_literal(glob: &mut String, character: char) {
    match character {
        '*' => glob.push_str("[*]"),
        '?' => glob.push_str("[?]"),
        '[' => glob.push_str("[[]"),
        other => glob.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_become_globs() {
        for (like, glob) in [
            ("linux.%", "linux.*"),
            ("%web_1%", "*web?1*"),
            ("a\\%b", "a%b"),
            ("a\\_b", "a_b"),
            ("a\\\\b", "a\\b"),
            ("*?[]", "[*][?][[]]"),
            ("caf\u{e9}%", "caf\u{e9}*"),
        ] {
            assert_eq!(like_to_glob(like), glob, "{like}");
        }
    }

    #[test]
    fn placeholders_start_where_asked() {
        let compiled = compile("name = 'a' AND pid = 1", Dialect::Postgres, 3);
        assert_eq!(
            compiled.map(|target| target.sql),
            Ok("(agents.name = $3 AND agents.pid = $4)".to_string())
        );
        let compiled = compile("name = 'a' AND pid = 1", Dialect::Sqlite, 0);
        assert_eq!(
            compiled.map(|target| target.sql),
            Ok("(agents.name = ?1 AND agents.pid = ?2)".to_string())
        );
    }
}
