//! SQLSTATE codes the front end reports, named as PostgreSQL's
//! `errcodes.txt` names them, so a reader sees the condition rather than a
//! five-character literal.

pub const ACTIVE_SQL_TRANSACTION: &str = "25001";
pub const ADMIN_SHUTDOWN: &str = "57P01";
pub const BAD_COPY_FILE_FORMAT: &str = "22P04";
pub const CANNOT_CONNECT_NOW: &str = "57P03";
pub const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
pub const CONFIG_FILE_ERROR: &str = "F0000";
pub const CONNECTION_FAILURE: &str = "08006";
pub const DUPLICATE_CURSOR: &str = "42P03";
pub const DUPLICATE_PREPARED_STATEMENT: &str = "42P05";
pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
pub const IDLE_IN_TRANSACTION_SESSION_TIMEOUT: &str = "25P03";
pub const IDLE_SESSION_TIMEOUT: &str = "57P05";
pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
pub const INTERNAL_ERROR: &str = "XX000";
pub const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
pub const INVALID_CATALOG_NAME: &str = "3D000";
pub const INVALID_CURSOR_NAME: &str = "34000";
pub const INVALID_PARAMETER_VALUE: &str = "22023";
pub const INVALID_PASSWORD: &str = "28P01";
pub const INVALID_SQL_STATEMENT_NAME: &str = "26000";
pub const IN_FAILED_SQL_TRANSACTION: &str = "25P02";
pub const NO_ACTIVE_SQL_TRANSACTION: &str = "25P01";
pub const OBJECT_NOT_IN_PREREQUISITE_STATE: &str = "55000";
pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
pub const PROTOCOL_VIOLATION: &str = "08P01";
pub const QUERY_CANCELED: &str = "57014";
pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";
pub const SYNTAX_ERROR: &str = "42601";
pub const TOO_MANY_CONNECTIONS: &str = "53300";
pub const UNDEFINED_OBJECT: &str = "42704";
pub const UNDEFINED_PARAMETER: &str = "42P02";
pub const WARNING: &str = "01000";

use pgwire::error::{ErrorInfo, PgWireError};

use crate::bridge::{BackendError, BridgeError};
use crate::pgtypes::ValueError;
use crate::pool::AcquireError;

pub fn error(sqlstate: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        sqlstate.into(),
        message.into(),
    )))
}

pub fn fatal(sqlstate: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        sqlstate.into(),
        message.into(),
    )))
}

pub fn backend_error(e: &BackendError) -> PgWireError {
    let mut info = ErrorInfo::new("ERROR".into(), e.sqlstate.clone(), e.message.clone());
    info.detail = e.detail.clone();
    info.hint = e.hint.clone();
    info.schema = e.object.schema.clone();
    info.table = e.object.table.clone();
    info.column = e.object.column.clone();
    info.constraint = e.object.constraint.clone();
    PgWireError::UserError(Box::new(info))
}

/// Adds PostgreSQL's error cursor to a syntax error: the 1-based character
/// position, in the client's whole query string, of the token the message
/// names (`syntax error at or near "X"`). `stmt` is a slice of `query`.
pub fn with_syntax_position(e: PgWireError, query: &str, stmt: &str) -> PgWireError {
    let PgWireError::UserError(mut info) = e else {
        return e;
    };
    if info.code == "42601" && info.position.is_none() {
        let base = (stmt.as_ptr() as usize)
            .checked_sub(query.as_ptr() as usize)
            .filter(|b| *b + stmt.len() <= query.len())
            .unwrap_or(0);
        let at = match info.message.strip_prefix("syntax error at or near \"") {
            Some(rest) => rest.strip_suffix('"').and_then(|token| stmt.find(token)),
            None if info.message == "syntax error at end of input" => Some(stmt.len()),
            None => None,
        };
        if let Some(at) = at {
            let chars = query[..base + at].chars().count() + 1;
            info.position = Some(chars.to_string());
        }
    }
    PgWireError::UserError(info)
}

pub fn value_error(e: &ValueError) -> PgWireError {
    error(e.sqlstate, e.message.clone())
}

/// A worker failure mid-statement: the client gets a clear error and the
/// worker is dropped (and killed) instead of going back to the pool.
pub fn bridge_failure(e: &BridgeError) -> PgWireError {
    match e {
        BridgeError::Backend(b) => backend_error(b),
        BridgeError::Exited => error(
            "08006",
            "the bridge worker serving this session exited during the statement",
        ),
        other => error("XX000", format!("bridge worker failed: {other}")),
    }
}

pub fn acquire_failure(e: &AcquireError) -> PgWireError {
    match e {
        // The backend's own words (e.g. a namespace that does not exist).
        AcquireError::Start { source, .. } if matches!(**source, BridgeError::Backend(_)) => {
            bridge_failure(source)
        }
        _ => error(e.sqlstate(), e.to_string()),
    }
}
