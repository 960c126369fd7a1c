//! The SQLite dialect of the embedded default: what SQLite needs beyond
//! the vector functions both backends share ([`vector`]).
//!
//! SQLite is loosely typed where PostgreSQL is strict, so casts and
//! division become functions the bridge worker registers (`pg_int`,
//! `pg_div`, ...), which fail as PostgreSQL does (`22P02`, `22012`)
//! instead of yielding a silent 0 or NULL. PostgreSQL's session keywords
//! (`current_user`, `now()`) become those functions too; `serial` becomes
//! SQLite's auto-incrementing `INTEGER PRIMARY KEY`, and a `vector(n)`
//! column gets a CHECK that validates what is stored in it.

use pgwire::api::Type;
use sqlparser::ast::{
    self, BinaryOperator, CastKind, DataType, Expr, FunctionArguments, Statement,
};

use super::exprs::call;
use super::vector;
use crate::pgtypes::mapping as types;

/// The statement-level rewrites for SQLite. Returns whether anything changed.
pub(crate) fn rewrite_statement(stmt: &mut Statement) -> bool {
    let mut changed = false;
    if let Statement::Query(q) = stmt {
        // Not counted as a change: the distance it orders by is always
        // rewritten too, by the expression pass.
        vector::nulls_last_for_distances(q);
    }
    if let Statement::CreateTable(ct) = stmt {
        for col in ct.columns.iter_mut() {
            // SQLite does not check declared types: pgvector's input checks
            // (syntax 22P02, dimensions 22000) run as a CHECK through TO_VECTOR.
            if vector::is_vector_type(&col.data_type) {
                let value = Expr::Identifier(col.name.clone());
                let mut args = vec![
                    value.clone(),
                    Expr::value(ast::Value::SingleQuotedString("FLOAT".into())),
                ];
                if let Some(n) = vector::vector_dims(&col.data_type) {
                    args.push(Expr::value(ast::Value::Number(n.to_owned(), false)));
                }
                let check = Expr::BinaryOp {
                    left: Box::new(Expr::IsNull(Box::new(value))),
                    op: BinaryOperator::Or,
                    right: Box::new(Expr::IsNotNull(Box::new(call("TO_VECTOR", args)))),
                };
                col.options.push(ast::ColumnOptionDef {
                    name: None,
                    option: ast::ColumnOption::Check(ast::CheckConstraint {
                        name: None,
                        expr: Box::new(check),
                        no_inherit: false,
                        enforced: None,
                    }),
                });
                changed = true;
            }
            let decl = col.data_type.to_string().to_ascii_lowercase();
            // Only `INTEGER PRIMARY KEY` auto-increments in SQLite.
            if matches!(
                decl.as_str(),
                "serial" | "serial4" | "bigserial" | "serial8" | "smallserial"
            ) {
                col.data_type = DataType::Integer(None);
                changed = true;
            }
        }
    }
    changed
}

/// The expression rewrites for SQLite. Returns whether `e` changed.
pub(crate) fn rewrite_expr(e: &mut Expr) -> bool {
    match e {
        Expr::Cast {
            kind,
            expr,
            data_type,
            ..
        } => {
            let target = types::from_sql_name(&data_type.to_string());
            let func = match target {
                // SQLite's date() keeps the date part of a timestamp text.
                Some(Type::DATE) => Some("date"),
                Some(Type::INT2 | Type::INT4 | Type::INT8 | Type::OID) => Some("pg_int"),
                Some(Type::FLOAT4 | Type::FLOAT8) => Some("pg_float"),
                Some(Type::NUMERIC) => Some("pg_numeric"),
                Some(Type::BOOL) => Some("pg_bool"),
                _ => None,
            };
            if let Some(f) = func {
                let inner = std::mem::replace(expr.as_mut(), Expr::value(ast::Value::Null));
                *e = call(f, vec![inner]);
                return true;
            }
            // Text-like and temporal types: SQLite stores them as text.
            let sqlite_type = match target {
                Some(Type::BYTEA) => DataType::Blob(None),
                _ => DataType::Text,
            };
            *data_type = sqlite_type;
            *kind = CastKind::Cast;
            true
        }
        Expr::BinaryOp { left, op, right }
            if matches!(op, BinaryOperator::Divide | BinaryOperator::Modulo)
                && !is_nonzero_literal(right) =>
        {
            let f = if matches!(op, BinaryOperator::Divide) {
                "pg_div"
            } else {
                "pg_mod"
            };
            let l = std::mem::replace(left.as_mut(), Expr::value(ast::Value::Null));
            let r = std::mem::replace(right.as_mut(), Expr::value(ast::Value::Null));
            *e = call(f, vec![l, r]);
            true
        }
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            let no_args = match &f.args {
                FunctionArguments::List(l) => l.args.is_empty(),
                FunctionArguments::None => true,
                FunctionArguments::Subquery(_) => false,
            };
            match name.as_str() {
                "now" | "localtimestamp" | "transaction_timestamp" | "statement_timestamp"
                    if no_args =>
                {
                    *e = Expr::Identifier(ast::Ident::new("CURRENT_TIMESTAMP"));
                    true
                }
                // Keywords PostgreSQL evaluates per session; the worker
                // registers them as SQLite functions.
                "current_user" | "session_user" | "user" | "current_role"
                    if matches!(f.args, FunctionArguments::None) =>
                {
                    *e = call("current_user", vec![]);
                    true
                }
                "current_catalog" if matches!(f.args, FunctionArguments::None) => {
                    *e = call("current_database", vec![]);
                    true
                }
                _ => false,
            }
        }
        Expr::Identifier(id)
            if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("current_schema") =>
        {
            *e = call("current_schema", vec![]);
            true
        }
        _ => false,
    }
}

fn is_nonzero_literal(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, ast::Value::Number(n, _) if n.parse::<f64>().map(|f| f != 0.0).unwrap_or(false)))
}
