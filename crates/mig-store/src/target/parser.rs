//! The target AST and the recursive-descent parser that builds and type-checks it.

use chrono::{DateTime, Utc};

use super::TargetError;
use super::lexer::{Token, TokenKind, tokenize};
use super::time::{parse_interval, parse_timestamp};

/// The longest target accepted, in bytes (the original column is varchar(2048); clients
/// prepend a sub-select, so there is generous room).
pub const MAX_LENGTH: usize = 64 * 1024;

/// How deeply parentheses and `NOT` may nest.
pub const MAX_DEPTH: usize = 64;

/// How many JSON operators may follow one another.
const MAX_JSON_STEPS: usize = 16;

const SUB_SELECT_REFUSED: &str =
    "sub-selects other than the documented found-in-action form are not allowed";

/// A boolean expression over the `agents` table.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All of the operands hold.
    And(Vec<Expr>),
    /// Any of the operands holds.
    Or(Vec<Expr>),
    /// The operand does not hold.
    Not(Box<Expr>),
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// `left op right`, with operands of one type.
    Compare {
        /// Left-hand side.
        left: Operand,
        /// The comparison.
        op: CompareOp,
        /// Right-hand side.
        right: Operand,
    },
    /// `operand [NOT] LIKE|ILIKE 'pattern'`, with PostgreSQL pattern syntax (`%`, `_`, `\`).
    Like {
        /// A text operand.
        operand: Operand,
        /// The pattern, unescaped from SQL quoting but with its LIKE escapes intact.
        pattern: String,
        /// `ILIKE` rather than `LIKE`.
        case_insensitive: bool,
        /// `NOT LIKE` / `NOT ILIKE`.
        negated: bool,
    },
    /// `operand [NOT] IN (literal, …)`.
    InList {
        /// The tested operand.
        operand: Operand,
        /// The values, typed like the operand.
        values: Vec<Literal>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `operand IS [NOT] NULL`.
    IsNull {
        /// The tested operand.
        operand: Operand,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// The agent has a command in action `action_id` with at least one result whose
    /// `foundanything` equals `found` (the sub-select of `mig -target-found/-target-notfound`).
    FoundInAction {
        /// The earlier action.
        action_id: i64,
        /// `true` for `-target-found`, `false` for `-target-notfound`.
        found: bool,
    },
}

/// A comparison operator (`!=` and `<>` are the same operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Equal,
    /// `<>` or `!=`
    NotEqual,
    /// `<`
    Less,
    /// `<=`
    LessEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterEqual,
}

impl CompareOp {
    /// Returns the SQL spelling of the operator.
    pub fn sql(self) -> &'static str {
        match self {
            CompareOp::Equal => "=",
            CompareOp::NotEqual => "<>",
            CompareOp::Less => "<",
            CompareOp::LessEqual => "<=",
            CompareOp::Greater => ">",
            CompareOp::GreaterEqual => ">=",
        }
    }
}

/// A value in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A column of `agents`.
    Column(Column),
    /// A member of `environment` or `tags` read as text (`->>` / `#>>` at the end).
    JsonText {
        /// The JSON column.
        column: JsonColumn,
        /// The steps from the column to the value; the last one reads text.
        steps: Vec<JsonStep>,
    },
    /// A literal, already typed by the operand it meets.
    Literal(Literal),
    /// The current time plus a signed offset in microseconds (`NOW() - INTERVAL '10 minutes'`
    /// is an offset of -600 000 000).
    Now {
        /// Offset from the current time; `None` for a bare `NOW()`.
        offset_micros: Option<i64>,
    },
}

/// A literal value after type-checking.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string compared with a text operand.
    Text(String),
    /// An integer compared with a numeric column.
    Int(i64),
    /// A decimal compared with a numeric column.
    Float(f64),
    /// A string compared with a timestamp column, parsed.
    Timestamp(DateTime<Utc>),
}

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonStep {
    /// `-> 'key'` / `->> 'key'`: an object member.
    Key(String),
    /// `-> 3` / `->> 3`: an array element.
    Index(i64),
    /// `#> '{a,b}'` / `#>> '{a,b}'`: a path whose elements are object keys or array indexes.
    Path(Vec<String>),
}

/// The columns of `agents` that hold JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonColumn {
    /// `environment`: the agent's AgentEnv (protocol §2.6).
    Environment,
    /// `tags`: the agent's tags map.
    Tags,
}

impl JsonColumn {
    /// Returns the column this JSON column is.
    pub fn column(self) -> Column {
        match self {
            JsonColumn::Environment => Column::Environment,
            JsonColumn::Tags => Column::Tags,
        }
    }
}

/// The whitelisted columns of `agents` (protocol §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `id numeric`
    Id,
    /// `name varchar`
    Name,
    /// `queueloc varchar`
    QueueLoc,
    /// `mode varchar`
    Mode,
    /// `version varchar`
    Version,
    /// `pid integer`
    Pid,
    /// `starttime timestamptz`
    StartTime,
    /// `destructiontime timestamptz`
    DestructionTime,
    /// `heartbeattime timestamptz`
    HeartbeatTime,
    /// `refreshtime timestamptz`
    RefreshTime,
    /// `status varchar`
    Status,
    /// `environment json`
    Environment,
    /// `tags json`
    Tags,
    /// `loadername varchar`
    LoaderName,
}

/// The type of an operand, as far as comparisons care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Timestamp,
    Json,
}

impl Column {
    const ALL: [Column; 14] = [
        Column::Id,
        Column::Name,
        Column::QueueLoc,
        Column::Mode,
        Column::Version,
        Column::Pid,
        Column::StartTime,
        Column::DestructionTime,
        Column::HeartbeatTime,
        Column::RefreshTime,
        Column::Status,
        Column::Environment,
        Column::Tags,
        Column::LoaderName,
    ];

    /// Returns the column name in `agents`.
    pub fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Name => "name",
            Column::QueueLoc => "queueloc",
            Column::Mode => "mode",
            Column::Version => "version",
            Column::Pid => "pid",
            Column::StartTime => "starttime",
            Column::DestructionTime => "destructiontime",
            Column::HeartbeatTime => "heartbeattime",
            Column::RefreshTime => "refreshtime",
            Column::Status => "status",
            Column::Environment => "environment",
            Column::Tags => "tags",
            Column::LoaderName => "loadername",
        }
    }

    fn from_name(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|column| column.name() == name)
    }

    fn kind(self) -> Kind {
        match self {
            Column::Id | Column::Pid => Kind::Number,
            Column::StartTime
            | Column::DestructionTime
            | Column::HeartbeatTime
            | Column::RefreshTime => Kind::Timestamp,
            Column::Environment | Column::Tags => Kind::Json,
            Column::Name
            | Column::QueueLoc
            | Column::Mode
            | Column::Version
            | Column::Status
            | Column::LoaderName => Kind::Text,
        }
    }
}

/// The table an expression is evaluated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Action targets: the columns of `agents`.
    Agents,
    /// Manifest targets and loader `expectenv` (api.md §8): the columns of `loaders`
    /// the read-only role may read — `id`, `loadername`, `queueloc`, `env` (JSON,
    /// compiled as [`Column::Environment`]) and `tags`. The compiled SQL still names
    /// the table `agents`: callers evaluate it over
    /// [`LOADERS_AS_AGENTS`](crate::target::LOADERS_AS_AGENTS).
    Loaders,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Agents => "agents",
            Table::Loaders => "loaders",
        }
    }

    fn column(self, name: &str) -> Option<Column> {
        match self {
            Table::Agents => Column::from_name(name),
            Table::Loaders => match name {
                "id" => Some(Column::Id),
                "loadername" => Some(Column::LoaderName),
                "queueloc" => Some(Column::QueueLoc),
                "env" => Some(Column::Environment),
                "tags" => Some(Column::Tags),
                _ => None,
            },
        }
    }

    fn unknown_column(self) -> &'static str {
        match self {
            Table::Agents => {
                "unknown column (allowed: id, name, queueloc, mode, version, pid, starttime, destructiontime, heartbeattime, refreshtime, status, environment, tags, loadername)"
            }
            Table::Loaders => "unknown column (allowed: id, loadername, queueloc, env, tags)",
        }
    }
}

/// Parses and type-checks a target.
pub fn parse(target: &str) -> Result<Expr, TargetError> {
    parse_for(target, Table::Agents)
}

/// Parses and type-checks an expression over `table`.
pub fn parse_for(target: &str, table: Table) -> Result<Expr, TargetError> {
    if target.len() > MAX_LENGTH {
        return Err(TargetError::TooLong {
            length: target.len(),
            max: MAX_LENGTH,
        });
    }
    let tokens = tokenize(target)?;
    if tokens.is_empty() {
        return Err(TargetError::Empty);
    }
    let mut parser = Parser {
        table,
        tokens,
        position: 0,
        depth: 0,
        end: target.len(),
    };
    let expr = parser.parse_or()?;
    if let Some(token) = parser.peek() {
        return Err(unsupported(
            token,
            if token.kind == TokenKind::RightParen {
                "unbalanced parenthesis"
            } else {
                "expected AND, OR or the end of the target"
            },
        ));
    }
    Ok(expr)
}

fn unsupported(token: &Token, reason: &str) -> TargetError {
    TargetError::unsupported(&token.text, token.offset, reason)
}

/// An operand before literals are typed.
enum RawOperand {
    Typed(Operand, Kind),
    Literal(Token, bool),
}

struct Parser {
    table: Table,
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Token> {
        self.tokens.get(self.position + ahead)
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek().map(|token| &token.kind) {
            Some(TokenKind::Word(word)) => Some(word),
            _ => None,
        }
    }

    fn next(&mut self, expected: &str) -> Result<Token, TargetError> {
        match self.tokens.get(self.position) {
            Some(token) => {
                self.position += 1;
                Ok(token.clone())
            }
            None => Err(TargetError::UnexpectedEnd {
                offset: self.end,
                expected: expected.to_string(),
            }),
        }
    }

    fn expect(
        &mut self,
        kind: &TokenKind,
        expected: &str,
        reason: &str,
    ) -> Result<(), TargetError> {
        let token = self.next(expected)?;
        if &token.kind == kind {
            Ok(())
        } else {
            Err(unsupported(&token, reason))
        }
    }

    fn expect_word(&mut self, word: &str, reason: &str) -> Result<(), TargetError> {
        let token = self.next(word)?;
        match &token.kind {
            TokenKind::Word(found) if found == word => Ok(()),
            _ => Err(unsupported(&token, reason)),
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.peek_word() == Some(word) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn enter(&mut self, token: &Token) -> Result<(), TargetError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(unsupported(
                token,
                &format!("nesting deeper than {MAX_DEPTH} levels is not allowed"),
            ));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Expr, TargetError> {
        let mut operands = vec![self.parse_and()?];
        while self.eat_word("or") {
            operands.push(self.parse_and()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Expr::Or(operands)
        })
    }

    fn parse_and(&mut self) -> Result<Expr, TargetError> {
        let mut operands = vec![self.parse_not()?];
        while self.eat_word("and") {
            operands.push(self.parse_not()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Expr::And(operands)
        })
    }

    fn parse_not(&mut self) -> Result<Expr, TargetError> {
        if self.peek_word() == Some("not") {
            let token = self.next("not")?;
            self.enter(&token)?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_predicate()
    }

    fn parse_predicate(&mut self) -> Result<Expr, TargetError> {
        let Some(token) = self.peek().cloned() else {
            return Err(TargetError::UnexpectedEnd {
                offset: self.end,
                expected: "a condition".to_string(),
            });
        };
        match &token.kind {
            TokenKind::LeftParen => {
                self.position += 1;
                self.enter(&token)?;
                if self.peek_word() == Some("select") {
                    let select = self.next("select")?;
                    return Err(unsupported(&select, SUB_SELECT_REFUSED));
                }
                let inner = self.parse_or()?;
                self.expect(&TokenKind::RightParen, "')'", "expected ')', AND or OR")?;
                self.depth -= 1;
                return Ok(inner);
            }
            TokenKind::Word(word) if word == "true" || word == "false" => {
                self.position += 1;
                return Ok(Expr::Bool(word == "true"));
            }
            _ => {}
        }
        let left = self.parse_operand()?;
        self.parse_tail(left)
    }

    fn parse_tail(&mut self, left: RawOperand) -> Result<Expr, TargetError> {
        let token = self.next("a comparison")?;
        let op = match &token.kind {
            TokenKind::Equal => Some(CompareOp::Equal),
            TokenKind::NotEqual => Some(CompareOp::NotEqual),
            TokenKind::Less => Some(CompareOp::Less),
            TokenKind::LessEqual => Some(CompareOp::LessEqual),
            TokenKind::Greater => Some(CompareOp::Greater),
            TokenKind::GreaterEqual => Some(CompareOp::GreaterEqual),
            _ => None,
        };
        if let Some(op) = op {
            let right = self.parse_operand()?;
            return type_compare(left, op, right, &token);
        }
        let TokenKind::Word(word) = &token.kind else {
            return Err(unsupported(
                &token,
                "expected a comparison, LIKE, ILIKE, IN or IS",
            ));
        };
        let mut negated = false;
        let mut word = word.clone();
        let mut keyword = token.clone();
        if word == "not" {
            negated = true;
            keyword = self.next("LIKE, ILIKE or IN")?;
            word = match &keyword.kind {
                TokenKind::Word(next) if matches!(next.as_str(), "like" | "ilike" | "in") => {
                    next.clone()
                }
                _ => {
                    return Err(unsupported(
                        &keyword,
                        "expected LIKE, ILIKE or IN after NOT",
                    ));
                }
            };
        }
        match word.as_str() {
            "like" | "ilike" => self.parse_like(left, &keyword, word == "ilike", negated),
            "in" => self.parse_in(left, &keyword, negated),
            "is" => {
                let negated = self.eat_word("not");
                let null = self.next("NULL")?;
                if !matches!(&null.kind, TokenKind::Word(word) if word == "null") {
                    return Err(unsupported(
                        &null,
                        "only IS NULL and IS NOT NULL are allowed",
                    ));
                }
                match left {
                    RawOperand::Typed(
                        operand @ (Operand::Column(_) | Operand::JsonText { .. }),
                        _,
                    ) => Ok(Expr::IsNull { operand, negated }),
                    _ => Err(unsupported(&keyword, "IS NULL needs a column on its left")),
                }
            }
            "between" | "similar" | "escape" | "collate" | "overlaps" => {
                Err(unsupported(&keyword, "operator not allowed"))
            }
            _ => Err(unsupported(
                &keyword,
                "expected a comparison, LIKE, ILIKE, IN or IS",
            )),
        }
    }

    fn parse_like(
        &mut self,
        left: RawOperand,
        keyword: &Token,
        case_insensitive: bool,
        negated: bool,
    ) -> Result<Expr, TargetError> {
        let operand = match left {
            RawOperand::Typed(operand, Kind::Text) => operand,
            _ => {
                return Err(unsupported(
                    keyword,
                    "LIKE and ILIKE need a text column or a JSON member read with ->> on their left",
                ));
            }
        };
        let pattern_token = self.next("a pattern string")?;
        let TokenKind::String(pattern) = &pattern_token.kind else {
            return Err(unsupported(
                &pattern_token,
                "LIKE patterns must be string literals",
            ));
        };
        if like_pattern_ends_with_escape(pattern) {
            return Err(unsupported(
                &pattern_token,
                "LIKE pattern must not end with the escape character \\",
            ));
        }
        Ok(Expr::Like {
            operand,
            pattern: pattern.clone(),
            case_insensitive,
            negated,
        })
    }

    fn parse_in(
        &mut self,
        left: RawOperand,
        keyword: &Token,
        negated: bool,
    ) -> Result<Expr, TargetError> {
        self.expect(&TokenKind::LeftParen, "'('", "expected '(' after IN")?;
        if self.peek_word() == Some("select") {
            let select = self.next("select")?;
            if self.table != Table::Agents
                || !matches!(left, RawOperand::Typed(Operand::Column(Column::Id), _))
            {
                return Err(unsupported(&select, SUB_SELECT_REFUSED));
            }
            let found = self.parse_found_in_action()?;
            return Ok(if negated {
                Expr::Not(Box::new(found))
            } else {
                found
            });
        }
        let (operand, kind) = match left {
            RawOperand::Typed(operand, kind) if kind != Kind::Json => (operand, kind),
            RawOperand::Typed(..) => {
                return Err(unsupported(
                    keyword,
                    "a JSON column can only be tested with IS NULL; read a member with ->> to compare it",
                ));
            }
            RawOperand::Literal(..) => {
                return Err(unsupported(keyword, "IN needs a column on its left"));
            }
        };
        let mut values = Vec::new();
        loop {
            let (token, negative) = self.parse_literal_token()?;
            values.push(coerce(&token, negative, kind)?);
            let separator = self.next("',' or ')'")?;
            match separator.kind {
                TokenKind::Comma => {}
                TokenKind::RightParen => break,
                _ => return Err(unsupported(&separator, "expected ',' or ')' in an IN list")),
            }
        }
        Ok(Expr::InList {
            operand,
            values,
            negated,
        })
    }

    /// Reads a literal inside an IN list: a string or an optionally negative number.
    fn parse_literal_token(&mut self) -> Result<(Token, bool), TargetError> {
        let token = self.next("a literal")?;
        match &token.kind {
            TokenKind::String(_) | TokenKind::Integer(_) | TokenKind::Decimal(_) => {
                Ok((token, false))
            }
            TokenKind::Minus => {
                let number = self.next("a number")?;
                match number.kind {
                    TokenKind::Integer(_) | TokenKind::Decimal(_) => Ok((number, true)),
                    _ => Err(unsupported(&number, "expected a number after '-'")),
                }
            }
            TokenKind::Word(word) if word == "select" => {
                Err(unsupported(&token, SUB_SELECT_REFUSED))
            }
            TokenKind::RightParen => Err(unsupported(&token, "empty IN lists are not allowed")),
            _ => Err(unsupported(&token, "IN lists may only hold literals")),
        }
    }

    /// Parses the documented sub-select after `id IN ( SELECT`, through the closing `)`.
    fn parse_found_in_action(&mut self) -> Result<Expr, TargetError> {
        let word = |parser: &mut Parser, word: &str| parser.expect_word(word, SUB_SELECT_REFUSED);
        let symbol = |parser: &mut Parser, kind: TokenKind, text: &str| {
            parser.expect(&kind, text, SUB_SELECT_REFUSED)
        };
        if self.peek_word() == Some("commands")
            && self.peek_at(1).map(|t| &t.kind) == Some(&TokenKind::Dot)
        {
            self.position += 2;
        }
        word(self, "agentid")?;
        word(self, "from")?;
        word(self, "commands")?;
        symbol(self, TokenKind::Comma, "','")?;
        word(self, "json_array_elements")?;
        symbol(self, TokenKind::LeftParen, "'('")?;
        word(self, "commands")?;
        symbol(self, TokenKind::Dot, "'.'")?;
        word(self, "results")?;
        symbol(self, TokenKind::RightParen, "')'")?;
        word(self, "as")?;
        word(self, "r")?;
        word(self, "where")?;
        if self.peek_word() == Some("commands")
            && self.peek_at(1).map(|t| &t.kind) == Some(&TokenKind::Dot)
        {
            self.position += 2;
        }
        word(self, "actionid")?;
        symbol(self, TokenKind::Equal, "'='")?;
        let id_token = self.next("an action id")?;
        let action_id = match &id_token.kind {
            TokenKind::Integer(digits) => digits
                .parse::<i64>()
                .map_err(|_| unsupported(&id_token, "action id out of range"))?,
            _ => return Err(unsupported(&id_token, "the action id must be an integer")),
        };
        word(self, "and")?;
        word(self, "r")?;
        symbol(self, TokenKind::HashArrowText, "'#>>'")?;
        symbol(
            self,
            TokenKind::String("{foundanything}".to_string()),
            "'{foundanything}'",
        )?;
        symbol(self, TokenKind::Equal, "'='")?;
        let value = self.next("'true' or 'false'")?;
        let found = match &value.kind {
            TokenKind::String(text) if text == "true" => true,
            TokenKind::String(text) if text == "false" => false,
            _ => return Err(unsupported(&value, "expected 'true' or 'false'")),
        };
        symbol(self, TokenKind::RightParen, "')'")?;
        Ok(Expr::FoundInAction { action_id, found })
    }

    fn parse_operand(&mut self) -> Result<RawOperand, TargetError> {
        let token = self.next("a column, a literal or NOW()")?;
        match &token.kind {
            TokenKind::String(_) | TokenKind::Integer(_) | TokenKind::Decimal(_) => {
                Ok(RawOperand::Literal(token, false))
            }
            TokenKind::Minus => {
                let number = self.next("a number")?;
                match number.kind {
                    TokenKind::Integer(_) | TokenKind::Decimal(_) => {
                        Ok(RawOperand::Literal(number, true))
                    }
                    _ => Err(unsupported(&number, "expected a number after '-'")),
                }
            }
            TokenKind::Word(word) => self.parse_word_operand(&token, word),
            _ => Err(unsupported(&token, "expected a column, a literal or NOW()")),
        }
    }

    fn parse_word_operand(&mut self, token: &Token, word: &str) -> Result<RawOperand, TargetError> {
        let followed_by_paren = self.peek().map(|next| &next.kind) == Some(&TokenKind::LeftParen);
        match word {
            "now" if followed_by_paren => {
                self.position += 1;
                self.expect(&TokenKind::RightParen, "')'", "NOW() takes no arguments")?;
                return self.parse_now();
            }
            "current_timestamp" if !followed_by_paren => return self.parse_now(),
            table
                if table == self.table.name()
                    && self.peek().map(|next| &next.kind) == Some(&TokenKind::Dot) =>
            {
                self.position += 1;
                let column = self.next("a column")?;
                return match &column.kind {
                    TokenKind::Word(name) => match self.table.column(name) {
                        Some(found) => self.parse_column(found),
                        None => Err(unsupported(&column, self.table.unknown_column())),
                    },
                    _ => Err(unsupported(&column, "expected a column")),
                };
            }
            _ => {}
        }
        if matches!(
            word,
            "select" | "union" | "with" | "values" | "exists" | "table"
        ) {
            return Err(unsupported(token, SUB_SELECT_REFUSED));
        }
        if followed_by_paren {
            return Err(unsupported(
                token,
                "functions other than NOW() are not allowed",
            ));
        }
        if let Some(column) = self.table.column(word) {
            return self.parse_column(column);
        }
        let reason = match word {
            "select" | "union" | "with" | "values" | "exists" | "table" => SUB_SELECT_REFUSED,
            "null" => "NULL can only be tested with IS NULL or IS NOT NULL",
            "interval" => "intervals are only allowed after NOW() + or -",
            "true" | "false" => "boolean literals cannot be compared",
            "case" | "cast" | "array" | "row" => {
                "expressions other than columns, literals and NOW() are not allowed"
            }
            "and" | "or" | "not" | "is" | "in" | "like" | "ilike" => {
                "expected a column, a literal or NOW()"
            }
            _ => self.table.unknown_column(),
        };
        Err(unsupported(token, reason))
    }

    fn parse_now(&mut self) -> Result<RawOperand, TargetError> {
        let sign = match self.peek().map(|token| &token.kind) {
            Some(TokenKind::Minus) => -1,
            Some(TokenKind::Plus) => 1,
            _ => {
                return Ok(RawOperand::Typed(
                    Operand::Now {
                        offset_micros: None,
                    },
                    Kind::Timestamp,
                ));
            }
        };
        self.position += 1;
        let interval = self.next("INTERVAL")?;
        if !matches!(&interval.kind, TokenKind::Word(word) if word == "interval") {
            return Err(unsupported(
                &interval,
                "only INTERVAL '…' may be added to or subtracted from NOW()",
            ));
        }
        let literal = self.next("an interval string")?;
        let TokenKind::String(text) = &literal.kind else {
            return Err(unsupported(
                &literal,
                "expected an interval string such as '10 minutes'",
            ));
        };
        let micros = parse_interval(text)
            .map_err(|reason| unsupported(&literal, &format!("invalid interval: {reason}")))?;
        Ok(RawOperand::Typed(
            Operand::Now {
                offset_micros: Some(sign * micros),
            },
            Kind::Timestamp,
        ))
    }

    fn parse_column(&mut self, column: Column) -> Result<RawOperand, TargetError> {
        let is_json_operator = |kind: Option<&TokenKind>| {
            matches!(
                kind,
                Some(
                    TokenKind::Arrow
                        | TokenKind::ArrowText
                        | TokenKind::HashArrow
                        | TokenKind::HashArrowText
                )
            )
        };
        if !is_json_operator(self.peek().map(|token| &token.kind)) {
            return Ok(RawOperand::Typed(Operand::Column(column), column.kind()));
        }
        let json_column = match column {
            Column::Environment => JsonColumn::Environment,
            Column::Tags => JsonColumn::Tags,
            _ => {
                let token = self.next("a JSON operator")?;
                return Err(unsupported(&token, "only environment and tags hold JSON"));
            }
        };
        let mut steps = Vec::new();
        loop {
            let operator = self.next("a JSON operator")?;
            let key = self.next("a JSON key")?;
            let step = match (&operator.kind, &key.kind) {
                (TokenKind::Arrow | TokenKind::ArrowText, TokenKind::String(name)) => {
                    JsonStep::Key(name.clone())
                }
                (TokenKind::Arrow | TokenKind::ArrowText, TokenKind::Integer(digits)) => {
                    let index = digits
                        .parse::<i32>()
                        .map_err(|_| unsupported(&key, "array index out of range"))?;
                    JsonStep::Index(i64::from(index))
                }
                (TokenKind::HashArrow | TokenKind::HashArrowText, TokenKind::String(path)) => {
                    JsonStep::Path(parse_text_array(path).map_err(|reason| {
                        unsupported(&key, &format!("invalid JSON path: {reason}"))
                    })?)
                }
                _ => {
                    return Err(unsupported(
                        &key,
                        "expected a string key (or an array index after -> and ->>)",
                    ));
                }
            };
            steps.push(step);
            if steps.len() > MAX_JSON_STEPS {
                return Err(unsupported(&operator, "too many JSON operators in a row"));
            }
            let reads_text = matches!(
                operator.kind,
                TokenKind::ArrowText | TokenKind::HashArrowText
            );
            let more = is_json_operator(self.peek().map(|token| &token.kind));
            match (reads_text, more) {
                (true, false) => break,
                (true, true) => {
                    let next = self.next("a JSON operator")?;
                    return Err(unsupported(
                        &next,
                        "->> and #>> return text; no JSON operator may follow them",
                    ));
                }
                (false, true) => {}
                (false, false) => {
                    return match self.peek().cloned() {
                        Some(next) => Err(unsupported(
                            &next,
                            "a JSON value must be read as text with ->> or #>> before it is compared",
                        )),
                        None => Err(TargetError::UnexpectedEnd {
                            offset: self.end,
                            expected: "->> or #>>".to_string(),
                        }),
                    };
                }
            }
        }
        Ok(RawOperand::Typed(
            Operand::JsonText {
                column: json_column,
                steps,
            },
            Kind::Text,
        ))
    }
}

/// Checks the operand types of a comparison and types its literals.
fn type_compare(
    left: RawOperand,
    op: CompareOp,
    right: RawOperand,
    op_token: &Token,
) -> Result<Expr, TargetError> {
    let (left, right) = match (left, right) {
        (RawOperand::Typed(left, left_kind), RawOperand::Typed(right, right_kind)) => {
            if left_kind == Kind::Json || right_kind == Kind::Json {
                return Err(unsupported(
                    op_token,
                    "a JSON column can only be tested with IS NULL; read a member with ->> to compare it",
                ));
            }
            if left_kind != right_kind {
                return Err(unsupported(op_token, "the two sides have different types"));
            }
            (left, right)
        }
        (RawOperand::Typed(left, kind), RawOperand::Literal(token, negative)) => {
            let right = Operand::Literal(coerce_for(&token, negative, kind, op_token)?);
            (left, right)
        }
        (RawOperand::Literal(token, negative), RawOperand::Typed(right, kind)) => {
            let left = Operand::Literal(coerce_for(&token, negative, kind, op_token)?);
            (left, right)
        }
        (RawOperand::Literal(..), RawOperand::Literal(..)) => {
            return Err(unsupported(
                op_token,
                "comparisons between two literals are not allowed",
            ));
        }
    };
    Ok(Expr::Compare { left, op, right })
}

fn coerce_for(
    token: &Token,
    negative: bool,
    kind: Kind,
    op_token: &Token,
) -> Result<Literal, TargetError> {
    if kind == Kind::Json {
        return Err(unsupported(
            op_token,
            "a JSON column can only be tested with IS NULL; read a member with ->> to compare it",
        ));
    }
    coerce(token, negative, kind)
}

/// Types a literal token for an operand of `kind`, as PostgreSQL would coerce it.
fn coerce(token: &Token, negative: bool, kind: Kind) -> Result<Literal, TargetError> {
    let sign = if negative { "-" } else { "" };
    match (&token.kind, kind) {
        (TokenKind::String(text), Kind::Text) => Ok(Literal::Text(text.clone())),
        (TokenKind::Integer(_) | TokenKind::Decimal(_), Kind::Text) => Err(unsupported(
            token,
            "text can only be compared with a quoted string",
        )),
        (TokenKind::Integer(digits), Kind::Number) => parse_number(&format!("{sign}{digits}"))
            .ok_or_else(|| unsupported(token, "number out of range")),
        (TokenKind::Decimal(digits), Kind::Number) => parse_number(&format!("{sign}{digits}"))
            .ok_or_else(|| unsupported(token, "number out of range")),
        (TokenKind::String(text), Kind::Number) => {
            parse_number(text.trim()).ok_or_else(|| unsupported(token, "not a number"))
        }
        (TokenKind::String(text), Kind::Timestamp) => parse_timestamp(text)
            .map(Literal::Timestamp)
            .map_err(|reason| unsupported(token, &reason)),
        (TokenKind::Integer(_) | TokenKind::Decimal(_), Kind::Timestamp) => Err(unsupported(
            token,
            "timestamps must be quoted strings or NOW()",
        )),
        (_, Kind::Json) => Err(unsupported(
            token,
            "a JSON column can only be tested with IS NULL; read a member with ->> to compare it",
        )),
        _ => Err(unsupported(token, "expected a literal")),
    }
}

/// Parses `[-]digits[.digits]` into an integer or a finite float.
fn parse_number(text: &str) -> Option<Literal> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let valid = !unsigned.is_empty()
        && unsigned.bytes().filter(|b| *b == b'.').count() <= 1
        && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && unsigned.bytes().any(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    if unsigned.contains('.') {
        text.parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .map(Literal::Float)
    } else {
        text.parse::<i64>().ok().map(Literal::Int)
    }
}

/// Does a LIKE pattern end with an unescaped backslash (an error in PostgreSQL)?
fn like_pattern_ends_with_escape(pattern: &str) -> bool {
    let mut escaped = false;
    for character in pattern.chars() {
        escaped = !escaped && character == '\\';
    }
    escaped
}

/// Parses a PostgreSQL text-array literal used as a JSON path: `{a,b}`, `{"a b",c}`.
fn parse_text_array(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .ok_or_else(|| "expected '{key,…}'".to_string())?;
    let mut elements = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut element = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("unterminated quoted element".to_string()),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(escaped) => element.push(escaped),
                        None => return Err("unterminated quoted element".to_string()),
                    },
                    Some(other) => element.push(other),
                }
            }
            while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if matches!(c, '"' | '{' | '}' | '\\') {
                    return Err(format!("unexpected {c:?}"));
                }
                element.push(c);
                chars.next();
            }
            let trimmed = element.trim_end().to_string();
            if trimmed.is_empty() {
                return Err("empty path element".to_string());
            }
            if trimmed.eq_ignore_ascii_case("null") {
                return Err("NULL path element".to_string());
            }
            element = trimmed;
        }
        elements.push(element);
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(other) => return Err(format!("unexpected {other:?}")),
        }
    }
    Ok(elements)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_arrays() {
        assert_eq!(
            parse_text_array("{operator}"),
            Ok(vec!["operator".to_string()])
        );
        assert_eq!(
            parse_text_array("{ aws , instanceid }"),
            Ok(vec!["aws".to_string(), "instanceid".to_string()])
        );
        assert_eq!(
            parse_text_array(r#"{"a b","c\"d"}"#),
            Ok(vec!["a b".to_string(), "c\"d".to_string()])
        );
        for bad in ["operator", "{}", "{a,}", "{a,{b}}", "{NULL}", "{\"a}"] {
            assert!(parse_text_array(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn like_escape_at_end() {
        assert!(like_pattern_ends_with_escape("abc\\"));
        assert!(!like_pattern_ends_with_escape("abc\\\\"));
        assert!(like_pattern_ends_with_escape("abc\\\\\\"));
        assert!(!like_pattern_ends_with_escape("a\\%"));
    }

    #[test]
    fn precedence_and_flattening() {
        let parsed = parse("status='online' AND NOT mode='checkin' OR name='a' AND pid=1");
        let Ok(Expr::Or(operands)) = parsed else {
            panic!("{parsed:?}");
        };
        assert_eq!(operands.len(), 2);
        assert!(matches!(&operands[0], Expr::And(inner) if inner.len() == 2));
    }

    #[test]
    fn literals_take_the_column_type() {
        assert_eq!(
            parse("id = '42'"),
            Ok(Expr::Compare {
                left: Operand::Column(Column::Id),
                op: CompareOp::Equal,
                right: Operand::Literal(Literal::Int(42)),
            })
        );
        assert_eq!(
            parse("-1.5 < pid"),
            Ok(Expr::Compare {
                left: Operand::Literal(Literal::Float(-1.5)),
                op: CompareOp::Less,
                right: Operand::Column(Column::Pid),
            })
        );
        assert!(parse("name = 5").is_err());
        assert!(parse("heartbeattime > 5").is_err());
        assert!(parse("id = 'abc'").is_err());
        assert!(parse("tags = 'x'").is_err());
    }

    #[test]
    fn depth_limit() {
        let ok = format!(
            "{}status='online'{}",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(parse(&ok).is_ok());
        let deep = format!(
            "{}status='online'{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let error = parse(&deep).unwrap_err();
        assert_eq!(error.token(), Some("("));
        assert_eq!(error.offset(), Some(MAX_DEPTH));
        let nots = format!("{}status='online'", "NOT ".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&nots).unwrap_err().token(), Some("NOT"));
    }
}
