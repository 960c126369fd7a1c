//! Transaction planning: what iriswire does with a statement given the
//! session's transaction state, before (or instead of) the backend. Pure:
//! it reads the session and the translation and decides; the protocol
//! handlers carry the decision out (`transaction_wire`).
//!
//! The blocks follow PostgreSQL: an explicit block from BEGIN to
//! COMMIT/ROLLBACK; the implicit block of a simple Query holding several
//! statements, committed at its end or rolled back by its first error; and
//! otherwise each statement its own transaction.

use pgwire::messages::response::TransactionStatus;

use super::txn_modes::{ModeList, TxnModes, TxnStatement, parse_transaction};
use crate::frontend::errors::{
    ACTIVE_SQL_TRANSACTION, INVALID_PARAMETER_VALUE, NO_ACTIVE_SQL_TRANSACTION,
    READ_ONLY_SQL_TRANSACTION, SYNTAX_ERROR,
};
use crate::frontend::session::{Session, SessionCommand, parse_session_command};
use crate::translate::lexer::leading_keywords;
use crate::translate::{StatementKind, Translation};

pub(super) fn txn_status(s: &Session) -> TransactionStatus {
    if s.failed {
        TransactionStatus::Error
    } else if s.worker.as_ref().is_some_and(|w| w.in_transaction) {
        TransactionStatus::Transaction
    } else {
        TransactionStatus::Idle
    }
}

/// A transaction is open on the backend (or failed and awaits ROLLBACK).
pub(super) fn in_transaction(s: &Session) -> bool {
    s.failed || s.worker.as_ref().is_some_and(|w| w.in_transaction)
}

/// Inside a BEGIN ... COMMIT block the client opened.
pub(super) fn explicit_block(s: &Session) -> bool {
    in_transaction(s) && !s.txn.implicit_begun
}

/// Inside any transaction block, explicit or the implicit one of a
/// multi-statement Query (PostgreSQL's `IsTransactionBlock`).
pub(super) fn in_block(s: &Session) -> bool {
    explicit_block(s) || s.txn.multi_statement
}

/// The characteristics the statement runs with: the block's, or the
/// defaults for a statement that is its own transaction.
pub(super) fn current_modes(s: &Session) -> TxnModes {
    if in_block(s) {
        s.txn.modes
    } else {
        s.default_modes()
    }
}

/// `SHOW transaction_isolation` and friends: the transaction's own values.
pub(super) fn transaction_setting(s: &Session, name: &str) -> Option<String> {
    let m = current_modes(s);
    let on_off = |b: bool| if b { "on" } else { "off" }.to_owned();
    Some(match name {
        "transaction_isolation" => m.isolation.name().to_owned(),
        "transaction_read_only" => on_off(m.read_only),
        "transaction_deferrable" => on_off(m.deferrable),
        _ => return None,
    })
}

/// Marks the session's transaction as failed when an error hits it inside one.
pub(super) fn note_failure(s: &mut Session) {
    if s.worker.as_ref().is_some_and(|w| w.in_transaction) {
        s.failed = true;
    }
}

pub(super) const ABORTED: &str =
    "current transaction is aborted, commands ignored until end of transaction block";

/// What iriswire does with a statement before (or instead of) the backend.
#[derive(Debug)]
pub(super) enum Plan {
    Backend,
    Local(SessionCommand),
    /// Answered with this tag and, optionally, a warning (BEGIN inside a
    /// transaction).
    Tag(String, Option<&'static str>),
    /// COMMIT of a failed transaction: roll back, reply ROLLBACK.
    RollbackInstead,
    Aborted,
    /// BEGIN / START TRANSACTION with these modes (`tag` as the client spelled it).
    Begin {
        modes: ModeList,
        tag: String,
    },
    /// COMMIT (`commit`) or ROLLBACK of the block in progress; `warn`: no
    /// explicit block was open (PostgreSQL's warning); `chain`: a new
    /// block with the same modes follows.
    End {
        commit: bool,
        chain: bool,
        warn: bool,
    },
    /// `SET TRANSACTION ...`, `SET transaction_isolation = ...`.
    SetTransaction(ModeList),
    /// `SET SESSION CHARACTERISTICS AS TRANSACTION ...`.
    SetDefaults(ModeList),
    /// Refused with this SQLSTATE and message (aborting a block it is in).
    Refuse(&'static str, String),
}

pub(super) fn plan(t: &Translation, sql: &str, s: &Session) -> Plan {
    let explicit = explicit_block(s);
    if let Some(tag) = &t.local_tag
        && !s.failed
    {
        return Plan::Tag(tag.clone(), None);
    }
    if matches!(
        t.kind,
        StatementKind::Begin | StatementKind::Commit | StatementKind::Rollback | StatementKind::Set
    ) && let Some(parsed) = parse_transaction(sql)
    {
        return match parsed {
            Err(e) => Plan::Refuse(SYNTAX_ERROR, e.0),
            Ok(TxnStatement::Commit { .. }) if s.failed => Plan::RollbackInstead,
            // The worker that held the transaction is gone (killed after a
            // timeout, or crashed): nothing is left to roll back on the backend.
            Ok(TxnStatement::Rollback { .. }) if s.failed && s.worker.is_none() => {
                Plan::RollbackInstead
            }
            Ok(TxnStatement::Commit { chain: false } | TxnStatement::Rollback { chain: false })
                if !in_block(s) =>
            {
                let tag = if t.kind == StatementKind::Commit {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                };
                Plan::Tag(tag.into(), Some("there is no transaction in progress"))
            }
            Ok(TxnStatement::Commit { chain: true } | TxnStatement::Rollback { chain: true })
                if !explicit =>
            {
                let word = if t.kind == StatementKind::Commit {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                };
                Plan::Refuse(
                    NO_ACTIVE_SQL_TRANSACTION,
                    format!("{word} AND CHAIN can only be used in transaction blocks"),
                )
            }
            Ok(TxnStatement::Commit { chain }) => Plan::End {
                commit: true,
                chain,
                warn: !explicit,
            },
            Ok(TxnStatement::Rollback { chain }) => Plan::End {
                commit: false,
                chain,
                warn: !explicit,
            },
            Ok(_) if s.failed => Plan::Aborted,
            Ok(TxnStatement::Begin(_)) if explicit => Plan::Tag(
                t.tag.clone(),
                Some("there is already a transaction in progress"),
            ),
            Ok(TxnStatement::Begin(modes)) => Plan::Begin {
                modes,
                tag: t.tag.clone(),
            },
            Ok(TxnStatement::SetTransaction(m)) => Plan::SetTransaction(m),
            Ok(TxnStatement::SetDefaults(m)) => Plan::SetDefaults(m),
        };
    }
    if s.failed && t.tag != "ROLLBACK" {
        return Plan::Aborted;
    }
    if let Some(name) = savepoint_statement(t)
        && !explicit
    {
        return Plan::Refuse(
            NO_ACTIVE_SQL_TRANSACTION,
            format!("{name} can only be used in transaction blocks"),
        );
    }
    if matches!(
        t.kind,
        StatementKind::Set | StatementKind::Show | StatementKind::Reset
    ) {
        return match parse_session_command(sql) {
            Some(SessionCommand::Set { name, value, .. })
                if matches!(
                    name.as_str(),
                    "transaction_isolation" | "transaction_read_only" | "transaction_deferrable"
                ) =>
            {
                match transaction_variable(&name, &value) {
                    Ok(m) => Plan::SetTransaction(m),
                    Err(msg) => Plan::Refuse(INVALID_PARAMETER_VALUE, msg),
                }
            }
            Some(c) => Plan::Local(c),
            None => Plan::Backend,
        };
    }
    if in_block(s)
        && let Some(name) = not_in_a_block(sql)
    {
        return Plan::Refuse(
            ACTIVE_SQL_TRANSACTION,
            format!("{name} cannot run inside a transaction block"),
        );
    }
    if current_modes(s).read_only
        && let Some(tag) = writes(t)
    {
        return Plan::Refuse(
            READ_ONLY_SQL_TRANSACTION,
            format!("cannot execute {tag} in a read-only transaction"),
        );
    }
    Plan::Backend
}

/// `SET transaction_isolation = ...` and the like, as the mode they set.
fn transaction_variable(name: &str, value: &str) -> Result<ModeList, String> {
    let v = Session::check_setting(name, value)?;
    let mut m = ModeList::default();
    match name {
        "transaction_isolation" => m.isolation = super::txn_modes::Isolation::parse(&v),
        "transaction_read_only" => m.read_only = Some(v == "on"),
        _ => m.deferrable = Some(v == "on"),
    }
    Ok(m)
}

/// The name PostgreSQL's error gives a savepoint statement.
fn savepoint_statement(t: &Translation) -> Option<&'static str> {
    match (&t.kind, t.tag.as_str()) {
        (StatementKind::Other, "SAVEPOINT") => Some("SAVEPOINT"),
        (StatementKind::Other, "RELEASE") => Some("RELEASE SAVEPOINT"),
        (StatementKind::Other, "ROLLBACK") => Some("ROLLBACK TO SAVEPOINT"),
        _ => None,
    }
}

/// Statements PostgreSQL refuses inside a transaction block (its
/// `PreventInTransactionBlock`), named as its error names them.
pub(super) fn not_in_a_block(sql: &str) -> Option<&'static str> {
    let kw = leading_keywords(sql, 4);
    let kw: Vec<&str> = kw.iter().map(String::as_str).collect();
    Some(match kw.as_slice() {
        ["VACUUM", ..] => "VACUUM",
        ["CREATE", "DATABASE", ..] => "CREATE DATABASE",
        ["DROP", "DATABASE", ..] => "DROP DATABASE",
        ["CREATE", "TABLESPACE", ..] => "CREATE TABLESPACE",
        ["DROP", "TABLESPACE", ..] => "DROP TABLESPACE",
        ["ALTER", "SYSTEM", ..] => "ALTER SYSTEM",
        ["CREATE", "INDEX", "CONCURRENTLY", ..] | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"] => {
            "CREATE INDEX CONCURRENTLY"
        }
        ["DROP", "INDEX", "CONCURRENTLY", ..] => "DROP INDEX CONCURRENTLY",
        ["REINDEX", "DATABASE", ..] => "REINDEX DATABASE",
        ["REINDEX", "SYSTEM", ..] => "REINDEX SYSTEM",
        ["REINDEX", _, "CONCURRENTLY", ..] => "REINDEX CONCURRENTLY",
        ["DISCARD", "ALL", ..] => "DISCARD ALL",
        _ => return None,
    })
}

/// The command a read-only transaction refuses, as PostgreSQL names it;
/// `None` for a statement that only reads. Decided by the statement's
/// kind, in the front end, so every backend refuses the same statements
/// with PostgreSQL's words (docs/compatibility.md).
pub(super) fn writes(t: &Translation) -> Option<&str> {
    match t.kind {
        StatementKind::Insert
        | StatementKind::Update
        | StatementKind::Delete
        | StatementKind::Ddl => Some(t.tag.as_str()),
        StatementKind::Other
            if matches!(
                t.tag.as_str(),
                "MERGE" | "GRANT" | "REVOKE" | "COMMENT" | "REINDEX" | "CLUSTER" | "REFRESH"
            ) =>
        {
            Some(t.tag.as_str())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::{Dialect, translate};

    fn planned(sql: &str, failed: bool) -> Plan {
        let mut s = Session::new("db".into(), "u".into());
        s.failed = failed;
        let t = translate(sql, Dialect::Sqlite).expect("translates");
        plan(&t, sql, &s)
    }

    #[test]
    fn outside_a_transaction_commit_and_rollback_only_warn() {
        assert!(matches!(
            planned("ROLLBACK", false),
            Plan::Tag(tag, Some(w)) if tag == "ROLLBACK" && w.contains("no transaction")
        ));
        assert!(matches!(
            planned("COMMIT", false),
            Plan::Tag(tag, Some(_)) if tag == "COMMIT"
        ));
    }

    #[test]
    fn a_failed_transaction_refuses_work_and_commit_rolls_back() {
        assert!(matches!(planned("SELECT 1", true), Plan::Aborted));
        assert!(matches!(planned("COMMIT", true), Plan::RollbackInstead));
        // The worker that held it is gone: nothing to roll back remotely.
        assert!(matches!(planned("ROLLBACK", true), Plan::RollbackInstead));
    }

    #[test]
    fn session_commands_are_local_and_the_rest_goes_to_the_backend() {
        assert!(matches!(
            planned("SET statement_timeout = '1s'", false),
            Plan::Local(_)
        ));
        assert!(matches!(planned("SELECT 1", false), Plan::Backend));
        assert!(matches!(
            planned("CREATE EXTENSION vector", false),
            Plan::Tag(tag, None) if tag == "CREATE EXTENSION"
        ));
        assert!(!in_transaction(&Session::new("db".into(), "u".into())));
        assert_eq!(
            txn_status(&Session::new("db".into(), "u".into())),
            TransactionStatus::Idle
        );
    }
}
