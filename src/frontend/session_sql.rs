//! Recognising the session statements PostgreSQL keeps in the session
//! rather than in the executor: `PREPARE`, `EXECUTE`, `DEALLOCATE`,
//! `DECLARE ... CURSOR`, `FETCH`, `MOVE` and `CLOSE`. Pure parsing, with
//! PostgreSQL's grammar and syntax errors; `session_sql_wire` runs them.

use std::sync::Arc;

use super::result_row::ResultColumn;
use super::sql_tokens::{Cursor, SyntaxError, TokKind};

/// A parsed session statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionSql {
    /// `PREPARE name [(type, ...)] AS statement`.
    Prepare {
        name: String,
        types: Vec<String>,
        body: String,
    },
    /// `EXECUTE name [(arg, ...)]`.
    Execute {
        name: String,
        args: Vec<Literal>,
    },
    /// `DEALLOCATE [PREPARE] name | ALL`; `None` is ALL.
    Deallocate {
        name: Option<String>,
    },
    Declare(Declare),
    /// `FETCH` (`moving` false) or `MOVE`.
    Fetch {
        direction: Direction,
        cursor: String,
        moving: bool,
    },
    /// `CLOSE name | ALL`; `None` is ALL.
    Close {
        name: Option<String>,
    },
}

/// Session SQL a Parse prepared, run at Execute.
#[derive(Debug)]
pub struct PreparedSessionSql {
    pub(crate) command: SessionSql,
    /// DECLARE: its query's result columns, the cursor's.
    pub(crate) query_columns: Option<Arc<Vec<ResultColumn>>>,
}

/// `DECLARE name [BINARY] [[NO] SCROLL] CURSOR [WITH[OUT] HOLD] FOR query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Declare {
    pub name: String,
    pub binary: bool,
    /// `Some(true)`: SCROLL; `Some(false)`: NO SCROLL; `None`: neither said.
    pub scroll: Option<bool>,
    pub hold: bool,
    pub query: String,
}

/// An argument of `EXECUTE`: a literal, in the text form a Bind message
/// would carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Literal {
    Null,
    /// `numeric`: written as a number (so `2.5` can be rounded for an
    /// integer parameter, as PostgreSQL's numeric-to-integer cast does).
    Text {
        value: String,
        numeric: bool,
    },
    /// Not a literal (an expression, a `$n`): iriswire cannot bind it.
    Expression(String),
}

/// How many rows a FETCH or MOVE covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    Rows(i64),
    All,
}

/// PostgreSQL's FETCH directions, reduced to four as its executor does
/// (`NEXT` is `FORWARD 1`, `PRIOR` is `BACKWARD 1`, `FIRST` is
/// `ABSOLUTE 1`, `LAST` is `ABSOLUTE -1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Forward(Count),
    Backward(Count),
    Absolute(i64),
    Relative(i64),
}

/// Recognises a session statement by its first keyword; `None` for any
/// other statement. `Some(Err)` is a syntax error in one.
pub(crate) fn parse(sql: &str) -> Option<Result<SessionSql, SyntaxError>> {
    let mut c = Cursor::new(sql);
    let first = c.peek().filter(|t| t.kind == TokKind::Word)?.value.clone();
    let parse_fn: fn(&mut Cursor) -> Result<SessionSql, SyntaxError> = match first.as_str() {
        "prepare" => parse_prepare,
        "execute" => parse_execute,
        "deallocate" => parse_deallocate,
        "declare" => parse_declare,
        "fetch" | "move" => parse_fetch,
        "close" => parse_close,
        _ => return None,
    };
    c.next();
    Some(parse_fn(&mut c))
}

fn parse_prepare(c: &mut Cursor) -> Result<SessionSql, SyntaxError> {
    let name = c.name()?;
    let mut types = Vec::new();
    if c.eat_punct("(") {
        loop {
            let start = c.peek().ok_or_else(|| c.error())?.range.start;
            let mut end = start;
            let mut depth = 0;
            while let Some(t) = c.peek() {
                if depth == 0 && (t.is_punct(",") || t.is_punct(")")) {
                    break;
                }
                if t.is_punct("(") {
                    depth += 1;
                } else if t.is_punct(")") {
                    depth -= 1;
                }
                end = t.range.end;
                c.next();
            }
            if end == start {
                return Err(c.error());
            }
            types.push(c.sql[start..end].to_owned());
            if c.eat_punct(")") {
                break;
            }
            c.expect_punct(",")?;
        }
    }
    c.expect("as")?;
    let body = c.rest().to_owned();
    if body.is_empty() {
        return Err(c.error());
    }
    Ok(SessionSql::Prepare { name, types, body })
}

fn parse_execute(c: &mut Cursor) -> Result<SessionSql, SyntaxError> {
    let name = c.name()?;
    let mut args = Vec::new();
    if c.eat_punct("(") {
        loop {
            let first = c.pos;
            let mut depth = 0;
            while let Some(t) = c.peek() {
                if depth == 0 && (t.is_punct(",") || t.is_punct(")")) {
                    break;
                }
                if t.is_punct("(") {
                    depth += 1;
                } else if t.is_punct(")") {
                    depth -= 1;
                }
                c.next();
            }
            if c.pos == first {
                return Err(c.error());
            }
            args.push(literal(c, first, c.pos));
            if c.eat_punct(")") {
                break;
            }
            c.expect_punct(",")?;
        }
    }
    c.expect_end()?;
    Ok(SessionSql::Execute { name, args })
}

/// Reads tokens `from..to` as a literal: `NULL`, `TRUE`, `FALSE`, a signed
/// number, a string (optionally typed: `DATE '...'`), each optionally cast
/// (`'1'::int`, `CAST('1' AS int)`) or parenthesised.
fn literal(c: &Cursor, from: usize, to: usize) -> Literal {
    let toks = &c.toks[from..to];
    let text = || c.sql[toks[0].range.start..toks[toks.len() - 1].range.end].to_owned();
    let mut t = toks;
    // Parentheses and CAST(x AS type) around the value.
    loop {
        if t.len() >= 2 && t[0].is_punct("(") && t[t.len() - 1].is_punct(")") {
            t = &t[1..t.len() - 1];
        } else if t.len() >= 4
            && t[0].is_word("cast")
            && t[1].is_punct("(")
            && t[t.len() - 1].is_punct(")")
        {
            match t.iter().position(|x| x.is_word("as")) {
                Some(at) => t = &t[2..at],
                None => return Literal::Expression(text()),
            }
        } else {
            break;
        }
    }
    // A trailing cast names the type; the parameter's own type decides.
    if let Some(at) = t.iter().position(|x| x.is_punct("::")) {
        t = &t[..at];
    }
    match t {
        [v] if v.is_word("null") => Literal::Null,
        [v] if v.is_word("true") || v.is_word("false") => Literal::Text {
            value: v.value.clone(),
            numeric: false,
        },
        [v] if v.kind == TokKind::Str => Literal::Text {
            value: v.value.clone(),
            numeric: false,
        },
        // A typed string: DATE '2024-01-01', TIMESTAMP '...'.
        [ty, v] if ty.kind == TokKind::Word && v.kind == TokKind::Str => Literal::Text {
            value: v.value.clone(),
            numeric: false,
        },
        [v] if v.kind == TokKind::Number => Literal::Text {
            value: v.value.clone(),
            numeric: true,
        },
        [sign, v] if (sign.is_punct("-") || sign.is_punct("+")) && v.kind == TokKind::Number => {
            let minus = if sign.is_punct("-") { "-" } else { "" };
            Literal::Text {
                value: format!("{minus}{}", v.value),
                numeric: true,
            }
        }
        _ => Literal::Expression(text()),
    }
}

fn parse_deallocate(c: &mut Cursor) -> Result<SessionSql, SyntaxError> {
    c.eat("prepare");
    let name = if c.eat("all") { None } else { Some(c.name()?) };
    c.expect_end()?;
    Ok(SessionSql::Deallocate { name })
}

fn parse_declare(c: &mut Cursor) -> Result<SessionSql, SyntaxError> {
    let name = c.name()?;
    let (mut binary, mut scroll) = (false, None);
    loop {
        if c.eat("binary") {
            binary = true;
        } else if c.eat("insensitive") || c.eat("asensitive") {
            continue;
        } else if c.eat("scroll") {
            scroll = Some(true);
        } else if c.eat("no") {
            c.expect("scroll")?;
            scroll = Some(false);
        } else {
            break;
        }
    }
    c.expect("cursor")?;
    let mut hold = false;
    if c.eat("with") {
        c.expect("hold")?;
        hold = true;
    } else if c.eat("without") {
        c.expect("hold")?;
    }
    c.expect("for")?;
    let query = c.rest().to_owned();
    if query.is_empty() {
        return Err(c.error());
    }
    Ok(SessionSql::Declare(Declare {
        name,
        binary,
        scroll,
        hold,
        query,
    }))
}

/// A signed integer: `5`, `-5`, `+5`.
fn signed(c: &mut Cursor) -> Option<i64> {
    let (neg, skip) = match c.peek() {
        Some(t) if t.is_punct("-") => (true, 1),
        Some(t) if t.is_punct("+") => (false, 1),
        _ => (false, 0),
    };
    let n = c.peek_at(skip).filter(|t| t.kind == TokKind::Number)?;
    let v: i64 = n.value.parse().ok()?;
    c.pos += skip + 1;
    Some(if neg { -v } else { v })
}

fn parse_fetch(c: &mut Cursor) -> Result<SessionSql, SyntaxError> {
    let moving = c.toks[0].is_word("move");
    // With a direction keyword the cursor name follows (FROM/IN optional).
    let direction = if c.eat("next") {
        Direction::Forward(Count::Rows(1))
    } else if c.eat("prior") {
        Direction::Backward(Count::Rows(1))
    } else if c.eat("first") {
        Direction::Absolute(1)
    } else if c.eat("last") {
        Direction::Absolute(-1)
    } else if c.eat("absolute") {
        Direction::Absolute(signed(c).ok_or_else(|| c.error())?)
    } else if c.eat("relative") {
        Direction::Relative(signed(c).ok_or_else(|| c.error())?)
    } else if c.eat("all") {
        Direction::Forward(Count::All)
    } else if c.eat("forward") {
        Direction::Forward(count_after(c, 1))
    } else if c.eat("backward") {
        Direction::Backward(count_after(c, 1))
    } else if let Some(n) = signed(c) {
        Direction::Forward(Count::Rows(n))
    } else {
        Direction::Forward(Count::Rows(1))
    };
    if !c.eat("from") {
        c.eat("in");
    }
    let cursor = c.name()?;
    c.expect_end()?;
    Ok(SessionSql::Fetch {
        direction,
        cursor,
        moving,
    })
}

/// The count after FORWARD/BACKWARD: a number, ALL, or (absent) `default`.
fn count_after(c: &mut Cursor, default: i64) -> Count {
    if c.eat("all") {
        return Count::All;
    }
    match signed(c) {
        Some(n) => Count::Rows(n),
        None => Count::Rows(default),
    }
}

fn parse_close(c: &mut Cursor) -> Result<SessionSql, SyntaxError> {
    let name = if c.eat("all") { None } else { Some(c.name()?) };
    c.expect_end()?;
    Ok(SessionSql::Close { name })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(sql: &str) -> SessionSql {
        parse(sql).expect("recognised").expect("parses")
    }

    fn err(sql: &str) -> String {
        parse(sql).expect("recognised").expect_err("fails").0
    }

    #[test]
    fn prepare_keeps_types_and_the_statement_text() {
        assert_eq!(
            ok("PREPARE q (int, numeric(10,2), timestamp with time zone) AS SELECT $1, $2;"),
            SessionSql::Prepare {
                name: "q".into(),
                types: vec![
                    "int".into(),
                    "numeric(10,2)".into(),
                    "timestamp with time zone".into()
                ],
                body: "SELECT $1, $2".into()
            }
        );
        assert_eq!(
            ok("prepare \"Q\" as insert into t values (1)"),
            SessionSql::Prepare {
                name: "Q".into(),
                types: vec![],
                body: "insert into t values (1)".into()
            }
        );
        assert_eq!(
            err("PREPARE q SELECT 1"),
            "syntax error at or near \"SELECT\""
        );
        assert_eq!(err("PREPARE q AS"), "syntax error at end of input");
    }

    #[test]
    fn execute_arguments_are_literals_in_text_form() {
        let SessionSql::Execute { name, args } = ok(
            "EXECUTE q(1, -2.5, 'it''s', NULL, true, '2024-01-02'::date, DATE '2024-01-03', CAST('7' AS int), now())",
        ) else {
            panic!()
        };
        assert_eq!(name, "q");
        let text = |v: &str, numeric| Literal::Text {
            value: v.into(),
            numeric,
        };
        assert_eq!(
            args,
            vec![
                text("1", true),
                text("-2.5", true),
                text("it's", false),
                Literal::Null,
                text("true", false),
                text("2024-01-02", false),
                text("2024-01-03", false),
                text("7", false),
                Literal::Expression("now()".into()),
            ]
        );
        assert_eq!(
            ok("EXECUTE q"),
            SessionSql::Execute {
                name: "q".into(),
                args: vec![]
            }
        );
        assert_eq!(err("EXECUTE q(1,)"), "syntax error at or near \")\"");
    }

    #[test]
    fn deallocate_and_close_take_a_name_or_all() {
        assert_eq!(
            ok("DEALLOCATE PREPARE q"),
            SessionSql::Deallocate {
                name: Some("q".into())
            }
        );
        assert_eq!(ok("deallocate all"), SessionSql::Deallocate { name: None });
        assert_eq!(ok("CLOSE ALL"), SessionSql::Close { name: None });
        assert_eq!(
            ok("CLOSE \"C1\""),
            SessionSql::Close {
                name: Some("C1".into())
            }
        );
    }

    #[test]
    fn declare_reads_its_options() {
        assert_eq!(
            ok("DECLARE c BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT * FROM t"),
            SessionSql::Declare(Declare {
                name: "c".into(),
                binary: true,
                scroll: Some(false),
                hold: true,
                query: "SELECT * FROM t".into()
            })
        );
        assert_eq!(
            ok("DECLARE \"c\" CURSOR WITHOUT HOLD FOR VALUES (1)"),
            SessionSql::Declare(Declare {
                name: "c".into(),
                binary: false,
                scroll: None,
                hold: false,
                query: "VALUES (1)".into()
            })
        );
        assert_eq!(
            err("DECLARE c CURSOR SELECT 1"),
            "syntax error at or near \"SELECT\""
        );
    }

    #[test]
    fn fetch_directions_follow_postgresql() {
        let dir = |sql: &str| match ok(sql) {
            SessionSql::Fetch {
                direction, cursor, ..
            } => {
                assert_eq!(cursor, "c", "{sql}");
                direction
            }
            other => panic!("{other:?}"),
        };
        use Direction::*;
        assert_eq!(dir("FETCH c"), Forward(Count::Rows(1)));
        assert_eq!(dir("FETCH NEXT FROM c"), Forward(Count::Rows(1)));
        assert_eq!(dir("FETCH PRIOR IN c"), Backward(Count::Rows(1)));
        assert_eq!(dir("FETCH FIRST c"), Absolute(1));
        assert_eq!(dir("FETCH LAST FROM c"), Absolute(-1));
        assert_eq!(dir("FETCH ABSOLUTE -3 FROM c"), Absolute(-3));
        assert_eq!(dir("FETCH RELATIVE 2 FROM c"), Relative(2));
        assert_eq!(dir("FETCH 5 FROM c"), Forward(Count::Rows(5)));
        assert_eq!(dir("FETCH -5 FROM c"), Forward(Count::Rows(-5)));
        assert_eq!(dir("FETCH ALL FROM c"), Forward(Count::All));
        assert_eq!(dir("FETCH FORWARD FROM c"), Forward(Count::Rows(1)));
        assert_eq!(dir("FETCH FORWARD 10 FROM c"), Forward(Count::Rows(10)));
        assert_eq!(dir("FETCH FORWARD ALL FROM c"), Forward(Count::All));
        assert_eq!(dir("FETCH BACKWARD 2 FROM c"), Backward(Count::Rows(2)));
        assert_eq!(dir("FETCH BACKWARD ALL FROM c"), Backward(Count::All));
        assert!(matches!(
            ok("MOVE 3 IN c"),
            SessionSql::Fetch { moving: true, .. }
        ));
        assert_eq!(err("FETCH 5 FROM"), "syntax error at end of input");
        assert_eq!(
            err("FETCH ABSOLUTE FROM c"),
            "syntax error at or near \"FROM\""
        );
    }

    #[test]
    fn other_statements_are_not_session_sql() {
        assert!(parse("SELECT 1").is_none());
        assert!(parse("  -- note\n BEGIN").is_none());
        assert!(parse("").is_none());
    }
}
