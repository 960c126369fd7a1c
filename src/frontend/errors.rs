//! SQLSTATE codes the front end reports, named as PostgreSQL's
//! `errcodes.txt` names them, so a reader sees the condition rather than a
//! five-character literal.

pub const PROTOCOL_VIOLATION: &str = "08P01";
pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
pub const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
pub const TOO_MANY_CONNECTIONS: &str = "53300";
