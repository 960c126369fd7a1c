//! Transaction planning: what iriswire does with a statement given the
//! session's transaction state, before (or instead of) the backend. Pure:
//! it reads the session and the translation and decides; the protocol
//! handlers carry the decision out.

use pgwire::messages::response::TransactionStatus;

use crate::frontend::session::{Session, SessionCommand, parse_session_command};
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

pub(super) fn in_transaction(s: &Session) -> bool {
    s.failed || s.worker.as_ref().is_some_and(|w| w.in_transaction)
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
pub(super) enum Plan {
    Backend,
    Local(SessionCommand),
    /// Answered with this tag and, optionally, a warning (BEGIN inside a
    /// transaction, COMMIT outside one).
    Tag(String, Option<&'static str>),
    /// COMMIT of a failed transaction: roll back, reply ROLLBACK.
    RollbackInstead,
    Aborted,
}

pub(super) fn plan(t: &Translation, sql: &str, s: &Session) -> Plan {
    let in_txn = in_transaction(s);
    if let Some(tag) = &t.local_tag
        && !s.failed
    {
        return Plan::Tag(tag.clone(), None);
    }
    match t.kind {
        StatementKind::Rollback if !in_txn => Plan::Tag(
            "ROLLBACK".into(),
            Some("there is no transaction in progress"),
        ),
        StatementKind::Commit if s.failed => Plan::RollbackInstead,
        // The worker that held the transaction is gone (killed after a
        // timeout, or crashed): nothing is left to roll back on the backend.
        StatementKind::Rollback if s.failed && s.worker.is_none() => Plan::RollbackInstead,
        StatementKind::Commit if !in_txn => {
            Plan::Tag("COMMIT".into(), Some("there is no transaction in progress"))
        }
        StatementKind::Rollback | StatementKind::Commit => Plan::Backend,
        _ if s.failed && t.tag != "ROLLBACK" => Plan::Aborted,
        StatementKind::Begin if in_txn => Plan::Tag(
            t.tag.clone(),
            Some("there is already a transaction in progress"),
        ),
        StatementKind::Set | StatementKind::Show | StatementKind::Reset => {
            match parse_session_command(sql) {
                Some(c) => Plan::Local(c),
                None => Plan::Backend,
            }
        }
        _ => Plan::Backend,
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
