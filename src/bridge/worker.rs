//! One bridge worker process and the request/response cycle on its pipes.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::BridgeError;
use super::marshal::Writer;
use super::protocol::{self, BackendError, Prepared, ReadyInfo, tag};

/// Variables of the server's environment a worker must not inherit: the
/// IRIS password reaches a worker only in its start-up frame, never in its
/// environment (readable in `/proc/<pid>/environ`, inherited by anything
/// it runs).
const SECRET_VARIABLES: &[&str] = &[
    "IRISPASSWORD",
    "IRISWIRE_IRIS_PASSWORD",
    "IRISWIRE_WORKER_CONFIG",
];

/// How to start a worker: the interpreter, the script and the driver config
/// handed to it as JSON in its start-up frame.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    pub python: String,
    pub script: PathBuf,
    pub config_json: String,
    pub extra_env: Vec<(String, String)>,
    pub start_timeout: Duration,
}

/// A response frame; payloads borrow the worker's reusable frame buffer.
#[derive(Debug)]
pub enum Frame<'a> {
    Description(&'a [u8]),
    Batch(&'a [u8]),
    Complete { rowcount: i64, in_transaction: bool },
    Error(BackendError),
}

/// Request buffer capacity kept between requests.
const OUT_KEEP: usize = 64 * 1024;

pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub info: ReadyInfo,
    /// Reused for every incoming payload: steady state allocates nothing.
    frame: Vec<u8>,
    /// Reused for every outgoing request.
    out: Vec<u8>,
    /// A request was written and its final frame (`C`, `E`, `T`) not yet read.
    busy: bool,
    broken: bool,
    pub in_transaction: bool,
    pub created: Instant,
    /// When the last request was answered: the pool shuts down workers
    /// idle for longer than `pool.idle_timeout_ms`.
    pub last_active: Instant,
    pub uses: u64,
    /// The largest request written to this worker, in bytes: the pool
    /// retires a worker that has held a huge statement, because a Python
    /// process keeps the memory it grew to.
    pub largest_request: usize,
    /// Set when a session may have left state on the backend (it ran DDL:
    /// a temporary table, say); the pool resets the worker before the next
    /// session gets it.
    pub needs_reset: bool,
    /// Dropped with the worker: lets its owner (the pool) keep a registry
    /// of live workers without the bridge knowing about it.
    pub registration: Option<Box<dyn Send + Sync>>,
    pid: u32,
    /// Where the request frame starts in `out`: after an `L` frame, when
    /// the lock wait changed since the last request.
    request_start: usize,
    /// The lock wait the session asked for, and the last one sent.
    lock_wait_wanted: Option<u32>,
    lock_wait_sent: Option<u32>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("pid", &self.pid())
            .field("busy", &self.busy)
            .field("in_transaction", &self.in_transaction)
            .finish()
    }
}

/// Workers killed on purpose (a statement that would not stop), so the
/// pool counts them as timeouts, not crashes.
static KILLED: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Notes that `pid` is being killed on purpose.
pub fn mark_killed(pid: u32) {
    KILLED.lock().expect("killed list").push(pid);
}

/// Whether `pid` was killed on purpose (and forgets it).
pub fn take_killed(pid: u32) -> bool {
    let mut k = KILLED.lock().expect("killed list");
    match k.iter().position(|p| *p == pid) {
        Some(i) => {
            k.swap_remove(i);
            true
        }
        None => false,
    }
}

impl Worker {
    pub async fn spawn(spec: &WorkerSpec) -> Result<Worker, BridgeError> {
        let mut cmd = Command::new(&spec.python);
        for var in SECRET_VARIABLES {
            cmd.env_remove(var);
        }
        cmd.arg(&spec.script)
            .envs(spec.extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| BridgeError::Spawn {
            program: spec.python.clone(),
            source,
        })?;
        let stdin = child.stdin.take().ok_or(BridgeError::Exited)?;
        let stdout = child.stdout.take().ok_or(BridgeError::Exited)?;
        if let Some(stderr) = child.stderr.take() {
            let pid = child.id().unwrap_or(0);
            // Worker log lines are forwarded, never parsed: the protocol is on stdout.
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::info!(target: "iriswire::bridge::worker", worker_pid = pid, "{line}");
                }
            });
        }
        let mut worker = Worker {
            child,
            stdin,
            stdout: BufReader::with_capacity(64 * 1024, stdout),
            info: ReadyInfo::default(),
            frame: Vec::with_capacity(64 * 1024),
            out: Vec::with_capacity(4096),
            busy: true,
            broken: false,
            in_transaction: false,
            created: Instant::now(),
            last_active: Instant::now(),
            uses: 0,
            largest_request: 0,
            needs_reset: false,
            registration: None,
            pid: 0,
            request_start: 0,
            lock_wait_wanted: None,
            lock_wait_sent: None,
        };
        worker.pid = worker.child.id().unwrap_or(0);
        let mut startup = Vec::with_capacity(5 + spec.config_json.len());
        startup.push(tag::STARTUP);
        startup.extend_from_slice(&(spec.config_json.len() as u32).to_be_bytes());
        startup.extend_from_slice(spec.config_json.as_bytes());
        let ready = tokio::time::timeout(spec.start_timeout, async {
            let sent = worker.stdin.write_all(&startup).await;
            // A worker that died before reading says why in its E frame, if
            // it got that far; the failed write only matters otherwise.
            match (sent, worker.read_raw().await) {
                (_, Ok(t)) => Ok(t),
                (Err(e), Err(_)) => Err(BridgeError::from(e)),
                (Ok(()), Err(e)) => Err(e),
            }
        })
        .await
        .map_err(|_| BridgeError::Timeout(spec.start_timeout))??;
        match ready {
            tag::READY => {
                worker.info = protocol::parse_ready(&worker.frame)?;
                if worker.info.protocol != protocol::PROTOCOL_VERSION {
                    return Err(BridgeError::Protocol(format!(
                        "worker speaks protocol {}, expected {}",
                        worker.info.protocol,
                        protocol::PROTOCOL_VERSION
                    )));
                }
                worker.busy = false;
                Ok(worker)
            }
            tag::ERROR => Err(BridgeError::Backend(Box::new(protocol::parse_error(
                &worker.frame,
            )?))),
            other => Err(BridgeError::Protocol(format!(
                "unexpected start-up frame {:?}",
                other as char
            ))),
        }
    }

    /// The OS pid, kept after the process is reaped.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Usable for another request: alive, not mid-response, protocol in sync.
    pub fn is_healthy(&mut self) -> bool {
        !self.busy && !self.broken && matches!(self.child.try_wait(), Ok(None))
    }

    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// The request's last frame was read: idle from now on.
    fn finished(&mut self) {
        self.busy = false;
        self.last_active = Instant::now();
    }

    /// Starts one statement. `encode_params` appends the marshal tuple of
    /// parameter values; then read frames with [`Worker::next_frame`] until
    /// `Complete` or `Error`.
    ///
    /// If `encode_params` fails, nothing is sent and its error is returned
    /// in the inner `Result`.
    pub async fn start_query<E>(
        &mut self,
        sql: &str,
        describe: bool,
        encode_params: impl FnOnce(&mut Writer<'_>) -> Result<(), E>,
    ) -> Result<Result<(), E>, BridgeError> {
        self.begin_request(tag::QUERY);
        self.out
            .push(if describe { protocol::FLAG_DESCRIBE } else { 0 });
        self.out
            .extend_from_slice(&(sql.len() as u32).to_be_bytes());
        self.out.extend_from_slice(sql.as_bytes());
        if let Err(e) = encode_params(&mut Writer { buf: &mut self.out }) {
            return Ok(Err(e));
        }
        self.send_out(&[]).await?;
        self.uses += 1;
        Ok(Ok(()))
    }

    /// Drops what the last session left on the backend (temporary tables;
    /// IRIS's process-private globals), before another session gets this
    /// worker.
    pub async fn reset(&mut self) -> Result<Result<(), BackendError>, BridgeError> {
        self.begin_request(tag::RESET);
        self.send_out(&[]).await?;
        let outcome = match self.read_raw().await? {
            tag::COMPLETE => {
                let (_, in_txn) = protocol::parse_complete(&self.frame)?;
                self.in_transaction = in_txn;
                Ok(())
            }
            tag::ERROR => {
                let e = protocol::parse_error(&self.frame)?;
                self.in_transaction = e.in_transaction;
                Err(e)
            }
            other => return Err(self.violation(other)),
        };
        self.finished();
        self.needs_reset = false;
        Ok(outcome)
    }

    /// Starts one statement run once per parameter tuple (an `M` request):
    /// `items` holds `rows` marshal tuples, written back to back. Read its
    /// answer, `Complete` with the rows changed or `Error`, with
    /// [`Worker::next_frame`].
    pub async fn start_many(
        &mut self,
        sql: &str,
        rows: usize,
        items: &[u8],
    ) -> Result<(), BridgeError> {
        self.begin_request(tag::MANY);
        self.out
            .extend_from_slice(&(sql.len() as u32).to_be_bytes());
        self.out.extend_from_slice(sql.as_bytes());
        // A marshal list header; the tuples follow as they are.
        self.out.push(b'[');
        self.out.extend_from_slice(&(rows as u32).to_le_bytes());
        self.send_out(items).await?;
        self.uses += 1;
        Ok(())
    }

    /// Describes a statement without executing it.
    pub async fn prepare(
        &mut self,
        sql: &str,
    ) -> Result<Result<Prepared, BackendError>, BridgeError> {
        self.begin_request(tag::PREPARE);
        self.out.extend_from_slice(sql.as_bytes());
        self.send_out(&[]).await?;
        match self.read_raw().await? {
            tag::PREPARED => {
                self.finished();
                Ok(Ok(protocol::parse_prepared(&self.frame)?))
            }
            tag::ERROR => {
                self.finished();
                let e = protocol::parse_error(&self.frame)?;
                self.in_transaction = e.in_transaction;
                Ok(Err(e))
            }
            other => Err(self.violation(other)),
        }
    }

    /// Writes the request in `out`, followed by `tail` (a payload too large
    /// to be worth copying into `out`).
    /// How long the next statements may wait for a lock held by another
    /// session, in milliseconds (0: until cancelled); sent in an `L` frame
    /// ahead of the next request, only when it changed.
    pub fn set_lock_wait(&mut self, millis: u32) {
        self.lock_wait_wanted = Some(millis);
    }

    /// Starts a request frame in `out`, after an `L` frame when the lock
    /// wait changed: both leave in the request's one write.
    fn begin_request(&mut self, request: u8) {
        self.out.clear();
        if let Some(millis) = self.lock_wait_wanted
            && self.lock_wait_sent != Some(millis)
        {
            self.out.push(tag::LOCK_TIMEOUT);
            self.out.extend_from_slice(&4u32.to_be_bytes());
            self.out.extend_from_slice(&millis.to_be_bytes());
        }
        self.request_start = self.out.len();
        self.out.push(request);
        self.out.extend_from_slice(&[0; 4]);
    }

    async fn send_out(&mut self, tail: &[u8]) -> Result<(), BridgeError> {
        if self.busy || self.broken {
            return Err(BridgeError::Protocol(
                "request on a worker that is still answering".into(),
            ));
        }
        let start = self.request_start;
        let len = (self.out.len() - start - 5 + tail.len()) as u32;
        self.out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
        self.busy = true;
        self.largest_request = self.largest_request.max(self.out.len() + tail.len());
        let mut written = self.stdin.write_all(&self.out).await;
        if written.is_ok() && !tail.is_empty() {
            written = self.stdin.write_all(tail).await;
        }
        if let Err(e) = written {
            self.broken = true;
            return Err(e.into());
        }
        if start > 0 {
            self.lock_wait_sent = self.lock_wait_wanted;
        }
        // Give back what one huge request grew the buffer to.
        if self.out.capacity() > OUT_KEEP {
            self.out = Vec::with_capacity(OUT_KEEP);
        }
        Ok(())
    }

    /// Next frame of the running query.
    pub async fn next_frame(&mut self) -> Result<Frame<'_>, BridgeError> {
        let t = self.read_raw().await?;
        match t {
            tag::DESCRIPTION => Ok(Frame::Description(&self.frame)),
            tag::BATCH => Ok(Frame::Batch(&self.frame)),
            tag::COMPLETE => {
                let (rowcount, in_transaction) = protocol::parse_complete(&self.frame)?;
                self.finished();
                self.in_transaction = in_transaction;
                Ok(Frame::Complete {
                    rowcount,
                    in_transaction,
                })
            }
            tag::ERROR => {
                let e = protocol::parse_error(&self.frame)?;
                self.finished();
                self.in_transaction = e.in_transaction;
                Ok(Frame::Error(e))
            }
            other => Err(self.violation(other)),
        }
    }

    /// Reads and discards the rest of a running response.
    pub async fn drain(&mut self) -> Result<(), BridgeError> {
        while self.busy {
            self.next_frame().await?;
        }
        Ok(())
    }

    /// Asks the worker to interrupt its running statement (SIGINT).
    pub fn interrupt(&self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) with a pid of our own, not yet reaped, child.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGINT);
            }
        }
    }

    fn violation(&mut self, t: u8) -> BridgeError {
        self.broken = true;
        BridgeError::Protocol(format!("unexpected frame {:?}", t as char))
    }

    async fn read_raw(&mut self) -> Result<u8, BridgeError> {
        let mut header = [0u8; 5];
        if let Err(e) = self.stdout.read_exact(&mut header).await {
            self.broken = true;
            return Err(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                BridgeError::Exited
            } else {
                e.into()
            });
        }
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if len > protocol::MAX_FRAME {
            self.broken = true;
            return Err(BridgeError::Protocol(format!("frame of {len} bytes")));
        }
        self.frame.clear();
        self.frame.resize(len, 0);
        if let Err(e) = self.stdout.read_exact(&mut self.frame).await {
            self.broken = true;
            return Err(e.into());
        }
        Ok(header[0])
    }

    /// Asks the worker to roll back and exit, then reaps it.
    pub async fn terminate(mut self, grace: Duration) {
        if !self.busy {
            let _ = self.stdin.write_all(&[tag::TERMINATE, 0, 0, 0, 0]).await;
        }
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.start_kill();
        self.broken = true;
    }
}
