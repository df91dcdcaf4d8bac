//! The safe target compiler: MIG action targets, parsed with a whitelist and compiled to
//! parameterised SQL for PostgreSQL and SQLite.
//!
//! The original MIG pastes the target, a raw SQL `WHERE` fragment over `agents`, into its
//! query and relies on `SET ROLE migreadonly` alone (protocol §7.3, api §5.3). Here the target
//! is parsed into an [`Expr`], type-checked against the columns of `agents`, and rendered back
//! as SQL in which every value supplied by the user is a bound [`TargetParam`]; the SQL text
//! is made only of fixed strings written in this module.
//!
//! ```text
//! target     := or                                  (at most 64 KiB, 64 levels of nesting)
//! or         := and { OR and }
//! and        := not { AND not }
//! not        := NOT not | predicate
//! predicate  := '(' or ')' | TRUE | FALSE
//!             | found
//!             | operand compare operand
//!             | operand [NOT] (LIKE | ILIKE) string
//!             | operand [NOT] IN '(' literal { ',' literal } ')'
//!             | operand IS [NOT] NULL
//! compare    := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='
//! operand    := column | column json | literal | now
//! column     := [agents '.'] ( id | name | queueloc | mode | version | pid | starttime
//!             | destructiontime | heartbeattime | refreshtime | status | environment
//!             | tags | loadername )
//! json       := { ('->' | '#>') key } ('->>' | '#>>') key     on environment and tags only
//! key        := string | integer        (after #> and #>>: a path string such as '{aws,instanceid}')
//! now        := ( NOW '(' ')' | CURRENT_TIMESTAMP ) [ ('+' | '-') INTERVAL string ]
//! literal    := string | ['-'] integer | ['-'] decimal
//! found      := [agents '.'] id [NOT] IN '(' SELECT agentid FROM commands ','
//!               json_array_elements '(' commands '.' results ')' AS r
//!               WHERE [commands '.'] actionid '=' integer
//!               AND r '#>>' '{foundanything}' '=' ( 'true' | 'false' ) ')'
//! ```
//!
//! Keywords and column names are case-insensitive; strings are single-quoted with `''` as the
//! only escape. The `found` form is the exact sub-select that `mig -target-found N` and
//! `mig -target-notfound N` prepend (clients §2.3 step 6); it becomes
//! [`Expr::FoundInAction`]. Everything else (`;`, comments, casts, `||`, other functions,
//! other sub-selects, dollar quotes, `E''` strings, quoted identifiers, unknown columns) is
//! refused with a [`TargetError`] that names the offending token and its byte offset.
//!
//! Literals are typed by the column they meet: a string compared with a timestamp column is
//! parsed as a timestamp, a string compared with `id` or `pid` as a number, an interval string
//! as a number of seconds. Comparisons the database would reject (text with a number, two
//! literals, a bare JSON column with anything) are refused at parse time.

mod compile;
mod lexer;
mod parser;
mod time;

pub use compile::{CompiledTarget, Dialect, TargetParam, compile, compile_at, sqlite_timestamp};
pub use parser::{
    Column, CompareOp, Expr, JsonColumn, JsonStep, Literal, MAX_DEPTH, MAX_LENGTH, Operand, Table,
    parse, parse_for,
};

/// The `loaders` columns a [`Table::Loaders`] expression may read, presented under the
/// names the compiler writes (`agents.id`, `agents.environment`, …).
pub const LOADERS_AS_AGENTS: &str =
    "(SELECT id, loadername, queueloc, env AS environment, tags FROM loaders) AS agents";

/// Compiles a manifest target or a loader `expectenv` (an expression over `loaders`);
/// evaluate it over [`LOADERS_AS_AGENTS`].
pub fn compile_loader_expression(
    expression: &str,
    dialect: Dialect,
    first_placeholder: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CompiledTarget, TargetError> {
    parse_for(expression, Table::Loaders)?.to_sql(dialect, first_placeholder, now)
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    /// The target is empty or only whitespace.
    #[error("target is empty")]
    Empty,
    /// The target is longer than [`MAX_LENGTH`] bytes.
    #[error("target is {length} bytes long, at most {max} are allowed")]
    TooLong {
        /// Length of the refused target in bytes.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// A token the grammar does not accept at this place.
    #[error("unsupported token {token:?} at {offset}: {reason}")]
    Unsupported {
        /// The source text of the token (or the start of it, for long strings).
        token: String,
        /// Byte offset of the token in the target.
        offset: usize,
        /// Why it is refused.
        reason: String,
    },
    /// The target stops where more was expected.
    #[error("unexpected end of target at {offset}: expected {expected}")]
    UnexpectedEnd {
        /// Byte offset of the end of the target.
        offset: usize,
        /// What was expected.
        expected: String,
    },
    /// `NOW()` plus the interval falls outside the representable time range.
    #[error("NOW() plus the interval is out of range")]
    TimeOutOfRange,
}

impl TargetError {
    pub(crate) fn unsupported(token: &str, offset: usize, reason: &str) -> Self {
        TargetError::Unsupported {
            token: token.to_string(),
            offset,
            reason: reason.to_string(),
        }
    }

    /// Returns the offending token, if the error is about one.
    pub fn token(&self) -> Option<&str> {
        match self {
            TargetError::Unsupported { token, .. } => Some(token),
            _ => None,
        }
    }

    /// Returns the byte offset the error points at, if any.
    pub fn offset(&self) -> Option<usize> {
        match self {
            TargetError::Unsupported { offset, .. } | TargetError::UnexpectedEnd { offset, .. } => {
                Some(*offset)
            }
            _ => None,
        }
    }
}
