//! Every client connection of the process: its state (for the metrics, the
//! admin console's `SHOW CLIENTS` and draining), its cancel key, and the
//! connection limits.
//!
//! The registry lock is a plain mutex held only for map updates and short
//! scans, never across an await.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use metrics::Gauge;
use tokio::sync::Notify;

pub use super::limits::LimitExceeded;
use crate::config::Config;
pub use crate::telemetry::CancelOutcome;

/// PostgreSQL's `pg_stat_activity.state`, plus the two phases a proxy adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ClientState {
    /// Connected, start-up or authentication not finished.
    Login = 0,
    /// Running a statement (or between the messages of an extended-protocol batch).
    Active = 1,
    Idle = 2,
    IdleInTransaction = 3,
    /// Waiting for a bridge worker.
    Waiting = 4,
}

impl ClientState {
    pub const ALL: [ClientState; 5] = [
        ClientState::Login,
        ClientState::Active,
        ClientState::Idle,
        ClientState::IdleInTransaction,
        ClientState::Waiting,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ClientState::Login => "login",
            ClientState::Active => "active",
            ClientState::Idle => "idle",
            ClientState::IdleInTransaction => "idle_in_transaction",
            ClientState::Waiting => "waiting",
        }
    }

    fn from_u8(v: u8) -> ClientState {
        ClientState::ALL
            .get(v as usize)
            .copied()
            .unwrap_or(ClientState::Active)
    }
}

/// Who a connection logged in as.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: String,
    pub database: String,
    pub application_name: String,
    pub admin: bool,
}

/// Why a running statement is being interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum InterruptReason {
    None = 0,
    UserRequest = 1,
    StatementTimeout = 2,
    Shutdown = 3,
}

impl InterruptReason {
    pub fn message(self) -> &'static str {
        match self {
            InterruptReason::StatementTimeout => "canceling statement due to statement timeout",
            InterruptReason::Shutdown => {
                "canceling statement due to administrator command (server shutting down)"
            }
            _ => "canceling statement due to user request",
        }
    }
}

/// One client connection.
pub struct Client {
    pub id: u64,
    pub peer: SocketAddr,
    pub connected_at: SystemTime,
    pub connected: Instant,
    identity: OnceLock<Identity>,
    state: AtomicU8,
    /// The socket, for its kernel byte counters; valid while registered.
    fd: i32,
    /// BackendKeyData: (pid, secret), set once authentication completes.
    key: OnceLock<(i32, Vec<u8>)>,
    /// Set while a statement runs: the worker that runs it.
    running: AtomicBool,
    /// pid of the bridge worker the session holds (0: none).
    pub worker_pid: AtomicU32,
    /// Wakes the statement supervisor of this connection.
    pub interrupt: Notify,
    interrupt_reason: AtomicU8,
    pub queries: AtomicU64,
    /// The session's `idle_in_transaction_session_timeout` in ms (0: off),
    /// read by the connection loop at idle points.
    idle_in_transaction_ms: AtomicU64,
    registry: Arc<ClientsInner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .field("state", &self.state())
            .finish()
    }
}

impl Client {
    pub fn state(&self) -> ClientState {
        ClientState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Moves the connection to `new`, keeping the per-state gauges exact.
    pub fn set_state(&self, new: ClientState) {
        let old = self.state.swap(new as u8, Ordering::Relaxed);
        if old != new as u8 {
            self.registry.gauges[old as usize].decrement(1.0);
            self.registry.gauges[new as usize].increment(1.0);
        }
    }

    pub fn set_idle_in_transaction_timeout(&self, d: Duration) {
        self.idle_in_transaction_ms
            .store(d.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn idle_in_transaction_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_in_transaction_ms.load(Ordering::Relaxed))
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.identity.get()
    }

    pub fn key(&self) -> Option<&(i32, Vec<u8>)> {
        self.key.get()
    }

    pub fn set_key(&self, pid: i32, secret: Vec<u8>) {
        let _ = self.key.set((pid, secret));
        self.registry
            .by_pid
            .lock()
            .expect("clients lock")
            .insert(pid, self.id);
    }

    /// Marks a statement as running; the returned guard clears the mark.
    /// Register for [`Client::interrupt`] *before* calling this, so that a
    /// cancel seen as "running" always wakes the supervisor.
    pub fn start_statement(&self) -> RunningStatement<'_> {
        self.interrupt_reason
            .store(InterruptReason::None as u8, Ordering::Relaxed);
        self.running.store(true, Ordering::Release);
        RunningStatement(self)
    }

    /// Interrupts the running statement, if any, for `reason`.
    pub fn request_interrupt(&self, reason: InterruptReason) -> bool {
        if !self.running.load(Ordering::Acquire) {
            return false;
        }
        // The first reason wins: a timeout followed by a cancel stays a timeout.
        let _ = self.interrupt_reason.compare_exchange(
            InterruptReason::None as u8,
            reason as u8,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
        self.interrupt.notify_waiters();
        true
    }

    pub fn interrupt_reason(&self) -> InterruptReason {
        match self.interrupt_reason.load(Ordering::Acquire) {
            1 => InterruptReason::UserRequest,
            2 => InterruptReason::StatementTimeout,
            3 => InterruptReason::Shutdown,
            _ => InterruptReason::None,
        }
    }

    /// Kernel byte counters of the socket: (received, sent and acknowledged).
    fn socket_bytes(&self) -> (u64, u64) {
        tcp_bytes(self.fd)
    }
}

/// Clears a client's "statement running" mark when the statement ends.
pub struct RunningStatement<'a>(&'a Client);

impl Drop for RunningStatement<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

#[cfg(target_os = "linux")]
fn tcp_bytes(fd: i32) -> (u64, u64) {
    // SAFETY: getsockopt(2) writes at most `len` bytes into `info`, which is
    // plain data; `fd` is a socket this process owns while it is registered.
    unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let r = libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            &mut info as *mut _ as *mut libc::c_void,
            &mut len,
        );
        if r != 0 {
            return (0, 0);
        }
        (info.tcpi_bytes_received, info.tcpi_bytes_acked)
    }
}

#[cfg(not(target_os = "linux"))]
fn tcp_bytes(_fd: i32) -> (u64, u64) {
    (0, 0)
}

/// Per-database totals for the admin console's `SHOW STATS`, resolved once
/// per session and bumped with relaxed atomics.
#[derive(Debug, Default)]
pub struct DbStats {
    pub queries: AtomicU64,
    pub query_time_us: AtomicU64,
    pub transactions: AtomicU64,
    pub wait_time_us: AtomicU64,
    pub received: AtomicU64,
    pub sent: AtomicU64,
}

impl DbStats {
    pub fn query(&self, elapsed: Duration) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.query_time_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn transaction(&self) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
    }

    pub fn waited(&self, d: Duration) {
        self.wait_time_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

struct ClientsInner {
    gauges: Vec<Gauge>,
    by_pid: Mutex<HashMap<i32, u64>>,
}

#[derive(Default)]
struct Counts {
    /// Logged-in (identified) connections, admin console excluded.
    logged_in: usize,
    per_user: HashMap<String, usize>,
    per_database: HashMap<String, usize>,
}

/// The registry.
pub struct Clients {
    inner: Arc<ClientsInner>,
    clients: Mutex<HashMap<u64, Arc<Client>>>,
    counts: Mutex<Counts>,
    next_id: AtomicU64,
    /// Bytes of connections already closed.
    closed_received: AtomicU64,
    closed_sent: AtomicU64,
    /// CancelRequests per source address in the current one-second window.
    cancel_window: Mutex<(Instant, HashMap<IpAddr, u32>)>,
    stats: Mutex<HashMap<String, Arc<DbStats>>>,
    pub started: Instant,
    /// Connections still in start-up or authentication, capped.
    pub logins: Arc<crate::state::login_gate::LoginGate>,
}

impl Default for Clients {
    fn default() -> Self {
        Self::new()
    }
}

impl Clients {
    pub fn new() -> Self {
        let gauges = ClientState::ALL
            .iter()
            .map(|s| metrics::gauge!("iriswire_client_connections", "state" => s.label()))
            .collect();
        Clients {
            inner: Arc::new(ClientsInner {
                gauges,
                by_pid: Mutex::new(HashMap::new()),
            }),
            clients: Mutex::new(HashMap::new()),
            counts: Mutex::new(Counts::default()),
            next_id: AtomicU64::new(1),
            closed_received: AtomicU64::new(0),
            closed_sent: AtomicU64::new(0),
            cancel_window: Mutex::new((Instant::now(), HashMap::new())),
            stats: Mutex::new(HashMap::new()),
            started: Instant::now(),
            logins: Default::default(),
        }
    }

    /// The totals of `database`, created on first use.
    pub fn stats_for(&self, database: &str) -> Arc<DbStats> {
        self.stats
            .lock()
            .expect("stats lock")
            .entry(database.to_owned())
            .or_default()
            .clone()
    }

    /// Every database's totals, with the open connections' bytes added.
    pub fn stats(&self) -> Vec<(String, Arc<DbStats>, (u64, u64))> {
        let live: Vec<(String, (u64, u64))> = {
            let clients = self.clients.lock().expect("clients lock");
            clients
                .values()
                .filter_map(|c| Some((c.identity()?.database.clone(), c.socket_bytes())))
                .collect()
        };
        let mut out: Vec<_> = self
            .stats
            .lock()
            .expect("stats lock")
            .iter()
            .map(|(db, st)| {
                let (mut rx, mut tx) = (
                    st.received.load(Ordering::Relaxed),
                    st.sent.load(Ordering::Relaxed),
                );
                for (d, (r, t)) in &live {
                    if d == db {
                        rx += r;
                        tx += t;
                    }
                }
                (db.clone(), st.clone(), (rx, tx))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Registers a new TCP connection (state `login`).
    pub fn open(self: &Arc<Self>, peer: SocketAddr, fd: i32) -> ClientGuard {
        let client = Arc::new(Client {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            peer,
            connected_at: SystemTime::now(),
            connected: Instant::now(),
            identity: OnceLock::new(),
            state: AtomicU8::new(ClientState::Login as u8),
            fd,
            key: OnceLock::new(),
            running: AtomicBool::new(false),
            worker_pid: AtomicU32::new(0),
            interrupt: Notify::new(),
            interrupt_reason: AtomicU8::new(0),
            queries: AtomicU64::new(0),
            idle_in_transaction_ms: AtomicU64::new(0),
            registry: self.inner.clone(),
        });
        self.inner.gauges[ClientState::Login as usize].increment(1.0);
        self.clients
            .lock()
            .expect("clients lock")
            .insert(client.id, client.clone());
        ClientGuard {
            clients: self.clone(),
            client,
        }
    }

    /// Records who `client` is, refusing the login if it would exceed a
    /// limit. The admin console is not counted, so an operator can always
    /// get in.
    pub fn identify(
        &self,
        client: &Client,
        identity: Identity,
        config: &Config,
    ) -> Result<(), LimitExceeded> {
        if !identity.admin {
            let mut c = self.counts.lock().expect("clients lock");
            if c.logged_in >= config.server.max_client_connections {
                return Err(LimitExceeded::Server(config.server.max_client_connections));
            }
            let per_user = c.per_user.get(&identity.user).copied().unwrap_or(0);
            if config.server.max_connections_per_user > 0
                && per_user >= config.server.max_connections_per_user
            {
                return Err(LimitExceeded::User(
                    identity.user.clone(),
                    config.server.max_connections_per_user,
                ));
            }
            let per_db = c.per_database.get(&identity.database).copied().unwrap_or(0);
            if config.server.max_connections_per_database > 0
                && per_db >= config.server.max_connections_per_database
            {
                return Err(LimitExceeded::Database(
                    identity.database.clone(),
                    config.server.max_connections_per_database,
                ));
            }
            c.logged_in += 1;
            *c.per_user.entry(identity.user.clone()).or_default() += 1;
            *c.per_database.entry(identity.database.clone()).or_default() += 1;
        }
        let _ = client.identity.set(identity);
        Ok(())
    }

    fn close(&self, client: &Client) {
        {
            // Under the lock: the scrape reads the same fd under it, and the
            // socket is closed only after this returns.
            let mut clients = self.clients.lock().expect("clients lock");
            let (rx, tx) = client.socket_bytes();
            self.closed_received.fetch_add(rx, Ordering::Relaxed);
            self.closed_sent.fetch_add(tx, Ordering::Relaxed);
            if let Some(id) = client.identity() {
                let st = self.stats_for(&id.database);
                st.received.fetch_add(rx, Ordering::Relaxed);
                st.sent.fetch_add(tx, Ordering::Relaxed);
            }
            clients.remove(&client.id);
        }
        if let Some((pid, _)) = client.key() {
            self.inner.by_pid.lock().expect("clients lock").remove(pid);
        }
        if let Some(id) = client.identity()
            && !id.admin
        {
            let mut c = self.counts.lock().expect("clients lock");
            c.logged_in = c.logged_in.saturating_sub(1);
            let Counts {
                per_user,
                per_database,
                ..
            } = &mut *c;
            for (map, k) in [(per_user, &id.user), (per_database, &id.database)] {
                if let Some(n) = map.get_mut(k) {
                    *n -= 1;
                    if *n == 0 {
                        map.remove(k);
                    }
                }
            }
        }
        self.inner.gauges[client.state() as usize].decrement(1.0);
    }

    /// Bytes received from and sent to clients since start: closed
    /// connections plus the open ones' kernel counters, read now.
    pub fn bytes(&self) -> (u64, u64) {
        let clients = self.clients.lock().expect("clients lock");
        let (mut rx, mut tx) = (
            self.closed_received.load(Ordering::Relaxed),
            self.closed_sent.load(Ordering::Relaxed),
        );
        for c in clients.values() {
            let (r, t) = c.socket_bytes();
            rx += r;
            tx += t;
        }
        (rx, tx)
    }

    /// A snapshot of every connection, oldest first.
    pub fn list(&self) -> Vec<Arc<Client>> {
        let mut v: Vec<_> = self
            .clients
            .lock()
            .expect("clients lock")
            .values()
            .cloned()
            .collect();
        v.sort_by_key(|c| c.id);
        v
    }

    /// Logged-in, non-admin connections.
    pub fn logged_in(&self) -> usize {
        self.counts.lock().expect("clients lock").logged_in
    }

    /// Interrupts every running statement (the drain's deadline).
    pub fn interrupt_all(&self, why: InterruptReason) {
        for c in self.list() {
            c.request_interrupt(why);
        }
    }

    /// A CancelRequest: interrupts the statement of the connection whose
    /// BackendKeyData matches. Wrong keys do nothing; each source address
    /// gets `rate_per_s` attempts per second.
    pub fn cancel(&self, from: IpAddr, pid: i32, secret: &[u8], rate_per_s: u32) -> CancelOutcome {
        // Only wrong keys spend an address's budget: a burst of genuine
        // cancels (a pool of clients behind one address) is never dropped,
        // while guessing keys stays limited to `rate_per_s` tries a second.
        {
            let mut w = self.cancel_window.lock().expect("cancel window");
            if w.0.elapsed() >= Duration::from_secs(1) {
                *w = (Instant::now(), HashMap::new());
            }
            if w.1.get(&from).copied().unwrap_or(0) >= rate_per_s {
                return CancelOutcome::RateLimited;
            }
        }
        let id = self
            .inner
            .by_pid
            .lock()
            .expect("clients lock")
            .get(&pid)
            .copied();
        let client = id.and_then(|id| self.clients.lock().expect("clients lock").get(&id).cloned());
        match client {
            Some(c) if c.key().is_some_and(|(_, k)| constant_time_eq(k, secret)) => {
                c.request_interrupt(InterruptReason::UserRequest);
                CancelOutcome::Cancelled
            }
            _ => {
                let mut w = self.cancel_window.lock().expect("cancel window");
                *w.1.entry(from).or_default() += 1;
                CancelOutcome::NoMatch
            }
        }
    }
}

/// Compares secrets without an early exit, so timing says nothing about them.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Keeps a connection registered for as long as it lives.
pub struct ClientGuard {
    clients: Arc<Clients>,
    pub client: Arc<Client>,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.clients.close(&self.client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut o = crate::config::Overrides::default();
        o.set("server.max_client_connections", "x", Some("2".to_string()));
        o.set(
            "server.max_connections_per_user",
            "x",
            Some("1".to_string()),
        );
        Config::load_from(None, &[], &o).unwrap()
    }

    fn identity(user: &str, admin: bool) -> Identity {
        Identity {
            user: user.into(),
            database: "db".into(),
            application_name: String::new(),
            admin,
        }
    }

    #[test]
    fn limits_count_logins_and_free_them_on_close() {
        let clients = Arc::new(Clients::new());
        let cfg = config();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let a = clients.open(peer, -1);
        clients
            .identify(&a.client, identity("u1", false), &cfg)
            .unwrap();
        let b = clients.open(peer, -1);
        assert_eq!(
            clients.identify(&b.client, identity("u1", false), &cfg),
            Err(LimitExceeded::User("u1".into(), 1))
        );
        clients
            .identify(&b.client, identity("u2", false), &cfg)
            .unwrap();
        let c = clients.open(peer, -1);
        assert_eq!(
            clients.identify(&c.client, identity("u3", false), &cfg),
            Err(LimitExceeded::Server(2))
        );
        // The admin console is never refused.
        clients
            .identify(&c.client, identity("admin", true), &cfg)
            .unwrap();
        drop(a);
        let d = clients.open(peer, -1);
        clients
            .identify(&d.client, identity("u1", false), &cfg)
            .unwrap();
        assert_eq!(clients.logged_in(), 2);
        assert_eq!(clients.list().len(), 3);
    }

    #[test]
    fn cancel_needs_the_exact_key_and_is_rate_limited() {
        let clients = Arc::new(Clients::new());
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let a = clients.open(peer, -1);
        a.client.set_key(7, vec![1, 2, 3, 4]);
        let ip = peer.ip();
        // Nothing running: found, but nothing to interrupt.
        assert_eq!(
            clients.cancel(ip, 7, &[1, 2, 3, 5], 100),
            CancelOutcome::NoMatch
        );
        let running = a.client.start_statement();
        assert_eq!(
            clients.cancel(ip, 7, &[1, 2, 3, 4], 100),
            CancelOutcome::Cancelled
        );
        assert_eq!(a.client.interrupt_reason(), InterruptReason::UserRequest);
        // Genuine cancels never spend the budget, however many.
        for _ in 0..30 {
            assert_eq!(
                clients.cancel(ip, 7, &[1, 2, 3, 4], 5),
                CancelOutcome::Cancelled
            );
        }
        drop(running);
        // Wrong keys do: one NoMatch above, four more, then the address waits.
        for _ in 0..4 {
            assert_eq!(clients.cancel(ip, 8, &[0], 5), CancelOutcome::NoMatch);
        }
        assert_eq!(clients.cancel(ip, 8, &[0], 5), CancelOutcome::RateLimited);
    }
}
