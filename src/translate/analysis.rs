//! What a statement's text says about its parameters and result columns,
//! worked out from the parsed statement for describing them (`Parse`,
//! `Describe`): the type PostgreSQL would infer for each `$n`, the table
//! column a parameter is compared with or stored into (settled later
//! against the catalog), the tables named, and per result column what
//! [`column_types`](super::column_types) can tell.
//!
//! Nothing here changes the statement.

use std::ops::ControlFlow;

use pgwire::api::Type;
use sqlparser::ast::{self, Expr, FunctionArguments, SelectItem, SetExpr, Statement};

use super::column_types::{TypeExpr, expr_type, pg_column_name, type_expr};
use super::exprs::{column_of, fold_ident, is_comparison, placeholder_index};
use super::vector::VectorOp;
use crate::pgtypes::mapping as types;

/// What the statement text says about its parameters and result columns,
/// for describing them: worked out from the parsed statement.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Types PostgreSQL would infer for the parameters, where iriswire can tell.
    pub param_types: Vec<Option<Type>>,
    /// Parameters compared with or stored into a table column, for catalog lookup.
    pub(crate) param_columns: Vec<ParamColumn>,
    /// Tables the statement names, folded as PostgreSQL folds them.
    pub(crate) tables: Vec<String>,
    /// Per result column: the PostgreSQL type of literals, casts and known functions.
    pub(crate) column_types: Vec<Option<Type>>,
    /// Per result column: the type's shape, settled against the catalog when
    /// neither the text nor the backend's declared type decides it.
    pub(crate) column_exprs: Vec<TypeExpr>,
    /// Per result column: the name PostgreSQL gives an unaliased expression.
    pub(crate) column_names: Vec<Option<String>>,
    /// Whether the statement has a `RETURNING` clause.
    pub(crate) returning: bool,
    /// `$n::type` casts seen while analysing; folded into `param_types`.
    param_casts: Vec<(usize, Type)>,
}

impl Analysis {
    /// The name PostgreSQL gives result column `i` when it is not a plain
    /// column reference (`?column?`, `count`, `int4`, ...).
    pub(crate) fn column_name(&self, i: usize) -> Option<&str> {
        self.column_names.get(i).and_then(|n| n.as_deref())
    }

    /// The analysis of a parsed statement with `param_count` parameters.
    pub(crate) fn of(stmt: &mut Statement, param_count: usize) -> Analysis {
        let mut a = Analysis::default();
        analyse(stmt, &mut a);
        a.finish(param_count);
        a
    }

    /// Gives `param_types` one slot per parameter, filled from the types
    /// the statement implies for them (`$n::type`, a vector distance).
    pub(crate) fn finish(&mut self, param_count: usize) {
        self.param_types.resize(param_count, None);
        for (i, ty) in std::mem::take(&mut self.param_casts) {
            if i < param_count && self.param_types[i].is_none() {
                self.param_types[i] = Some(ty);
            }
        }
    }
}

/// A parameter whose type comes from a table column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamColumn {
    pub param: usize,
    pub table: Option<String>,
    pub column: String,
    /// For `INSERT INTO t VALUES (...)` without a column list: the position.
    pub position: Option<usize>,
}

/// Fills in result column types/names and parameter-to-column links.
pub(crate) fn analyse(stmt: &mut Statement, t: &mut Analysis) {
    match stmt {
        Statement::Query(q) => {
            if let SetExpr::Select(sel) = q.body.as_ref() {
                project(&sel.projection, t);
            }
        }
        Statement::Insert(ins) => {
            t.returning = ins.returning.is_some();
            if let Some(items) = &ins.returning {
                project(items, t);
            }
            let table = ins.table.to_string().to_lowercase();
            let cols: Vec<String> = ins
                .columns
                .iter()
                .map(|c| {
                    c.0.last()
                        .and_then(|p| p.as_ident())
                        .map(fold_ident)
                        .unwrap_or_default()
                })
                .collect();
            if let Some(src) = &ins.source
                && let SetExpr::Values(values) = src.body.as_ref()
            {
                for row in &values.rows {
                    for (i, e) in row.iter().enumerate() {
                        if let Some(p) = placeholder_index(e) {
                            t.param_columns.push(ParamColumn {
                                param: p,
                                table: Some(table.clone()),
                                column: cols.get(i).cloned().unwrap_or_default(),
                                position: cols.is_empty().then_some(i),
                            });
                        }
                    }
                }
            }
        }
        _ => {}
    }
    if let Statement::Delete(del) = stmt {
        t.returning = del.returning.is_some();
        if let Some(items) = &del.returning {
            project(items, t);
        }
    }
    // Comparisons and assignments anywhere: `col = $n`, `SET col = $n`.
    if let Statement::Update(upd) = stmt {
        t.returning = upd.returning.is_some();
        if let Some(items) = &upd.returning {
            project(items, t);
        }
        for a in &upd.assignments {
            if let (ast::AssignmentTarget::ColumnName(name), Some(p)) =
                (&a.target, placeholder_index(&a.value))
                && let Some(id) = name.0.last().and_then(|p| p.as_ident())
            {
                t.param_columns.push(ParamColumn {
                    param: p,
                    table: None,
                    column: fold_ident(id),
                    position: None,
                });
            }
        }
    }
    let mut links = Vec::new();
    let mut casts = Vec::new();
    let _ = ast::visit_expressions_mut(stmt, |e| {
        match e {
            Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                for (a, b) in [(&**left, &**right), (&**right, &**left)] {
                    if let (Some((table, column)), Some(p)) = (column_of(a), placeholder_index(b)) {
                        links.push(ParamColumn {
                            param: p,
                            table,
                            column,
                            position: None,
                        });
                    }
                }
            }
            // A parameter of a pgvector distance is a vector, as PostgreSQL infers.
            Expr::BinaryOp { left, op, right } if VectorOp::of(op).is_some() => {
                for side in [&**left, &**right] {
                    if let Some(p) = placeholder_index(side) {
                        casts.push((p, types::VECTOR.clone()));
                    }
                }
            }
            Expr::Function(f)
                if matches!(
                    f.name.to_string().to_ascii_lowercase().as_str(),
                    "l2_distance" | "cosine_distance" | "inner_product" | "vector_dims"
                ) =>
            {
                if let FunctionArguments::List(list) = &f.args {
                    for arg in &list.args {
                        if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)) = arg
                            && let Some(p) = placeholder_index(a)
                        {
                            casts.push((p, types::VECTOR.clone()));
                        }
                    }
                }
            }
            Expr::Cast {
                expr, data_type, ..
            } => {
                if let (Some(p), Some(ty)) = (
                    placeholder_index(expr),
                    types::from_sql_name(&data_type.to_string()),
                ) {
                    casts.push((p, ty));
                }
            }
            Expr::InList { expr, list, .. } => {
                if let Some((table, column)) = column_of(expr) {
                    for item in list.iter() {
                        if let Some(p) = placeholder_index(item) {
                            links.push(ParamColumn {
                                param: p,
                                table: table.clone(),
                                column: column.clone(),
                                position: None,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    t.param_columns.extend(links);
    t.param_casts = casts;
    let mut tables = Vec::new();
    let _ = ast::visit_relations(stmt, |rel| {
        if let Some(id) = rel.0.last().and_then(|p| p.as_ident()) {
            tables.push(fold_ident(id));
        }
        ControlFlow::<()>::Continue(())
    });
    t.tables = tables;
}

/// Records what PostgreSQL knows about each output column of a select
/// list or RETURNING list. A wildcard hides positions, so then nothing is
/// recorded and the backend's description decides.
pub(crate) fn project(items: &[SelectItem], t: &mut Analysis) {
    for item in items {
        let (e, name) = match item {
            SelectItem::UnnamedExpr(e) => (e, pg_column_name(e)),
            SelectItem::ExprWithAlias { expr, .. } => (expr, None),
            _ => {
                t.column_types.clear();
                t.column_names.clear();
                t.column_exprs.clear();
                return;
            }
        };
        t.column_types.push(expr_type(e));
        t.column_names.push(name);
        t.column_exprs.push(type_expr(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::{Dialect, StatementKind, translate};

    // The statement's backend SQL is a golden case in tests/translate/sqlite.sql.
    #[test]
    fn a_compared_parameter_links_to_its_column() {
        let t = translate(
            "select a::int, b / c, '2024-01-01'::date from t where id = $1",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            t.analysis().param_columns,
            vec![ParamColumn {
                param: 0,
                table: None,
                column: "id".into(),
                position: None
            }]
        );
    }

    #[test]
    fn placeholders_keep_order_and_cast_types() {
        let t = translate("select $2::int4 + $1::int8, $2", Dialect::Sqlite).unwrap();
        assert_eq!(t.param_count, 2);
        assert_eq!(t.param_order, vec![1, 0, 1]);
        assert_eq!(
            t.analysis().param_types,
            vec![Some(Type::INT8), Some(Type::INT4)]
        );
    }

    // The statement's backend SQL is a golden case in tests/translate/sqlite.sql.
    #[test]
    fn insert_parameters_link_to_columns() {
        let t = translate(
            "INSERT INTO items (id, name) VALUES ($1, $2)",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(t.kind, StatementKind::Insert);
        assert_eq!(t.analysis().param_columns.len(), 2);
        assert_eq!(t.analysis().param_columns[1].column, "name");
    }
}
