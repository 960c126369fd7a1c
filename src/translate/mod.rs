//! PostgreSQL SQL → the backend's dialect (SQLite for the embedded default,
//! IRIS SQL for the IRIS drivers), plus what PostgreSQL would say about the
//! statement's types.
//!
//! Results are cached by statement text ([`cache::TranslationCache`]), so a
//! repeated statement costs one hash lookup.
//!
//! # A statement's way through
//!
//! [`translate`] does no more work than the statement needs:
//!
//! 1. `classify` reads the kind and command tag off the leading keywords,
//!    and scans the text once for anything a rewrite could act on
//!    ([`needs_rewrite`]). Most statements have nothing, and are not parsed.
//!    On IRIS every statement is parsed: it differs from PostgreSQL in too
//!    many places (NULL order, reserved names, ...) for the scan.
//! 2. The others are parsed (sqlparser, PostgreSQL dialect) and `rewrite`
//!    turns them into the backend's SQL.
//! 3. The [`lexer`] turns `E''` strings into standard ones and `$n`
//!    placeholders into `?`, with the order to bind them in. It works on
//!    the text, so this needs no parse either.
//!
//! What PostgreSQL would infer for the parameters and result columns
//! ([`Analysis`]) needs the parsed statement too: when the statement was
//! not parsed for a rewrite, it is worked out the first time it must be
//! described ([`Translation::analysis`]).
//!
//! # Where things are
//!
//! - `classify`: the looks at the text that need no parse;
//! - `analysis`: parameter typing, the record of the whole analysis;
//! - `column_types`: PostgreSQL's typing rules for result columns;
//! - `rewrite`: the walk over the AST, the rewrites both backends need,
//!   and the statements answered locally or replaced whole;
//! - `iris`, `sqlite`: each dialect's own rewrites, so one backend's rules
//!   read in one place; IRIS's are split three ways: `iris` (types, DDL,
//!   statements spelled otherwise), `iris_semantics` (where IRIS means or
//!   refuses something else in queries: booleans, NULL order, division,
//!   multi-row VALUES) and `iris_reserved` (its reserved words, quoted);
//! - `vector`: pgvector (operators, functions, indexes) for both backends;
//! - `exprs`: reading and building expressions, for all of the above;
//! - [`lexer`]: the token-level work on the text;
//! - [`cache`]: the LRU of translations.
//!
//! The exact SQL each backend receives is pinned by the golden cases in
//! `tests/translate/<dialect>.sql`, run by `tests/translate_golden.rs`:
//! a change of output shows there first.

pub mod cache;
pub mod lexer;

mod analysis;
mod classify;
mod column_types;
mod exprs;
mod iris;
mod iris_emulation;
mod iris_reserved;
mod iris_semantics;
mod rewrite;
mod sqlite;
pub(crate) mod vector;

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use thiserror::Error;

use crate::bridge::ColumnMeta;
use crate::pgtypes::mapping::ColumnType;

pub use analysis::Analysis;
pub use classify::StatementKind;
pub use classify::needs_rewrite;
pub(crate) use column_types::TypeExpr;
pub use vector::{VectorOp, VectorUse};

/// Bind messages count parameters in an Int16.
pub(crate) const MAX_PARAMETERS: usize = 65535;

/// The backend's SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Iris,
}

/// What the backend reported about a statement, valid while the schema
/// epoch it was taken at is current (any DDL through iriswire bumps it).
#[derive(Debug, Default)]
pub(crate) struct Described {
    pub epoch: u64,
    /// Declared result columns; `None` when the backend cannot tell.
    pub columns: Option<Arc<Vec<ColumnMeta>>>,
    /// Catalog-settled column types (see [`TypeExpr`]), per column.
    pub inferred: Vec<Option<ColumnType>>,
    /// Placeholder types from a `P`repare; `None` when unknown or not asked.
    pub params: Option<Vec<(String, i64)>>,
    /// Came from a `P`repare (not from an executed statement's `D` frame).
    pub prepared: bool,
}

#[derive(Debug)]
pub struct Translation {
    /// Statement text for the backend, placeholders as `?`.
    pub backend_sql: String,
    /// For each `?` in `backend_sql`, the zero-based client parameter.
    pub param_order: Vec<usize>,
    /// Number of client parameters (`$n` max).
    pub param_count: usize,
    pub(crate) kind: StatementKind,
    /// The command tag's words (`SELECT`, `CREATE TABLE`, ...).
    pub(crate) tag: String,
    /// Whether the statement has a `RETURNING` clause.
    pub(crate) returning: bool,
    /// The pgvector distance operator the statement uses, if any, for the
    /// vector metrics.
    pub(crate) vector: Option<VectorUse>,
    /// Answered by iriswire with this command tag; the backend never sees
    /// it (`CREATE EXTENSION vector`, an HNSW index on the SQLite default).
    pub local_tag: Option<String>,
    /// The backend's description, cached with the translation so a
    /// repeated statement needs neither a lock nor a round trip for it.
    pub(crate) described: ArcSwapOption<Described>,
    /// Worked out when translating parsed the statement anyway (a
    /// rewrite), else on first use, from `source`: a statement with
    /// nothing to rewrite is not parsed until something must be described.
    analysis: std::sync::OnceLock<Analysis>,
    source: Option<Box<str>>,
}

impl Translation {
    /// The statement's parameter and result-column analysis.
    pub fn analysis(&self) -> &Analysis {
        self.analysis.get_or_init(|| {
            let parsed = self
                .source
                .as_deref()
                .and_then(|sql| Parser::parse_sql(&PostgreSqlDialect {}, sql).ok());
            match parsed {
                Some(mut stmts) if stmts.len() == 1 => {
                    Analysis::of(&mut stmts[0], self.param_count)
                }
                _ => {
                    let mut a = Analysis::default();
                    a.finish(self.param_count);
                    a
                }
            }
        })
    }

    /// The name PostgreSQL gives result column `i` (see [`Analysis::column_name`]).
    pub(crate) fn column_name(&self, i: usize) -> Option<&str> {
        self.analysis().column_name(i)
    }

    /// The cached description, if still valid at `epoch`.
    pub(crate) fn described_at(&self, epoch: u64) -> Option<Arc<Described>> {
        self.described.load_full().filter(|d| d.epoch == epoch)
    }
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum TranslateError {
    #[error("{0} is not supported by iriswire")]
    Unsupported(String),
    #[error("invalid escape sequence {0} in an E'' string")]
    InvalidEscape(String),
    #[error("unterminated quoted string")]
    UnterminatedString,
    #[error("there is no parameter ${0}")]
    NoParameter(usize),
}

impl TranslateError {
    pub fn sqlstate(&self) -> &'static str {
        match self {
            TranslateError::Unsupported(_) => "0A000",
            TranslateError::InvalidEscape(_) => "22025",
            TranslateError::UnterminatedString => "42601",
            TranslateError::NoParameter(_) => "42P02",
        }
    }
}

/// Translates one PostgreSQL statement for `dialect`.
pub fn translate(sql: &str, dialect: Dialect) -> Result<Translation, TranslateError> {
    let (kind, tag) = classify::classify(sql);
    let mut t = Translation {
        backend_sql: String::new(),
        param_order: Vec::new(),
        param_count: 0,
        kind,
        tag,
        returning: false,
        vector: None,
        local_tag: None,
        described: ArcSwapOption::empty(),
        analysis: std::sync::OnceLock::new(),
        source: None,
    };
    // IRIS has no statement terminator (SQLCODE -25, DOC(GSQL_langelements)).
    let sql = match dialect {
        Dialect::Iris => sql.trim_end().trim_end_matches(';').trim_end(),
        Dialect::Sqlite => sql,
    };
    let mut text = std::borrow::Cow::Borrowed(sql);
    let control = matches!(
        t.kind,
        StatementKind::Begin
            | StatementKind::Commit
            | StatementKind::Rollback
            | StatementKind::Set
            | StatementKind::Show
            | StatementKind::Reset
    );
    // The cheap scan: only a statement a rewrite could act on is parsed now.
    let mut parsed = None;
    // IRIS differs from PostgreSQL in too many places (NULL order,
    // reserved words, multi-row VALUES ...) for the cheap scan: always parse.
    if !control
        && (dialect == Dialect::Iris || needs_rewrite(sql))
        && let Ok(mut stmts) = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        && stmts.len() == 1
    {
        let stmt = &mut stmts[0];
        t.vector = vector::vector_use(stmt);
        let mut a = Analysis::default();
        analysis::analyse(stmt, &mut a);
        t.returning = a.returning;
        parsed = Some(a);
        match rewrite::special(stmt, dialect)? {
            Some(rewrite::Special::Local(tag)) => t.local_tag = Some(tag),
            Some(rewrite::Special::Text(sql)) => text = std::borrow::Cow::Owned(sql),
            // The bridge answers catalog queries from its own pg_catalog
            // emulation, in PostgreSQL's dialect.
            None if classify::is_catalog_query(sql) => {}
            None => {
                if rewrite::rewrite(stmt, dialect)? {
                    let mut sql = stmt.to_string();
                    if dialect == Dialect::Iris {
                        sql.push_str(iris::statement_suffix(stmt).unwrap_or(""));
                    }
                    text = std::borrow::Cow::Owned(sql);
                }
            }
        }
    }
    // Transaction control: SQLite knows only the bare forms; IRIS spells
    // the start START TRANSACTION, with IRIS's nearest isolation level.
    match (&t.kind, dialect) {
        (StatementKind::Begin, Dialect::Sqlite) => text = "BEGIN".into(),
        (StatementKind::Begin, Dialect::Iris) => {
            text = iris_emulation::start_transaction(sql).into()
        }
        (StatementKind::Commit, _) => text = "COMMIT".into(),
        (StatementKind::Rollback, _) => text = "ROLLBACK".into(),
        _ => {}
    }
    if lexer::has_escape_strings(&text) {
        text = std::borrow::Cow::Owned(lexer::standard_strings(&text)?);
    }
    let (backend_sql, order) = lexer::positional_placeholders(&text);
    t.param_count = order.iter().map(|p| p + 1).max().unwrap_or(0);
    // The protocol counts parameters in 16 bits; a larger $n cannot be bound.
    if t.param_count > MAX_PARAMETERS {
        return Err(TranslateError::NoParameter(t.param_count));
    }
    match parsed {
        Some(mut a) => {
            a.finish(t.param_count);
            let _ = t.analysis.set(a);
        }
        None if control => {
            let mut a = Analysis::default();
            a.finish(t.param_count);
            let _ = t.analysis.set(a);
        }
        None => t.source = Some(sql.into()),
    }
    t.backend_sql = backend_sql;
    t.param_order = order;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use pgwire::api::Type;

    use super::*;

    #[test]
    fn parameter_numbers_beyond_the_protocol_are_refused() {
        assert_eq!(
            translate("select $77777777777", Dialect::Sqlite).unwrap_err(),
            TranslateError::NoParameter(77777777777)
        );
        assert_eq!(
            translate("select $65535", Dialect::Sqlite)
                .unwrap()
                .param_count,
            65535
        );
    }

    #[test]
    fn session_functions_and_escape_strings_reach_sqlite() {
        let t = translate(
            "select current_user, current_database(), version(), E'a\\tb\\'c', current_schema",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            t.backend_sql,
            "SELECT current_user(), current_database(), version(), 'a\tb''c', current_schema()"
        );
        assert_eq!(
            t.analysis().column_names[0].as_deref(),
            Some("current_user")
        );
        assert_eq!(t.analysis().column_types[0], Some(Type::TEXT));
    }
}
