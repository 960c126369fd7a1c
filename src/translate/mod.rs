//! PostgreSQL SQL → the backend's dialect (SQLite for the embedded default,
//! IRIS SQL for the IRIS drivers), plus what PostgreSQL would say about the
//! statement's types.
//!
//! Results are cached by statement text ([`cache::TranslationCache`]), so a
//! repeated statement costs one hash lookup.

pub mod cache;
pub mod lexer;

use std::ops::ControlFlow;
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use pgwire::api::Type;
use sqlparser::ast::{
    self, BinaryOperator, CastKind, DataType, Expr, FunctionArguments, SelectItem, SetExpr,
    Statement,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use thiserror::Error;

use crate::bridge::ColumnMeta;

pub mod vector;
use crate::pgtypes::mapping::{self as types, ColumnType};

/// Bind messages count parameters in an Int16.
pub const MAX_PARAMETERS: usize = 65535;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Iris,
}

/// What kind of statement this is, for command tags, transaction tracking
/// and statements answered by iriswire itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    Select,
    Insert,
    Update,
    Delete,
    Begin,
    Commit,
    Rollback,
    /// `SET name = value` / `SET name TO value` / `SET SESSION ...`
    Set,
    /// `SHOW name`
    Show,
    /// `RESET name` / `RESET ALL`
    Reset,
    Ddl,
    Other,
}

/// What the backend reported about a statement, valid while the schema
/// epoch it was taken at is current (any DDL through iriswire bumps it).
#[derive(Debug, Default)]
pub struct Described {
    pub epoch: u64,
    /// Declared result columns; `None` when the backend cannot tell.
    pub columns: Option<Arc<Vec<ColumnMeta>>>,
    /// Catalog-settled column types (see [`TypeExpr`]), per column.
    pub inferred: Vec<Option<ColumnType>>,
    /// Placeholder types from a `P`repare; `None` when unknown or not asked.
    pub params: Option<Vec<(String, i64)>>,
    /// Came from a `P`repare (not from an executed statement's `D` frame).
    pub prepared: bool,
}

/// What the statement text says about its parameters and result columns,
/// for describing them: worked out from the parsed statement.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Types PostgreSQL would infer for the parameters, where iriswire can tell.
    pub param_types: Vec<Option<Type>>,
    /// Parameters compared with or stored into a table column, for catalog lookup.
    pub param_columns: Vec<ParamColumn>,
    /// Tables the statement names, folded as PostgreSQL folds them.
    pub tables: Vec<String>,
    /// Per result column: the PostgreSQL type of literals, casts and known functions.
    pub column_types: Vec<Option<Type>>,
    /// Per result column: the type's shape, settled against the catalog when
    /// neither the text nor the backend's declared type decides it.
    pub column_exprs: Vec<TypeExpr>,
    /// Per result column: the name PostgreSQL gives an unaliased expression.
    pub column_names: Vec<Option<String>>,
    /// Whether the statement has a `RETURNING` clause.
    pub returning: bool,
    /// `$n::type` casts seen while analysing; folded into `param_types`.
    param_casts: Vec<(usize, Type)>,
}

impl Analysis {
    /// The name PostgreSQL gives result column `i` when it is not a plain
    /// column reference (`?column?`, `count`, `int4`, ...).
    pub fn column_name(&self, i: usize) -> Option<&str> {
        self.column_names.get(i).and_then(|n| n.as_deref())
    }

    fn of(stmt: &mut Statement, param_count: usize) -> Analysis {
        let mut a = Analysis::default();
        analyse(stmt, &mut a);
        a.finish(param_count);
        a
    }

    fn finish(&mut self, param_count: usize) {
        self.param_types.resize(param_count, None);
        for (i, ty) in std::mem::take(&mut self.param_casts) {
            if i < param_count && self.param_types[i].is_none() {
                self.param_types[i] = Some(ty);
            }
        }
    }
}

#[derive(Debug)]
pub struct Translation {
    /// Statement text for the backend, placeholders as `?`.
    pub backend_sql: String,
    /// For each `?` in `backend_sql`, the zero-based client parameter.
    pub param_order: Vec<usize>,
    /// Number of client parameters (`$n` max).
    pub param_count: usize,
    pub kind: StatementKind,
    /// The command tag's words (`SELECT`, `CREATE TABLE`, ...).
    pub tag: String,
    /// Whether the statement has a `RETURNING` clause.
    pub returning: bool,
    /// The pgvector distance operator the statement uses, if any, for the
    /// vector metrics.
    pub vector: Option<VectorUse>,
    /// Answered by iriswire with this command tag; the backend never sees
    /// it (`CREATE EXTENSION vector`, an HNSW index on the SQLite default).
    pub local_tag: Option<String>,
    /// The backend's description, cached with the translation so a
    /// repeated statement needs neither a lock nor a round trip for it.
    pub described: ArcSwapOption<Described>,
    /// Worked out when translating parsed the statement anyway (a
    /// rewrite), else on first use, from `source`: a statement with
    /// nothing to rewrite is not parsed until something must be described.
    analysis: std::sync::OnceLock<Analysis>,
    source: Option<Box<str>>,
}

impl Translation {
    /// The statement's parameter and result-column analysis.
    pub fn analysis(&self) -> &Analysis {
        self.analysis.get_or_init(|| {
            let parsed = self
                .source
                .as_deref()
                .and_then(|sql| Parser::parse_sql(&PostgreSqlDialect {}, sql).ok());
            match parsed {
                Some(mut stmts) if stmts.len() == 1 => {
                    Analysis::of(&mut stmts[0], self.param_count)
                }
                _ => {
                    let mut a = Analysis::default();
                    a.finish(self.param_count);
                    a
                }
            }
        })
    }

    /// The name PostgreSQL gives result column `i` (see [`Analysis::column_name`]).
    pub fn column_name(&self, i: usize) -> Option<&str> {
        self.analysis().column_name(i)
    }

    /// The cached description, if still valid at `epoch`.
    pub fn described_at(&self, epoch: u64) -> Option<Arc<Described>> {
        self.described.load_full().filter(|d| d.epoch == epoch)
    }
}

/// How a result column's type follows from its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
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
    pub fn any_leaf(&self, leaf: &dyn Fn(&TypeExpr) -> bool) -> bool {
        match self {
            TypeExpr::Aggregate(_, a) => a.any_leaf(leaf),
            TypeExpr::Arith(_, a, b) => a.any_leaf(leaf) || b.any_leaf(leaf),
            other => leaf(other),
        }
    }

    pub fn mentions_column(&self) -> bool {
        self.any_leaf(&|e| matches!(e, TypeExpr::Column { .. }))
    }

    pub fn mentions_param(&self) -> bool {
        self.any_leaf(&|e| matches!(e, TypeExpr::Param(_)))
    }

    /// The type PostgreSQL gives this expression; `leaf` types columns and
    /// parameters. `None` where the rules here do not decide.
    pub fn resolve(&self, leaf: &dyn Fn(&TypeExpr) -> Option<ColumnType>) -> Option<ColumnType> {
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
pub enum Aggregate {
    Sum,
    Avg,
    /// Functions whose result has their argument's type (`min`, `max`, `abs`, ...).
    MinMax,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Additive,
    Multiply,
    Divide,
}

/// A parameter whose type comes from a table column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamColumn {
    pub param: usize,
    pub table: Option<String>,
    pub column: String,
    /// For `INSERT INTO t VALUES (...)` without a column list: the position.
    pub position: Option<usize>,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum TranslateError {
    #[error("{0} is not supported by iriswire")]
    Unsupported(String),
    #[error("invalid escape sequence {0} in an E'' string")]
    InvalidEscape(String),
    #[error("unterminated quoted string")]
    UnterminatedString,
    #[error("there is no parameter ${0}")]
    NoParameter(usize),
}

impl TranslateError {
    pub fn sqlstate(&self) -> &'static str {
        match self {
            TranslateError::Unsupported(_) => "0A000",
            TranslateError::InvalidEscape(_) => "22025",
            TranslateError::UnterminatedString => "42601",
            TranslateError::NoParameter(_) => "42P02",
        }
    }
}

/// Classifies a statement and derives its command tag from the leading keywords.
pub fn classify(sql: &str) -> (StatementKind, String) {
    let kw = lexer::leading_keywords(sql, 3);
    let first = kw.first().map(String::as_str).unwrap_or("");
    let second = kw.get(1).map(String::as_str).unwrap_or("");
    use StatementKind::*;
    match first {
        "SELECT" | "VALUES" | "TABLE" => (Select, "SELECT".into()),
        "WITH" => {
            // The tag follows the main statement; find it lexically.
            let upper = sql.to_ascii_uppercase();
            for (k, kind) in [("INSERT", Insert), ("UPDATE", Update), ("DELETE", Delete)] {
                if upper.contains(&format!(") {k}")) || upper.contains(&format!(")\n{k}")) {
                    return (kind, k.into());
                }
            }
            (Select, "SELECT".into())
        }
        "INSERT" => (Insert, "INSERT".into()),
        "UPDATE" => (Update, "UPDATE".into()),
        "DELETE" => (Delete, "DELETE".into()),
        "BEGIN" => (Begin, "BEGIN".into()),
        "START" => (Begin, "START TRANSACTION".into()),
        "COMMIT" | "END" => (Commit, "COMMIT".into()),
        "ABORT" => (Rollback, "ROLLBACK".into()),
        "ROLLBACK" if second == "TO" => (Other, "ROLLBACK".into()),
        "ROLLBACK" => (Rollback, "ROLLBACK".into()),
        "SAVEPOINT" => (Other, "SAVEPOINT".into()),
        "RELEASE" => (Other, "RELEASE".into()),
        "SET" => (Set, "SET".into()),
        "SHOW" => (Show, "SHOW".into()),
        "RESET" => (Reset, "RESET".into()),
        "CREATE" | "DROP" | "ALTER" => {
            let mut words = vec![first.to_owned()];
            let mut rest = kw[1..].iter().map(String::as_str);
            let mut w = rest.next().unwrap_or("");
            if matches!(w, "UNIQUE" | "TEMP" | "TEMPORARY" | "OR") {
                w = if w == "OR" {
                    rest.next();
                    rest.next().unwrap_or("")
                } else {
                    rest.next().unwrap_or("")
                };
            }
            if !w.is_empty() {
                words.push(w.to_owned());
            }
            (Ddl, words.join(" "))
        }
        "TRUNCATE" => (Ddl, "TRUNCATE TABLE".into()),
        "" => (Other, String::new()),
        other => (Other, other.to_owned()),
    }
}

/// Translates one PostgreSQL statement for `dialect`.
pub fn translate(sql: &str, dialect: Dialect) -> Result<Translation, TranslateError> {
    let (kind, tag) = classify(sql);
    let mut t = Translation {
        backend_sql: String::new(),
        param_order: Vec::new(),
        param_count: 0,
        kind,
        tag,
        returning: false,
        vector: None,
        local_tag: None,
        described: ArcSwapOption::empty(),
        analysis: std::sync::OnceLock::new(),
        source: None,
    };
    let mut text = std::borrow::Cow::Borrowed(sql);
    let control = matches!(
        t.kind,
        StatementKind::Begin
            | StatementKind::Commit
            | StatementKind::Rollback
            | StatementKind::Set
            | StatementKind::Show
            | StatementKind::Reset
    );
    // The cheap scan: only a statement a rewrite could act on is parsed now.
    let mut parsed = None;
    if !control
        && needs_rewrite(sql)
        && let Ok(mut stmts) = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        && stmts.len() == 1
    {
        let stmt = &mut stmts[0];
        t.vector = vector_use(stmt);
        let mut a = Analysis::default();
        analyse(stmt, &mut a);
        t.returning = a.returning;
        parsed = Some(a);
        match special(stmt, dialect)? {
            Some(Special::Local(tag)) => t.local_tag = Some(tag),
            Some(Special::Text(sql)) => text = std::borrow::Cow::Owned(sql),
            // The bridge answers catalog queries from its own pg_catalog
            // emulation, in PostgreSQL's dialect.
            None if is_catalog_query(sql) => {}
            None => {
                if rewrite(stmt, dialect)? {
                    text = std::borrow::Cow::Owned(stmt.to_string());
                }
            }
        }
    }
    // Transaction control: SQLite knows only the bare forms; IRIS spells
    // the start START TRANSACTION. Isolation options are accepted, not applied.
    match (&t.kind, dialect) {
        (StatementKind::Begin, Dialect::Sqlite) => text = "BEGIN".into(),
        (StatementKind::Begin, Dialect::Iris) => text = "START TRANSACTION".into(),
        (StatementKind::Commit, _) => text = "COMMIT".into(),
        (StatementKind::Rollback, _) => text = "ROLLBACK".into(),
        _ => {}
    }
    if lexer::has_escape_strings(&text) {
        text = std::borrow::Cow::Owned(lexer::standard_strings(&text)?);
    }
    let (backend_sql, order) = lexer::positional_placeholders(&text);
    t.param_count = order.iter().map(|p| p + 1).max().unwrap_or(0);
    // The protocol counts parameters in 16 bits; a larger $n cannot be bound.
    if t.param_count > MAX_PARAMETERS {
        return Err(TranslateError::NoParameter(t.param_count));
    }
    match parsed {
        Some(mut a) => {
            a.finish(t.param_count);
            let _ = t.analysis.set(a);
        }
        None if control => {
            let mut a = Analysis::default();
            a.finish(t.param_count);
            let _ = t.analysis.set(a);
        }
        None => t.source = Some(sql.into()),
    }
    t.backend_sql = backend_sql;
    t.param_order = order;
    Ok(t)
}

fn placeholder_index(e: &Expr) -> Option<usize> {
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

fn column_of(e: &Expr) -> Option<(Option<String>, String)> {
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
fn fold_ident(id: &ast::Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

/// Records what PostgreSQL knows about each output column of a select
/// list or RETURNING list. A wildcard hides positions, so then nothing is
/// recorded and the backend's description decides.
fn project(items: &[SelectItem], t: &mut Analysis) {
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

/// The shape of an expression's type, for what only the catalog can settle
/// (`sum(price)`, `qty + 1`).
fn type_expr(e: &Expr) -> TypeExpr {
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

/// Fills in result column types/names and parameter-to-column links.
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

    fn of(op: &sqlparser::ast::BinaryOperator) -> Option<VectorOp> {
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
fn vector_use(stmt: &Statement) -> Option<VectorUse> {
    use sqlparser::ast::{Expr, OrderByKind};
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
    let _ = sqlparser::ast::visit_expressions(stmt, |e| {
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

fn analyse(stmt: &mut Statement, t: &mut Analysis) {
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

fn is_comparison(op: &BinaryOperator) -> bool {
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

/// The type PostgreSQL gives an expression, where it follows from the text.
fn expr_type(e: &Expr) -> Option<Type> {
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
fn pg_column_name(e: &Expr) -> Option<String> {
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

/// Rewrites what the backend cannot run as PostgreSQL wrote it. Returns
/// whether anything changed.
/// Words and operators any rewrite starts from (ASCII, matched without
/// case). A statement with none of them reaches the backend as written, so
/// the rewrite pass is skipped; a false "yes" only costs that pass.
const REWRITE_TRIGGERS: &[&[u8]] = &[
    b"::",
    b"<->",
    b"<=>",
    b"<#>",
    b"/",
    b"%",
    b"cast",
    b"ilike",
    b"true",
    b"false",
    b"public",
    b"vector",
    b"now",
    b"current_",
    b"user",
    b"localtime",
    b"_timestamp",
    b"serial",
    b"returning",
    b"conflict",
    b"distance",
    b"inner_product",
    b"norm",
    b"quantize",
    b"subvector",
    b"create",
    b"alter",
    b"hnsw",
    b"ivfflat",
    b"l2_",
];

static REWRITE_SCAN: std::sync::LazyLock<aho_corasick::AhoCorasick> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(REWRITE_TRIGGERS)
            .expect("static patterns")
    });

/// The cheap scan: does `sql` contain anything a rewrite could act on?
/// One pass over the text for all trigger words.
pub fn needs_rewrite(sql: &str) -> bool {
    REWRITE_SCAN.is_match(sql)
}

/// Relations and functions of PostgreSQL's catalog that the bridge's
/// catalog emulation answers (`pg_type` lookups by drivers and pgvector).
/// The same pattern as `_CATALOG_SQL` in iris/iriswire_worker/catalog.py, so both
/// sides agree on which statements are catalog statements.
static CATALOG_SQL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"(?i)\b(?:pg_catalog|information_schema)\s*\.|\bpg_(?:aggregate|am|amop|amproc",
        r"|attrdef|attribute|auth_members|authid|available_extensions",
        r"|available_extension_versions|cast|class|collation|constraint|conversion|cursors",
        r"|database|db_role_setting|default_acl|depend|description|enum|event_trigger",
        r"|extension|file_settings|foreign_data_wrapper|foreign_server|foreign_table|group",
        r"|hba_file_rules|index|indexes|inherits|init_privs|language|largeobject",
        r"|largeobject_metadata|locks|matviews|namespace|opclass|operator|opfamily",
        r"|partitioned_table|policies|policy|prepared_statements|prepared_xacts|proc",
        r"|publication|publication_namespace|publication_rel|publication_tables|range",
        r"|replication_slots|rewrite|roles|rules|seclabel|seclabels|sequence|sequences",
        r"|settings|shadow|shdepend|shdescription|shseclabel|stat_\w+|statio_\w+|statistic",
        r"|statistic_ext|statistic_ext_data|stats|stats_ext|subscription|subscription_rel",
        r"|tables|tablespace|timezone_abbrevs|timezone_names|transform|trigger|ts_config",
        r"|ts_config_map|ts_dict|ts_parser|ts_template|type|user|user_mapping",
        r"|user_mappings|views)\b|\b(?:format_type|pg_get_\w+|pg_\w+_is_visible",
        r"|has_\w+_privilege|obj_description|col_description|shobj_description",
        r"|pg_encoding_to_char|current_schemas?|to_regtype|to_regclass|pg_relation_size",
        r"|pg_total_relation_size|pg_table_size|pg_indexes_size|pg_size_pretty",
        r"|pg_database_size|pg_tablespace_location|pg_has_role|pg_partition_\w+",
        r"|_pg_expandarray)\s*\(|::\s*(?:regtype|regclass|regproc|regprocedure",
        r"|regnamespace|regrole|regoper|regoperator)\b",
    ))
    .expect("static pattern")
});

/// Does `sql` read PostgreSQL's catalog? Such statements are passed on
/// unchanged (placeholders aside) for the bridge's catalog.
pub fn is_catalog_query(sql: &str) -> bool {
    CATALOG_SQL.is_match(sql)
}

/// Statements that are not rewritten expression by expression.
enum Special {
    Local(String),
    Text(String),
}

fn special(stmt: &mut Statement, dialect: Dialect) -> Result<Option<Special>, TranslateError> {
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
                name.0[0] = ast::ObjectNamePart::Identifier(ast::Ident::new(IRIS_SCHEMA))
            }
            Dialect::Sqlite => {
                name.0.remove(0);
            }
        }
    }
}

/// The IRIS schema `public` maps to (IRIS's default schema for SQL tables).
pub const IRIS_SCHEMA: &str = "SQLUser";

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

fn rewrite(stmt: &mut Statement, dialect: Dialect) -> Result<bool, TranslateError> {
    let mut changed = false;
    if let Statement::Query(q) = stmt {
        match dialect {
            Dialect::Iris => changed |= vector::top_k(q, dialect),
            Dialect::Sqlite => vector::nulls_last_for_distances(q),
        }
    }
    if dialect == Dialect::Iris {
        if let Statement::Insert(ins) = stmt {
            if ins.on.is_some() {
                return Err(TranslateError::Unsupported(
                    "INSERT ... ON CONFLICT on IRIS (IRIS has no conflict clause; use INSERT OR UPDATE semantics in the application)".into(),
                ));
            }
            if ins.returning.is_some() {
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
    }
    let _ = ast::visit_relations_mut(stmt, |name| {
        let before = name.0.len();
        map_schema(name, dialect);
        changed |= name.0.len() != before || dialect == Dialect::Iris && before == 2;
        ControlFlow::<()>::Continue(())
    });
    if dialect == Dialect::Sqlite
        && let Statement::CreateTable(ct) = stmt
    {
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
    match err {
        Some(e) => Err(e),
        None => Ok(changed),
    }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
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

fn is_nonzero_literal(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, ast::Value::Number(n, _) if n.parse::<f64>().map(|f| f != 0.0).unwrap_or(false)))
}

fn take(e: &mut Expr) -> Expr {
    std::mem::replace(e, Expr::value(ast::Value::Null))
}

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
        // IRIS SQL has no boolean literals.
        Expr::Value(v) if dialect == Dialect::Iris && matches!(v.value, ast::Value::Boolean(_)) => {
            let one = matches!(v.value, ast::Value::Boolean(true));
            *e = Expr::value(ast::Value::Number(
                if one { "1" } else { "0" }.into(),
                false,
            ));
            Ok(true)
        }
        Expr::Cast {
            kind, data_type, ..
        } if dialect == Dialect::Iris && iris_type(data_type).is_some() => {
            *data_type = iris_type(data_type).expect("checked by the guard");
            *kind = CastKind::Cast;
            Ok(true)
        }
        Expr::Cast {
            kind,
            expr,
            data_type,
            ..
        } => {
            let target = types::from_sql_name(&data_type.to_string());
            if dialect == Dialect::Sqlite {
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
                    return Ok(true);
                }
                // Text-like and temporal types: SQLite stores them as text.
                let sqlite_type = match target {
                    Some(Type::BYTEA) => DataType::Blob(None),
                    _ => DataType::Text,
                };
                *data_type = sqlite_type;
                *kind = CastKind::Cast;
                Ok(true)
            } else {
                if matches!(kind, CastKind::DoubleColon) {
                    *kind = CastKind::Cast;
                    return Ok(true);
                }
                Ok(false)
            }
        }
        Expr::BinaryOp { left, op, right }
            if dialect == Dialect::Sqlite
                && matches!(op, BinaryOperator::Divide | BinaryOperator::Modulo)
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
            Ok(true)
        }
        Expr::Function(f) if dialect == Dialect::Sqlite => {
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
                    Ok(true)
                }
                // Keywords PostgreSQL evaluates per session; the worker
                // registers them as SQLite functions.
                "current_user" | "session_user" | "user" | "current_role"
                    if matches!(f.args, FunctionArguments::None) =>
                {
                    *e = call("current_user", vec![]);
                    Ok(true)
                }
                "current_catalog" if matches!(f.args, FunctionArguments::None) => {
                    *e = call("current_database", vec![]);
                    Ok(true)
                }
                _ => Ok(false),
            }
        }
        Expr::Identifier(id)
            if dialect == Dialect::Sqlite
                && id.quote_style.is_none()
                && id.value.eq_ignore_ascii_case("current_schema") =>
        {
            *e = call("current_schema", vec![]);
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Golden tests: the exact backend SQL for each rewrite.
    fn iris(sql: &str) -> (String, Vec<usize>) {
        let t = translate(sql, Dialect::Iris).unwrap();
        (t.backend_sql, t.param_order)
    }

    fn sqlite(sql: &str) -> String {
        translate(sql, Dialect::Sqlite).unwrap().backend_sql
    }

    fn refused(sql: &str, dialect: Dialect) -> String {
        let e = translate(sql, dialect).unwrap_err();
        assert_eq!(e.sqlstate(), "0A000", "{e}");
        e.to_string()
    }

    #[test]
    fn catalog_statements_are_recognised_as_the_worker_does() {
        assert!(is_catalog_query(
            "SELECT oid FROM pg_type WHERE typname = 'vector'"
        ));
        assert!(is_catalog_query(
            "SELECT t.typname FROM pg_catalog.pg_type t"
        ));
        assert!(is_catalog_query("SELECT 'vector'::regtype::oid"));
        assert!(!is_catalog_query("SELECT * FROM pg_typeahead"));
        assert!(!is_catalog_query("SELECT * FROM items"));
    }

    #[test]
    fn the_cheap_scan_spots_what_rewrites_act_on() {
        assert!(!needs_rewrite(
            "SELECT id, name FROM products WHERE id = $1"
        ));
        assert!(!needs_rewrite("INSERT INTO t (a, b) VALUES ($1, $2)"));
        for sql in [
            "SELECT x::int FROM t",
            "SELECT a <=> b FROM t",
            "SELECT * FROM t WHERE flag = TRUE",
            "SELECT a / b FROM t",
            "SELECT NOW()",
            "SELECT * FROM Public.t",
            "CREATE TABLE t (id serial)",
        ] {
            assert!(needs_rewrite(sql), "{sql}");
        }
    }

    #[test]
    fn golden_parameters_keep_order_and_reuse() {
        assert_eq!(
            iris("SELECT id FROM items WHERE id = $1 OR parent = $1 LIMIT $2"),
            (
                "SELECT id FROM items WHERE id = ? OR parent = ? LIMIT ?".into(),
                vec![0, 0, 1]
            )
        );
        assert_eq!(
            iris("SELECT * FROM t WHERE b = $2 AND a = $1"),
            ("SELECT * FROM t WHERE b = ? AND a = ?".into(), vec![1, 0])
        );
    }

    #[test]
    fn golden_casts_and_types_for_iris() {
        assert_eq!(
            iris("SELECT x::double precision, CAST(y AS text), z::boolean, w::timestamptz, v::bytea FROM t").0,
            "SELECT CAST(x AS DOUBLE), CAST(y AS VARCHAR(65535)), CAST(z AS BIT), CAST(w AS TIMESTAMP), CAST(v AS VARBINARY(65535)) FROM t"
        );
        assert_eq!(
            iris("CREATE TABLE public.items (id bigserial PRIMARY KEY, title text, ok boolean, embedding vector(3))").0,
            "CREATE TABLE SQLUser.items (id IDENTITY PRIMARY KEY, title VARCHAR(65535), ok BIT, embedding VECTOR(FLOAT, 3))"
        );
        assert_eq!(
            sqlite("CREATE TABLE public.items (id bigserial PRIMARY KEY, embedding vector(3))"),
            "CREATE TABLE items (id INTEGER PRIMARY KEY, embedding vector(3) CHECK (embedding IS NULL OR TO_VECTOR(embedding, 'FLOAT', 3) IS NOT NULL))"
        );
    }

    #[test]
    fn golden_limit_booleans_ilike_concat_and_schema() {
        assert_eq!(
            iris("SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 20").0,
            "SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 20"
        );
        assert_eq!(
            iris("SELECT * FROM t WHERE flag = true AND other = false").0,
            "SELECT * FROM t WHERE flag = 1 AND other = 0"
        );
        assert_eq!(
            iris("SELECT name || '!' FROM t WHERE name ILIKE $1").0,
            "SELECT name || '!' FROM t WHERE LOWER(name) LIKE LOWER(?)"
        );
        assert_eq!(
            sqlite("SELECT name FROM t WHERE name NOT ILIKE 'a%'"),
            "SELECT name FROM t WHERE LOWER(name) NOT LIKE LOWER('a%')"
        );
        assert_eq!(
            iris("SELECT * FROM public.items").0,
            "SELECT * FROM SQLUser.items"
        );
        assert_eq!(sqlite("SELECT * FROM public.items"), "SELECT * FROM items");
        assert!(
            refused(
                "INSERT INTO t (id) VALUES (1) ON CONFLICT DO NOTHING",
                Dialect::Iris
            )
            .contains("ON CONFLICT")
        );
        assert!(
            refused("INSERT INTO t (id) VALUES (1) RETURNING id", Dialect::Iris)
                .contains("RETURNING")
        );
        assert_eq!(
            sqlite("INSERT INTO t (id) VALUES (1) ON CONFLICT DO NOTHING"),
            "INSERT INTO t (id) VALUES (1) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn golden_pgvector_operators_functions_and_literals() {
        assert_eq!(
            iris("SELECT a <-> b, a <=> b, a <#> b FROM t").0,
            "SELECT SQRT(ABS(VECTOR_DOT_PRODUCT(a, a) + VECTOR_DOT_PRODUCT(b, b) - 2 * VECTOR_DOT_PRODUCT(a, b))), (1 - VECTOR_COSINE(a, b)), (-VECTOR_DOT_PRODUCT(a, b)) FROM t"
        );
        assert_eq!(
            sqlite("SELECT a <-> b, a <=> b, a <#> b FROM t"),
            "SELECT iriswire_vector_l2(a, b), (1 - VECTOR_COSINE(a, b)), (-VECTOR_DOT_PRODUCT(a, b)) FROM t"
        );
        assert_eq!(
            iris("SELECT cosine_distance(a, $1), inner_product(a, '[1,2]') FROM t"),
            (
                "SELECT (1 - VECTOR_COSINE(a, TO_VECTOR(?, FLOAT))), VECTOR_DOT_PRODUCT(a, TO_VECTOR('1,2', FLOAT)) FROM t".into(),
                vec![0]
            )
        );
        // The parameter of an L2 distance is used three times.
        assert_eq!(
            iris("SELECT l2_distance(a, $1) FROM t"),
            (
                "SELECT SQRT(ABS(VECTOR_DOT_PRODUCT(a, a) + VECTOR_DOT_PRODUCT(TO_VECTOR(?, FLOAT), TO_VECTOR(?, FLOAT)) - 2 * VECTOR_DOT_PRODUCT(a, TO_VECTOR(?, FLOAT)))) FROM t".into(),
                vec![0, 0, 0]
            )
        );
        assert_eq!(
            iris("SELECT '[1,2,3]'::vector").0,
            "SELECT TO_VECTOR('1,2,3', FLOAT)"
        );
        assert_eq!(
            sqlite("SELECT '[1,2,3]'::vector(3)"),
            "SELECT TO_VECTOR('[1,2,3]', 'FLOAT')"
        );
        assert_eq!(
            sqlite("SELECT vector_dims(embedding) FROM items"),
            "SELECT vector_dims(embedding) FROM items"
        );
        assert!(
            refused("SELECT vector_dims(embedding) FROM items", Dialect::Iris)
                .contains("vector_dims")
        );
        assert!(
            refused("SELECT l1_distance(a, b) FROM t", Dialect::Sqlite).contains("l1_distance")
        );
    }

    #[test]
    fn golden_top_k_takes_the_index_friendly_shape_on_iris() {
        assert_eq!(
            iris("SELECT id, embedding <=> $1 AS d FROM items ORDER BY embedding <=> $1 LIMIT 5"),
            (
                "SELECT TOP 5 id, (1 - VECTOR_COSINE(embedding, TO_VECTOR(?, FLOAT))) AS d FROM items ORDER BY VECTOR_COSINE(embedding, TO_VECTOR(?, FLOAT)) DESC".into(),
                vec![0, 0]
            )
        );
        assert_eq!(
            iris("SELECT id FROM items ORDER BY embedding <#> '[1,0,0]' LIMIT 3").0,
            "SELECT TOP 3 id FROM items ORDER BY VECTOR_DOT_PRODUCT(embedding, TO_VECTOR('1,0,0', FLOAT)) DESC"
        );
        // A bound k: TOP takes constants, so LIMIT ? stays, similarity order kept.
        assert_eq!(
            iris("SELECT id FROM items ORDER BY embedding <#> $1 LIMIT $2"),
            (
                "SELECT id FROM items ORDER BY VECTOR_DOT_PRODUCT(embedding, TO_VECTOR(?, FLOAT)) DESC LIMIT ?".into(),
                vec![0, 1]
            )
        );
        // L2 has no HNSW index on IRIS; OFFSET is kept as written.
        assert_eq!(
            iris("SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 5 OFFSET 5").0,
            "SELECT id FROM items ORDER BY (1 - VECTOR_COSINE(embedding, TO_VECTOR(?, FLOAT))) LIMIT 5 OFFSET 5"
        );
        assert!(
            iris("SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 5")
                .0
                .ends_with(" LIMIT 5")
        );
        // SQLite: PostgreSQL's NULL placement for ascending distances.
        assert_eq!(
            sqlite("SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 5"),
            "SELECT id FROM items ORDER BY (1 - VECTOR_COSINE(embedding, TO_VECTOR(?, 'FLOAT'))) NULLS LAST LIMIT 5"
        );
    }

    #[test]
    fn golden_vector_ddl() {
        let t = translate("CREATE EXTENSION IF NOT EXISTS vector", Dialect::Iris).unwrap();
        assert_eq!(t.local_tag.as_deref(), Some("CREATE EXTENSION"));
        assert!(refused("CREATE EXTENSION postgis", Dialect::Sqlite).contains("postgis"));
        assert_eq!(
            iris("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)").0,
            "CREATE INDEX items_embedding_idx ON items (embedding) AS HNSW(Distance='Cosine', M=16, efConstruction=64)"
        );
        assert_eq!(
            iris("CREATE INDEX items_ip ON public.items USING hnsw (embedding vector_ip_ops)").0,
            "CREATE INDEX items_ip ON SQLUser.items (embedding) AS HNSW(Distance='DotProduct')"
        );
        assert!(
            refused(
                "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)",
                Dialect::Iris
            )
            .contains("L2")
        );
        assert!(
            refused(
                "CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops)",
                Dialect::Sqlite
            )
            .contains("ivfflat")
        );
        let t = translate(
            "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(t.local_tag.as_deref(), Some("CREATE INDEX"));
    }

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
    fn casts_and_division_become_checked_functions_on_sqlite() {
        let t = translate(
            "select a::int, b / c, '2024-01-01'::date from t where id = $1",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            t.backend_sql,
            "SELECT pg_int(a), pg_div(b, c), date('2024-01-01') FROM t WHERE id = ?"
        );
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

    #[test]
    fn parameter_numbers_beyond_the_protocol_are_refused() {
        assert_eq!(
            translate("select $77777777777", Dialect::Sqlite).unwrap_err(),
            TranslateError::NoParameter(77777777777)
        );
        assert_eq!(
            translate("select $65535", Dialect::Sqlite)
                .unwrap()
                .param_count,
            65535
        );
    }

    #[test]
    fn insert_parameters_link_to_columns() {
        let t = translate(
            "INSERT INTO items (id, name) VALUES ($1, $2)",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(t.kind, StatementKind::Insert);
        assert_eq!(t.backend_sql, "INSERT INTO items (id, name) VALUES (?, ?)");
        assert_eq!(t.analysis().param_columns.len(), 2);
        assert_eq!(t.analysis().param_columns[1].column, "name");
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

    #[test]
    fn session_functions_and_escape_strings_reach_sqlite() {
        let t = translate(
            "select current_user, current_database(), version(), E'a\\tb\\'c', current_schema",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            t.backend_sql,
            "SELECT current_user(), current_database(), version(), 'a\tb''c', current_schema()"
        );
        assert_eq!(
            t.analysis().column_names[0].as_deref(),
            Some("current_user")
        );
        assert_eq!(t.analysis().column_types[0], Some(Type::TEXT));
    }

    #[test]
    fn serial_becomes_sqlite_rowid_alias() {
        let t = translate(
            "create table t (id serial primary key, v text)",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            t.backend_sql,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"
        );
        assert_eq!(t.tag, "CREATE TABLE");
    }

    #[test]
    fn tags_follow_postgresql() {
        assert_eq!(classify("create unique index i on t(a)").1, "CREATE INDEX");
        assert_eq!(classify("begin").0, StatementKind::Begin);
        assert_eq!(classify("with x as (select 1) select * from x").1, "SELECT");
        assert_eq!(classify("drop table t").1, "DROP TABLE");
    }
}
