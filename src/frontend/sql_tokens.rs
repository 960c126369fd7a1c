//! A small tokenizer for the session statements iriswire answers itself
//! (`PREPARE`, `DECLARE`, `FETCH`, `BEGIN ISOLATION LEVEL ...`): words,
//! quoted identifiers, strings, numbers and punctuation, each with its byte
//! range so a statement's tail (the query after `AS`/`FOR`) can be cut out
//! of the original text unchanged.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// An unquoted word: keyword or identifier.
    Word,
    /// `"..."`.
    QuotedIdent,
    /// `'...'`, `E'...'` or `$tag$...$tag$`.
    Str,
    Number,
    /// `$n`.
    Param,
    /// Any other single character, or `::`.
    Punct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tok {
    pub kind: TokKind,
    pub range: Range<usize>,
    /// Identifiers and strings unquoted; words lower-cased.
    pub value: String,
}

impl Tok {
    pub fn is_word(&self, w: &str) -> bool {
        self.kind == TokKind::Word && self.value == w
    }

    pub fn is_punct(&self, p: &str) -> bool {
        self.kind == TokKind::Punct && self.value == p
    }
}

/// Why a session statement did not parse: PostgreSQL's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError(pub String);

impl SyntaxError {
    /// `syntax error at or near "X"`, or at end of input.
    pub fn at(sql: &str, tok: Option<&Tok>) -> SyntaxError {
        match tok {
            Some(t) => SyntaxError(format!(
                "syntax error at or near \"{}\"",
                &sql[t.range.clone()]
            )),
            None => SyntaxError("syntax error at end of input".into()),
        }
    }
}

/// Splits `sql` into tokens, skipping whitespace and comments. A trailing
/// `;` is dropped. Unterminated quotes run to the end of the text.
pub(crate) fn tokenize(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = skip_block_comment(b, i);
            continue;
        }
        let start = i;
        let (kind, end, value) = if (c == b'e' || c == b'E') && b.get(i + 1) == Some(&b'\'') {
            let (end, v) = quoted(sql, i + 1, b'\'', true);
            (TokKind::Str, end, v)
        } else if c == b'\'' {
            let (end, v) = quoted(sql, i, b'\'', false);
            (TokKind::Str, end, v)
        } else if c == b'"' {
            let (end, v) = quoted(sql, i, b'"', false);
            (TokKind::QuotedIdent, end, v)
        } else if c == b'$' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            (TokKind::Param, j, sql[i..j].to_owned())
        } else if c == b'$' {
            match dollar_quoted(sql, i) {
                Some((end, v)) => (TokKind::Str, end, v),
                None => (TokKind::Punct, i + 1, "$".into()),
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'_') {
                // An exponent's sign belongs to the number.
                if (b[j] == b'e' || b[j] == b'E') && matches!(b.get(j + 1), Some(b'+' | b'-')) {
                    j += 1;
                }
                j += 1;
            }
            (TokKind::Number, j, sql[i..j].to_owned())
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$' || b[j] >= 0x80)
            {
                j += 1;
            }
            (TokKind::Word, j, sql[i..j].to_ascii_lowercase())
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            (TokKind::Punct, i + 2, "::".into())
        } else {
            let ch = sql[i..].chars().next().unwrap_or(' ');
            (TokKind::Punct, i + ch.len_utf8(), ch.to_string())
        };
        out.push(Tok {
            kind,
            range: start..end,
            value,
        });
        i = end;
    }
    if out.last().is_some_and(|t| t.is_punct(";")) {
        out.pop();
    }
    out
}

fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// A quoted token starting at `open`: its end and its unquoted text.
fn quoted(sql: &str, open: usize, q: u8, backslashes: bool) -> (usize, String) {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut j = open + 1;
    while j < b.len() {
        let c = b[j];
        if backslashes && c == b'\\' && j + 1 < b.len() {
            let (byte, used) = match b[j + 1] {
                b'n' => (b'\n', 2),
                b't' => (b'\t', 2),
                b'r' => (b'\r', 2),
                b'b' => (8, 2),
                b'f' => (12, 2),
                other => (other, 2),
            };
            out.push(byte);
            j += used;
            continue;
        }
        if c == q {
            if b.get(j + 1) == Some(&q) {
                out.push(q);
                j += 2;
                continue;
            }
            return (j + 1, String::from_utf8_lossy(&out).into_owned());
        }
        out.push(c);
        j += 1;
    }
    (b.len(), String::from_utf8_lossy(&out).into_owned())
}

fn dollar_quoted(sql: &str, i: usize) -> Option<(usize, String)> {
    let rest = &sql[i + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    if !tag.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return None;
    }
    let delim = &sql[i..i + tag_len + 2];
    let body_start = i + tag_len + 2;
    let body_len = sql[body_start..].find(delim)?;
    Some((
        body_start + body_len + delim.len(),
        sql[body_start..body_start + body_len].to_owned(),
    ))
}

/// Reads tokens one by one, with PostgreSQL's syntax errors.
pub(crate) struct Cursor<'a> {
    pub sql: &'a str,
    pub toks: Vec<Tok>,
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(sql: &'a str) -> Self {
        Cursor {
            sql,
            toks: tokenize(sql),
            pos: 0,
        }
    }

    pub fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    pub fn peek_at(&self, ahead: usize) -> Option<&Tok> {
        self.toks.get(self.pos + ahead)
    }

    pub fn next(&mut self) -> Option<&Tok> {
        let t = self.toks.get(self.pos);
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// Consumes the keyword `w` if it comes next.
    pub fn eat(&mut self, w: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_word(w)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn eat_punct(&mut self, p: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_punct(p)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, w: &str) -> Result<(), SyntaxError> {
        if self.eat(w) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    pub fn expect_punct(&mut self, p: &str) -> Result<(), SyntaxError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    pub fn expect_end(&self) -> Result<(), SyntaxError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// A syntax error at the next token.
    pub fn error(&self) -> SyntaxError {
        SyntaxError::at(self.sql, self.peek())
    }

    /// An identifier: unquoted ones fold to lower case, as PostgreSQL folds them.
    pub fn name(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(t) if matches!(t.kind, TokKind::Word | TokKind::QuotedIdent) => {
                let v = t.value.clone();
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.error()),
        }
    }

    /// The original text from the next token to the end, trailing `;` excluded.
    pub fn rest(&self) -> &'a str {
        match (self.peek(), self.toks.last()) {
            (Some(first), Some(last)) => &self.sql[first.range.start..last.range.end],
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_their_text_and_unquote_values() {
        let toks = tokenize("FETCH  -- c\n 5 FROM \"My Cur\" /* x */ ;");
        let values: Vec<&str> = toks.iter().map(|t| t.value.as_str()).collect();
        assert_eq!(values, ["fetch", "5", "from", "My Cur"]);
        assert_eq!(toks[3].kind, TokKind::QuotedIdent);
        let toks = tokenize("'it''s' E'a\\nb' $$x$$ $1 1.5e-3 ::");
        let values: Vec<&str> = toks.iter().map(|t| t.value.as_str()).collect();
        assert_eq!(values, ["it's", "a\nb", "x", "$1", "1.5e-3", "::"]);
        assert_eq!(toks[3].kind, TokKind::Param);
    }

    #[test]
    fn the_rest_is_the_original_text() {
        let mut c = Cursor::new("DECLARE c CURSOR FOR SELECT  'a;b' ;");
        for _ in 0..4 {
            c.next();
        }
        assert_eq!(c.rest(), "SELECT  'a;b'");
        assert_eq!(
            SyntaxError::at(c.sql, c.peek()).0,
            "syntax error at or near \"SELECT\""
        );
    }
}
