//! Starts the real `iriswire` binary on a free loopback port with a
//! throwaway data directory, and stops it when dropped.

#![allow(dead_code)]

pub mod wire;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub port: u16,
    /// Metrics and health.
    pub http_port: u16,
    pub data_dir: tempfile::TempDir,
}

/// The binary under test: `IRISWIRE_BIN` if set (a copy, safe from other
/// builds into a shared target directory), else the one cargo built.
pub fn binary() -> String {
    std::env::var("IRISWIRE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_iriswire").to_owned())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(&[], &[])
    }

    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::spawn(args, env, None)
    }

    /// Like `start_with`, with the server's log (stderr) written to `log`.
    pub fn start_logged(args: &[&str], env: &[(&str, &str)], log: &std::path::Path) -> Server {
        Self::spawn(args, env, Some(log))
    }

    /// Like `start_on`, on an existing data directory (a restart).
    pub fn start_on(data_dir: tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::spawn_on(data_dir, args, env, None, None)
    }

    /// Like `start_with`, with the process's file-descriptor limit (soft
    /// and hard) set to `nofile`.
    pub fn start_with_nofile(args: &[&str], env: &[(&str, &str)], nofile: u64) -> Server {
        Self::spawn_on(tempfile::tempdir().unwrap(), args, env, None, Some(nofile))
    }

    fn spawn(args: &[&str], env: &[(&str, &str)], log: Option<&std::path::Path>) -> Server {
        Self::spawn_on(tempfile::tempdir().unwrap(), args, env, log, None)
    }

    fn spawn_on(
        data_dir: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
        log: Option<&std::path::Path>,
        nofile: Option<u64>,
    ) -> Server {
        let port = free_port();
        let http = free_port();
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--http-listen")
            .arg(format!("127.0.0.1:{http}"))
            .arg("--data-dir")
            .arg(data_dir.path())
            .args(args)
            .env("IRISWIRE_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for (k, v) in env {
            // An empty value removes the variable (e.g. the default log level above).
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        if let Some(path) = log {
            cmd.stderr(std::fs::File::create(path).unwrap());
        }
        if let Some(n) = nofile {
            use std::os::unix::process::CommandExt;
            let limit = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            // SAFETY: setrlimit is async-signal-safe; it runs in the child
            // between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("start iriswire");
        let server = Server {
            child,
            port,
            http_port: http,
            data_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "iriswire did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn conninfo(&self, db: &str) -> String {
        format!("host=127.0.0.1 port={} user=tester dbname={db}", self.port)
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgresql://tester@127.0.0.1:{}/{db}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn data_path(&self) -> PathBuf {
        self.data_dir.path().to_owned()
    }

    /// PIDs of the server's child processes: its bridge workers.
    pub fn workers(&self) -> Vec<u32> {
        let me = self.child.id();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
            .filter(|pid| {
                // Field 4 of /proc/PID/stat, after the parenthesised name.
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|s| {
                        s.rsplit_once(')')
                            .and_then(|(_, r)| r.split_whitespace().nth(1).map(str::to_owned))
                    })
                    .and_then(|p| p.parse::<u32>().ok())
                    == Some(me)
            })
            .collect()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the server process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
    }

    /// Waits up to `timeout` for the server to exit; its status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident memory of the server process, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap()
            * 1024
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server on an IRIS backend (`iris-embedded` or `iris-native`) played
/// by the stand-in `iris` module under tests/iris_standin, which runs under
/// plain python3; `extra` adds environment. The directory returned holds
/// the stand-in's database: keep it alive with the server. The stand-in is
/// strict (IRIS_STANDIN_STRICT=1: it refuses what IRIS refuses), now that
/// the translator emits IRIS's forms; `extra` can make it lenient ("0").
pub fn iris_standin_server(backend: &str, extra: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let db_dir = tempfile::tempdir().unwrap();
    let db = db_dir.path().join("iris.db");
    let mut env = vec![
        (
            "PYTHONPATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/iris_standin"),
        ),
        ("IRIS_STANDIN_DB", db.to_str().unwrap()),
        ("IRIS_STANDIN_STRICT", "1"),
        ("IRISWIRE_BRIDGE_PYTHON", "python3"),
        ("IRISHOSTNAME", "127.0.0.1"),
        ("IRISUSERNAME", "_SYSTEM"),
        ("IRISPASSWORD", "SYS"),
    ];
    env.extend_from_slice(extra);
    let server = Server::start_with(&["--backend", backend], &env);
    (server, db_dir)
}

/// A statement the SQLite default runs for minutes: for timeouts and cancels.
pub const LONG_QUERY: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) SELECT count(*) FROM c";

/// Connects and also returns the connection's outcome, to see how the
/// server ended it (e.g. FATAL 57P01).
pub async fn connect_watched(
    server: &Server,
    db: &str,
) -> (
    tokio_postgres::Client,
    tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
) {
    let (client, conn) = tokio_postgres::connect(&server.conninfo(db), tokio_postgres::NoTls)
        .await
        .expect("connect");
    (client, tokio::spawn(conn))
}

pub async fn connect(server: &Server, db: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&server.conninfo(db), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// GET `path` from the server's HTTP port; returns (status, body).
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Samples the server's RSS every 20 ms while `f` runs; returns the peak.
pub async fn peak_rss_during<F: std::future::Future<Output = ()>>(server: &Server, f: F) -> u64 {
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(server.rss_bytes()));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pid = server.pid();
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    && let Some(kb) = s
                        .lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|v| v.parse::<u64>().ok())
                {
                    peak.fetch_max(kb * 1024, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };
    f.await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    peak.load(std::sync::atomic::Ordering::Relaxed)
}
