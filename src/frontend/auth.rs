//! Start-up: authentication (SCRAM-SHA-256, MD5, trust on loopback) and
//! the ParameterStatus values drivers rely on.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

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

use crate::config::{Config, User};
use crate::frontend::errors::fatal;
use crate::frontend::errors::{
    CANNOT_CONNECT_NOW, INSUFFICIENT_PRIVILEGE, INVALID_AUTHORIZATION_SPECIFICATION,
    INVALID_CATALOG_NAME, INVALID_PASSWORD, TOO_MANY_CONNECTIONS,
};
use crate::frontend::session::{SERVER_VERSION, Session, SessionSlot};
use crate::state::Phase;
use crate::state::Shared;
use crate::state::clients::{Client, Identity};

/// Looks up configured users' stored secrets.
#[derive(Debug)]
pub struct UserSource {
    users: HashMap<String, User>,
}

impl UserSource {
    pub fn new(users: &[User]) -> Self {
        UserSource {
            users: users.iter().map(|u| (u.name.clone(), u.clone())).collect(),
        }
    }

    fn user(&self, login: &LoginInfo<'_>) -> PgWireResult<&User> {
        let name = login.user().unwrap_or_default();
        self.users.get(name).ok_or_else(|| auth_failed(name))
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
        let user = self.user(login)?;
        let stored = user
            .secret
            .strip_prefix("md5")
            .ok_or_else(|| auth_failed(&user.name))?;
        let salt: [u8; 4] = rand::random();
        let mut input = stored.as_bytes().to_vec();
        input.extend_from_slice(&salt);
        let hashed = format!("md5{:x}", md5::compute(&input));
        Ok(Password::new(Some(salt.to_vec()), hashed.into_bytes()))
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let user = self.user(login)?;
        let secret = parse_scram_verifier(&user.secret).ok_or_else(|| auth_failed(&user.name))?;
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

pub struct Startup {
    pub shared: Arc<Shared>,
    driver: AuthDriver<Arc<Parameters>>,
}

impl Startup {
    pub fn new(shared: Arc<Shared>) -> Self {
        Startup {
            shared,
            driver: AuthDriver::new(Arc::new(Parameters)),
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
        tracing::info!(
            peer = %self.peer, user = %self.user, database = %self.database,
            application_name = %self.application_name,
            duration_ms = self.opened.elapsed().as_millis() as u64,
            "connection closed"
        );
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
        let config = self.shared.config();
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
                if database == ADMIN_DATABASE {
                    if !config.is_admin(&user) {
                        return Err(fatal(
                            INSUFFICIENT_PRIVILEGE,
                            format!(
                                "permission denied for the iriswire admin console: \"{user}\" is not in server.admin_users and has no admin = true"
                            ),
                        ));
                    }
                } else if self.shared.pools.pool(&database, &user).is_err() {
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
                    AuthOutcome::Authenticated {
                        identity: None,
                        final_message: None,
                    }
                } else {
                    // The users of the configuration in force now: a reload
                    // applies to the next login.
                    let users = Arc::new(UserSource::new(&config.users));
                    let login = LoginInfo::from_client_info(client);
                    let user = users.user(&login)?;
                    let mechanism = if user.secret.starts_with("SCRAM-SHA-256$") {
                        let scram = ScramAuth::new(users.clone());
                        SaslMechanisms::new(vec![Arc::new(scram)]).create()
                    } else {
                        Md5PasswordAuth::new(users.clone()).create()
                    };
                    self.driver.begin_authentication(client, mechanism).await?
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(m) => {
                self.driver.advance_authentication(client, m).await?
            }
            _ => return Ok(()),
        };
        if let AuthOutcome::Authenticated { final_message, .. } = outcome {
            self.admit(client, &config)?;
            let (_, database) = user_and_database(client);
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
        }
        Ok(())
    }
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
