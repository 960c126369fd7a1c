//! Authentication and TLS against the running binary: SCRAM-SHA-256 from a
//! stored verifier, MD5, wrong passwords, TLS with psql, and the refusal to
//! listen beyond loopback without users.

mod common;

use std::process::Command;

use common::{Server, free_port};

fn verifier(user: &str, password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iriswire"))
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

/// A server with TLS from a throwaway self-signed certificate (openssl).
fn tls_server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
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
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (scripts/test-deps.sh installs it)");
    assert!(status.success());
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_TLS_CERT_FILE", cert.to_str().unwrap()),
            ("IRISWIRE_TLS_KEY_FILE", key.to_str().unwrap()),
        ],
    );
    (server, dir)
}

#[test]
fn tls_connections_work_with_psql() {
    let (server, _certs) = tls_server();
    let psql = ["/usr/lib/postgresql/15/bin/psql", "psql"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .expect("psql");
    let out = Command::new(psql)
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
    let out = Command::new(env!("CARGO_BIN_EXE_iriswire"))
        .args(["serve", "--listen", &format!("0.0.0.0:{}", free_port())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without users"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// PostgreSQL 17 clients may open TLS directly (no SSLRequest), naming the
/// protocol with ALPN `postgresql`. psql 15 cannot, so this speaks TLS
/// itself and then a plain start-up message.
#[tokio::test]
async fn direct_tls_with_alpn_postgresql() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{self, client::danger, pki_types};

    #[derive(Debug)]
    struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);
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

    let (server, _certs) = tls_server();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
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
