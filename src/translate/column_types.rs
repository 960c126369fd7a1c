//! PostgreSQL's typing rules for result columns: the type a literal, cast,
//! operator or known function has ([`expr_type`]), the shape of a type only
//! the catalog can settle ([`TypeExpr`], for `sum(price)` or `qty + 1`),
//! and the name PostgreSQL gives an unaliased column ([`pg_column_name`]).

use pgwire::api::Type;
use sqlparser::ast::{self, BinaryOperator, DataType, Expr, FunctionArguments};

use super::exprs::{column_of, fold_ident, is_comparison, placeholder_index};
use super::vector::VectorOp;
use crate::pgtypes::mapping::{self as types, ColumnType};

/// How a result column's type follows from its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TypeExpr {
    Known(Type),
    Column {
        table: Option<String>,
        column: String,
    },
    /// A `$n` parameter (zero-based), typed at Parse.
    Param(usize),
    Aggregate(Aggregate, Box<TypeExpr>),
    Arith(ArithOp, Box<TypeExpr>, Box<TypeExpr>),
    Unknown,
}

impl TypeExpr {
    /// Whether any leaf satisfies `leaf` (to know if the catalog or the
    /// parameter types are needed).
    pub(crate) fn any_leaf(&self, leaf: &dyn Fn(&TypeExpr) -> bool) -> bool {
        match self {
            TypeExpr::Aggregate(_, a) => a.any_leaf(leaf),
            TypeExpr::Arith(_, a, b) => a.any_leaf(leaf) || b.any_leaf(leaf),
            other => leaf(other),
        }
    }

    pub(crate) fn mentions_column(&self) -> bool {
        self.any_leaf(&|e| matches!(e, TypeExpr::Column { .. }))
    }

    pub(crate) fn mentions_param(&self) -> bool {
        self.any_leaf(&|e| matches!(e, TypeExpr::Param(_)))
    }

    /// The type PostgreSQL gives this expression; `leaf` types columns and
    /// parameters. `None` where the rules here do not decide.
    pub(crate) fn resolve(
        &self,
        leaf: &dyn Fn(&TypeExpr) -> Option<ColumnType>,
    ) -> Option<ColumnType> {
        match self {
            TypeExpr::Known(t) => Some(ColumnType::of(t.clone())),
            TypeExpr::Column { .. } | TypeExpr::Param(_) => leaf(self),
            TypeExpr::Unknown => None,
            TypeExpr::Aggregate(agg, arg) => {
                let a = arg.resolve(leaf)?;
                Some(match (agg, &a.ty) {
                    (Aggregate::MinMax, _) => a,
                    (Aggregate::Sum, &Type::INT2 | &Type::INT4) => ColumnType::of(Type::INT8),
                    (Aggregate::Sum, &Type::INT8) => ColumnType {
                        ty: Type::NUMERIC,
                        scale: Some(0),
                    },
                    (Aggregate::Sum, &Type::FLOAT4 | &Type::FLOAT8 | &Type::NUMERIC) => a,
                    (Aggregate::Avg, &Type::INT2 | &Type::INT4 | &Type::INT8) => {
                        ColumnType::of(Type::NUMERIC)
                    }
                    (Aggregate::Avg, &Type::FLOAT4 | &Type::FLOAT8) => ColumnType::of(Type::FLOAT8),
                    (Aggregate::Avg, &Type::NUMERIC) => ColumnType::of(Type::NUMERIC),
                    _ => return None,
                })
            }
            TypeExpr::Arith(op, l, r) => {
                let (a, b) = (l.resolve(leaf)?, r.resolve(leaf)?);
                let rank = |t: &Type| match *t {
                    Type::INT2 | Type::INT4 => Some(0),
                    Type::INT8 => Some(1),
                    Type::NUMERIC => Some(2),
                    Type::FLOAT4 | Type::FLOAT8 => Some(3),
                    _ => None,
                };
                let (ra, rb) = (rank(&a.ty)?, rank(&b.ty)?);
                Some(match ra.max(rb) {
                    0 => ColumnType::of(Type::INT4),
                    1 => ColumnType::of(Type::INT8),
                    3 => ColumnType::of(Type::FLOAT8),
                    _ => {
                        // Integers act as numeric with scale 0.
                        let sa = if ra == 2 { a.scale } else { Some(0) };
                        let sb = if rb == 2 { b.scale } else { Some(0) };
                        let scale = match (op, sa, sb) {
                            (ArithOp::Additive, Some(x), Some(y)) => Some(x.max(y)),
                            (ArithOp::Multiply, Some(x), Some(y)) => Some(x + y),
                            _ => None,
                        };
                        ColumnType {
                            ty: Type::NUMERIC,
                            scale,
                        }
                    }
                })
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggregate {
    Sum,
    Avg,
    /// Functions whose result has their argument's type (`min`, `max`, `abs`, ...).
    MinMax,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Additive,
    Multiply,
    Divide,
}

/// The shape of an expression's type, for what only the catalog can settle
/// (`sum(price)`, `qty + 1`).
pub(crate) fn type_expr(e: &Expr) -> TypeExpr {
    if let Some(ty) = expr_type(e) {
        return TypeExpr::Known(ty);
    }
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => match column_of(e) {
            Some((table, column)) => TypeExpr::Column { table, column },
            None => TypeExpr::Unknown,
        },
        Expr::Nested(inner) => type_expr(inner),
        Expr::Value(_) => match placeholder_index(e) {
            Some(p) => TypeExpr::Param(p),
            None => TypeExpr::Unknown,
        },
        Expr::UnaryOp { expr, .. } => type_expr(expr),
        Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Plus | BinaryOperator::Minus => ArithOp::Additive,
                BinaryOperator::Multiply => ArithOp::Multiply,
                BinaryOperator::Divide | BinaryOperator::Modulo => ArithOp::Divide,
                _ => return TypeExpr::Unknown,
            };
            TypeExpr::Arith(op, Box::new(type_expr(left)), Box::new(type_expr(right)))
        }
        Expr::Function(f) => {
            let agg = match f.name.to_string().to_ascii_lowercase().as_str() {
                "sum" => Aggregate::Sum,
                "avg" => Aggregate::Avg,
                "min" | "max" => Aggregate::MinMax,
                "abs" | "coalesce" | "round" | "greatest" | "least" => Aggregate::MinMax,
                _ => return TypeExpr::Unknown,
            };
            match &f.args {
                FunctionArguments::List(l) => match l.args.first() {
                    Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))) => {
                        TypeExpr::Aggregate(agg, Box::new(type_expr(arg)))
                    }
                    _ => TypeExpr::Unknown,
                },
                _ => TypeExpr::Unknown,
            }
        }
        _ => TypeExpr::Unknown,
    }
}

/// The type PostgreSQL gives an expression, where it follows from the text.
pub(crate) fn expr_type(e: &Expr) -> Option<Type> {
    match e {
        Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => Some(if n.contains(['.', 'e', 'E']) {
                Type::NUMERIC
            } else if n.parse::<i32>().is_ok() {
                Type::INT4
            } else if n.parse::<i64>().is_ok() {
                Type::INT8
            } else {
                Type::NUMERIC
            }),
            ast::Value::SingleQuotedString(_)
            | ast::Value::EscapedStringLiteral(_)
            | ast::Value::DollarQuotedString(_)
            | ast::Value::Null => Some(Type::TEXT),
            ast::Value::Boolean(_) => Some(Type::BOOL),
            _ => None,
        },
        Expr::Cast { data_type, .. } => types::from_sql_name(&data_type.to_string()),
        Expr::Nested(inner) => expr_type(inner),
        Expr::UnaryOp {
            op: ast::UnaryOperator::Not,
            ..
        }
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::Exists { .. } => Some(Type::BOOL),
        Expr::UnaryOp { expr, .. } => expr_type(expr),
        // pgvector's distances are double precision.
        Expr::BinaryOp { op, .. } if VectorOp::of(op).is_some() => Some(Type::FLOAT8),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And | BinaryOperator::Or => Some(Type::BOOL),
            op if is_comparison(op) => Some(Type::BOOL),
            BinaryOperator::StringConcat => Some(Type::TEXT),
            BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo => match (expr_type(left), expr_type(right)) {
                (Some(a), Some(b)) if a == b => Some(a),
                (Some(Type::INT8), Some(Type::INT4)) | (Some(Type::INT4), Some(Type::INT8)) => {
                    Some(Type::INT8)
                }
                (Some(Type::NUMERIC), Some(Type::INT4 | Type::INT8))
                | (Some(Type::INT4 | Type::INT8), Some(Type::NUMERIC)) => Some(Type::NUMERIC),
                _ => None,
            },
            _ => None,
        },
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            match name.as_str() {
                "count" => Some(Type::INT8),
                "pg_backend_pid" => Some(Type::INT4),
                "length" | "char_length" | "character_length" | "octet_length" | "strpos"
                | "position" => Some(Type::INT4),
                "lower" | "upper" | "concat" | "substr" | "substring" | "trim" | "ltrim"
                | "rtrim" | "replace" | "version" | "current_database" | "current_schema"
                | "current_user" | "session_user" | "user" | "current_role" | "current_catalog"
                | "md5" | "repeat" | "lpad" | "rpad" | "initcap" => Some(Type::TEXT),
                "now"
                | "current_timestamp"
                | "statement_timestamp"
                | "clock_timestamp"
                | "transaction_timestamp" => Some(Type::TIMESTAMPTZ),
                "avg" => Some(Type::NUMERIC),
                "random" | "l2_distance" | "cosine_distance" | "inner_product" => {
                    Some(Type::FLOAT8)
                }
                "vector_dims" => Some(Type::INT4),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The output column name PostgreSQL uses for an unaliased expression;
/// `None` means the backend's own label (plain column references).
pub(crate) fn pg_column_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => None,
        Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(fold_ident),
        Expr::Cast {
            expr, data_type, ..
        } => match pg_column_name(expr) {
            Some(n) if n != "?column?" => Some(n),
            _ if column_of(expr).is_some() => column_of(expr).map(|(_, c)| c),
            _ => Some(cast_type_label(data_type)),
        },
        Expr::Value(v) if matches!(v.value, ast::Value::Boolean(_)) => Some("bool".into()),
        Expr::Nested(inner) => pg_column_name(inner),
        _ => Some("?column?".into()),
    }
}

fn cast_type_label(dt: &DataType) -> String {
    match types::from_sql_name(&dt.to_string()) {
        Some(t) => t.name().to_owned(),
        None => dt.to_string().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::{Dialect, translate};

    #[test]
    fn literals_are_typed_as_postgresql_types_them() {
        let t = translate(
            "select 1, 1.5, 'x', true, 1::float8, count(*) from t",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            t.analysis().column_types,
            vec![
                Some(Type::INT4),
                Some(Type::NUMERIC),
                Some(Type::TEXT),
                Some(Type::BOOL),
                Some(Type::FLOAT8),
                Some(Type::INT8)
            ]
        );
        assert_eq!(
            t.analysis().column_names,
            vec![
                Some("?column?".into()),
                Some("?column?".into()),
                Some("?column?".into()),
                Some("bool".into()),
                Some("float8".into()),
                Some("count".into())
            ]
        );
    }

    #[test]
    fn computed_columns_follow_postgresql_type_rules() {
        let t = translate(
            "select sum(qty), sum(id), avg(qty), max(price), price * 2, qty + 1, price + qty, amount * 1.5 from t",
            Dialect::Sqlite,
        )
        .unwrap();
        let catalog = |e: &TypeExpr| match e {
            TypeExpr::Column { column, .. } => match column.as_str() {
                "qty" => Some(ColumnType::of(Type::INT4)),
                "id" => Some(ColumnType::of(Type::INT8)),
                "price" => Some(ColumnType {
                    ty: Type::NUMERIC,
                    scale: Some(2),
                }),
                "amount" => Some(ColumnType::of(Type::FLOAT8)),
                _ => None,
            },
            _ => None,
        };
        let got: Vec<Option<(Type, Option<u16>)>> = t
            .analysis()
            .column_exprs
            .iter()
            .map(|e| e.resolve(&catalog).map(|c| (c.ty, c.scale)))
            .collect();
        assert_eq!(
            got,
            vec![
                Some((Type::INT8, None)),
                Some((Type::NUMERIC, Some(0))),
                Some((Type::NUMERIC, None)),
                Some((Type::NUMERIC, Some(2))),
                Some((Type::NUMERIC, Some(2))),
                Some((Type::INT4, None)),
                Some((Type::NUMERIC, Some(2))),
                Some((Type::FLOAT8, None)),
            ]
        );
    }
}
