//! One client connection's message loop.
//!
//! pgwire's `process_socket` runs the same loop, but a proxy must also act
//! while a client is silent: close idle sessions on a timeout, tell idle
//! sessions the server is going away (57P01) while letting open transactions
//! finish, and answer CancelRequests itself (per-address rate limit, no
//! reply). So the loop is ours, built from pgwire's public pieces; every
//! message is still handled by pgwire's `process_message`.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use futures::SinkExt;
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::frontend::Handlers;
use crate::frontend::auth::ClientHandle;
use crate::frontend::errors::{
    ADMIN_SHUTDOWN, IDLE_IN_TRANSACTION_SESSION_TIMEOUT, IDLE_SESSION_TIMEOUT,
};
use crate::frontend::framing::{FrameReader, Inbound, Stage};
use crate::state::Phase;
use crate::state::Shared;
use crate::state::clients::ClientState;
use crate::telemetry::{Metrics, Rejection};
/// A FATAL message to a client that does not read is not worth waiting for.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the loop closes a connection on its own.
enum Farewell {
    Shutdown,
    IdleSession,
    IdleInTransaction,
}

impl Farewell {
    fn error(&self) -> ErrorInfo {
        let (code, msg) = match self {
            Farewell::Shutdown => (
                ADMIN_SHUTDOWN,
                "terminating connection due to administrator command",
            ),
            Farewell::IdleSession => (
                IDLE_SESSION_TIMEOUT,
                "terminating connection due to idle-session timeout",
            ),
            Farewell::IdleInTransaction => (
                IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
                "terminating connection due to idle-in-transaction timeout",
            ),
        };
        ErrorInfo::new("FATAL".into(), code.into(), msg.into())
    }
}

/// Runs one TCP connection to its end.
pub async fn run(
    socket: TcpStream,
    peer: SocketAddr,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    handlers: Arc<Handlers>,
    shared: Arc<Shared>,
) {
    let clients = &shared.clients;
    let metrics = Metrics::install();
    let guard = clients.open(peer, socket.as_raw_fd());
    let client = guard.client.clone();
    let started = std::time::Instant::now();
    let cfg = shared.config();
    let mut pending_login = Some(
        clients
            .logins
            .admit(client.id, cfg.server.max_pending_logins),
    );
    let startup_deadline = tokio::time::sleep(cfg.server.login_timeout);
    drop(cfg);
    tokio::pin!(startup_deadline);
    let negotiated = {
        let pending = pending_login.as_ref().expect("admitted above");
        tokio::select! {
            _ = &mut startup_deadline => {
                metrics.rejected(Rejection::Protocol);
                return;
            }
            _ = pending.evicted() => {
                metrics.rejected(Rejection::Limit);
                return;
            }
            s = negotiate_tls::<crate::frontend::handler::Statement>(socket, tls) => s,
        }
    };
    let mut socket = match negotiated {
        Ok(Some(s)) => s,
        // Direct TLS without a certificate, or a failed handshake.
        Ok(None) | Err(_) => {
            metrics.rejected(Rejection::Tls);
            return;
        }
    };

    socket
        .session_extensions()
        .insert(ClientHandle(client.clone()));
    // From here on the connection's bytes are read by the bounded framer,
    // never by pgwire's codec; it starts with what TLS negotiation read ahead.
    let mut reader = FrameReader::new(socket.read_buffer_mut().split());
    let startup = handlers.startup.clone();
    let simple = handlers.handler.clone();
    let extended = handlers.handler.clone();
    let copy = handlers.handler.clone();
    // CancelRequests are answered above, never by pgwire.
    let cancel = Arc::new(pgwire::api::NoopHandler);
    let mut phase = shared.lifecycle.subscribe();
    // Idle-timeout deadline, armed at each idle point (`None`: off).
    let idle_deadline = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(idle_deadline);
    let mut idle_armed: Option<Farewell> = None;
    // Between the first extended-protocol message and its Sync the client
    // is mid-request, even while the loop waits for its next message.
    let mut in_batch = false;

    let farewell = loop {
        let stage = match socket.state() {
            PgWireConnectionState::AwaitingSslRequest | PgWireConnectionState::AwaitingStartup => {
                Stage::Startup
            }
            PgWireConnectionState::AuthenticationInProgress => Stage::Authenticating,
            _ => Stage::Ready,
        };
        let logging_in = stage != Stage::Ready;
        if !logging_in {
            // Logged in: this connection no longer counts against the cap.
            pending_login = None;
        }
        let idle_point = !logging_in && !in_batch;
        if !logging_in {
            let current = *phase.borrow_and_update();
            let idle_txn = socket.transaction_status() != TransactionStatus::Idle;
            match current {
                Phase::Closing => break Some(Farewell::Shutdown),
                Phase::Draining if idle_point && !idle_txn => break Some(Farewell::Shutdown),
                _ => {}
            }
        }
        let max_message = shared.config().server.max_message_size;
        let protocol = socket.protocol_version();
        let msg = tokio::select! {
            biased;
            _ = &mut startup_deadline, if logging_in => {
                metrics.rejected(Rejection::Protocol);
                break None;
            }
            _ = async { pending_login.as_ref().expect("logging in").evicted().await }, if logging_in => {
                metrics.rejected(Rejection::Limit);
                tracing::debug!(%peer, "pending login closed to admit a newer one (server.max_pending_logins)");
                break None;
            }
            _ = &mut idle_deadline, if idle_point && idle_armed.is_some() => {
                break idle_armed.take();
            }
            changed = phase.changed() => {
                if changed.is_err() {
                    break None;
                }
                // Re-evaluated at the top of the loop.
                continue;
            }
            msg = reader.next(socket.get_mut(), stage, max_message, protocol) => msg,
        };
        let msg = match msg {
            Ok(Some(Inbound::Message(m))) => m,
            Ok(Some(Inbound::Refused { error, extended })) => {
                in_batch = extended;
                let e = PgWireError::UserError(error);
                if process_error(&mut socket, e, extended).await.is_err() {
                    break None;
                }
                continue;
            }
            Ok(None) => break None,
            Err(e) => {
                if logging_in {
                    metrics.rejected(Rejection::Protocol);
                }
                tracing::debug!(%peer, error = %e, "protocol violation; closing");
                if let Some(info) = e.fatal() {
                    let err = PgWireBackendMessage::ErrorResponse(info.into());
                    let _ = tokio::time::timeout(FAREWELL_TIMEOUT, socket.send(err)).await;
                }
                break None;
            }
        };
        match &msg {
            PgWireFrontendMessage::Terminate(_) => break None,
            PgWireFrontendMessage::CancelRequest(c) => {
                let cfg = shared.config();
                let secret = c.secret_key.to_bytes();
                let outcome =
                    clients.cancel(peer.ip(), c.pid, &secret, cfg.server.cancel_rate_per_s);
                metrics.cancel_request(outcome);
                tracing::debug!(%peer, pid = c.pid, outcome = outcome.label(), "cancel request");
                break None;
            }
            _ => {}
        }
        // In copy-in mode (COPY FROM STDIN) pgwire ignores Sync; CopyDone
        // and CopyFail end a COPY of the simple protocol, and copy messages
        // outside copy-in mode are dropped.
        let copying = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => Some(extended),
            _ => None,
        };
        let ends_request = match (&msg, copying) {
            (PgWireFrontendMessage::Query(_) | PgWireFrontendMessage::Sync(_), None) => true,
            (PgWireFrontendMessage::CopyDone(_) | PgWireFrontendMessage::CopyFail(_), c) => {
                c != Some(true)
            }
            (PgWireFrontendMessage::CopyData(_), None) => true,
            _ => false,
        };
        let is_extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(ext) => ext,
            _ => msg.is_extended_query(),
        };
        if !logging_in {
            client.set_state(ClientState::Active);
            in_batch = !ends_request;
        }
        if let Err(e) = process_message(
            msg,
            &mut socket,
            startup.clone(),
            simple.clone(),
            extended.clone(),
            copy.clone(),
            cancel.clone(),
        )
        .await
        {
            if copying.is_some() {
                // Copy-in mode ended by a message that does not belong to it.
                handlers.handler.abandon_copy(&mut socket).await;
            }
            let fatal = e.is_fatal();
            if logging_in && fatal {
                metrics.login_refused(&e);
            }
            if process_error(&mut socket, e, is_extended).await.is_err() || fatal {
                break None;
            }
        }
        match (socket.state(), copying) {
            // A COPY FROM STDIN started: the client is mid-request until it ends.
            (PgWireConnectionState::CopyInProgress(_), _) => in_batch = true,
            // A simple-protocol COPY ended by an error (ReadyForQuery sent).
            (PgWireConnectionState::ReadyForQuery, Some(false)) => in_batch = false,
            _ => {}
        }
        if !in_batch && client.state() != ClientState::Login {
            let in_txn = socket.transaction_status() != TransactionStatus::Idle;
            client.set_state(if in_txn {
                ClientState::IdleInTransaction
            } else {
                ClientState::Idle
            });
            let cfg = shared.config();
            let (timeout, why) = if in_txn {
                (
                    client.idle_in_transaction_timeout(),
                    Farewell::IdleInTransaction,
                )
            } else {
                (cfg.server.client_idle_timeout, Farewell::IdleSession)
            };
            idle_armed = (!timeout.is_zero()).then(|| {
                idle_deadline.as_mut().reset(Instant::now() + timeout);
                why
            });
        }
    };
    if let Some(f) = farewell {
        match f {
            Farewell::IdleInTransaction => metrics.idle_in_transaction_timeouts.increment(1),
            Farewell::IdleSession => metrics.idle_session_timeouts.increment(1),
            Farewell::Shutdown => {}
        }
        tracing::info!(%peer, reason = %f.error().message, "closing connection");
        let err = PgWireBackendMessage::ErrorResponse(f.error().into());
        let _ = tokio::time::timeout(FAREWELL_TIMEOUT, socket.send(err)).await;
    }
    let _ = tokio::time::timeout(FAREWELL_TIMEOUT, socket.close()).await;
    // The session (and its worker) go with the socket's extensions; the
    // registry entry, with the final byte counts, with the guard.
    drop(socket);
    metrics
        .connection_duration
        .record(started.elapsed().as_secs_f64());
    drop(guard);
}
