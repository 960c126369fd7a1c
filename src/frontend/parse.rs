//! Parse: translating a statement, asking the backend to describe it
//! (cached with the translation), and settling its parameter and result
//! types, before the client binds it.

use std::sync::Arc;

use pgwire::api::Type;
use pgwire::error::PgWireResult;

use super::handler::{Handler, PreparedStatement};
use super::transaction::{Plan, note_failure, plan};
use crate::frontend::columns;
use crate::frontend::columns::{ResultColumn, resolve_columns};
use crate::frontend::errors;
use crate::frontend::errors::{bridge_failure, error};
use crate::frontend::lease::{ensure_worker, release_if_idle};
use crate::frontend::session::{Session, SessionCommand, parse_session_command};
use crate::pgtypes::mapping::{self as types, ColumnType};
use crate::translate::{Described, StatementKind, TypeExpr};

impl Handler {
    /// Parse: translate, ask the backend to describe (cached), resolve types.
    pub(super) async fn prepare(
        &self,
        s: &mut Session,
        sql: &str,
        client_types: &[u32],
    ) -> PgWireResult<PreparedStatement> {
        if crate::frontend::copy::is_copy(sql) {
            return self.prepare_copy(s, sql).await;
        }
        let shared = &self.shared;
        let t = shared
            .translations
            .get(sql)
            .map_err(|e| error(e.sqlstate(), e.to_string()))?;
        let local = matches!(plan(&t, sql, s), Plan::Local(_));
        let mut param_types: Vec<Option<Type>> = (0..t.param_count)
            .map(|i| {
                client_types
                    .get(i)
                    .copied()
                    .filter(|o| *o != 0)
                    .and_then(types::from_oid)
            })
            .collect();
        let mut columns = None;
        if local {
            if let Some(SessionCommand::Show { name }) = parse_session_command(sql) {
                columns = Some(Arc::new(vec![ResultColumn {
                    name,
                    ty: Type::TEXT,
                    scale: None,
                }]));
            } else {
                columns = Some(Arc::new(vec![]));
            }
        } else if matches!(
            t.kind,
            StatementKind::Begin | StatementKind::Commit | StatementKind::Rollback
        ) {
            columns = Some(Arc::new(vec![]));
        } else {
            let epoch = shared.epoch();
            let described = match t.described_at(epoch).filter(|d| d.prepared) {
                Some(d) => d,
                None => {
                    ensure_worker(shared, s).await?;
                    let w = s.worker.as_mut().expect("worker");
                    match w
                        .prepare(&t.backend_sql)
                        .await
                        .map_err(|e| bridge_failure(&e))?
                    {
                        Ok(p) => {
                            let inferred = columns::infer_columns(shared, s, &t, &[]).await?;
                            let d = Arc::new(Described {
                                epoch,
                                columns: p.columns.map(Arc::new),
                                inferred,
                                params: p.params,
                                prepared: true,
                            });
                            t.described.store(Some(d.clone()));
                            d
                        }
                        Err(e) => {
                            note_failure(s);
                            return Err(errors::backend_error(&e));
                        }
                    }
                }
            };
            for (i, ty) in t.analysis().param_types.iter().enumerate() {
                if param_types[i].is_none() {
                    param_types[i] = ty.clone();
                }
            }
            if param_types.iter().any(Option::is_none) && !t.analysis().param_columns.is_empty() {
                for link in t.analysis().param_columns.clone() {
                    if param_types.get(link.param).is_some_and(Option::is_some) {
                        continue;
                    }
                    // The qualifier may be an alias (`pg_type t`): then the
                    // statement's tables are searched too.
                    let candidates: Vec<String> = match &link.table {
                        Some(tb) => std::iter::once(tb.clone())
                            .chain(t.analysis().tables.iter().filter(|x| *x != tb).cloned())
                            .collect(),
                        None => t.analysis().tables.clone(),
                    };
                    for table in candidates {
                        let cols = columns::table_columns(shared, s, &table).await?;
                        let found = match link.position {
                            Some(i) => cols.get(i),
                            None => cols.iter().find(|(c, _)| *c == link.column),
                        };
                        if let Some((_, ct)) = found {
                            param_types[link.param] = Some(ct.ty.clone());
                            break;
                        }
                    }
                }
            }
            // The backend's own parameter types come last: IRIS types a `?` it
            // cannot place as VARCHAR, which a column comparison beats.
            if let Some(params) = &described.params {
                for (k, &p) in t.param_order.iter().enumerate() {
                    if param_types[p].is_none()
                        && let Some((name, code)) = params.get(k)
                    {
                        param_types[p] =
                            types::from_declared(name).or_else(|| types::from_odbc(*code, 0, 0));
                    }
                }
            }
            // Columns computed from `$n` follow the parameter types just settled.
            let with_params;
            let inferred: &[Option<ColumnType>] = if t
                .analysis()
                .column_exprs
                .iter()
                .any(TypeExpr::mentions_param)
            {
                with_params = columns::infer_columns(shared, s, &t, &param_types).await?;
                &with_params
            } else {
                &described.inferred
            };
            if let Some(metas) = &described.columns {
                columns = Some(Arc::new(resolve_columns(&t, metas, inferred, None)));
            } else if t.returning {
                // SQLite cannot describe RETURNING without running it: the
                // statement text and the catalog can.
                columns = match columns::columns_from_text(&t, inferred) {
                    Some(cols) => Some(Arc::new(cols)),
                    None => match t.analysis().tables.first() {
                        Some(table) => {
                            let cols = columns::table_columns(shared, s, table).await?;
                            Some(Arc::new(
                                cols.iter()
                                    .map(|(name, ct)| ResultColumn {
                                        name: name.clone(),
                                        ty: ct.ty.clone(),
                                        scale: ct.scale,
                                    })
                                    .collect(),
                            ))
                        }
                        None => None,
                    },
                };
            } else if !matches!(t.kind, StatementKind::Select | StatementKind::Other) {
                columns = Some(Arc::new(vec![]));
            }
        }
        release_if_idle(shared, s);
        Ok(PreparedStatement {
            sql: sql.into(),
            translation: t,
            param_types: param_types
                .into_iter()
                .map(|t| t.unwrap_or(Type::TEXT))
                .collect(),
            columns,
            session_sql: None,
            copy: None,
        })
    }
}
