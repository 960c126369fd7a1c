//! The AST rewrites, for a statement the cheap scan
//! ([`needs_rewrite`](super::needs_rewrite)) found something in and the
//! parser accepted.
//!
//! A few statements are not rewritten but replaced or answered locally
//! ([`special`]: `CREATE EXTENSION vector`, vector indexes). The rest go
//! through [`rewrite`]: first each dialect's statement-level rewrites
//! ([`iris`], [`sqlite`]), then `public.` names, then every expression,
//! where pgvector's operators and `ILIKE` are rewritten alike for both
//! backends before each dialect's own expression rewrites.

use std::ops::ControlFlow;

use sqlparser::ast::{self, Expr, Statement};

use super::exprs::call;
use super::vector::{self, VectorOp};
use super::{Dialect, TranslateError, iris, iris_reserved, sqlite};

/// Statements that are not rewritten expression by expression.
pub(crate) enum Special {
    Local(String),
    Text(String),
}

pub(crate) fn special(
    stmt: &mut Statement,
    dialect: Dialect,
) -> Result<Option<Special>, TranslateError> {
    match stmt {
        Statement::CreateExtension(ce) => {
            if ce.name.value.eq_ignore_ascii_case("vector") {
                // IRIS has VECTOR built in: nothing to install.
                Ok(Some(Special::Local("CREATE EXTENSION".into())))
            } else {
                Err(TranslateError::Unsupported(format!(
                    "the extension \"{}\" (only pgvector's \"vector\" is available)",
                    ce.name.value
                )))
            }
        }
        Statement::DropExtension(de)
            if de
                .names
                .iter()
                .all(|n| n.value.eq_ignore_ascii_case("vector")) =>
        {
            Ok(Some(Special::Local("DROP EXTENSION".into())))
        }
        // IRIS has no RELEASE: a savepoint lives until COMMIT, ROLLBACK or a
        // ROLLBACK TO an earlier one (DOC(RSQL_savepoint)). Releasing one is
        // answered here and the savepoint stays open in IRIS, so a later
        // ROLLBACK TO it still succeeds where PostgreSQL says 3B001.
        Statement::ReleaseSavepoint { .. } if dialect == Dialect::Iris => {
            Ok(Some(Special::Local("RELEASE".into())))
        }
        Statement::CreateIndex(ci) => {
            map_schema(&mut ci.table_name, dialect);
            match vector::create_index(ci, dialect)? {
                Some(vector::IndexPlan::Sql(sql)) => Ok(Some(Special::Text(sql))),
                Some(vector::IndexPlan::Accepted) => {
                    Ok(Some(Special::Local("CREATE INDEX".into())))
                }
                None => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// `public` is PostgreSQL's default schema: on IRIS it is the configured
/// schema (`SQLUser` by default), on SQLite the database itself.
fn map_schema(name: &mut ast::ObjectName, dialect: Dialect) {
    if name.0.len() == 2
        && name.0[0]
            .as_ident()
            .is_some_and(|i| i.value.eq_ignore_ascii_case("public"))
    {
        match dialect {
            Dialect::Iris => {
                name.0[0] = ast::ObjectNamePart::Identifier(ast::Ident::new(iris::IRIS_SCHEMA))
            }
            Dialect::Sqlite => {
                name.0.remove(0);
            }
        }
    }
}

/// Rewrites what the backend cannot run as PostgreSQL wrote it. Returns
/// whether anything changed.
pub(crate) fn rewrite(stmt: &mut Statement, dialect: Dialect) -> Result<bool, TranslateError> {
    let mut changed = match dialect {
        Dialect::Iris => iris::rewrite_statement(stmt)?,
        Dialect::Sqlite => sqlite::rewrite_statement(stmt),
    };
    let _ = ast::visit_relations_mut(stmt, |name| {
        let before = name.0.len();
        map_schema(name, dialect);
        changed |= name.0.len() != before || dialect == Dialect::Iris && before == 2;
        ControlFlow::<()>::Continue(())
    });
    let mut err = None;
    let _ = ast::visit_expressions_mut(stmt, |e| {
        match rewrite_expr(e, dialect) {
            Ok(true) => changed = true,
            Ok(false) => {}
            Err(x) => {
                err = Some(x);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    if let Some(e) = err {
        return Err(e);
    }
    // Last, so that no rewrite above meets a quoted name.
    if dialect == Dialect::Iris {
        changed |= iris_reserved::quote_reserved(stmt);
    }
    Ok(changed)
}

/// The rewrites both backends need, then the dialect's own.
fn rewrite_expr(e: &mut Expr, dialect: Dialect) -> Result<bool, TranslateError> {
    match e {
        Expr::Cast {
            expr, data_type, ..
        } if vector::is_vector_type(data_type) => {
            *e = vector::to_vector(take(expr), dialect);
            Ok(true)
        }
        Expr::BinaryOp { left, op, right } if VectorOp::of(op).is_some() => {
            let op = VectorOp::of(op).expect("checked by the guard");
            *e = vector::distance(op, take(left), take(right), dialect);
            Ok(true)
        }
        Expr::Function(f) if vector::function(f, dialect)?.is_some() => {
            *e = vector::function(f, dialect)?.expect("checked by the guard");
            Ok(true)
        }
        // Neither backend has ILIKE; lower-casing both sides is PostgreSQL's meaning.
        Expr::ILike {
            negated,
            expr,
            pattern,
            escape_char,
            any: false,
        } => {
            *e = Expr::Like {
                negated: *negated,
                any: false,
                expr: Box::new(call("LOWER", vec![take(expr)])),
                pattern: Box::new(call("LOWER", vec![take(pattern)])),
                escape_char: escape_char.take(),
            };
            Ok(true)
        }
        _ => Ok(match dialect {
            Dialect::Iris => iris::rewrite_expr(e),
            Dialect::Sqlite => sqlite::rewrite_expr(e),
        }),
    }
}

/// Moves the expression out of `e`, leaving a NULL in its place.
fn take(e: &mut Expr) -> Expr {
    std::mem::replace(e, Expr::value(ast::Value::Null))
}
