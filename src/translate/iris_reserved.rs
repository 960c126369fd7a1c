//! IRIS's SQL reserved words, and quoting them where PostgreSQL lets them
//! name a table, column or alias (`date`, `level`, `count`, `user`, ...).
//!
//! Source: InterSystems, "Reserved words (SQL)",
//! <https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_reservedwords>:
//! "You cannot use an SQL reserved word as an SQL identifier (such as the
//! name for a table, a column, an AS alias, or other entity), unless the
//! word is delimited with double quotes" (SQLCODE -1 otherwise). The same
//! list is carried by caretdev/sqlalchemy-iris (`sqlalchemy_iris/base.py`,
//! `RESERVED_WORDS`) and enforced by the strict stand-in
//! (`tests/iris_standin/iris/_reserved.py`). The `%` words are left out:
//! they cannot be mistaken for PostgreSQL names.

use std::ops::ControlFlow;

use sqlparser::ast::{self, Expr, Ident, SelectItem, Statement, VisitMut, VisitorMut};

/// IRIS's reserved words, upper case, sorted (for the binary search).
const RESERVED: &[&str] = &[
    "ABSOLUTE",
    "ADD",
    "ALL",
    "ALLOCATE",
    "ALTER",
    "AND",
    "ANY",
    "ARE",
    "AS",
    "ASC",
    "ASSERTION",
    "AT",
    "AUTHORIZATION",
    "AVG",
    "BEGIN",
    "BETWEEN",
    "BIT",
    "BIT_LENGTH",
    "BOTH",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHAR",
    "CHARACTER",
    "CHARACTER_LENGTH",
    "CHAR_LENGTH",
    "CHECK",
    "CLOSE",
    "COALESCE",
    "COLLATE",
    "COMMIT",
    "CONNECT",
    "CONNECTION",
    "CONSTRAINT",
    "CONSTRAINTS",
    "CONTINUE",
    "CONVERT",
    "CORRESPONDING",
    "COUNT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "CURSOR",
    "DATE",
    "DEALLOCATE",
    "DEC",
    "DECIMAL",
    "DECLARE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DESCRIPTOR",
    "DIAGNOSTICS",
    "DISCONNECT",
    "DISTINCT",
    "DOMAIN",
    "DOUBLE",
    "DROP",
    "ELSE",
    "END",
    "ENDEXEC",
    "ESCAPE",
    "EXCEPT",
    "EXCEPTION",
    "EXEC",
    "EXECUTE",
    "EXISTS",
    "EXTERNAL",
    "EXTRACT",
    "FALSE",
    "FETCH",
    "FIRST",
    "FLOAT",
    "FOR",
    "FOREIGN",
    "FOUND",
    "FROM",
    "FULL",
    "GET",
    "GLOBAL",
    "GO",
    "GOTO",
    "GRANT",
    "GROUP",
    "HAVING",
    "HOUR",
    "IDENTITY",
    "IMMEDIATE",
    "IN",
    "INDICATOR",
    "INITIALLY",
    "INNER",
    "INPUT",
    "INSENSITIVE",
    "INSERT",
    "INT",
    "INTEGER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "ISOLATION",
    "JOIN",
    "LANGUAGE",
    "LAST",
    "LEADING",
    "LEFT",
    "LEVEL",
    "LIKE",
    "LOCAL",
    "LOWER",
    "MATCH",
    "MAX",
    "MIN",
    "MINUTE",
    "MODULE",
    "NAMES",
    "NATIONAL",
    "NATURAL",
    "NCHAR",
    "NEXT",
    "NO",
    "NOT",
    "NULL",
    "NULLIF",
    "NUMERIC",
    "OCTET_LENGTH",
    "OF",
    "ON",
    "ONLY",
    "OPEN",
    "OPTION",
    "OR",
    "ORDER",
    "OUTER",
    "OUTPUT",
    "OVERLAPS",
    "PAD",
    "PARTIAL",
    "PREPARE",
    "PRESERVE",
    "PRIMARY",
    "PRIOR",
    "PRIVILEGES",
    "PROCEDURE",
    "PUBLIC",
    "READ",
    "REAL",
    "REFERENCES",
    "RELATIVE",
    "RESTRICT",
    "REVOKE",
    "RIGHT",
    "ROLE",
    "ROLLBACK",
    "ROWS",
    "SCHEMA",
    "SCROLL",
    "SECOND",
    "SECTION",
    "SELECT",
    "SESSION_USER",
    "SET",
    "SHARD",
    "SMALLINT",
    "SOME",
    "SPACE",
    "SQLERROR",
    "SQLSTATE",
    "STATISTICS",
    "SUBSTRING",
    "SUM",
    "SYSDATE",
    "SYSTEM_USER",
    "TABLE",
    "TEMPORARY",
    "THEN",
    "TIME",
    "TIMEZONE_HOUR",
    "TIMEZONE_MINUTE",
    "TO",
    "TOP",
    "TRAILING",
    "TRANSACTION",
    "TRIM",
    "TRUE",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "UPPER",
    "USER",
    "USING",
    "VALUES",
    "VARCHAR",
    "VARYING",
    "WHEN",
    "WHENEVER",
    "WHERE",
    "WITH",
    "WORK",
    "WRITE",
];

/// Reserved words that are niladic functions in IRIS SQL too (and in
/// PostgreSQL): a bare one in an expression is the function.
const NILADIC: &[&str] = &[
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "SESSION_USER",
    "SYSTEM_USER",
    "SYSDATE",
    "USER",
];

/// Whether IRIS needs `word` delimited to read it as a name.
pub(crate) fn is_reserved(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    RESERVED.binary_search(&upper.as_str()).is_ok()
}

/// Delimits `id` when IRIS reserves it. PostgreSQL folded an unquoted name
/// to lower case; the quoted name keeps that spelling (IRIS names are not
/// case-sensitive).
fn quote(id: &mut Ident) -> bool {
    if id.quote_style.is_some() || !is_reserved(&id.value) {
        return false;
    }
    id.value = id.value.to_lowercase();
    id.quote_style = Some('"');
    true
}

fn quote_name(name: &mut ast::ObjectName) -> bool {
    let mut changed = false;
    for part in name.0.iter_mut() {
        if let ast::ObjectNamePart::Identifier(id) = part {
            changed |= quote(id);
        }
    }
    changed
}

/// Quotes every reserved word `stmt` uses as a name. Returns whether
/// anything changed.
pub(crate) fn quote_reserved(stmt: &mut Statement) -> bool {
    let mut v = Quoter { changed: false };
    let _ = stmt.visit(&mut v);
    v.changed
}

struct Quoter {
    changed: bool,
}

impl VisitorMut for Quoter {
    type Break = ();

    fn pre_visit_statement(&mut self, stmt: &mut Statement) -> ControlFlow<()> {
        match stmt {
            Statement::CreateTable(ct) => {
                for col in ct.columns.iter_mut() {
                    self.changed |= quote(&mut col.name);
                }
            }
            Statement::Insert(ins) => {
                for col in ins.columns.iter_mut() {
                    self.changed |= quote_name(col);
                }
            }
            Statement::Update(u) => {
                for a in u.assignments.iter_mut() {
                    if let ast::AssignmentTarget::ColumnName(name) = &mut a.target {
                        self.changed |= quote_name(name);
                    }
                }
            }
            Statement::AlterTable(at) => {
                for op in at.operations.iter_mut() {
                    if let ast::AlterTableOperation::AddColumn { column_def, .. } = op {
                        self.changed |= quote(&mut column_def.name);
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, name: &mut ast::ObjectName) -> ControlFlow<()> {
        self.changed |= quote_name(name);
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &mut ast::Select) -> ControlFlow<()> {
        for item in s.projection.iter_mut() {
            if let SelectItem::ExprWithAlias { alias, .. } = item {
                self.changed |= quote(alias);
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        match e {
            Expr::Identifier(id) if !NILADIC.contains(&id.value.to_ascii_uppercase().as_str()) => {
                self.changed |= quote(id);
            }
            Expr::CompoundIdentifier(parts) => {
                for id in parts.iter_mut() {
                    self.changed |= quote(id);
                }
            }
            // The element type of `TO_VECTOR(x, FLOAT)` is a keyword, not a
            // name: undo the quoting its argument got above.
            Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("TO_VECTOR") => {
                if let ast::FunctionArguments::List(list) = &mut f.args
                    && let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                        Expr::Identifier(id),
                    ))) = list.args.get_mut(1)
                {
                    *id = Ident::new(id.value.to_ascii_uppercase());
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_is_sorted_upper_case_for_the_binary_search() {
        assert!(super::RESERVED.windows(2).all(|w| w[0] < w[1]));
        assert!(super::is_reserved("date") && super::is_reserved("Level"));
        assert!(!super::is_reserved("title"));
    }
}
