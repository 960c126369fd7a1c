//! The layered key map: every setting as a string with the place it came
//! from, merged defaults < file < environment < flags.
//!
//! Sections read their values through a [`Table`], which turns a bad value
//! into a [`ConfigError::Invalid`] naming the full key, the value and its
//! [`Source`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::error::{ConfigError, Source};
use super::users::{User, parse_user};

/// Values set on the command line, by key.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `(key, flag name, value)`, applied in order.
    pub flags: Vec<(&'static str, &'static str, String)>,
}

impl Overrides {
    /// Records `--flag value` for `key`; `None` (flag not given) records nothing.
    pub fn set(&mut self, key: &'static str, flag: &'static str, value: Option<String>) {
        if let Some(v) = value {
            self.flags.push((key, flag, v));
        }
    }
}

/// IRIS's own environment variables and the keys they set. They are applied
/// before `IRISWIRE_*`, so `IRISWIRE_IRIS_HOST` still wins over `IRISHOSTNAME`.
const IRIS_VARS: &[(&str, &str)] = &[
    ("IRISHOSTNAME", "iris.host"),
    ("IRIS_HOST", "iris.host"),
    ("IRISPORT", "iris.port"),
    ("IRIS_PORT", "iris.port"),
    ("IRISNAMESPACE", "iris.namespace"),
    ("IRISUSERNAME", "iris.username"),
    ("IRISPASSWORD", "iris.password"),
];

/// `pool.max_size` → `IRISWIRE_POOL_MAX_SIZE`.
fn env_key(key: &str) -> String {
    format!("IRISWIRE_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Every known key's current value and source, plus the `[[users]]` entries
/// (which only the file can set).
#[derive(Debug, Clone)]
pub(super) struct Layered {
    pub(super) values: BTreeMap<String, (String, Source)>,
    pub(super) users: Vec<User>,
}

impl Layered {
    /// The defaults: `tables` lists each table's name (`""` for top-level
    /// keys) with its keys and their default values.
    pub(super) fn defaults(tables: &[(&str, &[(&str, &str)])]) -> Layered {
        let values = tables
            .iter()
            .flat_map(|(table, keys)| {
                keys.iter().map(move |(k, v)| {
                    let key = if table.is_empty() {
                        k.to_string()
                    } else {
                        format!("{table}.{k}")
                    };
                    (key, (v.to_string(), Source::Default))
                })
            })
            .collect();
        Layered {
            values,
            users: Vec::new(),
        }
    }

    /// Layers the TOML file over what is there; unknown keys are errors.
    pub(super) fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::File {
                path: path.to_owned(),
                reason: e.message().to_owned(),
            })?;
        let source = Source::File(path.to_owned());
        for (k, v) in table {
            match (k.as_str(), v) {
                ("users", toml::Value::Array(users)) => {
                    for u in users {
                        self.users.push(parse_user(&u, &source)?);
                    }
                }
                (section, toml::Value::Table(t)) => {
                    for (k2, v2) in t {
                        self.set_file_value(&format!("{section}.{k2}"), v2, &source)?;
                    }
                }
                (key, v) => self.set_file_value(key, v, &source)?,
            }
        }
        Ok(())
    }

    fn set_file_value(
        &mut self,
        key: &str,
        v: toml::Value,
        source: &Source,
    ) -> Result<(), ConfigError> {
        if !self.values.contains_key(key) {
            return Err(ConfigError::Unknown {
                key: key.to_owned(),
                origin: source.clone(),
            });
        }
        // Every value is kept as a string so all layers parse alike.
        let s = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(ConfigError::Invalid {
                    key: key.to_owned(),
                    value: other.to_string(),
                    origin: source.clone(),
                    reason: "expected a string, number or boolean".into(),
                });
            }
        };
        self.values.insert(key.to_owned(), (s, source.clone()));
        Ok(())
    }

    /// Layers IRIS's variables, then `IRISWIRE_<KEY>` for every known key.
    /// Unrelated variables are ignored: the environment is shared.
    pub(super) fn apply_env(&mut self, env: &[(String, String)]) {
        for (var, key) in IRIS_VARS {
            if let Some((_, v)) = env.iter().find(|(k, _)| k == var) {
                self.values
                    .insert(key.to_string(), (v.clone(), Source::Env(var.to_string())));
            }
        }
        let known: Vec<String> = self.values.keys().cloned().collect();
        for key in known {
            let var = env_key(&key);
            if let Some((_, v)) = env.iter().find(|(k, _)| *k == var) {
                self.values.insert(key, (v.clone(), Source::Env(var)));
            }
        }
    }

    /// Layers the command-line flags, the last word.
    pub(super) fn apply_flags(&mut self, overrides: &Overrides) {
        for (key, flag, value) in &overrides.flags {
            self.values.insert(
                key.to_string(),
                (value.clone(), Source::Flag(flag.to_string())),
            );
        }
    }

    /// The keys of one table (`""`: the top-level keys).
    pub(super) fn table(&self, name: &'static str) -> Table<'_> {
        Table { layers: self, name }
    }

    /// Every key's value and source as text, for `Config::settings`.
    pub(super) fn settings(&self) -> BTreeMap<String, (String, String)> {
        self.values
            .iter()
            .map(|(k, (v, s))| (k.clone(), (v.clone(), s.to_string())))
            .collect()
    }
}

/// One TOML table's view of the layered values: takes the key within the
/// table (`max_size`) and reports errors with the full key (`pool.max_size`).
pub(super) struct Table<'a> {
    layers: &'a Layered,
    name: &'static str,
}

impl Table<'_> {
    fn full_key(&self, key: &str) -> String {
        if self.name.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.name)
        }
    }

    fn entry(&self, key: &str) -> &(String, Source) {
        let full = self.full_key(key);
        self.layers
            .values
            .get(&full)
            .unwrap_or_else(|| panic!("{full} has no default"))
    }

    /// The value as given, untrimmed.
    pub(super) fn raw(&self, key: &str) -> &str {
        &self.entry(key).0
    }

    pub(super) fn trimmed(&self, key: &str) -> &str {
        self.raw(key).trim()
    }

    /// The error for `key`'s current value.
    pub(super) fn invalid(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        let (v, s) = self.entry(key);
        ConfigError::Invalid {
            key: self.full_key(key),
            value: v.clone(),
            origin: s.clone(),
            reason: reason.into(),
        }
    }

    /// Empty (or blank) means "not set".
    pub(super) fn opt_str(&self, key: &str) -> Option<String> {
        let v = self.trimmed(key);
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// Parses the trimmed value; `what` completes "expected …" on failure.
    pub(super) fn parse<T: std::str::FromStr>(
        &self,
        key: &str,
        what: &str,
    ) -> Result<T, ConfigError> {
        self.trimmed(key)
            .parse()
            .map_err(|_| self.invalid(key, format!("expected {what}")))
    }

    /// As [`Table::parse`], and the value must be above zero.
    pub(super) fn positive<T: std::str::FromStr + PartialOrd + Default>(
        &self,
        key: &str,
        what: &str,
    ) -> Result<T, ConfigError> {
        let v: T = self.parse(key, what)?;
        if v <= T::default() {
            return Err(self.invalid(key, "must be greater than zero"));
        }
        Ok(v)
    }

    /// Milliseconds where 0 means "off".
    pub(super) fn opt_millis(&self, key: &str) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(
            self.parse(key, "a number of milliseconds (0 = off)")?,
        ))
    }

    /// Milliseconds, above zero.
    pub(super) fn millis(&self, key: &str) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(
            self.positive(key, "a number of milliseconds")?,
        ))
    }
}
