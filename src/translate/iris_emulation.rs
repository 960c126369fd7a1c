//! PostgreSQL statements IRIS has no form for, emulated in IRIS's terms.
//!
//! `INSERT ... RETURNING`: IRIS has no RETURNING; a single-row INSERT
//! passes through and the worker runs it, then reads the row back (see
//! docs/bridge-protocol.md, "RETURNING on IRIS").
//!
//! `BEGIN [ISOLATION LEVEL ...]`: IRIS spells it `START TRANSACTION` and has
//! READ UNCOMMITTED, READ COMMITTED and READ VERIFIED only
//! (DOC(RSQL_starttransaction)). The worker sets READ COMMITTED, PostgreSQL's
//! default, on every IRIS connection; a level named in `BEGIN` maps to IRIS's
//! nearest:
//!
//! | PostgreSQL | IRIS | difference |
//! |---|---|---|
//! | READ UNCOMMITTED | READ COMMITTED | none: PostgreSQL runs READ UNCOMMITTED as READ COMMITTED |
//! | READ COMMITTED | READ COMMITTED | none |
//! | REPEATABLE READ, SERIALIZABLE | READ VERIFIED | no snapshot: rows read are re-verified as committed, but a second read may see another transaction's committed changes and no serialization failure (40001) is raised |
//!
//! IRIS keeps a level set by `START TRANSACTION` for the rest of the process,
//! so after a `BEGIN ISOLATION LEVEL SERIALIZABLE` later statements stay
//! READ VERIFIED (stricter, never weaker) until a `BEGIN` names another level.

/// Whether the worker emulates this INSERT's RETURNING (iris_returning.py:
/// the INSERT, then its row read back by `LAST_IDENTITY()` in the same
/// transaction): a single-row `INSERT ... VALUES` without ON CONFLICT.
/// Other forms stay refused here with 0A000.
pub(crate) fn returning_emulated(ins: &sqlparser::ast::Insert) -> bool {
    use sqlparser::ast::SetExpr;
    ins.on.is_none()
        && ins
            .source
            .as_ref()
            .is_some_and(|q| matches!(q.body.as_ref(), SetExpr::Values(v) if v.rows.len() == 1))
}

/// The IRIS text of a `BEGIN`/`START TRANSACTION` statement `sql`.
pub(crate) fn start_transaction(sql: &str) -> String {
    let upper: String = sql
        .to_ascii_uppercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let level = if upper.contains("ISOLATION LEVEL SERIALIZABLE")
        || upper.contains("ISOLATION LEVEL REPEATABLE READ")
    {
        Some("READ VERIFIED")
    } else if upper.contains("ISOLATION LEVEL READ COMMITTED")
        || upper.contains("ISOLATION LEVEL READ UNCOMMITTED")
    {
        Some("READ COMMITTED")
    } else {
        None
    };
    match level {
        Some(level) => format!("START TRANSACTION ISOLATION LEVEL {level}"),
        None => "START TRANSACTION".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::start_transaction;

    #[test]
    fn begin_maps_isolation_levels_to_iris_nearest() {
        assert_eq!(start_transaction("BEGIN"), "START TRANSACTION");
        assert_eq!(
            start_transaction("begin isolation level serializable"),
            "START TRANSACTION ISOLATION LEVEL READ VERIFIED"
        );
        assert_eq!(
            start_transaction("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
            "START TRANSACTION ISOLATION LEVEL READ VERIFIED"
        );
        assert_eq!(
            start_transaction("BEGIN TRANSACTION ISOLATION  LEVEL READ UNCOMMITTED"),
            "START TRANSACTION ISOLATION LEVEL READ COMMITTED"
        );
        assert_eq!(
            start_transaction("BEGIN ISOLATION LEVEL READ COMMITTED"),
            "START TRANSACTION ISOLATION LEVEL READ COMMITTED"
        );
    }
}
