//! `PREPARE`, `EXECUTE` and `DEALLOCATE` on the extended protocol's
//! machinery: a statement PREPAREd in SQL is translated and described once,
//! exactly as a Parse message would, and stored under its name beside the
//! protocol's named statements (one namespace, as in PostgreSQL: a client
//! may Bind what SQL prepared). EXECUTE binds its literal arguments, in
//! text form, as parameters of the statement's declared or inferred types.

use std::fmt::Debug;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Sink, SinkExt};
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::{Entry, MemPortalStore, PortalStore};
use pgwire::api::{ClientPortalStore, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use super::handler::{Handler, PreparedStatement, Statement, complete};
use super::session_sql::Literal;
use super::session_wire::clear_named_statements;
use super::sql_tokens::{SyntaxError, tokenize};
use super::transaction::plan;
use crate::frontend::columns::row_description;
use crate::frontend::errors::{
    DUPLICATE_PREPARED_STATEMENT, FEATURE_NOT_SUPPORTED, INTERNAL_ERROR,
    INVALID_SQL_STATEMENT_NAME, SYNTAX_ERROR,
};
use crate::frontend::errors::{bridge_failure, error, value_error};
use crate::frontend::lease::ensure_worker;
use crate::frontend::session::{ActivePortal, Session};
use crate::frontend::stream;
use crate::pgtypes::mapping::from_sql_name;
use crate::translate::StatementKind;

/// The connection's named statements; the store is iriswire's own type.
pub(super) fn statements<C>(client: &C) -> PgWireResult<&MemPortalStore<Statement>>
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore,
{
    client
        .portal_store()
        .as_any()
        .downcast_ref::<MemPortalStore<Statement>>()
        .ok_or_else(|| error(INTERNAL_ERROR, "internal: unexpected statement store"))
}

/// The named statement, if one exists.
pub(super) fn named_statement<C>(
    client: &C,
    name: &str,
) -> PgWireResult<Option<Arc<PreparedStatement>>>
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore,
{
    Ok(match statements(client)?.get_statement(name) {
        Some(Entry::Value(st)) => Some(st.statement.clone()),
        _ => None,
    })
}

fn no_such_statement(name: &str) -> PgWireError {
    error(
        INVALID_SQL_STATEMENT_NAME,
        format!("prepared statement \"{name}\" does not exist"),
    )
}

/// How EXECUTE runs on the extended protocol: into this portal, in these
/// result formats, up to `max_rows`.
pub(super) struct PortalTarget<'a> {
    pub name: &'a str,
    pub binary: &'a [bool],
    pub max_rows: usize,
}

impl Handler {
    /// `PREPARE name [(types)] AS statement`.
    pub(super) async fn prepare_sql<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        name: &str,
        types: &[String],
        body: &str,
    ) -> PgWireResult<()>
    where
        C: ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        if statements(client)?.get_statement(name).is_some() {
            return Err(error(
                DUPLICATE_PREPARED_STATEMENT,
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let stmt = self.prepare_body(s, types, body).await?;
        let types = stmt.param_types.iter().cloned().map(Some).collect();
        statements(client)?.put_statement(Arc::new(StoredStatement::new(
            name.to_owned(),
            Arc::new(stmt),
            types,
        )));
        s.statement_names.insert(name.to_owned());
        complete(client, "PREPARE").await
    }

    /// Translates and describes a PREPAREd statement as Parse would, with
    /// its declared parameter types (more may be declared than it uses).
    async fn prepare_body(
        &self,
        s: &mut Session,
        types: &[String],
        body: &str,
    ) -> PgWireResult<PreparedStatement> {
        let t = self
            .shared
            .translations
            .get(body)
            .map_err(|e| error(e.sqlstate(), e.to_string()))?;
        if !matches!(
            t.kind,
            StatementKind::Select
                | StatementKind::Insert
                | StatementKind::Update
                | StatementKind::Delete
        ) {
            // PostgreSQL's grammar takes only these after AS.
            let toks = tokenize(body);
            return Err(error(SYNTAX_ERROR, SyntaxError::at(body, toks.first()).0));
        }
        let declared: Vec<Option<Type>> = types.iter().map(|ty| from_sql_name(ty)).collect();
        let oids: Vec<u32> = declared
            .iter()
            .map(|t| t.as_ref().map_or(0, Type::oid))
            .collect();
        let mut stmt = self.prepare(s, body, &oids).await?;
        for ty in declared.iter().skip(stmt.param_types.len()) {
            stmt.param_types.push(ty.clone().unwrap_or(Type::TEXT));
        }
        Ok(stmt)
    }

    /// `EXECUTE name [(args)]`: the named statement with its arguments
    /// bound, its rows streamed as the statement's own (RowDescription
    /// first on the simple protocol; into `portal` on the extended one).
    pub(super) async fn execute_sql<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        name: &str,
        args: &[Literal],
        portal: Option<PortalTarget<'_>>,
    ) -> PgWireResult<()>
    where
        C: ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let stmt = named_statement(client, name)?.ok_or_else(|| no_such_statement(name))?;
        if args.len() != stmt.param_types.len() {
            let mut info = ErrorInfo::new(
                "ERROR".into(),
                SYNTAX_ERROR.into(),
                format!("wrong number of parameters for prepared statement \"{name}\""),
            );
            info.detail = Some(format!(
                "Expected {} parameters but got {}.",
                stmt.param_types.len(),
                args.len()
            ));
            return Err(PgWireError::UserError(Box::new(info)));
        }
        let params = args
            .iter()
            .zip(&stmt.param_types)
            .map(|(a, ty)| bind_literal(a, ty))
            .collect::<PgWireResult<Vec<_>>>()?;
        let t = &stmt.translation;
        let planned = plan(t, &stmt.sql, s);
        if self.carry_out(client, s, planned, portal.is_none()).await? {
            return Ok(());
        }
        ensure_worker(&self.shared, s).await?;
        let worker = s.worker.as_mut().expect("worker");
        worker
            .start_query(&t.backend_sql, stmt.columns.is_none(), |w| {
                stream::encode_params(t, &params, &stmt.param_types, &|_| false, w)
            })
            .await
            .map_err(|e| bridge_failure(&e))?
            .map_err(|e| value_error(&e))?;
        match portal {
            None => {
                if let Some(cols) = stmt.columns.as_ref().filter(|c| !c.is_empty()) {
                    client
                        .feed(PgWireBackendMessage::RowDescription(row_description(
                            cols,
                            &[],
                        )))
                        .await?;
                }
                self.stream_portal(client, s, &stmt, &[], 0, None).await
            }
            Some(p) => {
                let active = Some(ActivePortal {
                    name: p.name.to_owned(),
                    pending: None,
                    rows_sent: 0,
                });
                self.stream_portal(client, s, &stmt, p.binary, p.max_rows, active)
                    .await
            }
        }
    }

    /// `DEALLOCATE name | ALL`.
    pub(super) async fn deallocate_sql<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        name: Option<&str>,
    ) -> PgWireResult<()>
    where
        C: ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let store = statements(client)?;
        let tag = match name {
            Some(name) => {
                if store.get_statement(name).is_none() {
                    return Err(no_such_statement(name));
                }
                store.rm_statement(name);
                s.statement_names.remove(name);
                "DEALLOCATE"
            }
            None => {
                clear_named_statements(store, s);
                "DEALLOCATE ALL"
            }
        };
        complete(client, tag).await
    }
}

/// An EXECUTE argument as the text a Bind message would carry. A number
/// given for an integer parameter is rounded, as PostgreSQL's cast from
/// numeric rounds it.
fn bind_literal(arg: &Literal, ty: &Type) -> PgWireResult<Option<Bytes>> {
    match arg {
        Literal::Null => Ok(None),
        Literal::Text { value, numeric } => {
            let integer = matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8);
            if *numeric
                && integer
                && value.contains(['.', 'e', 'E'])
                && let Ok(f) = value.parse::<f64>()
                && f.is_finite()
            {
                return Ok(Some(Bytes::from(format!("{}", f.round() as i64))));
            }
            Ok(Some(Bytes::from(value.clone())))
        }
        Literal::Expression(e) => Err(error(
            FEATURE_NOT_SUPPORTED,
            format!("iriswire's EXECUTE takes literal arguments only, not \"{e}\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_bind_as_text_and_numbers_round_for_integers() {
        let text = |v: &str, numeric| Literal::Text {
            value: v.into(),
            numeric,
        };
        let bound = |a: &Literal, ty: &Type| bind_literal(a, ty).unwrap().map(|b| b.to_vec());
        assert_eq!(bound(&text("2.5", true), &Type::INT4), Some(b"3".to_vec()));
        assert_eq!(
            bound(&text("-2.5", true), &Type::INT8),
            Some(b"-3".to_vec())
        );
        assert_eq!(
            bound(&text("2.5", true), &Type::NUMERIC),
            Some(b"2.5".to_vec())
        );
        assert_eq!(bound(&text("x", false), &Type::TEXT), Some(b"x".to_vec()));
        assert_eq!(bound(&Literal::Null, &Type::INT4), None);
        assert!(bind_literal(&Literal::Expression("now()".into()), &Type::TEXT).is_err());
    }
}
