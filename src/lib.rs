//! iriswire: a PostgreSQL wire-protocol front end for InterSystems IRIS.
//!
//! A query's path, by module: [`frontend`] (protocol, auth, sessions) →
//! [`translate`] (PostgreSQL SQL → backend dialect) → [`pool`] (a worker per
//! session or transaction) → [`bridge`] (framed pipes to a Python worker
//! inside IRIS, or on SQLite by default) → back through
//! [`pgtypes`] (type mapping and wire encoding) to the client.

pub mod admin;
pub mod bridge;
pub mod config;
pub mod frontend;
pub mod http;
pub mod logging;
pub mod pgtypes;
pub mod pool;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod translate;
