//! The audit log: logins, failed logins and logouts; admin-console
//! commands and refusals; configuration reloads; drains.
//!
//! Every event goes to the server's log as an `INFO` line of the target
//! `iriswire::audit` with the field `audit=true` (kept even when
//! `log.level` is quieter, see [`crate::logging`]), and, when
//! `log.audit_file` is set, to that file as one JSON object per line,
//! appended. The file is reopened on every reload, so log rotation is
//! "rename, then SIGHUP".
//!
//! Values come from clients (user names, `application_name`, console
//! text) and are never written raw: the JSON encoder escapes them, and the
//! text log escapes control characters ([`crate::logging::escape`]).

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::pgtypes::datetime::civil_from_days;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    Login,
    LoginFailed,
    Logout,
    AdminCommand,
    AdminDenied,
    Reload,
    Drain,
}

impl AuditEvent {
    pub fn label(self) -> &'static str {
        match self {
            AuditEvent::Login => "login",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::Logout => "logout",
            AuditEvent::AdminCommand => "admin_command",
            AuditEvent::AdminDenied => "admin_denied",
            AuditEvent::Reload => "reload",
            AuditEvent::Drain => "drain",
        }
    }
}

/// One audit record; fields left `None` are not written.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    pub event: AuditEvent,
    pub user: Option<&'a str>,
    pub peer: Option<SocketAddr>,
    pub database: Option<&'a str>,
    pub application_name: Option<&'a str>,
    /// How a login authenticated: `scram-sha-256`, `md5`, `trust`.
    pub method: Option<&'static str>,
    /// Why a login failed or a reload did not apply, or what started a drain.
    pub reason: Option<&'a str>,
    /// An admin-console command's text.
    pub command: Option<&'a str>,
    /// `ok` or `error`, for commands and reloads.
    pub outcome: Option<&'static str>,
    /// A session's length, on logout.
    pub duration_ms: Option<u64>,
}

impl<'a> Audit<'a> {
    pub fn new(event: AuditEvent) -> Audit<'a> {
        Audit {
            event,
            user: None,
            peer: None,
            database: None,
            application_name: None,
            method: None,
            reason: None,
            command: None,
            outcome: None,
            duration_ms: None,
        }
    }

    /// Writes the record to the log and, if configured, the audit file.
    pub fn record(&self) {
        tracing::info!(
            target: "iriswire::audit",
            audit = true,
            event = self.event.label(),
            user = self.user,
            peer = self.peer.map(tracing::field::display),
            database = self.database,
            application_name = self.application_name,
            method = self.method,
            reason = self.reason,
            command = self.command,
            outcome = self.outcome,
            duration_ms = self.duration_ms,
            "audit: {}",
            self.event.label()
        );
        let mut file = AUDIT_FILE.lock().expect("audit file lock");
        if let Some(f) = file.as_mut() {
            let mut line = self.json(SystemTime::now()).to_string();
            line.push('\n');
            // One write per line on an O_APPEND file: lines from concurrent
            // records never interleave.
            if let Err(e) = f.file.write_all(line.as_bytes()) {
                tracing::error!(path = %f.path.display(), error = %e, "cannot write the audit file");
            }
        }
    }

    /// The record as the audit file's JSON object.
    fn json(&self, at: SystemTime) -> Value {
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::String(rfc3339(at)));
        m.insert("audit".into(), Value::Bool(true));
        m.insert("event".into(), self.event.label().into());
        let texts = [
            ("user", self.user),
            ("database", self.database),
            ("application_name", self.application_name),
            ("method", self.method),
            ("reason", self.reason),
            ("command", self.command),
            ("outcome", self.outcome),
        ];
        if let Some(peer) = self.peer {
            m.insert("peer".into(), peer.to_string().into());
        }
        for (key, value) in texts {
            if let Some(v) = value {
                m.insert(key.into(), v.into());
            }
        }
        if let Some(ms) = self.duration_ms {
            m.insert("duration_ms".into(), ms.into());
        }
        Value::Object(m)
    }
}

struct AuditFile {
    path: PathBuf,
    file: File,
}

static AUDIT_FILE: Mutex<Option<AuditFile>> = Mutex::new(None);

/// Opens `path` for appending (created owner-only), or closes the audit
/// file when `None`. At start-up a failure stops the server.
pub fn open(path: Option<&Path>) -> std::io::Result<()> {
    let new = match path {
        Some(p) => Some(AuditFile {
            path: p.to_owned(),
            file: append(p)?,
        }),
        None => None,
    };
    *AUDIT_FILE.lock().expect("audit file lock") = new;
    Ok(())
}

/// On reload: opens `path` afresh (after rotation the old name is a new
/// file). A file that cannot be opened leaves the old one in use.
pub fn reopen(path: Option<&Path>) {
    if let Err(e) = open(path) {
        tracing::error!(
            path = %path.map(|p| p.display().to_string()).unwrap_or_default(),
            error = %e,
            "cannot reopen log.audit_file; still writing to the previous one"
        );
    }
}

fn append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

/// `2024-05-01T12:34:56.789Z`.
fn rfc3339(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_record_is_one_json_line_with_client_text_escaped() {
        let mut a = Audit::new(AuditEvent::Login);
        a.user = Some("alice");
        a.peer = Some("127.0.0.1:5000".parse().unwrap());
        a.application_name = Some("app\n2024-01-01 INFO forged");
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let line = a.json(at).to_string();
        assert!(!line.contains('\n'), "{line}");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20.123Z");
        assert_eq!(v["event"], "login");
        assert_eq!(v["audit"], true);
        assert_eq!(v["peer"], "127.0.0.1:5000");
        assert_eq!(v["application_name"], "app\n2024-01-01 INFO forged");
        assert!(v.get("reason").is_none());
    }
}
