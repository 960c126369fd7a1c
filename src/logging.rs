//! Logging: the global `tracing` subscriber and its reloadable filter.
//!
//! Log lines carry text from clients (user names, `application_name`,
//! statements) and from workers. None of it may start a line of its own:
//! the JSON format escapes every string, and the text format writes each
//! field through [`escape`], so a newline in `application_name` prints as
//! `\n` and cannot forge a log line.

use std::fmt::Write as _;
use std::sync::OnceLock;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

use crate::config::{Config, LogFormat};

type FilterHandle = reload::Handle<EnvFilter, Registry>;

static LOG_FILTER: OnceLock<FilterHandle> = OnceLock::new();

/// The audit log's target; its lines are kept at `info` whatever the
/// level, unless the filter names this target itself.
pub const AUDIT_TARGET: &str = "iriswire::audit";

/// Installs the global `tracing` subscriber. `RUST_LOG` overrides
/// `log.level` at start; a reload applies `log.level` again.
pub fn init_logging(config: &Config) {
    let spec = std::env::var(EnvFilter::DEFAULT_ENV)
        .ok()
        .filter(|s| EnvFilter::try_new(s).is_ok())
        .unwrap_or_else(|| config.log.level.clone());
    let filter = filter_for(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match config.log.format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt.fmt_fields(escaped_fields()).boxed(),
    };
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        let _ = LOG_FILTER.set(handle);
    }
}

/// Changes the log filter of the running process (`log.level` on reload).
pub fn set_log_level(level: &str) -> Result<(), String> {
    let filter = filter_for(level).map_err(|e| format!("log.level {level:?}: {e}"))?;
    match LOG_FILTER.get() {
        Some(h) => h.reload(filter).map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

/// The filter `spec` asks for, with the audit target kept at `info`.
fn filter_for(spec: &str) -> Result<EnvFilter, tracing_subscriber::filter::ParseError> {
    let filter = EnvFilter::try_new(spec)?;
    if spec.contains(AUDIT_TARGET) {
        return Ok(filter);
    }
    Ok(filter.add_directive(format!("{AUDIT_TARGET}=info").parse()?))
}

/// The text format's fields (`name=value`, the message bare), every value
/// escaped.
fn escaped_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = format!("{value:?}");
        if field.name() == "message" {
            w.write_str(&escape(&text))
        } else {
            write!(w, "{}={}", field.name(), escape(&text))
        }
    })
    .delimited(" ")
}

/// `s` with control characters written as escapes (`\n`, `\r`, `\x1b`):
/// what a log line shows of text that is not the server's own.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\t') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("plain text"), "plain text");
        assert_eq!(
            escape("app\n2024-01-01 INFO forged\r"),
            "app\\n2024-01-01 INFO forged\\r"
        );
        assert_eq!(escape("\u{1b}[31mred"), "\\x1b[31mred");
        assert_eq!(escape("tab\there"), "tab\there");
    }

    #[test]
    fn the_audit_target_stays_on_unless_named() {
        let f = filter_for("warn").unwrap().to_string();
        assert!(f.contains("iriswire::audit=info"), "{f}");
        let f = filter_for("warn,iriswire::audit=off").unwrap().to_string();
        assert!(!f.contains("iriswire::audit=info"), "{f}");
    }
}
