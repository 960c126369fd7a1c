//! The IRIS dialect: what IRIS SQL spells differently from PostgreSQL, or
//! lacks, beyond the vector functions both backends share ([`vector`]).
//!
//! - types: PostgreSQL's type names become IRIS's, in casts and in
//!   `CREATE TABLE` ([`iris_type`]), and `::` casts become `CAST(.. AS ..)`;
//! - booleans: IRIS SQL has no `TRUE`/`FALSE`, so they become `1`/`0`;
//! - top-k vector queries take the shape an HNSW index serves
//!   ([`vector::top_k`]);
//! - what IRIS cannot do (`ON CONFLICT`, `RETURNING`) is refused with a
//!   hint instead of failing obscurely in the backend;
//! - `public` is the [`IRIS_SCHEMA`].

use sqlparser::ast::{self, CastKind, DataType, Expr, Statement};

use super::{Dialect, TranslateError, vector};

/// The IRIS schema `public` maps to (IRIS's default schema for SQL tables).
pub(crate) const IRIS_SCHEMA: &str = "SQLUser";

/// The statement-level rewrites for IRIS. Returns whether anything changed.
pub(crate) fn rewrite_statement(stmt: &mut Statement) -> Result<bool, TranslateError> {
    let mut changed = false;
    if let Statement::Query(q) = stmt {
        changed |= vector::top_k(q, Dialect::Iris);
    }
    if let Statement::Insert(ins) = stmt {
        if ins.on.is_some() {
            return Err(TranslateError::Unsupported(
                "INSERT ... ON CONFLICT on IRIS (IRIS has no conflict clause; use INSERT OR UPDATE semantics in the application)".into(),
            ));
        }
        if ins.returning.is_some() && !super::iris_emulation::returning_emulated(ins) {
            return Err(TranslateError::Unsupported(
                "RETURNING on IRIS (query the row after the INSERT)".into(),
            ));
        }
    }
    if let Statement::CreateTable(ct) = stmt {
        for col in ct.columns.iter_mut() {
            if let Some(dt) = iris_type(&col.data_type) {
                col.data_type = dt;
                changed = true;
            }
        }
    }
    Ok(changed)
}

/// The expression rewrites for IRIS. Returns whether `e` changed.
pub(crate) fn rewrite_expr(e: &mut Expr) -> bool {
    match e {
        // IRIS SQL has no boolean literals.
        Expr::Value(v) if matches!(v.value, ast::Value::Boolean(_)) => {
            let one = matches!(v.value, ast::Value::Boolean(true));
            *e = Expr::value(ast::Value::Number(
                if one { "1" } else { "0" }.into(),
                false,
            ));
            true
        }
        Expr::Cast {
            kind, data_type, ..
        } if iris_type(data_type).is_some() => {
            *data_type = iris_type(data_type).expect("checked by the guard");
            *kind = CastKind::Cast;
            true
        }
        // IRIS has no `::`; the type is kept.
        Expr::Cast { kind, .. } if matches!(kind, CastKind::DoubleColon) => {
            *kind = CastKind::Cast;
            true
        }
        _ => false,
    }
}

/// PostgreSQL type names in casts and column definitions → IRIS types.
fn iris_type(dt: &DataType) -> Option<DataType> {
    let name = dt.to_string().to_ascii_lowercase();
    let custom = |n: &str, mods: &[&str]| {
        DataType::Custom(
            ast::ObjectName::from(vec![ast::Ident::new(n)]),
            mods.iter().map(|m| (*m).to_owned()).collect(),
        )
    };
    Some(match name.as_str() {
        "double precision" | "float8" | "float" => DataType::Double(ast::ExactNumberInfo::None),
        "real" | "float4" => custom("REAL", &[]),
        "text" | "character varying" | "varchar" | "name" | "citext" => {
            custom("VARCHAR", &["65535"])
        }
        "boolean" | "bool" => custom("BIT", &[]),
        "timestamptz" | "timestamp with time zone" | "timestamp without time zone" => {
            custom("TIMESTAMP", &[])
        }
        "bytea" => custom("VARBINARY", &["65535"]),
        "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" => custom("IDENTITY", &[]),
        "int2" => DataType::SmallInt(None),
        "int4" => DataType::Integer(None),
        "int8" => DataType::BigInt(None),
        "uuid" => custom("VARCHAR", &["36"]),
        "json" | "jsonb" => custom("VARCHAR", &["65535"]),
        _ => return vector::column_type(dt, Dialect::Iris),
    })
}
