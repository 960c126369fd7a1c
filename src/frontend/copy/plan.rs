//! What a COPY statement runs on the backend: `TO STDOUT` the SELECT whose
//! rows it sends, `FROM STDIN` an INSERT with one parameter per column,
//! typed by the catalog, run once per row. Both are ordinary statements
//! translated through the shared cache.

use std::sync::Arc;

use pgwire::api::Type;
use pgwire::error::PgWireResult;

use super::statement::{CopyStatement, Direction, Source, parse};
use crate::frontend::columns::table_columns;
use crate::frontend::errors::error;
use crate::frontend::session::Session;
use crate::state::Shared;
use crate::translate::Translation;

const UNDEFINED_TABLE: &str = "42P01";
const UNDEFINED_COLUMN: &str = "42703";
const DUPLICATE_COLUMN: &str = "42701";
const INVALID_COLUMN_REFERENCE: &str = "42P10";

/// A COPY statement ready to run.
#[derive(Debug)]
pub(crate) struct CopyPlan {
    pub statement: CopyStatement,
    /// `TO`: the SELECT; `FROM`: the INSERT, with `$n` for column `n`.
    pub translation: Arc<Translation>,
    /// `FROM`: the columns the data fills, in its order, with their types.
    pub columns: Vec<(String, Type)>,
    /// The schema epoch the plan was made at: a later DDL makes it stale.
    pub epoch: u64,
}

/// Parses a COPY statement and settles what it runs (for `FROM STDIN` the
/// table's columns and types, from the catalog).
pub(crate) async fn plan(shared: &Shared, s: &mut Session, sql: &str) -> PgWireResult<CopyPlan> {
    let statement = parse(sql)?;
    let epoch = shared.epoch();
    let (text, columns) = match statement.direction {
        Direction::To => (statement.select_sql(), vec![]),
        Direction::From => {
            let columns = target_columns(shared, s, &statement).await?;
            (insert_sql(&statement, &columns), columns)
        }
    };
    let translation = shared
        .translations
        .get(&text)
        .map_err(|e| error(e.sqlstate(), e.to_string()))?;
    Ok(CopyPlan {
        statement,
        translation,
        columns,
        epoch,
    })
}

/// The columns `COPY t [(a, b)] FROM STDIN` fills, checked against the
/// table as PostgreSQL checks them.
async fn target_columns(
    shared: &Shared,
    s: &mut Session,
    c: &CopyStatement,
) -> PgWireResult<Vec<(String, Type)>> {
    {
        let Source::Table { columns, .. } = &c.source else {
            unreachable!("COPY (query) is only ever TO");
        };
        let table = c.table_name();
        let known = table_columns(shared, s, table).await?;
        if known.is_empty() {
            return Err(error(
                UNDEFINED_TABLE,
                format!("relation \"{table}\" does not exist"),
            ));
        }
        let targets: Vec<(String, Type)> = if columns.is_empty() {
            known
                .iter()
                .map(|(name, ct)| (name.clone(), ct.ty.clone()))
                .collect()
        } else {
            let mut out: Vec<(String, Type)> = Vec::with_capacity(columns.len());
            for col in columns {
                // The catalog answers in lower case; the backends compare
                // names without regard to case.
                let Some((_, ct)) = known
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&col.name))
                else {
                    return Err(error(
                        UNDEFINED_COLUMN,
                        format!(
                            "column \"{}\" of relation \"{table}\" does not exist",
                            col.name
                        ),
                    ));
                };
                if out.iter().any(|(n, _)| *n == col.name) {
                    return Err(error(
                        DUPLICATE_COLUMN,
                        format!("column \"{}\" specified more than once", col.name),
                    ));
                }
                out.push((col.name.clone(), ct.ty.clone()));
            }
            out
        };
        let o = &c.options;
        for (option, force) in [
            ("FORCE_NOT_NULL", &o.force_not_null),
            ("FORCE_NULL", &o.force_null),
        ] {
            if let super::options::ForceColumns::Named(names) = force
                && let Some(stray) = names.iter().find(|n| !targets.iter().any(|(t, _)| t == *n))
            {
                return Err(error(
                    INVALID_COLUMN_REFERENCE,
                    format!("{option} column \"{stray}\" not referenced by COPY"),
                ));
            }
        }
        Ok(targets)
    }
}

/// `INSERT INTO t (a, b) VALUES ($1, $2)`: the columns as the client wrote
/// them, or the catalog's names quoted where PostgreSQL would need it.
fn insert_sql(c: &CopyStatement, columns: &[(String, Type)]) -> String {
    let Source::Table {
        columns: listed, ..
    } = &c.source
    else {
        unreachable!("COPY (query) is only ever TO");
    };
    let names: Vec<String> = if listed.is_empty() {
        columns.iter().map(|(n, _)| quote_ident(n)).collect()
    } else {
        listed.iter().map(|c| c.sql.clone()).collect()
    };
    let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        c.relation_sql(),
        names.join(", "),
        params.join(", ")
    )
}

/// PostgreSQL's `quote_ident`: a plain lower-case name stays as it is, any
/// other (or a reserved word) is double-quoted.
fn quote_ident(name: &str) -> String {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain && !RESERVED.contains(&name) {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// PostgreSQL's reserved key words (those a column name must quote).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

#[cfg(test)]
mod tests {
    use super::*;
    use pgwire::api::Type;

    #[test]
    fn the_insert_names_the_columns_as_needed() {
        let c = parse("COPY s.\"T\" FROM STDIN").unwrap();
        let cols = vec![
            ("id".to_owned(), Type::INT4),
            ("order".to_owned(), Type::TEXT),
            ("Mixed".to_owned(), Type::TEXT),
        ];
        assert_eq!(
            insert_sql(&c, &cols),
            "INSERT INTO s.\"T\" (id, \"order\", \"Mixed\") VALUES ($1, $2, $3)"
        );
        let c = parse("COPY t (b, \"A\") FROM STDIN").unwrap();
        assert_eq!(
            insert_sql(&c, &cols[..2]),
            "INSERT INTO t (b, \"A\") VALUES ($1, $2)"
        );
    }
}
