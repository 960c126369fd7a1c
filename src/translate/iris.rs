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
//! - `public` is the [`IRIS_SCHEMA`];
//! - statements spelled otherwise: `TRUNCATE TABLE t`, `ROLLBACK TO
//!   SAVEPOINT x` (DOC(RSQL_truncatetable), DOC(RSQL_savepoint));
//! - `CREATE TABLE`: string columns collate `%EXACT`, so `=`, `LIKE`,
//!   `UNIQUE`, `DISTINCT` and `ORDER BY` are case-sensitive as in PostgreSQL
//!   (IRIS's default, SQLUPPER, ignores case and upper-cases DISTINCT's
//!   output: DOC(GSQL_collation)); a table with an identity column takes
//!   explicit ids as PostgreSQL's serial columns do, through
//!   `WITH %CLASSPARAMETER ALLOWIDENTITYINSERT = 1` (what caretdev's
//!   sqlalchemy-iris emits in `post_create_table`; without it IRIS refuses
//!   the id, SQLCODE -111, DOC(RSQL_createtable_idfield));
//!   `ALTER TABLE ... ADD COLUMN` maps its type the same way;
//! - the rest of queries and expressions: [`iris_semantics`](super::iris_semantics),
//!   reserved words: [`iris_reserved`](super::iris_reserved).

use sqlparser::ast::{self, CastKind, DataType, Expr, Statement};

use super::{Dialect, TranslateError, vector};

/// The IRIS schema `public` maps to (IRIS's default schema for SQL tables).
pub(crate) const IRIS_SCHEMA: &str = "SQLUser";

/// The statement-level rewrites for IRIS. Returns whether anything changed.
pub(crate) fn rewrite_statement(stmt: &mut Statement) -> Result<bool, TranslateError> {
    // Before the vector shape: it leaves pgvector's ORDER BY keys alone.
    let mut changed = super::iris_semantics::rewrite(stmt)?;
    if let Statement::Query(q) = stmt {
        changed |= vector::top_k(q, Dialect::Iris);
    }
    match stmt {
        Statement::Truncate(t) if !t.table => {
            t.table = true;
            changed = true;
        }
        // Displayed as `ROLLBACK TO SAVEPOINT x`, which IRIS needs.
        Statement::Rollback {
            savepoint: Some(_), ..
        } => changed = true,
        Statement::AlterTable(at) => {
            for op in at.operations.iter_mut() {
                if let ast::AlterTableOperation::AddColumn { column_def, .. } = op {
                    changed |= column(column_def)?;
                }
            }
        }
        _ => {}
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
            changed |= column(col)?;
        }
    }
    Ok(changed)
}

/// What follows a rewritten statement's text: the class parameter that lets
/// a table with an identity column take explicit ids (see the module docs).
pub(crate) fn statement_suffix(stmt: &Statement) -> Option<&'static str> {
    match stmt {
        Statement::CreateTable(ct) if ct.columns.iter().any(is_identity) => {
            Some(" WITH %CLASSPARAMETER ALLOWIDENTITYINSERT = 1")
        }
        _ => None,
    }
}

fn is_identity(col: &ast::ColumnDef) -> bool {
    matches!(&col.data_type, DataType::Custom(name, _) if name.to_string() == "IDENTITY")
}

/// A column definition for IRIS: its type, `GENERATED ... AS IDENTITY` as
/// IRIS's IDENTITY, and PostgreSQL's case-sensitive comparison for strings.
fn column(col: &mut ast::ColumnDef) -> Result<bool, TranslateError> {
    let mut changed = false;
    let declared = col.data_type.to_string().to_ascii_lowercase();
    if let Some(dt) = iris_type(&col.data_type) {
        col.data_type = dt;
        changed = true;
    }
    let mut generated = None;
    col.options.retain(|o| match &o.option {
        ast::ColumnOption::Generated {
            generation_expr,
            generated_as,
            ..
        } => {
            generated =
                Some(generation_expr.is_none() && *generated_as != ast::GeneratedAs::ExpStored);
            false
        }
        _ => true,
    });
    match generated {
        Some(true) => {
            col.data_type = DataType::Custom(
                ast::ObjectName::from(vec![ast::Ident::new("IDENTITY")]),
                vec![],
            );
            changed = true;
        }
        Some(false) => {
            return Err(TranslateError::Unsupported(format!(
                "the generated column \"{}\" on IRIS (only GENERATED ... AS IDENTITY maps)",
                col.name.value
            )));
        }
        None => {}
    }
    let string = [
        "text",
        "varchar",
        "character varying",
        "char",
        "character",
        "bpchar",
        "name",
    ]
    .iter()
    .any(|t| declared == *t || declared.starts_with(&format!("{t}(")));
    let collated = col
        .options
        .iter()
        .any(|o| matches!(o.option, ast::ColumnOption::Collation(_)));
    if string && !collated {
        col.options.insert(
            0,
            ast::ColumnOptionDef {
                name: None,
                option: ast::ColumnOption::Collation(ast::ObjectName::from(vec![ast::Ident::new(
                    "%EXACT",
                )])),
            },
        );
        changed = true;
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
