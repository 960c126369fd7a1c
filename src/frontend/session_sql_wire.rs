//! Running session SQL (`PREPARE`, `EXECUTE`, `DEALLOCATE`, `DECLARE`,
//! `FETCH`, `MOVE`, `CLOSE`) from either protocol: one statement of a
//! simple Query, or a Parse whose Execute comes later. The statements
//! themselves are parsed in [`super::session_sql`] and carried out in
//! `prepared_sql` and `cursor_wire`.

use std::fmt::Debug;
use std::sync::Arc;

use futures::Sink;
use pgwire::api::portal::Portal;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientPortalStore, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use super::handler::{Handler, PreparedStatement, Statement};
use super::prepared_sql::{PortalTarget, named_statement};
use super::session_sql::{Declare, PreparedSessionSql, SessionSql};
use super::sql_tokens::{SyntaxError, tokenize};
use super::transaction::ABORTED;
use crate::frontend::errors::error;
use crate::frontend::errors::{
    FEATURE_NOT_SUPPORTED, IN_FAILED_SQL_TRANSACTION, SYNTAX_ERROR, UNDEFINED_PARAMETER,
};
use crate::frontend::session::Session;
use crate::translate::StatementKind;

fn syntax(e: SyntaxError) -> PgWireError {
    error(SYNTAX_ERROR, e.0)
}

impl Handler {
    /// One session statement of a simple Query.
    pub(super) async fn run_session_sql<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        parsed: Result<SessionSql, SyntaxError>,
    ) -> PgWireResult<()>
    where
        C: ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let command = parsed.map_err(syntax)?;
        if s.failed {
            return Err(error(IN_FAILED_SQL_TRANSACTION, ABORTED));
        }
        match command {
            SessionSql::Prepare { name, types, body } => {
                self.prepare_sql(client, s, &name, &types, &body).await
            }
            SessionSql::Execute { name, args } => {
                self.execute_sql(client, s, &name, &args, None).await
            }
            SessionSql::Deallocate { name } => {
                self.deallocate_sql(client, s, name.as_deref()).await
            }
            SessionSql::Declare(d) => {
                let query = self.declared_query(s, &d, &[]).await?;
                if let Some(first) = query.translation.param_order.first() {
                    // A simple Query binds nothing.
                    return Err(error(
                        UNDEFINED_PARAMETER,
                        format!("there is no parameter ${}", first + 1),
                    ));
                }
                self.declare(client, s, &d, &query, &[], &|_| false).await
            }
            SessionSql::Fetch {
                direction,
                cursor,
                moving,
            } => {
                self.fetch_cursor(client, s, &cursor, direction, moving, None)
                    .await
            }
            SessionSql::Close { name } => self.close_cursor(client, s, name.as_deref()).await,
        }
    }

    /// A DECLARE's query, translated and described as Parse would; only a
    /// SELECT (or VALUES) can be a cursor's.
    async fn declared_query(
        &self,
        s: &mut Session,
        d: &Declare,
        client_types: &[u32],
    ) -> PgWireResult<PreparedStatement> {
        let t = self
            .shared
            .translations
            .get(&d.query)
            .map_err(|e| error(e.sqlstate(), e.to_string()))?;
        match t.kind {
            StatementKind::Select => {}
            StatementKind::Insert | StatementKind::Update | StatementKind::Delete => {
                return Err(error(
                    FEATURE_NOT_SUPPORTED,
                    "DECLARE CURSOR must not contain data-modifying statements in WITH",
                ));
            }
            _ => {
                let toks = tokenize(&d.query);
                return Err(syntax(SyntaxError::at(&d.query, toks.first())));
            }
        }
        self.prepare(s, &d.query, client_types).await
    }

    /// Parse of session SQL: what Describe reports and Execute runs. A
    /// DECLARE's parameters are its query's; the others take none.
    pub(super) async fn parse_session_sql<C>(
        &self,
        client: &C,
        s: &mut Session,
        sql: &str,
        parsed: Result<SessionSql, SyntaxError>,
        client_types: &[u32],
    ) -> PgWireResult<PreparedStatement>
    where
        C: ClientPortalStore + Sync,
        C::PortalStore: PortalStore,
    {
        let command = parsed.map_err(syntax)?;
        let no_rows = || Some(Arc::new(Vec::new()));
        let (translation, param_types, columns, query_columns) = match &command {
            SessionSql::Declare(d) => {
                let q = self.declared_query(s, d, client_types).await?;
                (q.translation, q.param_types, no_rows(), q.columns)
            }
            other => {
                let t = self
                    .shared
                    .translations
                    .get(sql)
                    .map_err(|e| error(e.sqlstate(), e.to_string()))?;
                let columns = match other {
                    SessionSql::Execute { name, .. } => {
                        named_statement(client, name)?.map_or_else(no_rows, |st| st.columns.clone())
                    }
                    SessionSql::Fetch {
                        cursor,
                        moving: false,
                        ..
                    } => s
                        .cursors
                        .get(cursor)
                        .map_or_else(no_rows, |c| Some(c.columns.clone())),
                    _ => no_rows(),
                };
                (t, Vec::<Type>::new(), columns, None)
            }
        };
        Ok(PreparedStatement {
            sql: sql.into(),
            translation,
            param_types,
            columns,
            session_sql: Some(Arc::new(PreparedSessionSql {
                command,
                query_columns,
            })),
            copy: None,
        })
    }

    /// Execute of a portal bound to session SQL.
    pub(super) async fn execute_session_sql<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        portal: &Portal<Statement>,
        prepared: &PreparedSessionSql,
        max_rows: usize,
    ) -> PgWireResult<()>
    where
        C: ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        if s.failed {
            return Err(error(IN_FAILED_SQL_TRANSACTION, ABORTED));
        }
        let stmt = &portal.statement.statement;
        let needs_worker = matches!(
            prepared.command,
            SessionSql::Prepare { .. } | SessionSql::Execute { .. } | SessionSql::Declare(_)
        );
        if needs_worker && s.active.is_some() {
            return Err(error(
                FEATURE_NOT_SUPPORTED,
                "iriswire cannot run a statement while another portal's result is still open; fetch it to the end or close it first",
            ));
        }
        let ncols = stmt.columns.as_ref().map_or(0, |c| c.len());
        let binary: Vec<bool> = (0..ncols)
            .map(|i| portal.result_column_format.is_binary(i))
            .collect();
        match &prepared.command {
            SessionSql::Prepare { name, types, body } => {
                self.prepare_sql(client, s, name, types, body).await
            }
            SessionSql::Execute { name, args } => {
                let target = PortalTarget {
                    name: &portal.name,
                    binary: &binary,
                    max_rows,
                };
                self.execute_sql(client, s, name, args, Some(target)).await
            }
            SessionSql::Deallocate { name } => {
                self.deallocate_sql(client, s, name.as_deref()).await
            }
            SessionSql::Declare(d) => {
                let query = PreparedStatement {
                    sql: d.query.as_str().into(),
                    translation: stmt.translation.clone(),
                    param_types: stmt.param_types.clone(),
                    columns: prepared.query_columns.clone(),
                    session_sql: None,
                    copy: None,
                };
                let fmt = &portal.parameter_format;
                self.declare(client, s, d, &query, &portal.parameters, &|i| {
                    fmt.is_binary(i)
                })
                .await
            }
            SessionSql::Fetch {
                direction,
                cursor,
                moving,
            } => {
                let formats = match s.cursors.get(cursor) {
                    Some(c) => (0..c.columns.len())
                        .map(|i| portal.result_column_format.is_binary(i))
                        .collect(),
                    None => Vec::new(),
                };
                self.fetch_cursor(client, s, cursor, *direction, *moving, Some(&formats))
                    .await
            }
            SessionSql::Close { name } => self.close_cursor(client, s, name.as_deref()).await,
        }
    }
}
