//! Why a login is refused over a connection limit, worded as PostgreSQL
//! words it, with the setting that applies.

/// Why a login was refused over a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitExceeded {
    Server(usize),
    User(String, usize),
    Database(String, usize),
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitExceeded::Server(n) => write!(
                f,
                "sorry, too many clients already (server.max_client_connections = {n})"
            ),
            LimitExceeded::User(u, n) => write!(
                f,
                "too many connections for role \"{u}\" (server.max_connections_per_user = {n})"
            ),
            LimitExceeded::Database(d, n) => write!(
                f,
                "too many connections for database \"{d}\" (server.max_connections_per_database = {n})"
            ),
        }
    }
}
