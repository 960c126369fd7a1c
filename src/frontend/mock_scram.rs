//! What a login for a user who does not exist is asked for: a SCRAM
//! exchange against a mock verifier, as PostgreSQL does, so the answer to
//! an unknown name (a salt, an iteration count, then 28P01) looks like the
//! answer to a wrong password and user names cannot be enumerated.
//!
//! The mock verifier is derived from the user name and a server secret
//! with HMAC-SHA-256, so repeated attempts for one name get the same salt,
//! as a real user's would. The secret is kept in
//! `<data_dir>/.mock_auth_secret` (created owner-only on first start), so
//! a restart does not change the salts either, which would tell unknown
//! names apart from real ones whose salts never change.

use std::io::{Read, Write};
use std::path::Path;

use pgwire::api::auth::sasl::scram::ScramSecret;
use ring::hmac;

/// The iteration count a mock verifier announces: what `iriswire passwd`
/// writes.
pub(crate) const MOCK_ITERATIONS: usize = 4096;

const SECRET_FILE: &str = ".mock_auth_secret";
const SECRET_LEN: usize = 32;

/// Derives mock SCRAM verifiers from a server secret.
pub(crate) struct MockVerifiers {
    key: hmac::Key,
}

impl std::fmt::Debug for MockVerifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MockVerifiers")
    }
}

impl MockVerifiers {
    pub(crate) fn from_secret(secret: &[u8]) -> MockVerifiers {
        MockVerifiers {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The secret under `data_dir`, created if missing. If it can be
    /// neither read nor written, a secret for this process's life is used
    /// and the reason logged: unknown names then get new salts after a
    /// restart.
    pub(crate) fn load_or_create(data_dir: &Path) -> MockVerifiers {
        let path = data_dir.join(SECRET_FILE);
        match read_or_create(&path) {
            Ok(secret) => Self::from_secret(&secret),
            Err(e) => {
                tracing::warn!(
                    path = %path.display(), error = %e,
                    "cannot keep the mock authentication secret; using one for this run only"
                );
                Self::from_secret(&rand::random::<[u8; SECRET_LEN]>())
            }
        }
    }

    /// The verifier a login as `user`, who does not exist, is checked
    /// against; no password matches it.
    pub(crate) fn verifier(&self, user: &str) -> ScramSecret {
        let derive = |label: &[u8]| {
            let mut ctx = hmac::Context::with_key(&self.key);
            ctx.update(label);
            ctx.update(&[0]);
            ctx.update(user.as_bytes());
            ctx.sign().as_ref().to_vec()
        };
        ScramSecret::Verifier {
            salt: derive(b"salt")[..16].to_vec(),
            iterations: MOCK_ITERATIONS,
            stored_key: derive(b"stored key"),
            server_key: derive(b"server key"),
        }
    }
}

fn read_or_create(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            let secret = rand::random::<[u8; SECRET_LEN]>();
            f.write_all(&secret)?;
            f.sync_all()?;
            Ok(secret.to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut secret = Vec::new();
            std::fs::File::open(path)?.read_to_end(&mut secret)?;
            if secret.len() < SECRET_LEN {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the file is shorter than a secret",
                ));
            }
            Ok(secret)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn salt(v: &ScramSecret) -> Vec<u8> {
        match v {
            ScramSecret::Verifier { salt, .. } => salt.clone(),
            _ => panic!("a verifier"),
        }
    }

    #[test]
    fn one_name_one_salt_and_the_secret_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = MockVerifiers::load_or_create(dir.path());
        let again = MockVerifiers::load_or_create(dir.path());
        let a = salt(&first.verifier("mallory"));
        assert_eq!(a.len(), 16);
        assert_eq!(a, salt(&first.verifier("mallory")));
        assert_eq!(
            a,
            salt(&again.verifier("mallory")),
            "same secret after a restart"
        );
        assert_ne!(a, salt(&first.verifier("trudy")));
        let other = MockVerifiers::from_secret(b"another server");
        assert_ne!(a, salt(&other.verifier("mallory")));
    }
}
