//! iriswire: a PostgreSQL wire-protocol front end for InterSystems IRIS.
//!
//! A query's path, by module: [`frontend`] (protocol, auth, sessions) →
//! [`translate`] (PostgreSQL SQL → backend dialect) → [`pool`] (a worker per
//! session or transaction) → [`bridge`] (framed pipes to a Python worker
//! inside IRIS, or on SQLite by default) → back through
//! [`pgtypes`] (type mapping and wire encoding) to the client.

pub(crate) mod admin;
pub(crate) mod audit;
pub mod bridge;
pub mod config;
pub mod frontend;
pub(crate) mod http;
pub mod logging;
pub(crate) mod pgtypes;
pub(crate) mod pool;
pub mod server;
pub mod state;
pub(crate) mod telemetry;
pub(crate) mod tls;
pub mod translate;
