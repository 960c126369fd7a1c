//! Frame tags and payload shapes of bridge protocol version 1, and the
//! start-up configuration a worker reads from its first frame (`S`).

use std::path::PathBuf;

use serde::Serialize;

use super::marshal::{MarshalError, Reader, Value};

pub const PROTOCOL_VERSION: i64 = 1;
/// Largest frame either side accepts; anything bigger means a corrupt stream.
pub const MAX_FRAME: usize = 1 << 30;

pub mod tag {
    /// The first frame a worker reads: its configuration as JSON.
    pub const STARTUP: u8 = b'S';
    pub const READY: u8 = b'R';
    pub const QUERY: u8 = b'Q';
    pub const PREPARE: u8 = b'P';
    /// The worker changes hands: drop what the last session left behind.
    pub const RESET: u8 = b'Z';
    /// One statement for a list of parameter tuples (COPY FROM STDIN).
    pub const MANY: u8 = b'M';
    /// The session's lock wait in milliseconds (u32, 0: until cancelled);
    /// unanswered, written just before the request it applies to.
    pub const LOCK_TIMEOUT: u8 = b'L';
    pub const TERMINATE: u8 = b'X';
    pub const DESCRIPTION: u8 = b'D';
    pub const BATCH: u8 = b'B';
    pub const COMPLETE: u8 = b'C';
    pub const PREPARED: u8 = b'T';
    pub const ERROR: u8 = b'E';
}

/// `Q` flag: report declared column types (costly on SQLite, cached by the caller).
pub const FLAG_DESCRIBE: u8 = 1;

/// One result column as the backend describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    pub name: String,
    /// Declared type, lower case; empty when the backend cannot tell.
    pub type_name: String,
    /// ODBC SQL type code (IRIS), 0 when unknown.
    pub type_code: i64,
    pub precision: i64,
    pub scale: i64,
}

/// A statement error as the worker reports it, already mapped to a SQLSTATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    pub sqlstate: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub backend_code: Option<i64>,
    pub in_transaction: bool,
    /// The object the error is about, as PostgreSQL's ErrorResponse names
    /// it (schema, table, column, constraint); sent for class 23.
    pub object: Box<ErrorObject>,
    /// For an `M` request: the index, in its list, of the parameter tuple
    /// that failed, when the backend can tell.
    pub row: Option<usize>,
}

/// PostgreSQL's `s`, `t`, `c` and `n` ErrorResponse fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorObject {
    pub schema: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.sqlstate)
    }
}

pub fn parse_columns(r: &mut Reader<'_>) -> Result<Vec<ColumnMeta>, MarshalError> {
    let n = r.container()?;
    let mut cols = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let width = r.container()?;
        if width < 5 {
            return Err(MarshalError::RaggedRow {
                expected: 6,
                found: width,
            });
        }
        let name = r.string()?.to_owned();
        let type_name = r.opt_str()?.unwrap_or("").to_ascii_lowercase();
        let type_code = r.opt_int()?.unwrap_or(0);
        let precision = r.opt_int()?.unwrap_or(0);
        let scale = r.opt_int()?.unwrap_or(0);
        for _ in 5..width {
            r.value()?;
        }
        cols.push(ColumnMeta {
            name,
            type_name,
            type_code,
            precision,
            scale,
        });
    }
    Ok(cols)
}

pub fn parse_error(payload: &[u8]) -> Result<BackendError, MarshalError> {
    let mut r = Reader::new(payload);
    let n = r.container()?;
    if n < 6 {
        return Err(MarshalError::RaggedRow {
            expected: 6,
            found: n,
        });
    }
    let sqlstate = r.string()?;
    let sqlstate = if sqlstate.len() == 5 && sqlstate.is_ascii() {
        sqlstate.to_owned()
    } else {
        "XX000".to_owned()
    };
    let mut e = BackendError {
        sqlstate,
        message: r.string()?.to_owned(),
        detail: r.opt_str()?.map(str::to_owned),
        hint: r.opt_str()?.map(str::to_owned),
        backend_code: r.opt_int()?,
        in_transaction: r.bool()?,
        object: Box::default(),
        row: None,
    };
    // Fields added since: the object (four), then the failing row of an
    // `M` request; an older worker stops at six.
    if n >= 10 {
        let mut field = || r.opt_str().map(|s| s.map(str::to_owned));
        e.object = Box::new(ErrorObject {
            schema: field()?,
            table: field()?,
            column: field()?,
            constraint: field()?,
        });
    }
    if n >= 11 {
        e.row = r.opt_int()?.and_then(|i| usize::try_from(i).ok());
    }
    Ok(e)
}

/// `C` payload: `(rowcount, in_transaction)`.
pub fn parse_complete(payload: &[u8]) -> Result<(i64, bool), MarshalError> {
    let mut r = Reader::new(payload);
    r.container()?;
    let rowcount = r.opt_int()?.unwrap_or(-1);
    let in_txn = r.bool()?;
    Ok((rowcount, in_txn))
}

/// `T` payload: `(columns or None, params or None)`.
pub fn parse_prepared(payload: &[u8]) -> Result<Prepared, MarshalError> {
    let mut r = Reader::new(payload);
    r.container()?;
    let columns = if r.take_none() {
        None
    } else {
        Some(parse_columns(&mut r)?)
    };
    let params = if r.take_none() {
        None
    } else {
        let n = r.container()?;
        let mut v = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            r.container()?;
            let name = r.opt_str()?.unwrap_or("").to_ascii_lowercase();
            let code = r.opt_int()?.unwrap_or(0);
            v.push((name, code));
        }
        Some(v)
    };
    Ok(Prepared { columns, params })
}

/// What a backend says about a statement without running it.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// `None`: the backend cannot tell; empty: no result rows.
    pub columns: Option<Vec<ColumnMeta>>,
    /// Per placeholder `(type_name, type_code)`; `None`: unknown.
    pub params: Option<Vec<(String, i64)>>,
}

/// `R` payload: a dict; we only need a few keys and tolerate the rest.
pub fn parse_ready(payload: &[u8]) -> Result<ReadyInfo, MarshalError> {
    let mut r = Reader::new(payload);
    let code = payload.first().copied().unwrap_or(0) & 0x7f;
    if code != b'{' {
        return Err(MarshalError::Unexpected {
            expected: "a dict",
            found: code,
        });
    }
    r.skip_dict_header();
    let mut info = ReadyInfo::default();
    while !r.at_dict_end() {
        let key = r.string()?;
        let v = r.value()?;
        match (key, v) {
            ("protocol", Value::Int(p)) => info.protocol = p,
            ("driver", Value::Str(s)) => info.driver = s.to_owned(),
            ("server_version", Value::Str(s)) => info.server_version = s.to_owned(),
            ("pid", Value::Int(p)) => info.pid = p,
            _ => {}
        }
    }
    Ok(info)
}

#[derive(Debug, Clone, Default)]
pub struct ReadyInfo {
    pub protocol: i64,
    pub driver: String,
    pub server_version: String,
    pub pid: i64,
}

/// What a worker is told at start-up, as the JSON object of its first
/// frame, `S`, on its request pipe (keys in `docs/bridge-protocol.md`,
/// read by `load_config` in the worker's `request_loop.py`). The worker
/// ignores keys it does not know.
///
/// Not `Debug`: it carries the IRIS password, which is why it travels down
/// a pipe and never through the worker's environment.
#[derive(Clone, PartialEq, Serialize)]
pub struct WorkerConfig {
    /// `driver` and the driver's own keys, at the top level of the object.
    #[serde(flatten)]
    pub driver: DriverConfig,
    /// Rows per `B` frame.
    pub batch_rows: u32,
}

/// The backend a worker serves, named by the `driver` key.
#[derive(Clone, PartialEq, Serialize)]
#[serde(tag = "driver", rename_all = "kebab-case")]
pub enum DriverConfig {
    /// `"sqlite"`: one SQLite file; the rest answers PostgreSQL's session
    /// functions (`version()`, `current_database()`, `current_user`).
    Sqlite {
        database: PathBuf,
        database_name: String,
        user: String,
        pg_version: String,
        iriswire_version: String,
    },
    /// `"iris-embedded"`: the IRIS instance the worker runs in (irispython).
    /// `irispython` logs in with `IRISUSERNAME`/`IRISPASSWORD`, which the
    /// worker sets in its own environment from these (left out when unset).
    IrisEmbedded {
        namespace: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    /// `"iris-native"`: an IRIS instance over the network. `None` is sent
    /// as JSON `null`, which the worker reads as given, not as its default.
    IrisNative {
        host: Option<String>,
        port: u16,
        namespace: String,
        username: Option<String>,
        password: Option<String>,
    },
}

impl WorkerConfig {
    /// The JSON text of the `S` frame.
    ///
    /// # Panics
    /// If the SQLite path is not UTF-8, which JSON cannot carry.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a worker configuration is JSON (its paths are UTF-8)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An `E` frame with the marshal writer's encoding of its tuple.
    fn error_payload(fields: usize, row: Option<i64>) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = super::super::marshal::Writer { buf: &mut buf };
        w.tuple_header(fields);
        w.str("23505");
        w.str("duplicate key value violates unique constraint");
        w.none();
        w.none();
        w.int(2067);
        w.bool(true);
        if fields > 6 {
            // The object fields come first, then the row.
            for _ in 0..4 {
                w.none();
            }
            match row {
                Some(i) => w.int(i),
                None => w.none(),
            }
        }
        buf
    }

    #[test]
    fn error_frames_carry_the_failed_row_of_an_m_request() {
        let plain = parse_error(&error_payload(6, None)).unwrap();
        assert_eq!(plain.sqlstate, "23505");
        assert_eq!(plain.backend_code, Some(2067));
        assert!(plain.in_transaction);
        assert_eq!(plain.row, None);
        assert_eq!(
            parse_error(&error_payload(11, Some(3))).unwrap().row,
            Some(3)
        );
        assert_eq!(parse_error(&error_payload(11, None)).unwrap().row, None);
    }

    fn value(config: &WorkerConfig) -> serde_json::Value {
        serde_json::from_str(&config.to_json()).expect("valid JSON")
    }

    #[test]
    fn embedded_credentials_travel_only_when_set() {
        let embedded = WorkerConfig {
            driver: DriverConfig::IrisEmbedded {
                namespace: "USER".into(),
                username: Some("_SYSTEM".into()),
                password: Some("SYS".into()),
            },
            batch_rows: 100,
        };
        assert_eq!(
            value(&embedded),
            json!({"driver": "iris-embedded", "namespace": "USER", "username": "_SYSTEM",
                   "password": "SYS", "batch_rows": 100})
        );
    }

    /// The objects the worker has always read (once built with `json!`).
    #[test]
    fn worker_config_json_keeps_the_workers_keys() {
        let sqlite = WorkerConfig {
            driver: DriverConfig::Sqlite {
                database: PathBuf::from("/data/app.db"),
                database_name: "app".into(),
                user: "ann".into(),
                pg_version: "16.6".into(),
                iriswire_version: "0.1.0".into(),
            },
            batch_rows: 512,
        };
        assert_eq!(
            value(&sqlite),
            json!({"driver": "sqlite", "database": "/data/app.db", "batch_rows": 512,
                   "database_name": "app", "user": "ann", "pg_version": "16.6",
                   "iriswire_version": "0.1.0"})
        );
        let embedded = WorkerConfig {
            driver: DriverConfig::IrisEmbedded {
                namespace: "USER".into(),
                username: None,
                password: None,
            },
            batch_rows: 100,
        };
        assert_eq!(
            value(&embedded),
            json!({"driver": "iris-embedded", "namespace": "USER", "batch_rows": 100})
        );
        let native = WorkerConfig {
            driver: DriverConfig::IrisNative {
                host: Some("iris".into()),
                port: 1972,
                namespace: "USER".into(),
                username: None,
                password: Some("secret".into()),
            },
            batch_rows: 512,
        };
        assert_eq!(
            value(&native),
            json!({"driver": "iris-native", "host": "iris", "port": 1972, "namespace": "USER",
                   "username": null, "password": "secret", "batch_rows": 512})
        );
    }
}
