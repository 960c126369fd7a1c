//! Result columns: their PostgreSQL names and types, worked out from the
//! backend's description, the translation's type analysis and the catalog,
//! and sent as RowDescription.

use std::sync::Arc;

use pgwire::api::Type;
use pgwire::error::PgWireResult;

use crate::bridge::Frame;
use crate::bridge::marshal::{self, Value};
use crate::bridge::protocol::ColumnMeta;
use crate::frontend::errors::bridge_failure;
use crate::frontend::lease::ensure_worker;
use crate::frontend::session::Session;
use crate::pgtypes::mapping::{self as types, ColumnType};
use crate::state::{Shared, TableColumns};
use crate::translate::{Translation, TypeExpr};

pub use super::result_row::{ResultColumn, row_description};

/// Resolves result columns, first rule that decides wins: the literal or
/// cast that produced the column; the backend's declared type; PostgreSQL's
/// rules over catalog types (`inferred`, e.g. `sum(qty)`); the first row's
/// value; `text`.
pub fn resolve_columns(
    t: &Translation,
    metas: &[ColumnMeta],
    inferred: &[Option<ColumnType>],
    first_row: Option<&[Value<'_>]>,
) -> Vec<ResultColumn> {
    metas
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let typed = t
                .analysis()
                .column_types
                .get(i)
                .cloned()
                .flatten()
                .map(ColumnType::of)
                .or_else(|| ColumnType::from_declared(&m.type_name))
                .or_else(|| {
                    let ty = types::from_odbc(m.type_code, m.precision, m.scale)?;
                    let scale = (ty == Type::NUMERIC).then_some(m.scale as u16);
                    (m.type_code != 0).then_some(ColumnType { ty, scale })
                })
                .or_else(|| inferred.get(i).cloned().flatten())
                .or_else(|| {
                    first_row
                        .and_then(|r| r.get(i))
                        .and_then(types::from_value)
                        .map(ColumnType::of)
                })
                .unwrap_or(ColumnType::of(Type::TEXT));
            let name = t.column_name(i).unwrap_or(&m.name).to_owned();
            ResultColumn {
                name,
                ty: typed.ty,
                scale: typed.scale,
            }
        })
        .collect()
}

/// Columns PostgreSQL would describe for a statement the backend cannot
/// describe before running it (SQLite `RETURNING`), from the statement text
/// and the catalog. `None` when the text does not say (a wildcard).
pub fn columns_from_text(
    t: &Translation,
    inferred: &[Option<ColumnType>],
) -> Option<Vec<ResultColumn>> {
    if t.analysis().column_exprs.is_empty() {
        return None;
    }
    Some(
        t.analysis()
            .column_exprs
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let typed = inferred
                    .get(i)
                    .cloned()
                    .flatten()
                    .unwrap_or(ColumnType::of(Type::TEXT));
                let name = match (t.column_name(i), e) {
                    (Some(n), _) => n,
                    (None, TypeExpr::Column { column, .. }) => column,
                    (None, _) => "?column?",
                }
                .to_owned();
                ResultColumn {
                    name,
                    ty: typed.ty,
                    scale: typed.scale,
                }
            })
            .collect(),
    )
}

/// Settles the catalog-dependent column types of `t` (see [`TypeExpr`]),
/// looking up the statement's tables through the session's worker.
/// `params` types `$n` (empty: parameters stay unknown).
pub async fn infer_columns(
    shared: &Shared,
    s: &mut Session,
    t: &Translation,
    params: &[Option<Type>],
) -> PgWireResult<Vec<Option<ColumnType>>> {
    let mut tables = Vec::new();
    if t.analysis()
        .column_exprs
        .iter()
        .any(TypeExpr::mentions_column)
    {
        for name in &t.analysis().tables {
            tables.push((name.clone(), table_columns(shared, s, name).await?));
        }
    }
    let lookup = |leaf: &TypeExpr| -> Option<ColumnType> {
        let (table, column) = match leaf {
            TypeExpr::Param(p) => return params.get(*p).cloned().flatten().map(ColumnType::of),
            TypeExpr::Column { table, column } => (table.as_deref(), column.as_str()),
            _ => return None,
        };
        tables
            .iter()
            .filter(|(name, _)| table.is_none_or(|want| want == name))
            .find_map(|(_, cols)| {
                cols.iter()
                    .find(|(c, _)| c == column)
                    .map(|(_, ty)| ty.clone())
            })
    };
    Ok(t.analysis()
        .column_exprs
        .iter()
        .map(|e| e.resolve(&lookup))
        .collect())
}

/// Looks up (and caches) a table's column types, for parameter inference.
/// A declared type from IRIS's INFORMATION_SCHEMA.COLUMNS: `numeric` with
/// its NUMERIC_PRECISION and NUMERIC_SCALE becomes `numeric(p,s)`, so the
/// scale survives (IRIS returns NUMERIC values without trailing zeros).
fn iris_declared_type(data_type: &str, precision: Value<'_>, scale: Value<'_>) -> String {
    let number = |v: Value<'_>| match v {
        Value::Int(n) => Some(n),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    };
    let lower = data_type.to_ascii_lowercase();
    match (lower.as_str(), number(precision), number(scale)) {
        ("numeric" | "decimal", Some(p), Some(s)) if p > 0 => format!("{lower}({p},{s})"),
        _ => data_type.to_owned(),
    }
}

pub async fn table_columns(
    shared: &Shared,
    s: &mut Session,
    table: &str,
) -> PgWireResult<TableColumns> {
    let key = (s.database.clone(), table.to_owned());
    if let Some(c) = shared
        .table_columns
        .lock()
        .expect("catalog cache")
        .get(&key)
    {
        return Ok(c.clone());
    }
    ensure_worker(shared, s).await?;
    let worker = s.worker.as_mut().expect("worker");
    // pg_catalog tables live in the bridge's catalog emulation, which is
    // SQLite whatever the backend; the marker in the comment routes it there.
    let catalog_table = table
        .strip_prefix("pg_catalog.")
        .unwrap_or(table)
        .starts_with("pg_");
    let table = if catalog_table {
        table.strip_prefix("pg_catalog.").unwrap_or(table)
    } else {
        table
    };
    let sql = match shared.translations.dialect() {
        _ if catalog_table => "SELECT name, type FROM pragma_table_info(?) -- pg_catalog.",
        crate::translate::Dialect::Sqlite => "SELECT name, type FROM pragma_table_info(?)",
        // IRIS's own INFORMATION_SCHEMA, quoted: PostgreSQL's information_schema
        // (lower case, unquoted) is the bridge's catalog emulation.
        crate::translate::Dialect::Iris => {
            // DATA_TYPE is the bare name (`numeric`); the scale is in
            // NUMERIC_SCALE, as on real IRIS (iris-rules.md).
            "SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE FROM \"INFORMATION_SCHEMA\".COLUMNS WHERE TABLE_SCHEMA = ? AND LOWER(TABLE_NAME) = LOWER(?) ORDER BY ORDINAL_POSITION"
        }
    };
    let schema = &shared.config().iris.schema.clone();
    let dialect = shared.translations.dialect();
    let iris_columns = dialect == crate::translate::Dialect::Iris && !catalog_table;
    worker
        .start_query(sql, false, |w| {
            if dialect == crate::translate::Dialect::Iris && !catalog_table {
                w.tuple_header(2);
                w.str(schema);
            } else {
                w.tuple_header(1);
            }
            w.str(table);
            Ok::<(), ()>(())
        })
        .await
        .map_err(|e| bridge_failure(&e))?
        .ok();
    let mut cols = Vec::new();
    loop {
        match worker.next_frame().await.map_err(|e| bridge_failure(&e))? {
            Frame::Batch(p) => {
                let width = if iris_columns { 4 } else { 2 };
                let mut vals = Vec::new();
                let n = marshal::decode_rows(p, width, &mut vals)
                    .map_err(|e| bridge_failure(&e.into()))?;
                for row in vals.chunks(width).take(n) {
                    if let (Value::Str(name), Value::Str(decl)) = (row[0], row[1]) {
                        let decl = if iris_columns {
                            iris_declared_type(decl, row[2], row[3])
                        } else {
                            decl.to_owned()
                        };
                        cols.push((
                            name.to_lowercase(),
                            ColumnType::from_declared(&decl).unwrap_or(ColumnType::of(Type::TEXT)),
                        ));
                    }
                }
            }
            Frame::Description(_) => {}
            Frame::Complete { .. } | Frame::Error(_) => break,
        }
    }
    let cols = Arc::new(cols);
    shared
        .table_columns
        .lock()
        .expect("catalog cache")
        .insert(key, cols.clone());
    Ok(cols)
}
