//! COPY's options: both syntaxes read into what was given, then the
//! defaults and the checks of PostgreSQL's `ProcessCopyOptions` (which
//! options go with which format and direction, and how they may combine).

use super::error::StatementError;
use super::parser::Parser;
use super::tokens::Tok;
use crate::frontend::errors::{FEATURE_NOT_SUPPORTED, INVALID_PARAMETER_VALUE, SYNTAX_ERROR};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// `FROM STDIN`: the client sends rows.
    From,
    /// `TO STDOUT`: the server sends rows.
    To,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Csv,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    Absent,
    Present,
    /// `HEADER MATCH` (COPY FROM): the names must be the columns'.
    Match,
}

/// The columns a `FORCE_*` option names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum ForceColumns {
    #[default]
    None,
    All,
    Named(Vec<String>),
}

impl ForceColumns {
    /// Per column of `columns`: whether the option applies to it.
    pub fn flags(&self, columns: &[String]) -> Vec<bool> {
        columns
            .iter()
            .map(|c| match self {
                ForceColumns::None => false,
                ForceColumns::All => true,
                ForceColumns::Named(names) => names.contains(c),
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyOptions {
    pub format: Format,
    pub delimiter: u8,
    pub null: String,
    pub header: Header,
    pub quote: u8,
    pub escape: u8,
    pub force_quote: ForceColumns,
    pub force_not_null: ForceColumns,
    pub force_null: ForceColumns,
}

/// Options as given, before defaults and checks.
#[derive(Default)]
pub(super) struct Given {
    pub(super) format: Option<Format>,
    pub(super) freeze: Option<bool>,
    pub(super) delimiter: Option<String>,
    pub(super) null: Option<String>,
    pub(super) header: Option<Header>,
    pub(super) quote: Option<String>,
    pub(super) escape: Option<String>,
    pub(super) encoding: Option<String>,
    pub(super) force_quote: Option<ForceColumns>,
    pub(super) force_not_null: Option<ForceColumns>,
    pub(super) force_null: Option<ForceColumns>,
}

/// `*` or a column list, for the `FORCE_*` options.
fn force_columns(p: &mut Parser<'_>) -> Result<ForceColumns, StatementError> {
    if p.eat_punct('*') {
        return Ok(ForceColumns::All);
    }
    Ok(ForceColumns::Named(
        p.column_list()?.into_iter().map(|c| c.name).collect(),
    ))
}

/// Sets an option once; a second time is PostgreSQL's "conflicting or
/// redundant options".
pub(super) fn once<T>(slot: &mut Option<T>, value: T) -> Result<(), StatementError> {
    if slot.is_some() {
        return Err(StatementError::syntax("conflicting or redundant options"));
    }
    *slot = Some(value);
    Ok(())
}

/// `( name [value], ... )`, the `(` already read.
pub(super) fn generic_options(p: &mut Parser<'_>, given: &mut Given) -> Result<(), StatementError> {
    loop {
        let name = p.ident()?.name;
        match name.as_str() {
            "format" => {
                let f = option_word(p)?.ok_or_else(|| requires(&name, "a parameter"))?;
                let format = match f.to_ascii_lowercase().as_str() {
                    "text" => Format::Text,
                    "csv" => Format::Csv,
                    "binary" => Format::Binary,
                    _ => {
                        return Err(StatementError::new(
                            INVALID_PARAMETER_VALUE,
                            format!("COPY format \"{f}\" not recognized"),
                        ));
                    }
                };
                once(&mut given.format, format)?;
            }
            "freeze" => {
                let v = boolean(&name, option_word(p)?)?;
                once(&mut given.freeze, v)?;
            }
            "delimiter" | "null" | "quote" | "escape" | "encoding" => {
                let v = option_word(p)?.ok_or_else(|| requires(&name, "a parameter"))?;
                let slot = match name.as_str() {
                    "delimiter" => &mut given.delimiter,
                    "null" => &mut given.null,
                    "quote" => &mut given.quote,
                    "escape" => &mut given.escape,
                    _ => &mut given.encoding,
                };
                once(slot, v)?;
            }
            "header" => {
                let v = option_word(p)?;
                let header = match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("match") => Header::Match,
                    _ => match boolean(&name, v)? {
                        true => Header::Present,
                        false => Header::Absent,
                    },
                };
                once(&mut given.header, header)?;
            }
            "force_quote" | "force_not_null" | "force_null" => {
                let cols = force_columns(p)?;
                let slot = match name.as_str() {
                    "force_quote" => &mut given.force_quote,
                    "force_not_null" => &mut given.force_not_null,
                    _ => &mut given.force_null,
                };
                once(slot, cols)?;
            }
            "default" => {
                return Err(StatementError::new(
                    FEATURE_NOT_SUPPORTED,
                    "COPY's DEFAULT option is not supported by iriswire",
                ));
            }
            _ => {
                return Err(StatementError::syntax(format!(
                    "option \"{name}\" not recognized"
                )));
            }
        }
        if p.eat_punct(')') {
            return Ok(());
        }
        p.expect_punct(',')?;
    }
}

/// An option's argument: a word, a string or a number; `None` when absent.
fn option_word(p: &mut Parser<'_>) -> Result<Option<String>, StatementError> {
    let Some(t) = p.peek().cloned() else {
        return Ok(None);
    };
    let v = match t.tok {
        Tok::Word { name, .. } => name,
        Tok::Str(s) => s,
        Tok::Number => p.sql[t.start..t.end].to_owned(),
        _ => return Ok(None),
    };
    p.pos += 1;
    Ok(Some(v))
}

fn requires(name: &str, what: &str) -> StatementError {
    StatementError::syntax(format!("{name} requires {what}"))
}

/// PostgreSQL's `defGetBoolean`: no value is true.
fn boolean(name: &str, v: Option<String>) -> Result<bool, StatementError> {
    let Some(v) = v else {
        return Ok(true);
    };
    crate::pgtypes::input::parse_bool(&v).ok_or_else(|| {
        StatementError::new(
            INVALID_PARAMETER_VALUE,
            format!("{name} requires a Boolean value"),
        )
    })
}

/// The options of PostgreSQL before 9.0, still accepted: `BINARY`, `CSV`,
/// `HEADER`, `DELIMITER [AS] 'x'`, `FORCE QUOTE *`, ...
pub(super) fn legacy_options(p: &mut Parser<'_>, given: &mut Given) -> Result<(), StatementError> {
    loop {
        if p.eat_keyword("binary") {
            once(&mut given.format, Format::Binary)?;
        } else if p.eat_keyword("csv") {
            once(&mut given.format, Format::Csv)?;
        } else if p.eat_keyword("header") {
            once(&mut given.header, Header::Present)?;
        } else if p.eat_keyword("freeze") {
            once(&mut given.freeze, true)?;
        } else if let Some(kw) = ["delimiter", "null", "quote", "escape", "encoding"]
            .into_iter()
            .find(|kw| p.at_keyword(kw))
        {
            p.pos += 1;
            p.eat_keyword("as");
            let v = p.string()?;
            let slot = match kw {
                "delimiter" => &mut given.delimiter,
                "null" => &mut given.null,
                "quote" => &mut given.quote,
                "escape" => &mut given.escape,
                _ => &mut given.encoding,
            };
            once(slot, v)?;
        } else if p.eat_keyword("force") {
            if p.eat_keyword("quote") {
                let cols = force_columns(p)?;
                once(&mut given.force_quote, cols)?;
            } else if p.eat_keyword("not") {
                if !p.eat_keyword("null") {
                    return Err(p.unexpected());
                }
                let cols = force_columns(p)?;
                once(&mut given.force_not_null, cols)?;
            } else if p.eat_keyword("null") {
                let cols = force_columns(p)?;
                once(&mut given.force_null, cols)?;
            } else {
                return Err(p.unexpected());
            }
        } else {
            return Ok(());
        }
    }
}

/// One single-byte character, or PostgreSQL's refusal naming `what`.
fn one_byte(v: &str, what: &str) -> Result<u8, StatementError> {
    match v.as_bytes() {
        [b] => Ok(*b),
        _ => Err(StatementError::new(
            FEATURE_NOT_SUPPORTED,
            format!("COPY {what} must be a single one-byte character"),
        )),
    }
}

/// Defaults and PostgreSQL's checks of how options combine.
pub(super) fn check_options(g: Given, direction: Direction) -> Result<CopyOptions, StatementError> {
    let format = g.format.unwrap_or(Format::Text);
    let csv = format == Format::Csv;
    let refuse = |code, msg: &str| Err(StatementError::new(code, msg));
    if format == Format::Binary {
        if g.delimiter.is_some() {
            return refuse(SYNTAX_ERROR, "cannot specify DELIMITER in BINARY mode");
        }
        if g.null.is_some() {
            return refuse(SYNTAX_ERROR, "cannot specify NULL in BINARY mode");
        }
        if g.header.is_some_and(|h| h != Header::Absent) {
            return refuse(
                FEATURE_NOT_SUPPORTED,
                "cannot specify HEADER in BINARY mode",
            );
        }
    }
    if let Some(e) = &g.encoding {
        let norm = e.to_ascii_lowercase().replace(['-', '_'], "");
        if norm != "utf8" && norm != "unicode" && norm != "sqlascii" {
            return Err(StatementError::new(
                FEATURE_NOT_SUPPORTED,
                format!("iriswire's COPY reads and writes UTF8 only, not \"{e}\""),
            ));
        }
    }
    let delimiter = match &g.delimiter {
        Some(d) => one_byte(d, "delimiter")?,
        None if csv => b',',
        None => b'\t',
    };
    if delimiter == b'\n' || delimiter == b'\r' {
        return refuse(
            INVALID_PARAMETER_VALUE,
            "COPY delimiter cannot be newline or carriage return",
        );
    }
    let null = g
        .null
        .clone()
        .unwrap_or_else(|| if csv { String::new() } else { "\\N".into() });
    if null.contains(['\n', '\r']) {
        return refuse(
            INVALID_PARAMETER_VALUE,
            "COPY null representation cannot use newline or carriage return",
        );
    }
    if !csv && b"\\.abcdefghijklmnopqrstuvwxyz0123456789".contains(&delimiter) {
        return Err(StatementError::new(
            INVALID_PARAMETER_VALUE,
            format!("COPY delimiter cannot be \"{}\"", delimiter as char),
        ));
    }
    if g.header == Some(Header::Match) && direction == Direction::To {
        return refuse(
            FEATURE_NOT_SUPPORTED,
            "cannot use \"match\" with HEADER in COPY TO",
        );
    }
    let csv_only = |given: bool, what: &str| -> Result<(), StatementError> {
        if given && !csv {
            return Err(StatementError::new(
                FEATURE_NOT_SUPPORTED,
                format!("COPY {what} available only in CSV mode"),
            ));
        }
        Ok(())
    };
    csv_only(g.quote.is_some(), "quote")?;
    csv_only(g.escape.is_some(), "escape")?;
    csv_only(g.force_quote.is_some(), "force quote")?;
    csv_only(g.force_not_null.is_some(), "force not null")?;
    csv_only(g.force_null.is_some(), "force null")?;
    let quote = match &g.quote {
        Some(q) => one_byte(q, "quote")?,
        None => b'"',
    };
    if csv && quote == delimiter {
        return refuse(
            INVALID_PARAMETER_VALUE,
            "COPY delimiter and quote must be different",
        );
    }
    let escape = match &g.escape {
        Some(e) => one_byte(e, "escape")?,
        None => quote,
    };
    let only = |given: bool, what: &str, wanted: Direction| -> Result<(), StatementError> {
        if given && direction != wanted {
            let using = if wanted == Direction::To {
                "COPY TO"
            } else {
                "COPY FROM"
            };
            return Err(StatementError::new(
                FEATURE_NOT_SUPPORTED,
                format!("COPY {what} only available using {using}"),
            ));
        }
        Ok(())
    };
    only(g.force_quote.is_some(), "force quote", Direction::To)?;
    only(
        g.force_not_null.is_some(),
        "force not null",
        Direction::From,
    )?;
    only(g.force_null.is_some(), "force null", Direction::From)?;
    if format != Format::Binary && null.as_bytes().contains(&delimiter) {
        return refuse(
            INVALID_PARAMETER_VALUE,
            "COPY delimiter must not appear in the NULL specification",
        );
    }
    if csv && null.as_bytes().contains(&quote) {
        return refuse(
            INVALID_PARAMETER_VALUE,
            "CSV quote character must not appear in the NULL specification",
        );
    }
    Ok(CopyOptions {
        format,
        delimiter,
        null,
        header: g.header.unwrap_or(Header::Absent),
        quote,
        escape,
        force_quote: g.force_quote.unwrap_or_default(),
        force_not_null: g.force_not_null.unwrap_or_default(),
        force_null: g.force_null.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::copy::statement::{CopyStatement, parse};

    fn ok(sql: &str) -> CopyStatement {
        parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn refused(sql: &str) -> (&'static str, String) {
        let e = parse(sql).expect_err(sql);
        (e.sqlstate, e.message)
    }

    #[test]
    fn both_option_syntaxes() {
        let g = ok(
            "COPY t FROM STDIN WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'NA', \
             QUOTE '''', ESCAPE '\\', FORCE_NULL (a), FORCE_NOT_NULL *)",
        );
        let o = &g.options;
        assert_eq!(o.format, Format::Csv);
        assert_eq!(o.header, Header::Present);
        assert_eq!((o.delimiter, o.quote, o.escape), (b';', b'\'', b'\\'));
        assert_eq!(o.null, "NA");
        assert_eq!(o.force_null, ForceColumns::Named(vec!["a".into()]));
        assert_eq!(o.force_not_null, ForceColumns::All);
        let l = ok("COPY t TO STDOUT DELIMITER AS '|' NULL AS '' CSV HEADER FORCE QUOTE *");
        assert_eq!(l.options.format, Format::Csv);
        assert_eq!(l.options.delimiter, b'|');
        assert_eq!(l.options.force_quote, ForceColumns::All);
        assert_eq!(
            ok("COPY BINARY t FROM STDIN").options.format,
            Format::Binary
        );
        assert_eq!(
            ok("COPY t FROM STDIN (FORMAT binary)").options.format,
            Format::Binary
        );
        assert_eq!(
            ok("COPY t FROM STDIN (HEADER match, FORMAT 'csv')")
                .options
                .header,
            Header::Match
        );
        assert_eq!(
            ok("COPY t FROM STDIN USING DELIMITERS ','")
                .options
                .delimiter,
            b','
        );
        assert_eq!(
            ok("COPY t FROM STDIN DELIMITER E'\\t'").options.delimiter,
            b'\t'
        );
    }

    #[test]
    fn option_combinations_postgresql_refuses() {
        for (sql, code) in [
            (
                "COPY t FROM STDIN (FORMAT binary, DELIMITER ',')",
                SYNTAX_ERROR,
            ),
            (
                "COPY t FROM STDIN (FORMAT binary, HEADER)",
                FEATURE_NOT_SUPPORTED,
            ),
            ("COPY t FROM STDIN (DELIMITER ',,')", FEATURE_NOT_SUPPORTED),
            ("COPY t FROM STDIN (DELIMITER 'a')", INVALID_PARAMETER_VALUE),
            ("COPY t FROM STDIN (QUOTE '\"')", FEATURE_NOT_SUPPORTED),
            (
                "COPY t FROM STDIN (FORMAT csv, QUOTE ',')",
                INVALID_PARAMETER_VALUE,
            ),
            (
                "COPY t FROM STDIN (FORMAT csv, FORCE_QUOTE *)",
                FEATURE_NOT_SUPPORTED,
            ),
            (
                "COPY t TO STDOUT (FORMAT csv, FORCE_NULL (a))",
                FEATURE_NOT_SUPPORTED,
            ),
            ("COPY t TO STDOUT (HEADER match)", FEATURE_NOT_SUPPORTED),
            ("COPY t FROM STDIN (FORMAT xml)", INVALID_PARAMETER_VALUE),
            ("COPY t FROM STDIN (FORMAT csv, FORMAT csv)", SYNTAX_ERROR),
            ("COPY t FROM STDIN (BOGUS 1)", SYNTAX_ERROR),
            ("COPY t FROM STDIN (NULL E'a\nb')", INVALID_PARAMETER_VALUE),
            (
                "COPY t FROM STDIN (ENCODING 'LATIN1')",
                FEATURE_NOT_SUPPORTED,
            ),
            ("COPY t FROM STDIN WHERE a > 1", FEATURE_NOT_SUPPORTED),
            ("COPY t FROM STDIN (DEFAULT 'x')", FEATURE_NOT_SUPPORTED),
            ("COPY t FROM", SYNTAX_ERROR),
            ("COPY t FROM STDIN junk", SYNTAX_ERROR),
        ] {
            assert_eq!(refused(sql).0, code, "{sql}");
        }
        assert_eq!(
            refused("COPY t FROM STDIN junk").1,
            "syntax error at or near \"junk\""
        );
    }
}
