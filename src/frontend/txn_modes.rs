//! Transaction characteristics: isolation level, read-only and deferrable,
//! as `BEGIN`, `START TRANSACTION`, `SET TRANSACTION` and `SET SESSION
//! CHARACTERISTICS AS TRANSACTION` write them, the session's transaction
//! state that carries them, and what each backend is told.
//!
//! SQLite's transactions are serializable whatever is asked (one writer at
//! a time, readers see a snapshot), so every level is at least what
//! PostgreSQL promises and `BEGIN` is all SQLite needs. IRIS offers READ
//! UNCOMMITTED, READ COMMITTED and READ VERIFIED: PostgreSQL's read
//! (un)committed become READ COMMITTED, repeatable read and serializable
//! become READ VERIFIED, the strongest IRIS has (docs/compatibility.md).

use std::collections::BTreeMap;

use super::sql_tokens::{Cursor, SyntaxError, TokKind};
use crate::translate::Dialect;

/// PostgreSQL's four isolation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Isolation {
    ReadUncommitted,
    #[default]
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    /// As `SHOW transaction_isolation` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadUncommitted => "read uncommitted",
            Isolation::ReadCommitted => "read committed",
            Isolation::RepeatableRead => "repeatable read",
            Isolation::Serializable => "serializable",
        }
    }

    /// A setting's value (`SET default_transaction_isolation = '...'`).
    pub fn parse(v: &str) -> Option<Isolation> {
        let v = v.trim().to_ascii_lowercase();
        let words: Vec<&str> = v.split_whitespace().collect();
        Some(match words.as_slice() {
            ["read", "uncommitted"] => Isolation::ReadUncommitted,
            ["read", "committed"] => Isolation::ReadCommitted,
            ["repeatable", "read"] => Isolation::RepeatableRead,
            ["serializable"] => Isolation::Serializable,
            _ => return None,
        })
    }
}

/// The characteristics of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TxnModes {
    pub isolation: Isolation,
    pub read_only: bool,
    pub deferrable: bool,
}

impl TxnModes {
    /// The session's defaults, from its `default_transaction_*` settings.
    pub fn defaults(settings: &BTreeMap<String, String>) -> TxnModes {
        let on = |name: &str| settings.get(name).is_some_and(|v| v == "on");
        TxnModes {
            isolation: settings
                .get("default_transaction_isolation")
                .and_then(|v| Isolation::parse(v))
                .unwrap_or_default(),
            read_only: on("default_transaction_read_only"),
            deferrable: on("default_transaction_deferrable"),
        }
    }
}

/// The modes a statement names; each one optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ModeList {
    pub isolation: Option<Isolation>,
    pub read_only: Option<bool>,
    pub deferrable: Option<bool>,
}

impl ModeList {
    pub fn apply(&self, mut m: TxnModes) -> TxnModes {
        if let Some(i) = self.isolation {
            m.isolation = i;
        }
        if let Some(r) = self.read_only {
            m.read_only = r;
        }
        if let Some(d) = self.deferrable {
            m.deferrable = d;
        }
        m
    }

    /// The `default_transaction_*` settings `SET SESSION CHARACTERISTICS` changes.
    pub fn as_default_settings(&self) -> Vec<(&'static str, String)> {
        let on_off = |b: bool| if b { "on" } else { "off" }.to_owned();
        let mut out = Vec::new();
        if let Some(i) = self.isolation {
            out.push(("default_transaction_isolation", i.name().to_owned()));
        }
        if let Some(r) = self.read_only {
            out.push(("default_transaction_read_only", on_off(r)));
        }
        if let Some(d) = self.deferrable {
            out.push(("default_transaction_deferrable", on_off(d)));
        }
        out
    }
}

/// A transaction statement with what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TxnStatement {
    /// `BEGIN [WORK|TRANSACTION] [modes]`, `START TRANSACTION [modes]`.
    Begin(ModeList),
    /// `SET TRANSACTION modes`: this transaction only.
    SetTransaction(ModeList),
    /// `SET SESSION CHARACTERISTICS AS TRANSACTION modes`: the defaults.
    SetDefaults(ModeList),
    /// `COMMIT`/`END [AND [NO] CHAIN]`.
    Commit { chain: bool },
    /// `ROLLBACK`/`ABORT [AND [NO] CHAIN]` (not `ROLLBACK TO`).
    Rollback { chain: bool },
}

/// Recognises a transaction statement; `None` for any other (savepoints,
/// `COMMIT PREPARED`, ...).
pub(crate) fn parse_transaction(sql: &str) -> Option<Result<TxnStatement, SyntaxError>> {
    let mut c = Cursor::new(sql);
    let first = c.peek().filter(|t| t.kind == TokKind::Word)?.value.clone();
    let second = c.peek_at(1).map(|t| t.value.clone()).unwrap_or_default();
    let r = match (first.as_str(), second.as_str()) {
        ("begin", _) => {
            c.next();
            if !c.eat("work") {
                c.eat("transaction");
            }
            mode_list(&mut c, true).map(TxnStatement::Begin)
        }
        ("start", "transaction") => {
            c.pos += 2;
            mode_list(&mut c, true).map(TxnStatement::Begin)
        }
        ("set", "transaction") => {
            c.pos += 2;
            mode_list(&mut c, false).map(TxnStatement::SetTransaction)
        }
        ("set", "session") if c.peek_at(2).is_some_and(|t| t.is_word("characteristics")) => {
            c.pos += 3;
            c.expect("as")
                .and_then(|_| c.expect("transaction"))
                .and_then(|_| mode_list(&mut c, false))
                .map(TxnStatement::SetDefaults)
        }
        ("commit" | "end", "prepared") | ("rollback" | "abort", "to" | "prepared") => return None,
        ("commit" | "end", _) => {
            c.next();
            chain(&mut c).map(|chain| TxnStatement::Commit { chain })
        }
        ("rollback" | "abort", _) => {
            c.next();
            chain(&mut c).map(|chain| TxnStatement::Rollback { chain })
        }
        _ => return None,
    };
    Some(r)
}

/// `[WORK|TRANSACTION] [AND [NO] CHAIN]`.
fn chain(c: &mut Cursor) -> Result<bool, SyntaxError> {
    if !c.eat("work") {
        c.eat("transaction");
    }
    let mut chain = false;
    if c.eat("and") {
        chain = !c.eat("no");
        c.expect("chain")?;
    }
    c.expect_end()?;
    Ok(chain)
}

/// Transaction modes, separated by commas or blanks; `BEGIN` may name none.
fn mode_list(c: &mut Cursor, may_be_empty: bool) -> Result<ModeList, SyntaxError> {
    let mut m = ModeList::default();
    if c.at_end() {
        return if may_be_empty { Ok(m) } else { Err(c.error()) };
    }
    loop {
        if c.eat("isolation") {
            c.expect("level")?;
            m.isolation = Some(if c.eat("serializable") {
                Isolation::Serializable
            } else if c.eat("repeatable") {
                c.expect("read")?;
                Isolation::RepeatableRead
            } else {
                c.expect("read")?;
                if c.eat("committed") {
                    Isolation::ReadCommitted
                } else {
                    c.expect("uncommitted")?;
                    Isolation::ReadUncommitted
                }
            });
        } else if c.eat("read") {
            if c.eat("only") {
                m.read_only = Some(true);
            } else {
                c.expect("write")?;
                m.read_only = Some(false);
            }
        } else if c.eat("deferrable") {
            m.deferrable = Some(true);
        } else if c.eat("not") {
            c.expect("deferrable")?;
            m.deferrable = Some(false);
        } else {
            return Err(c.error());
        }
        if c.at_end() {
            return Ok(m);
        }
        c.eat_punct(",");
    }
}

/// The session's transaction state beyond what the worker reports.
#[derive(Debug, Clone, Default)]
pub struct TxnState {
    /// The modes of the transaction in progress (inside a block).
    pub(crate) modes: TxnModes,
    /// The simple Query being run holds several statements: outside an
    /// explicit block they share one implicit transaction.
    pub multi_statement: bool,
    /// The backend transaction open now was begun by iriswire for that
    /// implicit block, not by the client's BEGIN.
    pub implicit_begun: bool,
    /// A statement has run on the backend in this transaction: the
    /// isolation level can no longer change (PostgreSQL's first snapshot).
    pub queried: bool,
}

/// What the backend is sent to open a transaction with these modes.
pub(crate) fn backend_begin(dialect: Dialect, modes: &TxnModes) -> &'static str {
    match dialect {
        Dialect::Sqlite => "BEGIN",
        Dialect::Iris => match modes.isolation {
            Isolation::ReadUncommitted | Isolation::ReadCommitted => {
                "START TRANSACTION ISOLATION LEVEL READ COMMITTED"
            }
            Isolation::RepeatableRead | Isolation::Serializable => {
                "START TRANSACTION ISOLATION LEVEL READ VERIFIED"
            }
        },
    }
}

/// What the backend is sent when the isolation changes inside an open
/// transaction (before any query); `None` when it needs nothing.
pub(crate) fn backend_set_isolation(
    dialect: Dialect,
    isolation: Isolation,
) -> Option<&'static str> {
    match (dialect, isolation) {
        (Dialect::Sqlite, _) => None,
        (Dialect::Iris, Isolation::ReadUncommitted | Isolation::ReadCommitted) => {
            Some("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        }
        (Dialect::Iris, _) => Some("SET TRANSACTION ISOLATION LEVEL READ VERIFIED"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> TxnStatement {
        parse_transaction(sql).expect("recognised").expect("parses")
    }

    #[test]
    fn begin_reads_every_mode_spelling() {
        assert_eq!(parsed("BEGIN"), TxnStatement::Begin(ModeList::default()));
        assert_eq!(
            parsed("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY DEFERRABLE;"),
            TxnStatement::Begin(ModeList {
                isolation: Some(Isolation::RepeatableRead),
                read_only: Some(true),
                deferrable: Some(true)
            })
        );
        assert_eq!(
            parsed(
                "start transaction read write, isolation level read uncommitted, not deferrable"
            ),
            TxnStatement::Begin(ModeList {
                isolation: Some(Isolation::ReadUncommitted),
                read_only: Some(false),
                deferrable: Some(false)
            })
        );
        assert_eq!(
            parsed("BEGIN WORK ISOLATION LEVEL SERIALIZABLE"),
            TxnStatement::Begin(ModeList {
                isolation: Some(Isolation::Serializable),
                ..Default::default()
            })
        );
        assert_eq!(
            parse_transaction("BEGIN ISOLATION LEVEL SOMETIMES")
                .unwrap()
                .unwrap_err()
                .0,
            "syntax error at or near \"SOMETIMES\""
        );
    }

    #[test]
    fn set_transaction_and_session_characteristics() {
        assert_eq!(
            parsed("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            TxnStatement::SetTransaction(ModeList {
                isolation: Some(Isolation::Serializable),
                ..Default::default()
            })
        );
        assert_eq!(
            parsed("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"),
            TxnStatement::SetDefaults(ModeList {
                read_only: Some(true),
                ..Default::default()
            })
        );
        assert!(parse_transaction("SET TRANSACTION").unwrap().is_err());
        assert!(parse_transaction("SET search_path = x").is_none());
    }

    #[test]
    fn commit_and_rollback_chain_savepoints_are_not_theirs() {
        assert_eq!(parsed("COMMIT"), TxnStatement::Commit { chain: false });
        assert_eq!(
            parsed("END TRANSACTION"),
            TxnStatement::Commit { chain: false }
        );
        assert_eq!(
            parsed("COMMIT AND CHAIN"),
            TxnStatement::Commit { chain: true }
        );
        assert_eq!(
            parsed("ABORT WORK AND NO CHAIN"),
            TxnStatement::Rollback { chain: false }
        );
        assert!(parse_transaction("ROLLBACK TO SAVEPOINT a").is_none());
        assert!(parse_transaction("COMMIT PREPARED 'x'").is_none());
    }

    #[test]
    fn defaults_and_backend_text() {
        let mut settings = BTreeMap::new();
        settings.insert(
            "default_transaction_isolation".to_owned(),
            "repeatable read".to_owned(),
        );
        settings.insert("default_transaction_read_only".to_owned(), "on".to_owned());
        let m = TxnModes::defaults(&settings);
        assert_eq!(m.isolation, Isolation::RepeatableRead);
        assert!(m.read_only && !m.deferrable);
        assert_eq!(
            Isolation::parse("READ  Committed"),
            Some(Isolation::ReadCommitted)
        );
        assert_eq!(Isolation::parse("snapshot"), None);
        assert_eq!(backend_begin(Dialect::Sqlite, &m), "BEGIN");
        assert_eq!(
            backend_begin(Dialect::Iris, &m),
            "START TRANSACTION ISOLATION LEVEL READ VERIFIED"
        );
        assert_eq!(
            backend_set_isolation(Dialect::Sqlite, Isolation::Serializable),
            None
        );
    }
}
