//! Splits a target into tokens, refusing every character sequence the grammar has no use for.
//!
//! The lexer is the first line of defence: statement separators, comments, casts,
//! concatenation, dollar quotes, prefixed strings (`E'…'`, `U&'…'`), quoted identifiers and
//! any non-ASCII character outside a string literal never become tokens.

use super::TargetError;

/// One lexical unit with the byte offset where it starts in the target.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) offset: usize,
    /// The exact source text of the token, used in error messages.
    pub(crate) text: String,
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// An unquoted identifier or keyword, folded to lower case as PostgreSQL does.
    Word(String),
    /// A single-quoted string literal with `''` already unescaped.
    String(String),
    /// An unsigned integer literal, kept as text until its type is known.
    Integer(String),
    /// An unsigned decimal literal with a fractional part.
    Decimal(String),
    LeftParen,
    RightParen,
    Comma,
    Dot,
    Plus,
    Minus,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    /// `->`: JSON member or element, as JSON.
    Arrow,
    /// `->>`: JSON member or element, as text.
    ArrowText,
    /// `#>`: JSON path, as JSON.
    HashArrow,
    /// `#>>`: JSON path, as text.
    HashArrowText,
}

/// Splits `target` into tokens or reports the first character sequence that is not allowed.
pub(crate) fn tokenize(target: &str) -> Result<Vec<Token>, TargetError> {
    let bytes = target.as_bytes();
    let mut tokens = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let byte = bytes[position];
        let start = position;
        // PostgreSQL whitespace: space, tab, newline, carriage return, form feed.
        if matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
            position += 1;
            continue;
        }
        let rest = &target[start..];
        let simple = |kind: TokenKind, length: usize| Token {
            kind,
            offset: start,
            text: rest[..length].to_string(),
        };
        let refuse = |length: usize, reason: &str| {
            Err(TargetError::unsupported(&rest[..length], start, reason))
        };
        match byte {
            b'\'' => {
                let (value, length) = lex_string(target, start)?;
                tokens.push(Token {
                    kind: TokenKind::String(value),
                    offset: start,
                    text: rest[..length].to_string(),
                });
                position += length;
            }
            b'0'..=b'9' => {
                let token = lex_number(target, start)?;
                position += token.text.len();
                tokens.push(token);
            }
            b'.' if bytes.get(start + 1).is_some_and(u8::is_ascii_digit) => {
                let token = lex_number(target, start)?;
                position += token.text.len();
                tokens.push(token);
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let length = rest
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    .count();
                match bytes.get(start + length) {
                    Some(b'\'') => {
                        return refuse(
                            length + 1,
                            "prefixed string literals (E'', U&'', B'', X'') are not allowed",
                        );
                    }
                    Some(b'&') => {
                        return refuse(length + 1, "unicode escapes are not allowed");
                    }
                    Some(b'$') => {
                        return refuse(length + 1, "'$' is not allowed in identifiers");
                    }
                    _ => {}
                }
                let word = &rest[..length];
                tokens.push(Token {
                    kind: TokenKind::Word(word.to_ascii_lowercase()),
                    offset: start,
                    text: word.to_string(),
                });
                position += length;
            }
            b'(' => {
                tokens.push(simple(TokenKind::LeftParen, 1));
                position += 1;
            }
            b')' => {
                tokens.push(simple(TokenKind::RightParen, 1));
                position += 1;
            }
            b',' => {
                tokens.push(simple(TokenKind::Comma, 1));
                position += 1;
            }
            b'.' => {
                tokens.push(simple(TokenKind::Dot, 1));
                position += 1;
            }
            b'+' => {
                tokens.push(simple(TokenKind::Plus, 1));
                position += 1;
            }
            b'-' => {
                if rest.starts_with("--") {
                    return refuse(2, "comments are not allowed");
                }
                if rest.starts_with("->>") {
                    tokens.push(simple(TokenKind::ArrowText, 3));
                    position += 3;
                } else if rest.starts_with("->") {
                    tokens.push(simple(TokenKind::Arrow, 2));
                    position += 2;
                } else {
                    tokens.push(simple(TokenKind::Minus, 1));
                    position += 1;
                }
            }
            b'#' => {
                if rest.starts_with("#>>") {
                    tokens.push(simple(TokenKind::HashArrowText, 3));
                    position += 3;
                } else if rest.starts_with("#>") {
                    tokens.push(simple(TokenKind::HashArrow, 2));
                    position += 2;
                } else {
                    return refuse(1, "operator not allowed");
                }
            }
            b'=' => {
                tokens.push(simple(TokenKind::Equal, 1));
                position += 1;
            }
            b'!' => {
                if rest.starts_with("!=") {
                    tokens.push(simple(TokenKind::NotEqual, 2));
                    position += 2;
                } else {
                    return refuse(1, "operator not allowed");
                }
            }
            b'<' => {
                if rest.starts_with("<>") {
                    tokens.push(simple(TokenKind::NotEqual, 2));
                    position += 2;
                } else if rest.starts_with("<=") {
                    tokens.push(simple(TokenKind::LessEqual, 2));
                    position += 2;
                } else {
                    tokens.push(simple(TokenKind::Less, 1));
                    position += 1;
                }
            }
            b'>' => {
                if rest.starts_with(">=") {
                    tokens.push(simple(TokenKind::GreaterEqual, 2));
                    position += 2;
                } else {
                    tokens.push(simple(TokenKind::Greater, 1));
                    position += 1;
                }
            }
            b';' => return refuse(1, "multiple statements are not allowed"),
            b'/' if rest.starts_with("/*") => return refuse(2, "comments are not allowed"),
            b':' if rest.starts_with("::") => return refuse(2, "casts are not allowed"),
            b'|' if rest.starts_with("||") => {
                return refuse(2, "string concatenation is not allowed");
            }
            b'$' => {
                let length = if rest.starts_with("$$") { 2 } else { 1 };
                return refuse(
                    length,
                    "dollar quotes and positional parameters are not allowed",
                );
            }
            b'"' => return refuse(1, "quoted identifiers are not allowed"),
            b'\0' => return refuse(1, "NUL bytes are not allowed"),
            b'[' | b']' => return refuse(1, "array subscripts are not allowed"),
            b'*' | b'/' | b'%' | b'^' | b'&' | b'|' | b'~' | b'@' | b'?' | b'`' => {
                return refuse(1, "operator not allowed");
            }
            _ if byte.is_ascii() => return refuse(1, "character not allowed in a target"),
            _ => {
                // A non-ASCII character outside a string: report the whole character
                // (typographic quotes and other look-alikes land here).
                let length = rest.chars().next().map_or(1, char::len_utf8);
                return refuse(
                    length,
                    "non-ASCII characters are only allowed inside strings",
                );
            }
        }
    }
    Ok(tokens)
}

/// Reads a single-quoted string starting at `start`; returns its value and source length.
fn lex_string(target: &str, start: usize) -> Result<(String, usize), TargetError> {
    let bytes = target.as_bytes();
    let mut value = String::new();
    let mut position = start + 1;
    let mut segment_start = position;
    loop {
        match bytes.get(position) {
            None => {
                let shown: String = target[start..].chars().take(24).collect();
                return Err(TargetError::unsupported(
                    &shown,
                    start,
                    "unterminated string literal",
                ));
            }
            Some(b'\0') => {
                return Err(TargetError::unsupported(
                    "\0",
                    position,
                    "NUL bytes are not allowed",
                ));
            }
            Some(b'\'') => {
                value.push_str(&target[segment_start..position]);
                if bytes.get(position + 1) == Some(&b'\'') {
                    value.push('\'');
                    position += 2;
                    segment_start = position;
                } else {
                    return Ok((value, position + 1 - start));
                }
            }
            Some(_) => position += 1,
        }
    }
}

/// Reads an unsigned integer or decimal starting at `start`.
fn lex_number(target: &str, start: usize) -> Result<Token, TargetError> {
    let rest = &target[start..];
    let integer_length = rest.bytes().take_while(u8::is_ascii_digit).count();
    let mut length = integer_length;
    let mut decimal = false;
    if rest.as_bytes().get(length) == Some(&b'.') {
        decimal = true;
        length += 1;
        length += rest[length..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
    }
    if let Some(next) = rest.as_bytes().get(length)
        && (next.is_ascii_alphanumeric() || *next == b'_' || *next == b'.')
    {
        let junk = rest[length..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
            .count();
        return Err(TargetError::unsupported(
            &rest[..length + junk],
            start,
            "malformed number (only plain integers and decimals are allowed)",
        ));
    }
    let text = rest[..length].to_string();
    let kind = if decimal {
        TokenKind::Decimal(text.clone())
    } else {
        TokenKind::Integer(text.clone())
    };
    Ok(Token {
        kind,
        offset: start,
        text,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kinds(target: &str) -> Vec<TokenKind> {
        tokenize(target)
            .unwrap_or_else(|error| panic!("{target}: {error}"))
            .into_iter()
            .map(|token| token.kind)
            .collect()
    }

    #[test]
    fn json_operators_and_strings() {
        assert_eq!(
            kinds("environment->>'o''s'<>'x'"),
            vec![
                TokenKind::Word("environment".into()),
                TokenKind::ArrowText,
                TokenKind::String("o's".into()),
                TokenKind::NotEqual,
                TokenKind::String("x".into()),
            ]
        );
        assert_eq!(
            kinds("tags#>>'{a}' -> 1.5 .5"),
            vec![
                TokenKind::Word("tags".into()),
                TokenKind::HashArrowText,
                TokenKind::String("{a}".into()),
                TokenKind::Arrow,
                TokenKind::Decimal("1.5".into()),
                TokenKind::Decimal(".5".into()),
            ]
        );
    }

    #[test]
    fn offsets_are_bytes() {
        let error = tokenize("name = 'é' ; x").unwrap_err();
        assert_eq!(error.offset(), Some(12));
    }

    #[test]
    fn refusals_name_the_token() {
        for (target, token) in [
            ("a;b", ";"),
            ("a -- b", "--"),
            ("a /* b", "/*"),
            ("a::text", "::"),
            ("'a' || 'b'", "||"),
            ("$$x$$", "$$"),
            ("E'\\x27'", "E'"),
            ("\"name\"", "\""),
            ("name = ‘x’", "‘"),
            ("12abc", "12abc"),
            ("'abc", "'abc"),
        ] {
            let error = tokenize(target).unwrap_err();
            assert_eq!(error.token(), Some(token), "{target}: {error}");
        }
    }
}
