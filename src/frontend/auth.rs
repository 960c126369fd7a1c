//! Start-up: authentication (SCRAM-SHA-256, MD5, trust on loopback) and
//! the ParameterStatus values drivers rely on.
//!
//! A failed login is answered as PostgreSQL answers it, whatever went
//! wrong: a user who does not exist gets a SCRAM exchange against a mock
//! verifier ([`mock_scram`](super::mock_scram)) and then the same 28P01
//! `password authentication failed for user "x"` as a wrong password. The
//! answer comes only after its source address's back-off delay
//! ([`failed_logins`](super::failed_logins)). Logins, failures and logouts
//! are audited ([`crate::audit`]).

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use futures::Sink;
use pgwire::api::auth::md5pass::Md5PasswordAuth;
use pgwire::api::auth::mechanism::AuthMechanismFactory;
use pgwire::api::auth::sasl::SaslMechanisms;
use pgwire::api::auth::sasl::scram::{ScramAuth, ScramSecret};
use pgwire::api::auth::{
    AuthDriver, AuthOutcome, AuthSource, LoginInfo, Password, ServerParameterProvider,
    StartupHandler, protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, METADATA_APPLICATION_NAME, METADATA_DATABASE, METADATA_USER};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::audit::{Audit, AuditEvent};
use crate::config::{Config, TlsMode, User};
use crate::frontend::errors::fatal;
use crate::frontend::errors::{
    CANNOT_CONNECT_NOW, INSUFFICIENT_PRIVILEGE, INVALID_AUTHORIZATION_SPECIFICATION,
    INVALID_CATALOG_NAME, INVALID_PASSWORD, TOO_MANY_CONNECTIONS,
};
use crate::frontend::failed_logins::FailedLogins;
use crate::frontend::mock_scram::MockVerifiers;
use crate::frontend::session::{SERVER_VERSION, Session, SessionSlot};
use crate::state::Phase;
use crate::state::Shared;
use crate::state::clients::{Client, Identity};
use crate::telemetry::PLAINTEXT_REFUSED;

/// Looks up configured users' stored secrets; a name that is not
/// configured gets a mock SCRAM verifier.
#[derive(Debug)]
pub struct UserSource {
    users: HashMap<String, User>,
    mock: Arc<MockVerifiers>,
}

impl UserSource {
    pub(crate) fn new(users: &[User], mock: Arc<MockVerifiers>) -> Self {
        UserSource {
            users: users.iter().map(|u| (u.name.clone(), u.clone())).collect(),
            mock,
        }
    }

    fn known(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }
}

fn auth_failed(user: &str) -> PgWireError {
    fatal(
        INVALID_PASSWORD,
        format!("password authentication failed for user \"{user}\""),
    )
}

/// Parses `SCRAM-SHA-256$<iterations>:<salt>$<stored_key>:<server_key>`.
pub fn parse_scram_verifier(v: &str) -> Option<ScramSecret> {
    let rest = v.strip_prefix("SCRAM-SHA-256$")?;
    let (params, keys) = rest.split_once('$')?;
    let (iters, salt) = params.split_once(':')?;
    let (stored, server) = keys.split_once(':')?;
    Some(ScramSecret::Verifier {
        salt: B64.decode(salt).ok()?,
        iterations: iters.parse().ok()?,
        stored_key: B64.decode(stored).ok()?,
        server_key: B64.decode(server).ok()?,
    })
}

/// Builds a PostgreSQL-compatible SCRAM-SHA-256 verifier for `password`.
pub fn scram_verifier(password: &str, iterations: u32) -> String {
    use ring::{digest, hmac, pbkdf2};
    let salt: [u8; 16] = rand::random();
    let mut salted = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(iterations).expect("iterations > 0"),
        &salt,
        password.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        B64.encode(salt),
        B64.encode(stored.as_ref()),
        B64.encode(server_key.as_ref())
    )
}

#[async_trait]
impl AuthSource for UserSource {
    /// MD5: `md5(md5(password || user) || salt)` from the stored `md5...` hash.
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let name = login.user().unwrap_or_default();
        let stored = self
            .known(name)
            .and_then(|u| u.secret.strip_prefix("md5"))
            .ok_or_else(|| auth_failed(name))?;
        let salt: [u8; 4] = rand::random();
        let mut input = stored.as_bytes().to_vec();
        input.extend_from_slice(&salt);
        let hashed = format!("md5{:x}", md5::compute(&input));
        Ok(Password::new(Some(salt.to_vec()), hashed.into_bytes()))
    }

    /// The user's verifier, or for a name not configured the mock one: the
    /// exchange then fails at the proof, as a wrong password does.
    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let name = login.user().unwrap_or_default();
        let secret = self
            .known(name)
            .and_then(|u| parse_scram_verifier(&u.secret))
            .unwrap_or_else(|| self.mock.verifier(name));
        Ok((secret, None))
    }
}

/// ParameterStatus values sent after authentication.
pub struct Parameters;

impl ServerParameterProvider for Parameters {
    fn server_parameters<C: ClientInfo>(&self, client: &C) -> Option<HashMap<String, String>> {
        let md = client.metadata();
        let mut p: HashMap<String, String> = [
            ("server_version", SERVER_VERSION),
            ("server_encoding", "UTF8"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "postgres"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("TimeZone", "UTC"),
            ("is_superuser", "off"),
            ("in_hot_standby", "off"),
            ("default_transaction_read_only", "off"),
            ("search_path", "\"$user\", public"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        p.insert(
            "application_name".into(),
            md.get(METADATA_APPLICATION_NAME)
                .cloned()
                .unwrap_or_default(),
        );
        p.insert(
            "session_authorization".into(),
            md.get(METADATA_USER).cloned().unwrap_or_default(),
        );
        Some(p)
    }
}

/// The connection's registry entry, put in pgwire's per-connection
/// extensions by the connection loop.
pub struct ClientHandle(pub Arc<Client>);

/// The virtual database of the admin console.
pub const ADMIN_DATABASE: &str = "iriswire";

/// How the connection is authenticating, kept for the audit line of its login.
struct LoginMethod(&'static str);

/// Marks a login as a user name that is not configured (for the audit
/// log only: the client is told nothing different).
struct UnknownUser;

pub struct Startup {
    pub shared: Arc<Shared>,
    driver: AuthDriver<Arc<Parameters>>,
    failed_logins: FailedLogins,
    mock: Arc<MockVerifiers>,
}

impl Startup {
    pub fn new(shared: Arc<Shared>) -> Self {
        let mock = Arc::new(MockVerifiers::load_or_create(&shared.config().data_dir));
        Startup {
            shared,
            driver: AuthDriver::new(Arc::new(Parameters)),
            failed_logins: FailedLogins::default(),
            mock,
        }
    }

    /// PostgreSQL refuses a connection to a missing database at start-up
    /// (FATAL 3D000). An IRIS namespace is only known to exist once a worker
    /// has entered it, so check out a worker (and hand it straight back).
    /// Other failures, such as a busy pool, are left to the first statement.
    async fn check_database<C: ClientInfo>(&self, client: &C) -> PgWireResult<()> {
        let (user, database) = user_and_database(client);
        match self.shared.pools.acquire(&database, &user).await {
            Err(e) if e.sqlstate() == INVALID_CATALOG_NAME => Err(fatal(
                INVALID_CATALOG_NAME,
                format!("database \"{database}\" does not exist"),
            )),
            _ => Ok(()),
        }
    }

    /// Records who logged in and applies the connection limits.
    fn admit<C: ClientInfo>(&self, client: &C, config: &Config) -> PgWireResult<()> {
        let (user, database) = user_and_database(client);
        let Some(entry) = client.session_extensions().get::<ClientHandle>() else {
            return Ok(());
        };
        let identity = Identity {
            admin: database == ADMIN_DATABASE,
            application_name: client
                .metadata()
                .get(METADATA_APPLICATION_NAME)
                .cloned()
                .unwrap_or_default(),
            user,
            database,
        };
        self.shared
            .clients
            .identify(&entry.0, identity, config)
            .map_err(|limit| fatal(TOO_MANY_CONNECTIONS, limit.to_string()))
    }

    fn finish_session<C: ClientInfo>(&self, client: &C, config: &Config) {
        let (user, database) = user_and_database(client);
        let mut session = Session::new(database, user);
        if let Some(entry) = client.session_extensions().get::<ClientHandle>() {
            session.client = Some(entry.0.clone());
        }
        session.stats = Some(self.shared.clients.stats_for(&session.database));
        let mut session = session.with_config_defaults(config);
        if let Some(app) = client.metadata().get(METADATA_APPLICATION_NAME) {
            session
                .settings
                .insert("application_name".into(), app.clone());
        }
        let app = client
            .metadata()
            .get(METADATA_APPLICATION_NAME)
            .cloned()
            .unwrap_or_default();
        let log = ConnectionLog {
            peer: client.socket_addr(),
            user: session.user.clone(),
            database: session.database.clone(),
            application_name: app,
            opened: std::time::Instant::now(),
        };
        tracing::info!(
            peer = %log.peer, user = %log.user, database = %log.database,
            application_name = %log.application_name, "connection opened"
        );
        client.session_extensions().insert(log);
        let slot = SessionSlot::default();
        slot.put(session);
        client.session_extensions().insert(slot);
    }
}

/// Logs the close of an authenticated connection when the connection's
/// state is dropped, whichever way it ends.
struct ConnectionLog {
    peer: std::net::SocketAddr,
    user: String,
    database: String,
    application_name: String,
    opened: std::time::Instant,
}

impl Drop for ConnectionLog {
    fn drop(&mut self) {
        let duration_ms = self.opened.elapsed().as_millis() as u64;
        tracing::info!(
            peer = %self.peer, user = %self.user, database = %self.database,
            application_name = %self.application_name,
            duration_ms,
            "connection closed"
        );
        let mut audit = Audit::new(AuditEvent::Logout);
        audit.user = Some(&self.user);
        audit.peer = Some(self.peer);
        audit.database = Some(&self.database);
        audit.application_name = Some(&self.application_name);
        audit.duration_ms = Some(duration_ms);
        audit.record();
    }
}

/// The start-up packet's user, and its database (the user's name when absent,
/// as in PostgreSQL).
fn user_and_database<C: ClientInfo>(client: &C) -> (String, String) {
    let md = client.metadata();
    let user = md.get(METADATA_USER).cloned().unwrap_or_default();
    let database = md
        .get(METADATA_DATABASE)
        .cloned()
        .unwrap_or_else(|| user.clone());
    (user, database)
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let result = self.step(client, message).await;
        if let Err(e) = &result {
            audit_refusal(client, e);
        }
        result
    }
}

impl Startup {
    /// One start-up or password message.
    async fn step<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Owned, not a guard: the login may wait on the pool and the back-off.
        let config = self.shared.config.load_full();
        let outcome = match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let (user, database) = user_and_database(client);
                if user.is_empty() {
                    return Err(fatal(
                        INVALID_AUTHORIZATION_SPECIFICATION,
                        "no PostgreSQL user name specified in startup packet",
                    ));
                }
                if self.shared.lifecycle.phase() != Phase::Running {
                    return Err(fatal(
                        CANNOT_CONNECT_NOW,
                        "the database system is shutting down",
                    ));
                }
                if config.tls.mode == TlsMode::Require && !client.is_secure() {
                    // As a pg_hba.conf of hostssl lines alone answers.
                    return Err(fatal(
                        INVALID_AUTHORIZATION_SPECIFICATION,
                        format!(
                            "{PLAINTEXT_REFUSED} \"{}\", user \"{user}\", database \"{database}\", no encryption",
                            client.socket_addr().ip()
                        ),
                    ));
                }
                if database != ADMIN_DATABASE && self.shared.pools.pool(&database, &user).is_err() {
                    return Err(fatal(
                        INVALID_CATALOG_NAME,
                        format!("database \"{database}\" does not exist"),
                    ));
                }
                if config.users.is_empty() {
                    // Trust: only when no users are configured, and only on loopback.
                    if !client.socket_addr().ip().is_loopback() {
                        return Err(fatal(
                            INVALID_AUTHORIZATION_SPECIFICATION,
                            "trust authentication is only allowed for loopback connections",
                        ));
                    }
                    client.session_extensions().insert(LoginMethod("trust"));
                    AuthOutcome::Authenticated {
                        identity: None,
                        final_message: None,
                    }
                } else {
                    self.begin_password(client, &config, &user).await?
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(m) => {
                match self.driver.advance_authentication(client, m).await {
                    Ok(outcome) => outcome,
                    Err(e) => return Err(self.password_failed(client, &config, e).await),
                }
            }
            _ => return Ok(()),
        };
        if let AuthOutcome::Authenticated { final_message, .. } = outcome {
            let (user, database) = user_and_database(client);
            // Only now, so the answer cannot tell admins from other names.
            if database == ADMIN_DATABASE && !config.is_admin(&user) {
                return Err(fatal(
                    INSUFFICIENT_PRIVILEGE,
                    format!(
                        "permission denied for the iriswire admin console: \"{user}\" is not in server.admin_users and has no admin = true"
                    ),
                ));
            }
            self.admit(client, &config)?;
            if database != ADMIN_DATABASE {
                self.check_database(client).await?;
            }
            self.finish_session(client, &config);
            self.driver
                .complete_authentication(client, final_message)
                .await?;
            if let Some(entry) = client.session_extensions().get::<ClientHandle>() {
                let (pid, key) = client.pid_and_secret_key();
                entry.0.set_key(pid, key.to_bytes().to_vec());
            }
            let method = client.session_extensions().get::<LoginMethod>();
            let app = client.metadata().get(METADATA_APPLICATION_NAME).cloned();
            let mut audit = Audit::new(AuditEvent::Login);
            audit.user = Some(&user);
            audit.peer = Some(client.socket_addr());
            audit.database = Some(&database);
            audit.application_name = app.as_deref();
            audit.method = method.map(|m| m.0);
            audit.record();
        }
        Ok(())
    }

    /// Starts the password exchange: MD5 for a user stored with an MD5
    /// hash, SCRAM-SHA-256 for everyone else, including names that are not
    /// configured (against a mock verifier).
    async fn begin_password<C>(
        &self,
        client: &mut C,
        config: &Config,
        user: &str,
    ) -> PgWireResult<AuthOutcome<()>>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // The users of the configuration in force now: a reload applies to
        // the next login.
        let users = Arc::new(UserSource::new(&config.users, self.mock.clone()));
        let known = users.known(user);
        if known.is_none() {
            client.session_extensions().insert(UnknownUser);
        }
        let (mechanism, method) = match known {
            Some(u) if !u.secret.starts_with("SCRAM-SHA-256$") => {
                (Md5PasswordAuth::new(users.clone()).create(), "md5")
            }
            _ => {
                let scram = ScramAuth::new(users.clone());
                (
                    SaslMechanisms::new(vec![Arc::new(scram)]).create(),
                    "scram-sha-256",
                )
            }
        };
        client.session_extensions().insert(LoginMethod(method));
        self.driver.begin_authentication(client, mechanism).await
    }

    /// A password exchange that failed: counted against the source address,
    /// answered after its back-off delay, a wrong password reported as
    /// PostgreSQL reports it (pgwire names the SCRAM message's user, which
    /// clients leave empty).
    async fn password_failed<C: ClientInfo>(
        &self,
        client: &C,
        config: &Config,
        error: PgWireError,
    ) -> PgWireError {
        let delay =
            self.failed_logins
                .failed(client.socket_addr().ip(), &config.auth, Instant::now());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match error {
            PgWireError::InvalidPassword(_) => auth_failed(&user_and_database(client).0),
            other => other,
        }
    }
}

/// Audits a refused login: `admin_denied` for the console, else
/// `login_failed` with the reason the client was given (and, for the
/// server's eyes only, that the user does not exist).
fn audit_refusal<C: ClientInfo>(client: &C, error: &PgWireError) {
    let message = match error {
        PgWireError::UserError(info) => info.message.clone(),
        other => other.to_string(),
    };
    let (user, database) = user_and_database(client);
    let unknown = client.session_extensions().get::<UnknownUser>().is_some();
    let reason = if unknown {
        format!("{message} (role \"{user}\" does not exist)")
    } else {
        message
    };
    let event = if error.code() == INSUFFICIENT_PRIVILEGE {
        AuditEvent::AdminDenied
    } else {
        AuditEvent::LoginFailed
    };
    let app = client.metadata().get(METADATA_APPLICATION_NAME).cloned();
    let mut audit = Audit::new(event);
    audit.user = (!user.is_empty()).then_some(user.as_str());
    audit.peer = Some(client.socket_addr());
    audit.database = (!database.is_empty()).then_some(database.as_str());
    audit.application_name = app.as_deref();
    audit.reason = Some(&reason);
    audit.record();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_round_trips() {
        let v = scram_verifier("secret", 4096);
        match parse_scram_verifier(&v).unwrap() {
            ScramSecret::Verifier {
                iterations,
                salt,
                stored_key,
                server_key,
            } => {
                assert_eq!(iterations, 4096);
                assert_eq!(salt.len(), 16);
                assert_eq!(stored_key.len(), 32);
                assert_eq!(server_key.len(), 32);
            }
            _ => panic!("expected a verifier"),
        }
        assert!(parse_scram_verifier("SCRAM-SHA-256$x").is_none());
    }
}
