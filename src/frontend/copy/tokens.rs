//! The tokens of a COPY statement, as PostgreSQL's scanner reads them:
//! words (keywords and identifiers, folded to lower case unless quoted),
//! string constants (`'...'`, `E'...'` with backslash escapes, `$$...$$`),
//! numbers and single-character punctuation. Comments and white space are
//! skipped. Every token keeps its byte span, so the text of a query source
//! (`COPY (SELECT ...) TO STDOUT`) can be cut out as the client wrote it.

use super::error::StatementError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// A keyword or identifier: `name` as PostgreSQL folds it.
    Word {
        name: String,
        quoted: bool,
    },
    /// A string constant's value.
    Str(String),
    Number,
    /// Any other character: `(`, `)`, `,`, `.`, `*`, `;`, operators.
    Punct(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// Whether this is the unquoted keyword `kw` (lower case).
    pub fn is_keyword(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Word { name, quoted: false } if name == kw)
    }

    pub fn is_punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// Byte offset of the first token at or after `i`: white space and
/// comments (`--` to the end of the line, nested `/* */`) skipped.
fn skip_blank(b: &[u8], mut i: usize) -> Result<usize, StatementError> {
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0usize;
            loop {
                if i >= b.len() {
                    return Err(StatementError::syntax("unterminated /* comment"));
                }
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else {
            return Ok(i);
        }
    }
}

/// Whether `sql` is a COPY statement: its first word is `COPY`.
pub(crate) fn starts_with_copy(sql: &str) -> bool {
    let b = sql.as_bytes();
    let Ok(i) = skip_blank(b, 0) else {
        return false;
    };
    b.len() >= i + 4
        && b[i..i + 4].eq_ignore_ascii_case(b"copy")
        && b.get(i + 4).is_none_or(|c| !is_ident_char(*c))
}

/// Splits `sql` into tokens.
pub(super) fn tokenize(sql: &str) -> Result<Vec<Token>, StatementError> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        i = skip_blank(b, i)?;
        if i >= b.len() {
            return Ok(out);
        }
        let start = i;
        let c = b[i];
        let tok = if (c == b'E' || c == b'e') && b.get(i + 1) == Some(&b'\'') {
            let (value, end) = escape_string(sql, i + 2)?;
            i = end;
            Tok::Str(value)
        } else if c == b'\'' {
            let (value, end) = quoted(sql, i + 1, b'\'')
                .ok_or_else(|| StatementError::syntax("unterminated quoted string"))?;
            i = end;
            Tok::Str(value)
        } else if c == b'"' {
            let (name, end) = quoted(sql, i + 1, b'"')
                .ok_or_else(|| StatementError::syntax("unterminated quoted identifier"))?;
            if name.is_empty() {
                return Err(StatementError::syntax("zero-length delimited identifier"));
            }
            i = end;
            Tok::Word { name, quoted: true }
        } else if c == b'$'
            && let Some((value, end)) = dollar_quoted(sql, i)
        {
            i = end;
            Tok::Str(value)
        } else if is_ident_start(c) {
            while i < b.len() && is_ident_char(b[i]) {
                i += 1;
            }
            Tok::Word {
                name: sql[start..i].to_lowercase(),
                quoted: false,
            }
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            Tok::Number
        } else {
            let ch = sql[i..].chars().next().expect("not at the end");
            i += ch.len_utf8();
            Tok::Punct(ch)
        };
        out.push(Token { tok, start, end: i });
    }
}

/// A `'...'` string or `"..."` identifier from just after its opening
/// quote: the value (a doubled quote is one quote) and the offset after it.
fn quoted(sql: &str, mut i: usize, q: u8) -> Option<(String, usize)> {
    let b = sql.as_bytes();
    let mut value = String::new();
    let mut from = i;
    loop {
        let at = from + b[from..].iter().position(|&c| c == q)?;
        value.push_str(&sql[from..at]);
        if b.get(at + 1) == Some(&q) {
            value.push(q as char);
            from = at + 2;
        } else {
            i = at + 1;
            return Some((value, i));
        }
    }
}

/// `$tag$...$tag$` starting at `i`, when `i` opens one.
fn dollar_quoted(sql: &str, i: usize) -> Option<(String, usize)> {
    let b = sql.as_bytes();
    let mut j = i + 1;
    while j < b.len() && b[j] != b'$' {
        if !is_ident_char(b[j]) || b[j] == b'$' {
            return None;
        }
        j += 1;
    }
    let tag = sql.get(i..=j)?;
    let body = j + 1;
    let close = sql.get(body..)?.find(tag)?;
    Some((sql[body..body + close].to_owned(), body + close + tag.len()))
}

/// An `E'...'` string from just after its quote: backslash escapes as
/// PostgreSQL reads them (`\t`, `\n`, octal, `\xhh`, `\uXXXX`, ...).
fn escape_string(sql: &str, mut i: usize) -> Result<(String, usize), StatementError> {
    let b = sql.as_bytes();
    let mut bytes = Vec::new();
    let unterminated = || StatementError::syntax("unterminated quoted string");
    loop {
        let c = *b.get(i).ok_or_else(unterminated)?;
        match c {
            b'\'' if b.get(i + 1) == Some(&b'\'') => {
                bytes.push(b'\'');
                i += 2;
            }
            b'\'' => {
                i += 1;
                break;
            }
            b'\\' => {
                let e = *b.get(i + 1).ok_or_else(unterminated)?;
                i += 2;
                match e {
                    b'b' => bytes.push(8),
                    b'f' => bytes.push(12),
                    b'n' => bytes.push(b'\n'),
                    b'r' => bytes.push(b'\r'),
                    b't' => bytes.push(b'\t'),
                    b'0'..=b'7' => {
                        let mut v = (e - b'0') as u32;
                        for _ in 0..2 {
                            match b.get(i) {
                                Some(d @ b'0'..=b'7') => {
                                    v = v * 8 + (d - b'0') as u32;
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        bytes.push(v as u8);
                    }
                    b'x' if b.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                        let mut v = 0u32;
                        for _ in 0..2 {
                            match b.get(i).and_then(|d| (*d as char).to_digit(16)) {
                                Some(d) => {
                                    v = v * 16 + d;
                                    i += 1;
                                }
                                None => break,
                            }
                        }
                        bytes.push(v as u8);
                    }
                    b'u' | b'U' => {
                        let n = if e == b'u' { 4 } else { 8 };
                        let hex = sql.get(i..i + n).ok_or_else(unterminated)?;
                        let ch = u32::from_str_radix(hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| {
                                StatementError::syntax("invalid Unicode escape value")
                            })?;
                        let mut tmp = [0u8; 4];
                        bytes.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                        i += n;
                    }
                    other => bytes.push(other),
                }
            }
            other => {
                bytes.push(other);
                i += 1;
            }
        }
    }
    let value = String::from_utf8(bytes).map_err(|_| StatementError {
        sqlstate: crate::frontend::errors::CHARACTER_NOT_IN_REPERTOIRE,
        message: "invalid byte sequence for encoding \"UTF8\"".into(),
        hint: None,
    })?;
    Ok((value, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(sql: &str) -> Vec<Tok> {
        tokenize(sql).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn word(s: &str) -> Tok {
        Tok::Word {
            name: s.into(),
            quoted: false,
        }
    }

    #[test]
    fn words_fold_unless_quoted_and_strings_decode() {
        assert_eq!(
            toks(
                r#"COPY "My T" /* c /* nested */ */ FROM -- x
                 STDIN E'\t' 'it''s' $$a$$"#
            ),
            vec![
                word("copy"),
                Tok::Word {
                    name: "My T".into(),
                    quoted: true
                },
                word("from"),
                word("stdin"),
                Tok::Str("\t".into()),
                Tok::Str("it's".into()),
                Tok::Str("a".into()),
            ]
        );
        assert_eq!(toks(r"e'\x41\101\u00e9\\'"), vec![Tok::Str("AAé\\".into())]);
        assert!(tokenize("'open").is_err());
    }

    #[test]
    fn spans_cut_out_the_text() {
        let sql = "COPY (SELECT ')' ) TO STDOUT";
        let t = tokenize(sql).unwrap();
        assert_eq!(&sql[t[1].start..t[1].end], "(");
        assert_eq!(t[3].tok, Tok::Str(")".into()));
        assert!(t[4].is_punct(')'));
    }

    #[test]
    fn copy_is_recognised_by_its_first_word() {
        assert!(starts_with_copy("copy t from stdin"));
        assert!(starts_with_copy("  /* x */ COPY(SELECT 1) TO STDOUT"));
        assert!(!starts_with_copy("copyright"));
        assert!(!starts_with_copy("SELECT 'copy'"));
        assert!(!starts_with_copy(""));
    }
}
