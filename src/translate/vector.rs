//! pgvector → IRIS VECTOR SQL.
//!
//! Both backends receive IRIS's vector functions: IRIS natively, the
//! embedded SQLite default through functions of the same names that the
//! bridge worker registers (`TO_VECTOR`, `VECTOR_COSINE`,
//! `VECTOR_DOT_PRODUCT`, plus `iriswire_vector_l2` and `vector_dims`, which
//! IRIS lacks). The distances keep pgvector's meaning: `<=>` is a cosine
//! *distance* (`1 - VECTOR_COSINE`), `<#>` the *negative* inner product.

use std::ops::ControlFlow;

use sqlparser::ast::{
    self, BinaryOperator, DataType, Expr, LimitClause, OrderByKind, OrderBySort, Query, SetExpr,
    Statement, UnaryOperator,
};

use super::exprs::call;
use super::{Dialect, TranslateError};

/// pgvector's distance operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorOp {
    /// `<->`
    L2,
    /// `<=>`
    Cosine,
    /// `<#>`
    InnerProduct,
}

impl VectorOp {
    pub const ALL: [VectorOp; 3] = [VectorOp::L2, VectorOp::Cosine, VectorOp::InnerProduct];

    pub fn label(self) -> &'static str {
        match self {
            VectorOp::L2 => "l2",
            VectorOp::Cosine => "cosine",
            VectorOp::InnerProduct => "inner_product",
        }
    }

    /// The pgvector operator `op` is, if any.
    pub(crate) fn of(op: &BinaryOperator) -> Option<VectorOp> {
        use sqlparser::ast::BinaryOperator as B;
        match op {
            B::LtDashGt => Some(VectorOp::L2),
            B::Spaceship => Some(VectorOp::Cosine),
            B::Custom(s) if s == "<#>" => Some(VectorOp::InnerProduct),
            B::PGCustomBinaryOperator(parts) if parts.len() == 1 && parts[0] == "<#>" => {
                Some(VectorOp::InnerProduct)
            }
            _ => None,
        }
    }
}

/// How a statement uses a vector distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorUse {
    pub op: VectorOp,
    /// `ORDER BY <distance> LIMIT k`: the shape an HNSW index serves.
    pub top_k: bool,
}

/// Finds the vector distance operator a statement uses, preferring the one
/// its ORDER BY ranks by.
pub(crate) fn vector_use(stmt: &Statement) -> Option<VectorUse> {
    if let Statement::Query(q) = stmt
        && q.limit_clause.is_some()
        && let Some(order) = &q.order_by
        && let OrderByKind::Expressions(exprs) = &order.kind
        && let Some(Expr::BinaryOp { op, .. }) = exprs.first().map(|e| &e.expr)
        && let Some(op) = VectorOp::of(op)
    {
        return Some(VectorUse { op, top_k: true });
    }
    let mut found = None;
    let _ = ast::visit_expressions(stmt, |e| {
        let op = match e {
            Expr::BinaryOp { op, .. } => VectorOp::of(op),
            Expr::Function(f) => match f.name.to_string().to_ascii_lowercase().as_str() {
                "l2_distance" => Some(VectorOp::L2),
                "cosine_distance" => Some(VectorOp::Cosine),
                "inner_product" => Some(VectorOp::InnerProduct),
                _ => None,
            },
            _ => None,
        };
        if let Some(op) = op {
            found = Some(VectorUse { op, top_k: false });
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

/// `vector`, `vector(n)`: pgvector's type in a cast or a column.
pub(crate) fn is_vector_type(dt: &DataType) -> bool {
    matches!(dt, DataType::Custom(name, _) if name.to_string().eq_ignore_ascii_case("vector")
        || name.to_string().eq_ignore_ascii_case("public.vector"))
}

/// The declared dimension of `vector(n)`.
pub(crate) fn vector_dims(dt: &DataType) -> Option<&str> {
    match dt {
        DataType::Custom(_, mods) if mods.len() == 1 => Some(mods[0].as_str()),
        _ => None,
    }
}

/// The column type for the backend: `VECTOR(FLOAT, n)` on IRIS, where the
/// element type is configurable; SQLite keeps `vector(n)`, a declared type
/// the catalog maps back to pgvector's `vector`.
pub(crate) fn column_type(dt: &DataType, dialect: Dialect) -> Option<DataType> {
    if dialect != Dialect::Iris || !is_vector_type(dt) {
        return None;
    }
    let mut mods = vec![element_type().to_owned()];
    mods.extend(vector_dims(dt).map(str::to_owned));
    Some(DataType::Custom(
        ast::ObjectName::from(vec![ast::Ident::new("VECTOR")]),
        mods,
    ))
}

/// IRIS's element type for vectors made from pgvector's float4 values
/// (`iris.vector_element_type`; FLOAT needs IRIS 2025.1, DOUBLE works on
/// every version with VECTOR).
static ELEMENT_TYPE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Sets the element type once, at start-up; later calls are ignored.
pub(crate) fn set_element_type(name: &str) {
    if let Some(t) = crate::config::VECTOR_ELEMENT_TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(name))
    {
        let _ = ELEMENT_TYPE.set(t);
    }
}

pub(crate) fn element_type() -> &'static str {
    ELEMENT_TYPE.get().copied().unwrap_or("FLOAT")
}

fn number(n: &str) -> Expr {
    Expr::value(ast::Value::Number(n.into(), false))
}

/// `TO_VECTOR(x, FLOAT)` on IRIS; SQLite takes the type as a string.
pub(crate) fn to_vector(x: Expr, dialect: Dialect) -> Expr {
    let x = match (x, dialect) {
        // IRIS's TO_VECTOR reads comma-separated values: drop pgvector's brackets.
        (Expr::Value(v), Dialect::Iris) if matches!(&v.value, ast::Value::SingleQuotedString(s) if s.trim_start().starts_with('[')) =>
        {
            let ast::Value::SingleQuotedString(s) = &v.value else {
                unreachable!("matched above")
            };
            let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
            Expr::value(ast::Value::SingleQuotedString(inner.to_owned()))
        }
        (x, _) => x,
    };
    let ty = match dialect {
        Dialect::Iris => Expr::Identifier(ast::Ident::new(element_type())),
        // The embedded default stores pgvector's float4 values as they are.
        Dialect::Sqlite => Expr::value(ast::Value::SingleQuotedString("FLOAT".into())),
    };
    call("TO_VECTOR", vec![x, ty])
}

/// An operand of a distance: literals, parameters and `::vector` casts
/// become vectors; columns and expressions stay as they are.
fn operand(x: Expr, dialect: Dialect) -> Expr {
    match x {
        Expr::Value(ref v)
            if matches!(
                v.value,
                ast::Value::SingleQuotedString(_) | ast::Value::Placeholder(_)
            ) =>
        {
            to_vector(x, dialect)
        }
        Expr::Cast {
            expr, data_type, ..
        } if is_vector_type(&data_type) => to_vector(*expr, dialect),
        Expr::Nested(inner) => operand(*inner, dialect),
        other => other,
    }
}

fn nested(e: Expr) -> Expr {
    Expr::Nested(Box::new(e))
}

fn minus(l: Expr, r: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(l),
        op: BinaryOperator::Minus,
        right: Box::new(r),
    }
}

fn plus(l: Expr, r: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(l),
        op: BinaryOperator::Plus,
        right: Box::new(r),
    }
}

/// Euclidean distance. IRIS has no L2 function, so it is computed exactly
/// (in real arithmetic) from dot products: ‖a−b‖ = √(a·a + b·b − 2a·b);
/// `ABS` absorbs a rounding residue below zero for (near-)equal vectors.
fn l2(a: Expr, b: Expr, dialect: Dialect) -> Expr {
    match dialect {
        Dialect::Sqlite => call("iriswire_vector_l2", vec![a, b]),
        Dialect::Iris => {
            let dot = |x: &Expr, y: &Expr| call("VECTOR_DOT_PRODUCT", vec![x.clone(), y.clone()]);
            let two_ab = Expr::BinaryOp {
                left: Box::new(number("2")),
                op: BinaryOperator::Multiply,
                right: Box::new(dot(&a, &b)),
            };
            let sum = minus(plus(dot(&a, &a), dot(&b, &b)), two_ab);
            call("SQRT", vec![call("ABS", vec![sum])])
        }
    }
}

/// The backend expression of a pgvector distance.
pub(crate) fn distance(op: VectorOp, a: Expr, b: Expr, dialect: Dialect) -> Expr {
    let (a, b) = (operand(a, dialect), operand(b, dialect));
    match op {
        VectorOp::L2 => l2(a, b, dialect),
        VectorOp::Cosine => nested(minus(number("1"), call("VECTOR_COSINE", vec![a, b]))),
        VectorOp::InnerProduct => nested(Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: Box::new(call("VECTOR_DOT_PRODUCT", vec![a, b])),
        }),
    }
}

fn args(f: &ast::Function) -> Option<Vec<Expr>> {
    let ast::FunctionArguments::List(list) = &f.args else {
        return None;
    };
    list.args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// pgvector's functions; `None` for any other function.
pub(crate) fn function(
    f: &ast::Function,
    dialect: Dialect,
) -> Result<Option<Expr>, TranslateError> {
    let name = f.name.to_string().to_ascii_lowercase();
    let name = name.strip_prefix("public.").unwrap_or(&name);
    let two = |op| -> Result<Option<Expr>, TranslateError> {
        match args(f).as_deref() {
            Some([a, b]) => Ok(Some(distance(op, a.clone(), b.clone(), dialect))),
            _ => Err(TranslateError::Unsupported(format!(
                "{name}() with other than two vector arguments"
            ))),
        }
    };
    match name {
        "l2_distance" => two(VectorOp::L2),
        "cosine_distance" => two(VectorOp::Cosine),
        // pgvector's function is the plain inner product (only `<#>` negates it).
        "inner_product" => match args(f).as_deref() {
            Some([a, b]) => Ok(Some(call(
                "VECTOR_DOT_PRODUCT",
                vec![operand(a.clone(), dialect), operand(b.clone(), dialect)],
            ))),
            _ => Err(TranslateError::Unsupported(
                "inner_product() with other than two vector arguments".into(),
            )),
        },
        "vector_dims" => match (args(f).as_deref(), dialect) {
            (Some([a]), Dialect::Sqlite) => {
                Ok(Some(call("vector_dims", vec![operand(a.clone(), dialect)])))
            }
            _ => Err(TranslateError::Unsupported(
                "vector_dims() on IRIS (IRIS SQL has no function for a vector's length)".into(),
            )),
        },
        "l1_distance" | "vector_norm" | "l2_normalize" | "binary_quantize" | "subvector"
        | "hamming_distance" | "jaccard_distance" => Err(TranslateError::Unsupported(format!(
            "pgvector's {name}() (IRIS has no equivalent)"
        ))),
        _ => Ok(None),
    }
}

/// The index-friendly top-k shape for IRIS: `ORDER BY a <=> b LIMIT k`
/// becomes `SELECT TOP k ... ORDER BY VECTOR_COSINE(a, b) DESC`, the form
/// an HNSW index serves; `<#>` likewise with `VECTOR_DOT_PRODUCT`. Rows
/// and order are the same (cosine distance rises as similarity falls), and
/// a selected distance column is still a distance. A bound `LIMIT $n`
/// keeps `LIMIT ?` (TOP is given a constant) with the similarity order;
/// L2 and queries with an OFFSET keep `ORDER BY ... LIMIT`, which IRIS
/// runs as written.
/// Returns whether the query was reshaped.
pub(crate) fn top_k(q: &mut Query, dialect: Dialect) -> bool {
    if dialect != Dialect::Iris {
        return false;
    }
    let Some(LimitClause::LimitOffset {
        limit: Some(limit),
        offset: None,
        limit_by,
    }) = &q.limit_clause
    else {
        return false;
    };
    if !limit_by.is_empty() {
        return false;
    }
    let Some(order) = &mut q.order_by else {
        return false;
    };
    let OrderByKind::Expressions(exprs) = &mut order.kind else {
        return false;
    };
    let [first] = exprs.as_mut_slice() else {
        return false;
    };
    let Expr::BinaryOp { left, op, right } = &first.expr else {
        return false;
    };
    let similarity = match VectorOp::of(op) {
        Some(VectorOp::Cosine) => "VECTOR_COSINE",
        Some(VectorOp::InnerProduct) => "VECTOR_DOT_PRODUCT",
        _ => return false,
    };
    // Descending distance would be ascending similarity: not an index scan.
    if !matches!(first.options.sort, None | Some(OrderBySort::Asc)) {
        return false;
    }
    let SetExpr::Select(select) = q.body.as_mut() else {
        return false;
    };
    if select.top.is_some() || select.distinct.is_some() {
        return false;
    }
    let (a, b) = (
        operand((**left).clone(), dialect),
        operand((**right).clone(), dialect),
    );
    let constant = match limit {
        Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.parse::<u64>().ok(),
            _ => None,
        },
        _ => None,
    };
    first.expr = call(similarity, vec![a, b]);
    first.options.sort = Some(OrderBySort::Desc);
    // TOP takes a constant; a bound k keeps LIMIT ?, with the same ordering.
    if let Some(k) = constant {
        select.top = Some(ast::Top {
            with_ties: false,
            percent: false,
            quantity: Some(ast::TopQuantity::Constant(k)),
        });
        select.top_before_distinct = true;
        q.limit_clause = None;
    }
    true
}

/// SQLite sorts NULL first; PostgreSQL puts NULL distances (and pgvector's
/// NaN) last in ascending order.
pub(crate) fn nulls_last_for_distances(q: &mut Query) {
    let Some(order) = &mut q.order_by else {
        return;
    };
    let OrderByKind::Expressions(exprs) = &mut order.kind else {
        return;
    };
    for e in exprs {
        if let Expr::BinaryOp { op, .. } = &e.expr
            && VectorOp::of(op).is_some()
            && matches!(e.options.sort, None | Some(OrderBySort::Asc))
            && e.options.nulls_first.is_none()
        {
            e.options.nulls_first = Some(false);
        }
    }
}

/// `CREATE INDEX ... USING hnsw (col vector_cosine_ops) WITH (m = .., ef_construction = ..)`.
pub(crate) enum IndexPlan {
    /// The statement for the backend.
    Sql(String),
    /// Accepted without a backend index (the SQLite default scans).
    Accepted,
}

pub(crate) fn create_index(
    ci: &ast::CreateIndex,
    dialect: Dialect,
) -> Result<Option<IndexPlan>, TranslateError> {
    let using = ci
        .using
        .as_ref()
        .map(|u| u.to_string().to_ascii_lowercase());
    let method = match using.as_deref() {
        Some("hnsw") => "hnsw",
        Some("ivfflat") => {
            return Err(TranslateError::Unsupported(
                "ivfflat indexes (IRIS indexes vectors with HNSW only; use USING hnsw)".into(),
            ));
        }
        _ => return Ok(None),
    };
    let [column] = ci.columns.as_slice() else {
        return Err(TranslateError::Unsupported(format!(
            "a {method} index on other than one vector column"
        )));
    };
    let opclass = column
        .operator_class
        .as_ref()
        .map(|o| o.to_string().to_ascii_lowercase())
        .unwrap_or_else(|| "vector_l2_ops".into());
    let distance = match opclass.as_str() {
        "vector_cosine_ops" => "Cosine",
        "vector_ip_ops" => "DotProduct",
        "vector_l2_ops" => "L2",
        other => {
            return Err(TranslateError::Unsupported(format!(
                "the operator class {other} in an HNSW index"
            )));
        }
    };
    if dialect == Dialect::Sqlite {
        return Ok(Some(IndexPlan::Accepted));
    }
    if distance == "L2" {
        return Err(TranslateError::Unsupported(
            "an HNSW index for L2 distance (vector_l2_ops): IRIS HNSW indexes serve cosine (vector_cosine_ops) and dot product (vector_ip_ops)".into(),
        ));
    }
    let col = column.column.expr.to_string();
    let table = ci.table_name.to_string();
    let name = match &ci.name {
        Some(n) => n.to_string(),
        // PostgreSQL's default name.
        None => format!(
            "{}_{}_idx",
            ci.table_name
                .0
                .last()
                .map(|p| p.to_string())
                .unwrap_or_default()
                .trim_matches('"'),
            col.trim_matches('"')
        ),
    };
    let mut params = vec![format!("Distance='{distance}'")];
    for w in &ci.with {
        let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } = w
        else {
            return Err(TranslateError::Unsupported(format!("index option {w}")));
        };
        let key = left.to_string().to_ascii_lowercase();
        let iris_key = match key.as_str() {
            "m" => "M",
            "ef_construction" => "efConstruction",
            other => {
                return Err(TranslateError::Unsupported(format!(
                    "the HNSW option {other}"
                )));
            }
        };
        params.push(format!("{iris_key}={right}"));
    }
    Ok(Some(IndexPlan::Sql(format!(
        "CREATE INDEX {name} ON {table} ({col}) AS HNSW({})",
        params.join(", ")
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgtypes::mapping as types;
    use crate::translate::translate;

    #[test]
    fn vector_operators_are_recognised_with_their_top_k_form() {
        let v = |sql: &str| translate(sql, Dialect::Sqlite).unwrap().vector;
        assert_eq!(
            v("SELECT id FROM items ORDER BY embedding <-> '[1,2,3]' LIMIT 5"),
            Some(VectorUse {
                op: VectorOp::L2,
                top_k: true
            })
        );
        assert_eq!(
            v("SELECT id, embedding <=> $1 AS d FROM items"),
            Some(VectorUse {
                op: VectorOp::Cosine,
                top_k: false
            })
        );
        assert_eq!(
            v("SELECT id FROM items ORDER BY embedding <#> $1 LIMIT $2"),
            Some(VectorUse {
                op: VectorOp::InnerProduct,
                top_k: true
            })
        );
        assert_eq!(v("SELECT id FROM items ORDER BY id LIMIT 5"), None);
        let t = translate(
            "SELECT id FROM items ORDER BY embedding <=> $1 LIMIT $2",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(t.analysis().param_types[0], Some(types::VECTOR.clone()));
        assert_eq!(t.analysis().param_types[1], None);
    }
}
