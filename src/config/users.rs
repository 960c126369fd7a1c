//! `[[users]]`: the logins iriswire accepts. Without any, it trusts every
//! client, which is allowed only on loopback addresses.

use super::error::{ConfigError, Source};

/// A configured login. `secret` is a PostgreSQL-style SCRAM verifier
/// (`SCRAM-SHA-256$<iter>:<salt>$<stored>:<server>`) or MD5 hash (`md5<hex>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub secret: String,
    /// May use the `iriswire` admin console.
    pub admin: bool,
}

/// One `[[users]]` entry. Errors name the key `users` and show the whole entry.
pub(super) fn parse_user(v: &toml::Value, source: &Source) -> Result<User, ConfigError> {
    let bad = |reason: &str| ConfigError::Invalid {
        key: "users".into(),
        value: v.to_string(),
        origin: source.clone(),
        reason: reason.into(),
    };
    let t = v.as_table().ok_or_else(|| bad("expected a table"))?;
    let name = t
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("missing name"))?;
    let secret = t
        .get("password")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("missing password (a SCRAM verifier from `iriswire passwd`)"))?;
    // A plain-text password here would be a secret on disk; refuse it.
    if !(secret.starts_with("SCRAM-SHA-256$") || (secret.starts_with("md5") && secret.len() == 35))
    {
        return Err(bad(
            "password must be a SCRAM-SHA-256 verifier or an md5 hash, never plain text; create one with `iriswire passwd USER`",
        ));
    }
    let admin = t.get("admin").and_then(|v| v.as_bool()).unwrap_or(false);
    Ok(User {
        name: name.to_owned(),
        secret: secret.to_owned(),
        admin,
    })
}
