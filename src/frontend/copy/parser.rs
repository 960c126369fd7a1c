//! A cursor over a COPY statement's tokens: peeking, taking keywords and
//! punctuation, names, strings and column lists, and PostgreSQL's
//! `syntax error at or near "X"` for what does not fit.

use super::error::StatementError;
use super::tokens::{Tok, Token};

/// A name as written (for the SQL built from it) and as PostgreSQL folds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident {
    pub name: String,
    pub sql: String,
}

/// A cursor over a statement's tokens.
pub(super) struct Parser<'a> {
    pub sql: &'a str,
    pub toks: Vec<Token>,
    pub pos: usize,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    pub(super) fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    pub(super) fn at_keyword(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(kw))
    }

    pub(super) fn at_punct(&self, c: char) -> bool {
        self.peek().is_some_and(|t| t.is_punct(c))
    }

    pub(super) fn eat_keyword(&mut self, kw: &str) -> bool {
        let at = self.at_keyword(kw);
        if at {
            self.pos += 1;
        }
        at
    }

    pub(super) fn eat_punct(&mut self, c: char) -> bool {
        let at = self.at_punct(c);
        if at {
            self.pos += 1;
        }
        at
    }

    /// PostgreSQL's `syntax error at or near "X"` for the current token.
    pub(super) fn unexpected(&self) -> StatementError {
        match self.peek() {
            Some(t) => StatementError::syntax(format!(
                "syntax error at or near \"{}\"",
                &self.sql[t.start..t.end]
            )),
            None => StatementError::syntax("syntax error at end of input"),
        }
    }

    pub(super) fn expect_punct(&mut self, c: char) -> Result<(), StatementError> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    pub(super) fn ident(&mut self) -> Result<Ident, StatementError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Word { name, .. },
                start,
                end,
            }) => {
                let id = Ident {
                    name: name.clone(),
                    sql: self.sql[*start..*end].to_owned(),
                };
                self.pos += 1;
                Ok(id)
            }
            _ => Err(self.unexpected()),
        }
    }

    pub(super) fn string(&mut self) -> Result<String, StatementError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Str(s), ..
            }) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `( a, b, ... )`: folded names.
    pub(super) fn column_list(&mut self) -> Result<Vec<Ident>, StatementError> {
        self.expect_punct('(')?;
        let mut cols = vec![self.ident()?];
        while self.eat_punct(',') {
            cols.push(self.ident()?);
        }
        self.expect_punct(')')?;
        Ok(cols)
    }

    /// The text between `(` (just consumed) and its matching `)`.
    pub(super) fn parenthesised_text(&mut self, open_end: usize) -> Result<String, StatementError> {
        let mut depth = 1usize;
        while let Some(t) = self.next() {
            if t.is_punct('(') {
                depth += 1;
            } else if t.is_punct(')') {
                depth -= 1;
                if depth == 0 {
                    return Ok(self.sql[open_end..t.start].trim().to_owned());
                }
            }
        }
        Err(StatementError::syntax("syntax error at end of input"))
    }
}
