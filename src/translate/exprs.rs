//! Reading and building sqlparser expressions: the small pieces that the
//! analysis, the column typing and the rewrites share.

use sqlparser::ast::{self, BinaryOperator, Expr, FunctionArguments};

/// A call of the function `name`, for the rewrites to build with.
pub(crate) fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// The zero-based parameter a `$n` placeholder stands for.
pub(crate) fn placeholder_index(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(v) => match &v.value {
            ast::Value::Placeholder(p) => {
                p.strip_prefix('$')?.parse::<usize>().ok()?.checked_sub(1)
            }
            _ => None,
        },
        Expr::Nested(inner) => placeholder_index(inner),
        _ => None,
    }
}

/// The table (if qualified) and column a plain column reference names.
pub(crate) fn column_of(e: &Expr) -> Option<(Option<String>, String)> {
    match e {
        Expr::Identifier(id) => Some((None, fold_ident(id))),
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => Some((
            Some(fold_ident(&parts[parts.len() - 2])),
            fold_ident(&parts[parts.len() - 1]),
        )),
        _ => None,
    }
}

/// PostgreSQL folds unquoted identifiers to lower case.
pub(crate) fn fold_ident(id: &ast::Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

/// `=`, `<>`, `<`, `<=`, `>`, `>=`: operators whose operands share a type.
pub(crate) fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}
