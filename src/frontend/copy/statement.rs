//! The COPY statement: which table (and columns) or query, which
//! direction, and its options (read and checked in `options`).
//!
//! COPY is parsed here rather than translated: it never reaches the backend
//! as such. `COPY ... TO STDOUT` becomes a SELECT and `COPY ... FROM STDIN`
//! a batched INSERT, which go through the translator like any statement.
//! Both the current syntax (`WITH (FORMAT csv, HEADER)`) and the one before
//! PostgreSQL 9.0 (`CSV HEADER`, `DELIMITER AS ';'`), which psql's `\copy`
//! passes on as the user typed it, are read.

pub(crate) use super::error::StatementError;
pub(crate) use super::options::Direction;
use super::options::{
    CopyOptions, Format, Given, check_options, generic_options, legacy_options, once,
};
pub(crate) use super::parser::Ident;
use super::parser::Parser;
use super::tokens::{Tok, tokenize};
use crate::frontend::errors::{FEATURE_NOT_SUPPORTED, INSUFFICIENT_PRIVILEGE};

const SERVER_FILES_HINT: &str =
    "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A table, optionally schema-qualified, and the columns listed (empty: all).
    Table {
        relation: Vec<Ident>,
        columns: Vec<Ident>,
    },
    /// `COPY (query) TO STDOUT`: the query as the client wrote it.
    Query(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyStatement {
    pub source: Source,
    pub direction: Direction,
    pub options: CopyOptions,
}

impl CopyStatement {
    /// The table's name as PostgreSQL's messages print it (`COPY t, line 3`).
    pub fn table_name(&self) -> &str {
        match &self.source {
            Source::Table { relation, .. } => &relation.last().expect("a name").name,
            Source::Query(_) => "",
        }
    }

    /// The table as written, schema included, for the SQL built from it.
    pub fn relation_sql(&self) -> String {
        match &self.source {
            Source::Table { relation, .. } => relation
                .iter()
                .map(|p| p.sql.as_str())
                .collect::<Vec<_>>()
                .join("."),
            Source::Query(q) => q.clone(),
        }
    }

    /// The statement whose rows `COPY ... TO STDOUT` sends.
    pub fn select_sql(&self) -> String {
        match &self.source {
            Source::Query(q) => q.clone(),
            Source::Table { columns, .. } => {
                let list = if columns.is_empty() {
                    "*".to_owned()
                } else {
                    columns
                        .iter()
                        .map(|c| c.sql.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!("SELECT {list} FROM {}", self.relation_sql())
            }
        }
    }
}

/// Parses a COPY statement (its first word is `COPY`).
pub(crate) fn parse(sql: &str) -> Result<CopyStatement, StatementError> {
    let mut p = Parser {
        sql,
        toks: tokenize(sql)?,
        pos: 0,
    };
    if !p.eat_keyword("copy") {
        return Err(p.unexpected());
    }
    let mut given = Given::default();
    let source = if p.at_punct('(') {
        let open = p.next().expect("peeked");
        Source::Query(p.parenthesised_text(open.end)?)
    } else {
        if p.eat_keyword("binary") {
            given.format = Some(Format::Binary);
        }
        let mut relation = vec![p.ident()?];
        while p.eat_punct('.') {
            relation.push(p.ident()?);
        }
        let columns = if p.at_punct('(') {
            p.column_list()?
        } else {
            vec![]
        };
        Source::Table { relation, columns }
    };
    let direction = if p.eat_keyword("to") {
        Direction::To
    } else if matches!(source, Source::Table { .. }) && p.eat_keyword("from") {
        Direction::From
    } else {
        return Err(p.unexpected());
    };
    if p.at_keyword("program") {
        return Err(StatementError {
            hint: Some(SERVER_FILES_HINT),
            ..StatementError::new(
                INSUFFICIENT_PRIVILEGE,
                "must be superuser or have privileges of the pg_execute_server_program role to COPY to or from an external program",
            )
        });
    }
    match p.peek().map(|t| &t.tok) {
        Some(Tok::Word {
            name,
            quoted: false,
        }) if name == "stdin" || name == "stdout" => {
            p.pos += 1;
        }
        Some(Tok::Str(_)) => {
            let (role, what) = match direction {
                Direction::From => ("pg_read_server_files", "COPY from a file"),
                Direction::To => ("pg_write_server_files", "COPY to a file"),
            };
            return Err(StatementError {
                hint: Some(SERVER_FILES_HINT),
                ..StatementError::new(
                    INSUFFICIENT_PRIVILEGE,
                    format!("must be superuser or have privileges of the {role} role to {what}"),
                )
            });
        }
        _ => return Err(p.unexpected()),
    }
    // Before 9.0: [USING] DELIMITERS 'x'.
    let using = p.eat_keyword("using");
    if p.eat_keyword("delimiters") {
        once(&mut given.delimiter, p.string()?)?;
    } else if using {
        return Err(p.unexpected());
    }
    p.eat_keyword("with");
    if p.eat_punct('(') {
        generic_options(&mut p, &mut given)?;
    } else {
        legacy_options(&mut p, &mut given)?;
    }
    if p.at_keyword("where") {
        return Err(StatementError::new(
            FEATURE_NOT_SUPPORTED,
            match direction {
                Direction::To => "WHERE clause not allowed with COPY TO",
                Direction::From => "COPY FROM ... WHERE is not supported by iriswire",
            },
        ));
    }
    p.eat_punct(';');
    if p.peek().is_some() {
        return Err(p.unexpected());
    }
    let options = check_options(given, direction)?;
    Ok(CopyStatement {
        source,
        direction,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::errors::SYNTAX_ERROR;

    fn ok(sql: &str) -> CopyStatement {
        parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn refused(sql: &str) -> (&'static str, String) {
        let e = parse(sql).expect_err(sql);
        (e.sqlstate, e.message)
    }

    #[test]
    fn tables_columns_and_directions() {
        let c = ok("COPY public.\"Items\" (id, \"Name\") FROM STDIN");
        assert_eq!(c.direction, Direction::From);
        assert_eq!(c.table_name(), "Items");
        assert_eq!(c.relation_sql(), "public.\"Items\"");
        let Source::Table { columns, .. } = &c.source else {
            panic!()
        };
        assert_eq!(columns[1].name, "Name");
        assert_eq!(c.options.format, Format::Text);
        assert_eq!(c.options.delimiter, b'\t');
        assert_eq!(c.options.null, "\\N");
        assert_eq!(
            ok("copy T (a, B) to stdout;").select_sql(),
            "SELECT a, B FROM T"
        );
        assert_eq!(ok("COPY t TO STDOUT").select_sql(), "SELECT * FROM t");
        let q = ok("COPY (SELECT a, f(b) FROM t WHERE c = ')') TO STDOUT WITH CSV");
        assert_eq!(q.select_sql(), "SELECT a, f(b) FROM t WHERE c = ')'");
        assert_eq!(q.options.format, Format::Csv);
        assert_eq!(refused("COPY (SELECT 1) FROM STDIN").0, SYNTAX_ERROR);
    }

    #[test]
    fn server_files_and_programs_need_privileges_no_one_has() {
        let (code, msg) = refused("COPY t FROM '/etc/passwd'");
        assert_eq!(code, INSUFFICIENT_PRIVILEGE);
        assert!(msg.contains("pg_read_server_files"), "{msg}");
        assert!(
            refused("COPY t TO '/tmp/x'")
                .1
                .contains("pg_write_server_files")
        );
        assert!(
            refused("COPY t TO PROGRAM 'ls'")
                .1
                .contains("external program")
        );
        assert_eq!(
            parse("COPY t FROM 'f'").unwrap_err().hint,
            Some(SERVER_FILES_HINT)
        );
    }
}
