//! The PostgreSQL-facing side: listener, TLS, start-up and authentication,
//! the query protocols and per-connection sessions.

pub(crate) mod accept_backoff;
pub mod auth;
pub(crate) mod columns;
pub(crate) mod connection;
pub(crate) mod copy;
pub(crate) mod cursor_rows;
pub(crate) mod cursor_wire;
pub(crate) mod cursors;
pub(crate) mod describe;
pub(crate) mod errors;
pub(crate) mod extended;
pub(crate) mod failed_logins;
pub mod framing;
pub(crate) mod handler;
pub(crate) mod lease;
pub(crate) mod mock_scram;
pub(crate) mod parse;
pub(crate) mod prepared_sql;
pub(crate) mod result_row;
pub(crate) mod session;
pub(crate) mod session_sql;
pub(crate) mod session_sql_wire;
pub(crate) mod session_wire;
pub(crate) mod simple;
pub(crate) mod sql_tokens;
pub(crate) mod stream;
pub(crate) mod supervise;
pub(crate) mod transaction;
pub(crate) mod transaction_wire;
pub(crate) mod txn_modes;

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::state::Shared;
use auth::Startup;
use handler::Handler;

/// The handlers every connection's loop dispatches to.
pub struct Handlers {
    pub handler: Arc<Handler>,
    pub startup: Arc<Startup>,
}

/// Accepts PostgreSQL connections until `stop` resolves (draining), then
/// drops the listener so new connections are refused by the kernel.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: impl std::future::Future<Output = ()>,
) {
    let handlers = Arc::new(Handlers {
        handler: Arc::new(Handler::new(shared.clone())),
        startup: Arc::new(Startup::new(shared.clone())),
    });
    let metrics = crate::telemetry::Metrics::install();
    let mut backoff = accept_backoff::AcceptBackoff::default();
    tokio::pin!(stop);
    loop {
        let (socket, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(s) => {
                    backoff.succeeded();
                    s
                }
                Err(e) => {
                    let pause = backoff.failed(&e);
                    tokio::select! {
                        _ = &mut stop => break,
                        _ = tokio::time::sleep(pause) => continue,
                    }
                }
            },
        };
        metrics.connections_accepted.increment(1);
        tokio::spawn(connection::run(
            socket,
            peer,
            // The acceptor in force now: a reload affects new connections.
            shared.tls.acceptor(),
            handlers.clone(),
            shared.clone(),
        ));
    }
}
