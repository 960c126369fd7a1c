//! The server's TLS: an acceptor built from the configured certificate and
//! key, held behind an `ArcSwap` so a reload can replace it while
//! connections keep the one they started with.
//!
//! A reload (SIGHUP, `RELOAD`) rebuilds the acceptor only when the `[tls]`
//! settings or the bytes of the two files changed: certificate renewal is
//! "write the new files, send SIGHUP". A pair that does not load (a key
//! that does not match, a half-written file) leaves the old acceptor in
//! force and says why in the log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use pgwire::tokio::TlsAcceptor;
use thiserror::Error;
use tokio_rustls::rustls;

use crate::config::{TlsConfig, TlsVersion};

/// Why a certificate and key could not be turned into an acceptor.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: no certificate found")]
    NoCertificate(PathBuf),
    #[error("{0}: no private key found")]
    NoKey(PathBuf),
    /// rustls refused the pair (a key that does not match, an unsupported key type).
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
}

/// What an acceptor was built from: a reload that finds the same settings
/// and the same file contents has nothing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Built {
    cert_file: PathBuf,
    key_file: PathBuf,
    min_version: TlsVersion,
    /// SHA-256 of the certificate file then the key file, so no second copy
    /// of the key is kept just to compare.
    digest: Vec<u8>,
}

/// What a reload did to TLS.
#[derive(Debug)]
pub enum TlsReload {
    /// Same settings, same files.
    Unchanged,
    /// A new acceptor serves new connections.
    Reloaded,
    /// TLS is now off (`tls.mode = disable` or no certificate).
    Disabled,
    /// The new pair did not load; the old acceptor (if any) stays.
    Failed(TlsError),
}

/// The acceptor in force, if TLS is on.
pub struct ServerTls {
    current: ArcSwapOption<TlsAcceptor>,
    built: Mutex<Option<Built>>,
}

impl ServerTls {
    /// TLS as configured at start-up: a certificate that does not load
    /// stops the server.
    pub fn load(cfg: &TlsConfig) -> Result<ServerTls, TlsError> {
        let tls = ServerTls {
            current: ArcSwapOption::empty(),
            built: Mutex::new(None),
        };
        if let Some((cert, key)) = cfg.files() {
            let (acceptor, built) = build(cert, key, cfg.min_version)?;
            tls.current.store(Some(Arc::new(acceptor)));
            *tls.built.lock().expect("tls lock") = Some(built);
        }
        Ok(tls)
    }

    /// The acceptor for a new connection (`None`: SSLRequest gets `N`).
    pub fn acceptor(&self) -> Option<TlsAcceptor> {
        self.current.load_full().map(|a| (*a).clone())
    }

    /// Applies `cfg` after a reload, rebuilding the acceptor if the settings
    /// or the files changed. Logs the outcome.
    pub fn reload(&self, cfg: &TlsConfig) -> TlsReload {
        let mut built = self.built.lock().expect("tls lock");
        let Some((cert, key)) = cfg.files() else {
            if built.take().is_none() {
                return TlsReload::Unchanged;
            }
            self.current.store(None);
            tracing::warn!("TLS turned off by reload: new connections are plaintext only");
            return TlsReload::Disabled;
        };
        let digest = match digest_of(cert, key) {
            Ok(d) => d,
            Err(e) => return failed(e),
        };
        let wanted = Built {
            cert_file: cert.to_owned(),
            key_file: key.to_owned(),
            min_version: cfg.min_version,
            digest,
        };
        if built.as_ref() == Some(&wanted) {
            return TlsReload::Unchanged;
        }
        match build(cert, key, cfg.min_version) {
            Ok((acceptor, new)) => {
                self.current.store(Some(Arc::new(acceptor)));
                *built = Some(new);
                tracing::info!(cert_file = %cert.display(), "TLS certificate reloaded");
                TlsReload::Reloaded
            }
            Err(e) => failed(e),
        }
    }
}

fn failed(e: TlsError) -> TlsReload {
    tracing::error!(error = %e, "TLS certificate not reloaded; the previous one stays in use");
    TlsReload::Failed(e)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn digest_of(cert: &Path, key: &Path) -> Result<Vec<u8>, TlsError> {
    Ok(sha256_pair(&read(cert)?, &read(key)?))
}

fn sha256_pair(cert_pem: &[u8], key_pem: &[u8]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(cert_pem);
    ctx.update(key_pem);
    ctx.finish().as_ref().to_vec()
}

/// Builds the acceptor: ALPN `postgresql` lets PostgreSQL 17 clients use
/// direct SSL; `min_version` picks the versions offered.
fn build(
    cert_file: &Path,
    key_file: &Path,
    min_version: TlsVersion,
) -> Result<(TlsAcceptor, Built), TlsError> {
    let cert_pem = read(cert_file)?;
    let key_pem = read(key_file)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read {
            path: cert_file.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert_file.to_owned()));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|source| TlsError::Read {
            path: key_file.to_owned(),
            source,
        })?
        .ok_or_else(|| TlsError::NoKey(key_file.to_owned()))?;
    let versions: &[&'static rustls::SupportedProtocolVersion] = match min_version {
        TlsVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::V1_3 => &[&rustls::version::TLS13],
    };
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"postgresql".to_vec()];
    let built = Built {
        cert_file: cert_file.to_owned(),
        key_file: key_file.to_owned(),
        min_version,
        digest: sha256_pair(&cert_pem, &key_pem),
    };
    Ok((TlsAcceptor::from(Arc::new(cfg)), built))
}
