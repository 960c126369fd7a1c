//! Where IRIS SQL means something else than PostgreSQL, or refuses what
//! PostgreSQL accepts, inside queries and expressions (the rules and their
//! sources are in `tests/iris_standin/iris/rules.py` and the notes it cites):
//!
//! - IRIS has no boolean values: a predicate where a value is expected (the
//!   select list, a function argument, a CASE result) becomes
//!   `CASE WHEN p THEN 1 WHEN NOT p THEN 0 END`, so NULL stays NULL; a bare
//!   column or literal where a condition is expected becomes `x = 1`
//!   (SQLCODE -14 otherwise);
//! - `IS [NOT] TRUE/FALSE/UNKNOWN` and `IS [NOT] DISTINCT FROM` (IRIS's IS
//!   takes only NULL) are spelled out with `=`, `COALESCE` and `IS NULL`;
//! - `%` is no IRIS operator: `MOD(a, b)`;
//! - `/` of two integers truncates in PostgreSQL (`7/2` = 3) but not in IRIS
//!   (3.5): where both sides are known integers (integer literals, casts to
//!   integer types and arithmetic of those) the quotient is cast to INTEGER,
//!   which truncates toward zero as PostgreSQL does (`-7/2` = -3). IRIS's
//!   own integer division `\` would do too, but the strict stand-in does not
//!   know it, so it could not be tested here. Columns are not typed at
//!   translation time, so `a / b` of integer columns is still IRIS's division;
//! - NULL order: PostgreSQL puts NULLs last ascending and first descending,
//!   IRIS the other way round, and IRIS has no `NULLS FIRST/LAST`: where the
//!   orders differ an extra sort key `CASE WHEN x IS NULL THEN 1 ELSE 0 END`
//!   goes first;
//! - a multi-row `VALUES` in an INSERT becomes `SELECT … UNION ALL SELECT …`
//!   (IRIS inserts one row per VALUES, DOC(RSQL_insert) "Multi-Row Inserts:
//!   INSERT INTO table query"); parameters keep their text order;
//! - what IRIS cannot express is refused with 0A000 naming it:
//!   `FOR UPDATE/SHARE`, `INTERVAL` values.

use std::ops::ControlFlow;

use sqlparser::ast::{
    self, BinaryOperator, Expr, FunctionArguments, Query, Select, SelectItem, SetExpr, Statement,
    UnaryOperator, VisitMut, VisitorMut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::TranslateError;
use super::exprs::call;

/// Applies the rewrites above to `stmt`. Returns whether anything changed.
pub(crate) fn rewrite(stmt: &mut Statement) -> Result<bool, TranslateError> {
    let mut v = Semantics { changed: false };
    match stmt.visit(&mut v) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(v.changed),
    }
}

struct Semantics {
    changed: bool,
}

impl VisitorMut for Semantics {
    type Break = TranslateError;

    fn pre_visit_statement(&mut self, stmt: &mut Statement) -> ControlFlow<TranslateError> {
        match stmt {
            Statement::Insert(ins) => {
                if let Some(src) = ins.source.as_mut() {
                    self.changed |= values_as_union(src);
                }
            }
            Statement::Update(u) => {
                if let Some(sel) = u.selection.as_mut() {
                    self.changed |= as_condition(sel);
                }
                for a in u.assignments.iter_mut() {
                    self.changed |= as_value(&mut a.value);
                }
            }
            Statement::Delete(d) => {
                if let Some(sel) = d.selection.as_mut() {
                    self.changed |= as_condition(sel);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<TranslateError> {
        if !q.locks.is_empty() {
            return ControlFlow::Break(TranslateError::Unsupported(
                "SELECT ... FOR UPDATE/SHARE on IRIS (IRIS has no row-locking clause)".into(),
            ));
        }
        self.changed |= null_order(q);
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &mut Select) -> ControlFlow<TranslateError> {
        for item in s.projection.iter_mut() {
            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                self.changed |= as_value(e);
            }
        }
        for cond in [s.selection.as_mut(), s.having.as_mut()]
            .into_iter()
            .flatten()
        {
            self.changed |= as_condition(cond);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<TranslateError> {
        match rewrite_expr(e) {
            Ok(changed) => {
                self.changed |= changed;
                ControlFlow::Continue(())
            }
            Err(x) => ControlFlow::Break(x),
        }
    }
}

fn rewrite_expr(e: &mut Expr) -> Result<bool, TranslateError> {
    let n = |s: &str| Expr::value(ast::Value::Number(s.into(), false));
    let new = match e {
        Expr::Interval(_) => {
            return Err(TranslateError::Unsupported(
                "INTERVAL values on IRIS (use DATEADD/DATEDIFF)".into(),
            ));
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Modulo,
            right,
        } => call("MOD", vec![take(left), take(right)]),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Divide,
            right,
        } if is_integer(left) && is_integer(right) => Expr::Cast {
            kind: ast::CastKind::Cast,
            expr: Box::new(Expr::Nested(Box::new(take(e)))),
            data_type: ast::DataType::Integer(None),
            format: None,
        },
        Expr::IsTrue(x) => cmp(coalesce(truth(take(x)), n("0")), BinaryOperator::Eq, n("1")),
        Expr::IsNotTrue(x) => cmp(
            coalesce(truth(take(x)), n("0")),
            BinaryOperator::NotEq,
            n("1"),
        ),
        Expr::IsFalse(x) => cmp(coalesce(truth(take(x)), n("1")), BinaryOperator::Eq, n("0")),
        Expr::IsNotFalse(x) => cmp(
            coalesce(truth(take(x)), n("1")),
            BinaryOperator::NotEq,
            n("0"),
        ),
        Expr::IsUnknown(x) => Expr::IsNull(Box::new(truth(take(x)))),
        Expr::IsNotUnknown(x) => Expr::IsNotNull(Box::new(truth(take(x)))),
        Expr::IsDistinctFrom(a, b) => not(same(take(a), take(b))),
        Expr::IsNotDistinctFrom(a, b) => same(take(a), take(b)),
        // Conditions: the operands of AND, OR, NOT and the WHENs of a CASE.
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And | BinaryOperator::Or,
            right,
        } => return Ok(as_condition(left) | as_condition(right)),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => return Ok(as_condition(expr)),
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let mut changed = false;
            for w in conditions.iter_mut() {
                if operand.is_none() {
                    changed |= as_condition(&mut w.condition);
                }
                changed |= as_value(&mut w.result);
            }
            if let Some(x) = else_result {
                changed |= as_value(x);
            }
            return Ok(changed);
        }
        Expr::Function(f) => {
            date_trunc_part(f)?;
            let mut changed = false;
            if let FunctionArguments::List(list) = &mut f.args {
                for arg in list.args.iter_mut() {
                    if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)) = arg {
                        changed |= as_value(a);
                    }
                }
            }
            return Ok(changed);
        }
        _ => return Ok(false),
    };
    *e = new;
    Ok(true)
}

/// `DATE_TRUNC` is IRIS SQL too, with IRIS's date parts only
/// (DOC(RSQL_datetrunc)): the parts PostgreSQL has beyond them are refused.
fn date_trunc_part(f: &ast::Function) -> Result<(), TranslateError> {
    if !f.name.to_string().eq_ignore_ascii_case("date_trunc") {
        return Ok(());
    }
    let FunctionArguments::List(list) = &f.args else {
        return Ok(());
    };
    if let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Value(v)))) =
        list.args.first()
        && let ast::Value::SingleQuotedString(part) = &v.value
    {
        let part = part.to_ascii_lowercase();
        if matches!(
            part.as_str(),
            "decade" | "century" | "millennium" | "isoyear"
        ) {
            return Err(TranslateError::Unsupported(format!(
                "date_trunc('{part}', ...) on IRIS (IRIS's DATE_TRUNC has no {part})"
            )));
        }
    }
    Ok(())
}

/// Whether `e` is a predicate: an expression IRIS accepts only as a condition.
fn is_predicate(e: &Expr) -> bool {
    match e {
        Expr::BinaryOp { op, .. } => matches!(
            op,
            BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq
                | BinaryOperator::And
                | BinaryOperator::Or
        ),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            ..
        } => true,
        Expr::Nested(inner) => is_predicate(inner),
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsNotTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_)
        | Expr::IsDistinctFrom(..)
        | Expr::IsNotDistinctFrom(..)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::SimilarTo { .. }
        | Expr::Exists { .. } => true,
        _ => false,
    }
}

/// A predicate where a value belongs becomes 1, 0 or NULL.
fn as_value(e: &mut Expr) -> bool {
    if !is_predicate(e) {
        return false;
    }
    *e = truth(take(e));
    true
}

/// A bare value where a condition belongs (`WHERE flag`) becomes `flag = 1`.
fn as_condition(e: &mut Expr) -> bool {
    let bare = match e {
        Expr::Nested(inner) => return as_condition(inner),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
        Expr::Value(v) => matches!(v.value, ast::Value::Boolean(_)),
        _ => false,
    };
    if bare {
        *e = cmp(
            take(e),
            BinaryOperator::Eq,
            Expr::value(ast::Value::Number("1".into(), false)),
        );
    }
    bare
}

/// The 1/0/NULL value of a predicate, or `e` itself when it is a value.
fn truth(e: Expr) -> Expr {
    if !is_predicate(&e) {
        return e;
    }
    let n = |s: &str| Expr::value(ast::Value::Number(s.into(), false));
    Expr::Case {
        case_token: ast::helpers::attached_token::AttachedToken::empty(),
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![
            ast::CaseWhen {
                condition: e.clone(),
                result: n("1"),
            },
            ast::CaseWhen {
                condition: not(e),
                result: n("0"),
            },
        ],
        else_result: None,
    }
}

/// `a IS NOT DISTINCT FROM b`, never NULL.
fn same(a: Expr, b: Expr) -> Expr {
    let both_set = and(
        and(
            cmp(a.clone(), BinaryOperator::Eq, b.clone()),
            Expr::IsNotNull(Box::new(a.clone())),
        ),
        Expr::IsNotNull(Box::new(b.clone())),
    );
    let both_null = and(Expr::IsNull(Box::new(a)), Expr::IsNull(Box::new(b)));
    Expr::Nested(Box::new(Expr::BinaryOp {
        left: Box::new(both_set),
        op: BinaryOperator::Or,
        right: Box::new(both_null),
    }))
}

fn cmp(a: Expr, op: BinaryOperator, b: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(a),
        op,
        right: Box::new(b),
    }
}

fn and(a: Expr, b: Expr) -> Expr {
    cmp(a, BinaryOperator::And, b)
}

fn not(e: Expr) -> Expr {
    let e = match e {
        Expr::Nested(_) | Expr::Identifier(_) => e,
        other => Expr::Nested(Box::new(other)),
    };
    Expr::UnaryOp {
        op: UnaryOperator::Not,
        expr: Box::new(e),
    }
}

fn coalesce(e: Expr, default: Expr) -> Expr {
    call("COALESCE", vec![e, default])
}

/// Whether `e` is known to be an integer without knowing any column's type.
fn is_integer(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(&v.value, ast::Value::Number(s, _) if s.bytes().all(|b| b.is_ascii_digit())),
        Expr::Nested(inner) => is_integer(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => is_integer(expr),
        Expr::Cast { data_type, .. } => matches!(
            data_type.to_string().to_ascii_lowercase().as_str(),
            "int" | "integer" | "int2" | "int4" | "int8" | "smallint" | "bigint"
        ),
        Expr::BinaryOp { left, op, right } => {
            matches!(
                op,
                BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply
            ) && is_integer(left)
                && is_integer(right)
        }
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("mod") => match &f.args {
            FunctionArguments::List(l) => l.args.iter().all(|a| {
                matches!(a, ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) if is_integer(x))
            }),
            _ => false,
        },
        _ => false,
    }
}

/// Adds the sort keys that give PostgreSQL's NULL order (see the module
/// docs). Keys over pgvector distances are left alone: the top-k shape an
/// HNSW index serves must stay as it is, and distances are not NULL.
fn null_order(q: &mut Query) -> bool {
    let Some(ast::OrderBy {
        kind: ast::OrderByKind::Expressions(keys),
        ..
    }) = q.order_by.as_mut()
    else {
        return false;
    };
    let projection = match q.body.as_ref() {
        SetExpr::Select(s) => Some(&s.projection),
        // The keys of a UNION name its result columns: no expression over them.
        _ => None,
    };
    let mut changed = false;
    let mut out = Vec::with_capacity(keys.len());
    for mut key in keys.drain(..) {
        let desc = matches!(key.options.sort, Some(ast::OrderBySort::Desc));
        let nulls_first = key.options.nulls_first.unwrap_or(desc);
        changed |= key.options.nulls_first.take().is_some();
        let text = key.expr.to_string();
        let vector = ["<->", "<=>", "<#>", "distance", "inner_product"]
            .iter()
            .any(|w| text.to_ascii_lowercase().contains(w));
        // IRIS puts NULL first ascending and last descending: a key is
        // needed where PostgreSQL wants NULLs last ascending (its default)
        // or first descending (its default too).
        if nulls_first == desc
            && !vector
            && let Some(projection) = projection
            && let Some(x) = sort_value(&key.expr, projection)
        {
            let (is_null, other) = if nulls_first { ("0", "1") } else { ("1", "0") };
            let n = |s: &str| Expr::value(ast::Value::Number(s.into(), false));
            out.push(ast::OrderByExpr {
                expr: Expr::Case {
                    case_token: ast::helpers::attached_token::AttachedToken::empty(),
                    end_token: ast::helpers::attached_token::AttachedToken::empty(),
                    operand: None,
                    conditions: vec![ast::CaseWhen {
                        condition: Expr::IsNull(Box::new(x)),
                        result: n(is_null),
                    }],
                    else_result: Some(Box::new(n(other))),
                },
                options: ast::OrderByOptions {
                    sort: None,
                    nulls_first: None,
                },
                with_fill: None,
            });
            changed = true;
        }
        out.push(key);
    }
    *keys = out;
    changed
}

/// The expression an ORDER BY key sorts by: a select-list position or alias
/// stands for its item's expression.
fn sort_value(key: &Expr, projection: &[SelectItem]) -> Option<Expr> {
    let item_expr = |item: &SelectItem| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e.clone()),
        _ => None,
    };
    match key {
        Expr::Value(v) => match &v.value {
            ast::Value::Number(s, _) => {
                let i: usize = s.parse().ok()?;
                item_expr(projection.get(i.checked_sub(1)?)?)
            }
            _ => None,
        },
        Expr::Identifier(id) => {
            let aliased = projection.iter().find_map(|item| match item {
                SelectItem::ExprWithAlias { expr, alias } if alias.value == id.value => {
                    Some(expr.clone())
                }
                _ => None,
            });
            Some(aliased.unwrap_or_else(|| key.clone()))
        }
        _ => Some(key.clone()),
    }
}

/// `VALUES (a), (b)` → `SELECT a UNION ALL SELECT b`.
fn values_as_union(src: &mut Query) -> bool {
    let SetExpr::Values(values) = src.body.as_ref() else {
        return false;
    };
    if values.rows.len() < 2 {
        return false;
    }
    let sql = values
        .rows
        .iter()
        .map(|row| {
            let items: Vec<String> = row.content.iter().map(ToString::to_string).collect();
            format!("SELECT {}", items.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    match Parser::parse_sql(&PostgreSqlDialect {}, &sql)
        .ok()
        .as_deref()
    {
        Some([Statement::Query(q)]) => {
            src.body = q.body.clone();
            true
        }
        _ => false,
    }
}

/// Moves the expression out of `e`, leaving a NULL in its place.
fn take(e: &mut Expr) -> Expr {
    std::mem::replace(e, Expr::value(ast::Value::Null))
}
