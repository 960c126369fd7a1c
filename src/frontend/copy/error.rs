//! Why a COPY statement is refused: PostgreSQL's SQLSTATE and wording.

use pgwire::error::{ErrorInfo, PgWireError};

use crate::frontend::errors::SYNTAX_ERROR;

/// A statement PostgreSQL would refuse, with its SQLSTATE and wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct StatementError {
    pub sqlstate: &'static str,
    pub message: String,
    pub hint: Option<&'static str>,
}

impl StatementError {
    pub(crate) fn syntax(message: impl Into<String>) -> Self {
        Self::new(SYNTAX_ERROR, message)
    }

    pub(crate) fn new(sqlstate: &'static str, message: impl Into<String>) -> Self {
        StatementError {
            sqlstate,
            message: message.into(),
            hint: None,
        }
    }
}

impl From<StatementError> for PgWireError {
    fn from(e: StatementError) -> Self {
        let mut info = ErrorInfo::new("ERROR".into(), e.sqlstate.into(), e.message);
        info.hint = e.hint.map(str::to_owned);
        PgWireError::UserError(Box::new(info))
    }
}
