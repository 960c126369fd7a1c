//! A small PostgreSQL lexer: just enough to split a simple-query string into
//! statements, find `$n` placeholders and read leading keywords without
//! being fooled by quotes, dollar quotes or comments.

/// Byte ranges of the statements in `sql`, split on top-level `;`.
/// Empty statements (only whitespace/comments) are dropped.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut meaningful = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b';' => {
                if meaningful {
                    out.push(sql[start..i].trim());
                }
                start = i + 1;
                meaningful = false;
                i += 1;
                continue;
            }
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let next = skip_token(b, i);
        if !(is_comment_start(b, i)) {
            meaningful = true;
        }
        i = next;
    }
    if meaningful {
        out.push(sql[start..].trim());
    }
    out
}

fn is_comment_start(b: &[u8], i: usize) -> bool {
    (b[i] == b'-' && b.get(i + 1) == Some(&b'-')) || (b[i] == b'/' && b.get(i + 1) == Some(&b'*'))
}

/// Returns the index just past the token starting at `i`; quoted strings,
/// identifiers, dollar-quoted bodies and comments count as one token.
pub fn skip_token(b: &[u8], i: usize) -> usize {
    let c = b[i];
    match c {
        b'\'' => {
            // E'..' escapes are handled by the caller passing the quote index;
            // '' doubles a quote in both forms, and a backslash escape only
            // matters inside E'' strings.
            let escape =
                i > 0 && (b[i - 1] == b'e' || b[i - 1] == b'E') && !is_ident_byte_before(b, i - 1);
            let mut j = i + 1;
            while j < b.len() {
                if escape && b[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if b[j] == b'\'' {
                    if b.get(j + 1) == Some(&b'\'') {
                        j += 2;
                        continue;
                    }
                    return j + 1;
                }
                j += 1;
            }
            b.len()
        }
        b'"' => {
            let mut j = i + 1;
            while j < b.len() {
                if b[j] == b'"' {
                    if b.get(j + 1) == Some(&b'"') {
                        j += 2;
                        continue;
                    }
                    return j + 1;
                }
                j += 1;
            }
            b.len()
        }
        b'-' if b.get(i + 1) == Some(&b'-') => {
            let mut j = i + 2;
            while j < b.len() && b[j] != b'\n' {
                j += 1;
            }
            j
        }
        b'/' if b.get(i + 1) == Some(&b'*') => {
            // PostgreSQL block comments nest.
            let mut depth = 1;
            let mut j = i + 2;
            while j < b.len() && depth > 0 {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            j
        }
        b'$' => {
            // $n placeholder, or $tag$ ... $tag$ dollar quote.
            let mut j = i + 1;
            if j < b.len() && b[j].is_ascii_digit() {
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                return j;
            }
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if b.get(j) != Some(&b'$') || is_ident_byte_before(b, i) {
                return i + 1;
            }
            let delim = &b[i..=j];
            let mut k = j + 1;
            while k + delim.len() <= b.len() {
                if &b[k..k + delim.len()] == delim {
                    return k + delim.len();
                }
                k += 1;
            }
            b.len()
        }
        _ if is_ident_byte(c) => {
            let mut j = i + 1;
            while j < b.len() && (is_ident_byte(b[j]) || b[j] == b'$') {
                j += 1;
            }
            j
        }
        _ => i + 1,
    }
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn is_ident_byte_before(b: &[u8], i: usize) -> bool {
    i > 0 && is_ident_byte(b[i - 1])
}

fn is_escape_string_start(b: &[u8], i: usize) -> bool {
    (b[i] == b'e' || b[i] == b'E') && b.get(i + 1) == Some(&b'\'') && !is_ident_byte_before(b, i)
}

/// Whether the text has PostgreSQL escape strings (`E'...'`), which no
/// backend understands.
pub fn has_escape_strings(sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if is_escape_string_start(b, i) {
            return true;
        }
        i = skip_token(b, i);
    }
    false
}

/// Rewrites `E'...'` escape strings as standard literals (`'...'`, quotes
/// doubled), decoding PostgreSQL's backslash escapes.
pub fn standard_strings(sql: &str) -> Result<String, super::TranslateError> {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        if !is_escape_string_start(b, i) {
            i = skip_token(b, i);
            continue;
        }
        let end = skip_token(b, i + 1);
        out.push_str(&sql[copied..i]);
        out.push('\'');
        // The token runs to the closing quote, or to the end if there is none.
        if !decode_escapes(&sql[i + 2..end], &mut out)? {
            return Err(super::TranslateError::UnterminatedString);
        }
        out.push('\'');
        copied = end;
        i = end;
    }
    out.push_str(&sql[copied..]);
    Ok(out)
}

/// Decodes an escape string's body up to its closing quote (not copied);
/// returns whether that quote was there.
fn decode_escapes(body: &str, out: &mut String) -> Result<bool, super::TranslateError> {
    let bad = |what: &str| super::TranslateError::InvalidEscape(what.to_owned());
    let mut chars = body.chars().peekable();
    let push = |c: char, out: &mut String| {
        if c == '\'' {
            out.push_str("''");
        } else {
            out.push(c);
        }
    };
    while let Some(c) = chars.next() {
        if c == '\'' {
            // '' inside the literal is one quote; a lone ' closes it.
            if chars.next_if_eq(&'\'').is_none() {
                return Ok(true);
            }
            push('\'', out);
            continue;
        }
        if c != '\\' {
            push(c, out);
            continue;
        }
        let Some(e) = chars.next() else { break };
        let decoded = match e {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap();
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                char::from_u32(v).ok_or_else(|| bad("\\ooo"))?
            }
            'x' => {
                let mut v = 0;
                let mut n = 0;
                while n < 2 {
                    match chars.peek().and_then(|c| c.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            chars.next();
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    return Err(bad("\\x"));
                }
                char::from_u32(v).ok_or_else(|| bad("\\x"))?
            }
            'u' | 'U' => {
                let digits = if e == 'u' { 4 } else { 8 };
                let mut v = 0u32;
                for _ in 0..digits {
                    let d = chars
                        .next()
                        .and_then(|c| c.to_digit(16))
                        .ok_or_else(|| bad("\\u"))?;
                    v = v * 16 + d;
                }
                char::from_u32(v).ok_or_else(|| bad("\\u"))?
            }
            other => other,
        };
        if decoded == '\0' {
            return Err(bad("\\0 (PostgreSQL strings cannot contain NUL)"));
        }
        push(decoded, out);
    }
    Ok(false)
}

/// The first `n` keywords of a statement, upper-cased, skipping comments and
/// opening parentheses.
pub fn leading_keywords(sql: &str, n: usize) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < b.len() && out.len() < n {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b'(' {
            i += 1;
            continue;
        }
        let j = skip_token(b, i);
        if is_comment_start(b, i) {
            i = j;
            continue;
        }
        if is_ident_byte(c) {
            out.push(sql[i..j].to_ascii_uppercase());
        } else {
            break;
        }
        i = j;
    }
    out
}

/// Rewrites `$n` placeholders to `?`, returning the new text and, for each
/// `?` in order, the zero-based parameter it stands for.
pub fn positional_placeholders(sql: &str) -> (String, Vec<usize>) {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut order = Vec::new();
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let j = skip_token(b, i);
        if b[i] == b'$'
            && j > i + 1
            && b[i + 1].is_ascii_digit()
            && !is_ident_byte_before(b, i)
            && let Ok(n) = sql[i + 1..j].parse::<usize>()
            && n >= 1
        {
            out.push_str(&sql[copied..i]);
            out.push('?');
            order.push(n - 1);
            copied = j;
        }
        i = j;
    }
    out.push_str(&sql[copied..]);
    (out, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_respecting_quotes_comments_and_dollar_quotes() {
        let sql = "select ';' as a; select $$ ; $$; -- c;\n select 1 /* ; /* nested; */ */; ;; select E'\\';'";
        assert_eq!(
            split_statements(sql),
            vec![
                "select ';' as a",
                "select $$ ; $$",
                "-- c;\n select 1 /* ; /* nested; */ */",
                "select E'\\';'"
            ]
        );
        assert!(split_statements(" ; -- only a comment\n ;").is_empty());
    }

    #[test]
    fn placeholders_are_renumbered_in_order_of_use() {
        let (sql, order) =
            positional_placeholders("select $2, '$1', $1, $$ $3 $$ from t where a = $2");
        assert_eq!(sql, "select ?, '$1', ?, $$ $3 $$ from t where a = ?");
        assert_eq!(order, vec![1, 0, 1]);
    }

    #[test]
    fn escape_strings_become_standard_literals() {
        let sql = "select E'it\\'s\\n\\x41\\101\\u00e9', 'plain\\n', e'a''b', name from e";
        assert!(has_escape_strings(sql));
        assert_eq!(
            standard_strings(sql).unwrap(),
            "select 'it''s\nAAé', 'plain\\n', 'a''b', name from e"
        );
        assert!(!has_escape_strings("select 'E''x', some_e'"));
        assert!(standard_strings("select E'\\0'").is_err());
        assert!(standard_strings("select E'unterminated é").is_err());
    }

    #[test]
    fn leading_keywords_skip_comments() {
        assert_eq!(
            leading_keywords("/* x */ -- y\n create  table t(a int)", 2),
            vec!["CREATE", "TABLE"]
        );
        assert_eq!(leading_keywords("(select 1)", 1), vec!["SELECT"]);
    }
}
