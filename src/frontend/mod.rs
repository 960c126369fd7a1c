//! The PostgreSQL-facing side: listener, TLS, start-up and authentication,
//! the query protocols and per-connection sessions.

pub mod accept_backoff;
pub mod auth;
pub mod columns;
pub mod connection;
pub mod copy;
pub mod describe;
pub mod errors;
pub mod extended;
pub mod framing;
pub mod handler;
pub mod lease;
pub mod parse;
pub mod session;
pub mod session_wire;
pub mod simple;
pub mod stream;
pub mod supervise;
pub mod transaction;

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

/// Builds TLS from the configured certificate and key; ALPN `postgresql`
/// lets PostgreSQL 17 clients use direct SSL.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<pgwire::tokio::TlsAcceptor, String> {
    use tokio_rustls::rustls;
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert).map_err(|e| format!("{}: {e}", cert.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key).map_err(|e| format!("{}: {e}", key.display()))?,
    ))
    .map_err(|e| format!("{}: {e}", key.display()))?
    .ok_or_else(|| format!("{}: no private key found", key.display()))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| e.to_string())?;
    cfg.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(pgwire::tokio::TlsAcceptor::from(Arc::new(cfg)))
}

/// Accepts PostgreSQL connections until `stop` resolves (draining), then
/// drops the listener so new connections are refused by the kernel.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<pgwire::tokio::TlsAcceptor>,
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
            tls.clone(),
            handlers.clone(),
            shared.clone(),
        ));
    }
}
