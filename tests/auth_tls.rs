//! Authentication and TLS against the running binary: SCRAM-SHA-256 from a
//! stored verifier, MD5, wrong passwords, TLS with psql, and the refusal to
//! listen beyond loopback without users.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, free_port};

fn verifier(user: &str, password: &str) -> String {
    let mut child = Command::new(common::binary())
        .args(["passwd", user])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn md5_entry(user: &str, password: &str) -> String {
    let hash = format!("md5{:x}", md5::compute(format!("{password}{user}")));
    format!("[[users]]\nname = \"{user}\"\npassword = \"{hash}\"\n")
}

async fn try_connect(
    server: &Server,
    user: &str,
    password: &str,
) -> Result<i32, tokio_postgres::Error> {
    let conninfo = format!(
        "host=127.0.0.1 port={} user={user} password={password} dbname=app",
        server.port
    );
    let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client.query_one("SELECT 7", &[]).await?.get(0))
}

fn server_with_config(config: &str) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iriswire.toml");
    std::fs::write(&file, config).unwrap();
    let server = Server::start_with(&["--config", file.to_str().unwrap()], &[]);
    (server, dir)
}

#[tokio::test]
async fn scram_and_md5_users_authenticate_and_wrong_passwords_fail() {
    let config = format!(
        "{}{}",
        verifier("alice", "s3cret"),
        md5_entry("bob", "hunter2")
    );
    assert!(
        !config.contains("s3cret"),
        "the verifier must not contain the password"
    );
    let (server, _dir) = server_with_config(&config);

    assert_eq!(try_connect(&server, "alice", "s3cret").await.unwrap(), 7);
    assert_eq!(try_connect(&server, "bob", "hunter2").await.unwrap(), 7);

    for (user, password) in [("alice", "wrong"), ("bob", "wrong"), ("mallory", "x")] {
        let err = try_connect(&server, user, password).await.unwrap_err();
        let code = err.as_db_error().map(|e| e.code().code().to_owned());
        assert_eq!(code.as_deref(), Some("28P01"), "{user}: {err}");
    }
}

/// A throwaway self-signed certificate and key for `cn` (openssl), as
/// `<name>.crt` and `<name>.key` in `dir`.
fn make_cert(dir: &Path, name: &str, cn: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            &format!("/CN={cn}"),
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (scripts/test-deps.sh installs it)");
    assert!(status.success());
    (cert, key)
}

/// A server with TLS from a throwaway self-signed certificate, and more
/// environment.
fn tls_server_with(env: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "server", "localhost");
    let mut all = vec![
        ("IRISWIRE_TLS_CERT_FILE", cert.to_str().unwrap()),
        ("IRISWIRE_TLS_KEY_FILE", key.to_str().unwrap()),
    ];
    all.extend_from_slice(env);
    let server = Server::start_with(&[], &all);
    (server, dir)
}

/// A server with TLS from a throwaway self-signed certificate (openssl).
fn tls_server() -> (Server, tempfile::TempDir) {
    tls_server_with(&[])
}

fn psql() -> &'static str {
    ["/usr/lib/postgresql/15/bin/psql", "psql"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .expect("psql")
}

#[test]
fn tls_connections_work_with_psql() {
    let (server, _certs) = tls_server();
    let out = Command::new(psql())
        .arg(format!(
            "host=127.0.0.1 port={} user=t dbname=app sslmode=require",
            server.port
        ))
        .args(["-X", "-At", "-c", "SELECT 'over tls'", "-c", "\\conninfo"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("over tls"), "{stdout}");
    assert!(
        stdout.contains("SSL connection (protocol: TLSv1.3"),
        "{stdout}"
    );
}

#[test]
fn refuses_non_loopback_listen_without_users() {
    let out = Command::new(common::binary())
        .args(["serve", "--listen", &format!("0.0.0.0:{}", free_port())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without users"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A rustls client verifier that accepts any certificate: the tests check
/// which certificate the server presents, not who signed it.
mod accept_any {
    use std::sync::Arc;
    use tokio_rustls::rustls::{self, client::danger, pki_types};

    #[derive(Debug)]
    pub struct AcceptAny(pub Arc<rustls::crypto::CryptoProvider>);
    impl danger::ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &pki_types::CertificateDer<'_>,
            _: &[pki_types::CertificateDer<'_>],
            _: &pki_types::ServerName<'_>,
            _: &[u8],
            _: pki_types::UnixTime,
        ) -> Result<danger::ServerCertVerified, rustls::Error> {
            Ok(danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

/// PostgreSQL 17 clients may open TLS directly (no SSLRequest), naming the
/// protocol with ALPN `postgresql`. psql 15 cannot, so this speaks TLS
/// itself and then a plain start-up message.
#[tokio::test]
async fn direct_tls_with_alpn_postgresql() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{self, pki_types};

    let (server, _certs) = tls_server();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(accept_any::AcceptAny(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(pki_types::ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("direct TLS handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"postgresql"[..]));
    let params = b"user\0t\0database\0app\0\0";
    let mut startup = ((8 + params.len()) as i32).to_be_bytes().to_vec();
    startup.extend_from_slice(&196608i32.to_be_bytes());
    startup.extend_from_slice(params);
    tls.write_all(&startup).await.unwrap();
    let mut head = [0u8; 9];
    tls.read_exact(&mut head).await.unwrap();
    // AuthenticationOk: 'R', length 8, code 0.
    assert_eq!(head, [b'R', 0, 0, 0, 8, 0, 0, 0, 0]);
}

/// The certificate the server presents after an SSLRequest, offering TLS
/// `versions`.
async fn presented_certificate(
    port: u16,
    versions: &[&'static tokio_rustls::rustls::SupportedProtocolVersion],
) -> std::io::Result<Vec<u8>> {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{self, pki_types};

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(accept_any::AcceptAny(provider)))
        .with_no_client_auth();
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).await?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).await?;
    assert_eq!(answer[0], b'S', "the server offers TLS");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(pki_types::ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let certs = tls.get_ref().1.peer_certificates().expect("a certificate");
    Ok(certs[0].as_ref().to_vec())
}

fn der_of(pem: &Path) -> Vec<u8> {
    let bytes = std::fs::read(pem).unwrap();
    rustls_pemfile::certs(&mut bytes.as_slice())
        .next()
        .unwrap()
        .unwrap()
        .as_ref()
        .to_vec()
}

const ALL_VERSIONS: &[&tokio_rustls::rustls::SupportedProtocolVersion] = &[
    &tokio_rustls::rustls::version::TLS13,
    &tokio_rustls::rustls::version::TLS12,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_mode_require_refuses_plaintext_logins() {
    let (server, _certs) = tls_server_with(&[("IRISWIRE_TLS_MODE", "require")]);
    let err = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={} user=t dbname=app", server.port),
        tokio_postgres::NoTls,
    )
    .await
    .err()
    .expect("a plaintext login is refused");
    let db = err.as_db_error().expect("an ErrorResponse");
    assert_eq!((db.severity(), db.code().code()), ("FATAL", "28000"));
    assert_eq!(
        db.message(),
        "no pg_hba.conf entry for host \"127.0.0.1\", user \"t\", database \"app\", no encryption"
    );
    let run = |sslmode: &str| {
        Command::new(psql())
            .arg(format!(
                "host=127.0.0.1 port={} user=t dbname=app sslmode={sslmode}",
                server.port
            ))
            .args(["-X", "-At", "-c", "SELECT 'in'"])
            .output()
            .unwrap()
    };
    let refused = run("disable");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("no pg_hba.conf entry"), "{stderr}");
    let admitted = run("require");
    assert!(
        admitted.status.success(),
        "{}",
        String::from_utf8_lossy(&admitted.stderr)
    );
    let (_, metrics) = common::http_get(server.http_port, "/metrics");
    let line = metrics
        .lines()
        .find(|l| l.starts_with(r#"iriswire_client_connections_rejected_total{reason="tls"}"#))
        .unwrap();
    assert_eq!(line.rsplit(' ').next(), Some("2"), "{metrics}");
    assert!(
        metrics.contains("iriswire_auth_failures_total 0"),
        "{metrics}"
    );
}

#[test]
fn tls_mode_require_without_a_certificate_is_a_config_error() {
    let out = Command::new(common::binary())
        .args(["check-config"])
        .env("IRISWIRE_TLS_MODE", "require")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tls.mode"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_serves_a_renewed_certificate_and_keeps_it_over_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "server", "first.example");
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_TLS_CERT_FILE", cert.to_str().unwrap()),
            ("IRISWIRE_TLS_KEY_FILE", key.to_str().unwrap()),
        ],
    );
    let first = der_of(&cert);
    assert_eq!(
        presented_certificate(server.port, ALL_VERSIONS)
            .await
            .unwrap(),
        first
    );

    let (new_cert, new_key) = make_cert(dir.path(), "renewed", "second.example");
    let second = der_of(&new_cert);
    std::fs::copy(&new_key, &key).unwrap();
    std::fs::copy(&new_cert, &cert).unwrap();
    // The files changed but nobody said so: still the first certificate.
    assert_eq!(
        presented_certificate(server.port, ALL_VERSIONS)
            .await
            .unwrap(),
        first
    );
    server.signal(libc::SIGHUP);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while presented_certificate(server.port, ALL_VERSIONS)
        .await
        .unwrap()
        != second
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the renewed certificate is not served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A broken pair (a certificate without its key) is refused; the
    // renewed one stays in use.
    let (other_cert, _) = make_cert(dir.path(), "other", "third.example");
    std::fs::copy(&other_cert, &cert).unwrap();
    server.signal(libc::SIGHUP);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        presented_certificate(server.port, ALL_VERSIONS)
            .await
            .unwrap(),
        second
    );
    assert_eq!(try_connect_tls(&server).await, "still serving");
}

/// A login over TLS (psql, sslmode=require) answering `still serving`.
async fn try_connect_tls(server: &Server) -> String {
    let out = Command::new(psql())
        .arg(format!(
            "host=127.0.0.1 port={} user=t dbname=app sslmode=require",
            server.port
        ))
        .args(["-X", "-At", "-c", "SELECT 'still serving'"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_version_1_3_refuses_tls_1_2_clients() {
    let (server, _certs) = tls_server_with(&[("IRISWIRE_TLS_MIN_VERSION", "1.3")]);
    let tls12_only: &[&tokio_rustls::rustls::SupportedProtocolVersion] =
        &[&tokio_rustls::rustls::version::TLS12];
    assert!(
        presented_certificate(server.port, tls12_only)
            .await
            .is_err()
    );
    assert!(
        presented_certificate(server.port, ALL_VERSIONS)
            .await
            .is_ok()
    );
    // The default still accepts TLS 1.2.
    let (server, _certs) = tls_server();
    assert!(presented_certificate(server.port, tls12_only).await.is_ok());
}
