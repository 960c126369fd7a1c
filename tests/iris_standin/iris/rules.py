"""What IRIS refuses: one rule per construct, each next to its source.

Every rule looks at a statement's tokens and returns the error IRIS gives
(SQLCODE and %msg) or None. When several rules fire, the one whose token
comes first wins, as in a parser. Where no source gives the SQLCODE, the rule
says "code unverified" and uses the closest documented code; the refusal
itself is what the source establishes.

Sources named below:
  DOC(key)   https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=<key>
  SQLA       caretdev/sqlalchemy-iris, sqlalchemy_iris/base.py and requirements.py (runs on real IRIS)
  PGWIRE     intersystems-community/iris-pgwire (measured on IRIS 2025.1/2026.2)
  VECSEARCH  intersystems-community/iris-vector-search, demo/SQLSyntax.md and demo/sql_demo.ipynb
"""

from collections import namedtuple

from . import _settings
from ._errors import found, syntax_error
from ._lexer import at, closing, is_word
from ._reserved import RESERVED_WORDS
from ._syntax import condition_regions, items, operands, selects

Rule = namedtuple("Rule", "name check source")
Statement = namedtuple("Statement", "sql tokens first")

_PREDICATE_OPS = frozenset(("=", "<>", "!=", "<", ">", "<=", ">="))
_PREDICATE_WORDS = frozenset(("IS", "LIKE", "BETWEEN", "IN", "AND", "OR", "NOT", "EXISTS", "%STARTSWITH",
                              "%MATCHES", "%PATTERN", "%INLIST", "%CONTAINS", "%FIND"))
# Functions PostgreSQL (or SQLite) has and IRIS SQL does not: IRIS looks an
# unknown name up as a user-defined function and fails with SQLCODE -359
# (PGWIRE docs/orm-introspection-findings.md, measured: version() ->
# "User defined SQL function 'SQLUSER.VERSION' does not exist").
NOT_IRIS_FUNCTIONS = frozenset((
    "VERSION", "CURRENT_SCHEMA", "CURRENT_DATABASE", "CURRENT_SETTING", "PG_BACKEND_PID",
    "GEN_RANDOM_UUID", "STRING_AGG", "ARRAY_AGG", "GENERATE_SERIES", "TO_REGTYPE", "TO_REGCLASS",
    "STRFTIME", "JULIANDAY", "PRINTF", "TYPEOF", "RANDOMBLOB", "GLOB", "TOTAL", "UNLIKELY",
    "LIKELIHOOD", "ZEROBLOB", "SQLITE_VERSION", "CHANGES", "TOTAL_CHANGES", "LAST_INSERT_ROWID"))


def _first(statement, predicate):
    for index, token in enumerate(statement.tokens):
        if predicate(index, token):
            return index, token
    return None, None


# --- the rules -------------------------------------------------------------------

def trailing_semicolon(s):
    """IRIS SQL has no statement terminator: "Specifying a semicolon command
    terminator in InterSystems SQL results in an SQLCODE 25 error"."""
    index, token = _first(s, lambda i, t: t.text == ";")
    return token and syntax_error(-25, "Input (;) encountered after end of query", s.sql, token)


def percent_modulo(s):
    """Modulo is the # operator or MOD(); a lone % is no operator (%-words
    such as %EXACT are). SQLA visit_mod_binary emits "#". Code unverified."""
    index, token = _first(s, lambda i, t: t.kind == "op" and t.text == "%")
    return token and syntax_error(-1, "Invalid operator (%) found", s.sql, token)


def _predicate_in_value(s, start, end):
    """The first predicate token in a value expression tokens[start:end]:
    (token, at_item_top, starts_term), skipping subqueries and CASE conditions."""
    tokens, base, index, in_condition = s.tokens, s.tokens[start].depth, start, []
    while index < end:
        token = tokens[index]
        if token.text == "(" and is_word(at(tokens, index + 1), "SELECT", "WITH"):
            index = closing(tokens, index) + 1
            continue
        if is_word(token, "CASE"):
            in_condition.append((token.depth, False))
        elif is_word(token, "WHEN") and in_condition and in_condition[-1][0] == token.depth:
            in_condition[-1] = (token.depth, True)
        elif is_word(token, "THEN", "ELSE") and in_condition and in_condition[-1][0] == token.depth:
            in_condition[-1] = (token.depth, False)
        elif is_word(token, "END") and in_condition and in_condition[-1][0] == token.depth:
            in_condition.pop()
        elif not (in_condition and in_condition[-1][1]):
            word = token.text.upper() if token.kind == "word" else None
            if (token.kind == "op" and token.text in _PREDICATE_OPS) or word in _PREDICATE_WORDS:
                previous = at(tokens, index - 1)
                starts_term = index == start or (previous is not None and previous.text in ("(", ","))
                return token, token.depth == base, starts_term
        index += 1
    return None


def predicate_as_value(s):
    """IRIS has no boolean values: a comparison, IS NULL, EXISTS, NOT ... in a
    select list is refused. Measured by PGWIRE (sql_translator/boolean_expr.py,
    IRIS 2026.2): `a = 1` -25, `(a = 1)` -1, `NOT (a = 1)` -12; SQLA
    boolean_col_expressions is closed and it wraps EXISTS in the select list
    as (SELECT 1 WHERE EXISTS(...)). EXISTS's -12 is by analogy with NOT."""
    for select in selects(s.tokens):
        for a, b in items(s.tokens, select.list_start, select.list_end):
            hit = _predicate_in_value(s, a, b)
            if hit is None:
                continue
            token, top, starts_term = hit
            word = token.text.upper()
            if starts_term and word in ("NOT", "EXISTS"):
                return syntax_error(-12, "A term expected, %s found" % found(token), s.sql, token)
            if top:
                return syntax_error(-25, "Input (%s) encountered after end of query" % token.text, s.sql, token)
            return syntax_error(-1, ") expected, %s found" % found(token), s.sql, token)
    return None


def is_true_or_distinct(s):
    """IS takes only [NOT] NULL: no IS TRUE/FALSE/UNKNOWN, no IS DISTINCT FROM
    (SQLA visit_is_true_unary_operator writes "= 1"; supports_is_distinct_from
    = False). Code unverified."""
    for index, token in enumerate(s.tokens):
        if is_word(token, "IS"):
            following = at(s.tokens, index + 1)
            if is_word(following, "NOT"):
                following = at(s.tokens, index + 2)
            if is_word(following, "TRUE", "FALSE", "UNKNOWN", "DISTINCT"):
                return syntax_error(-1, "NULL expected, %s found" % found(following), s.sql, following)
    return None


def bare_condition(s):
    """A condition needs a comparison: `WHERE flag`, `CASE WHEN flag THEN` are
    refused with SQLCODE -14 "A comparison operator is required here"
    (PGWIRE boolean_expr.py, measured)."""
    for start, end in condition_regions(s.tokens):
        for a, b in operands(s.tokens, start, end):
            span = [t for t in s.tokens[a:b]]
            simple = all(t.kind in ("word", "qident", "number", "string", "param") or t.text == "." for t in span)
            if simple and span and not any(is_word(t, *_PREDICATE_WORDS) for t in span):
                return syntax_error(-14, "A comparison operator is required here", s.sql, span[-1])
    return None


def nulls_ordering(s):
    """ORDER BY takes only ASC/DESC (DOC(RSQL_orderby) synopsis; SQLA
    requirements.nullsordering is closed). NULL sorts first ascending anyway."""
    index, token = _first(s, lambda i, t: is_word(t, "NULLS") and is_word(at(s.tokens, i + 1), "FIRST", "LAST"))
    return token and syntax_error(-25, "Input (NULLS) encountered after end of query", s.sql, token)


def multirow_values(s):
    """VALUES inserts one row; several rows come from INSERT ... SELECT
    (DOC(RSQL_insert): "Single Row Inserts ... Multi-Row Inserts: INSERT INTO
    table query"). A VALUES statement is none (SQLA table_value_constructor closed)."""
    if s.first == "VALUES":
        return syntax_error(-51, "SQL statement expected, VALUES found", s.sql, s.tokens[0])
    if s.first != "INSERT":
        return None
    for index, token in enumerate(s.tokens):
        if is_word(token, "VALUES") and token.depth == 0 and at(s.tokens, index + 1) and s.tokens[index + 1].text == "(":
            after = at(s.tokens, closing(s.tokens, index + 1) + 1)
            if after is not None and after.text == ",":
                return syntax_error(-25, "Input (,) encountered after end of query", s.sql, after)
    return None


def truncate_without_table(s):
    """TRUNCATE TABLE [restriction] tablename (DOC(RSQL_truncatetable))."""
    if s.first == "TRUNCATE" and not is_word(at(s.tokens, 1), "TABLE"):
        token = at(s.tokens, 1) or s.tokens[0]
        return syntax_error(-1, "TABLE expected, %s found" % found(token), s.sql, token)
    return None


def savepoint_syntax(s):
    """ROLLBACK TO SAVEPOINT pointname (DOC(RSQL_rollback), DOC(RSQL_savepoint));
    there is no RELEASE SAVEPOINT (SQLA do_release_savepoint does nothing)."""
    if s.first == "RELEASE":
        return syntax_error(-51, "SQL statement expected, %s found" % found(s.tokens[0]), s.sql, s.tokens[0])
    if s.first == "ROLLBACK":
        position = 2 if is_word(at(s.tokens, 1), "WORK") else 1
        if is_word(at(s.tokens, position), "TO") and not is_word(at(s.tokens, position + 1), "SAVEPOINT"):
            token = at(s.tokens, position + 1) or s.tokens[position]
            return syntax_error(-1, "SAVEPOINT expected, %s found" % found(token), s.sql, token)
    if s.first == "SAVEPOINT":
        name = at(s.tokens, 1)
        if name is None or (name.kind == "word" and name.text.upper() in RESERVED_WORDS):
            token = name or s.tokens[0]
            return syntax_error(-301, "Savepoint name must be a valid identifier", s.sql, token)
    return None


def limit_in_subquery(s):
    """"LIMIT after ORDER BY is not supported in a subquery (use TOP)"
    (DOC(RSQL_limit)). Code unverified."""
    for select in selects(s.tokens):
        if select.keyword == 0 or s.tokens[select.keyword].depth == 0:
            continue
        depth = s.tokens[select.keyword].depth
        scope = s.tokens[select.keyword:select.scope_end]
        ordered = False
        for token in scope:
            if token.depth == depth and is_word(token, "ORDER"):
                ordered = True
            if ordered and token.depth == depth and is_word(token, "LIMIT"):
                return syntax_error(-1, "LIMIT is not supported after ORDER BY in a subquery", s.sql, token)
    return None


def _called_function(tokens, index):
    """The word before the innermost parenthesis around tokens[index], if any."""
    depth = tokens[index].depth
    for position in range(index - 1, -1, -1):
        if tokens[position].text == "(" and tokens[position].depth == depth - 1:
            return at(tokens, position - 1)
    return None


def reserved_alias(s):
    """A reserved word cannot be an AS alias or an INSERT column
    (DOC(RSQL_reservedwords)); names in CREATE TABLE are checked in _ddl.py,
    names used in queries by the engine, which knows the tables."""
    for index, token in enumerate(s.tokens):
        if not is_word(token, "AS"):
            continue
        alias = at(s.tokens, index + 1)
        if alias is None or alias.kind != "word" or alias.text.upper() not in RESERVED_WORDS:
            continue
        if is_word(alias, "SELECT", "WITH") or is_word(_called_function(s.tokens, index), "CAST", "CONVERT"):
            continue
        return syntax_error(-1, "IDENTIFIER expected, %s found" % found(alias), s.sql, alias)
    if s.first == "INSERT":
        position = 2 if is_word(at(s.tokens, 1), "INTO") else 1
        if at(s.tokens, position + 1) is not None and s.tokens[position + 1].text == ".":
            position += 2
        opening = at(s.tokens, position + 1)
        if opening is not None and opening.text == "(":
            for a, b in items(s.tokens, position + 2, closing(s.tokens, position + 1)):
                name = s.tokens[a]
                if b - a == 1 and name.kind == "word" and name.text.upper() in RESERVED_WORDS:
                    return syntax_error(-1, "IDENTIFIER expected, %s found" % found(name), s.sql, name)
    return None


def for_update(s):
    """SELECT has no FOR UPDATE (DOC(RSQL_select) synopsis; SQLA
    for_update_clause renders nothing)."""
    index, token = _first(s, lambda i, t: is_word(t, "FOR") and is_word(at(s.tokens, i + 1), "UPDATE", "SHARE"))
    return token and syntax_error(-25, "Input (FOR) encountered after end of query", s.sql, token)


def interval_literal(s):
    """INTERVAL is a reserved word with no literal form in IRIS SQL
    (DOC(RSQL_reservedwords); date arithmetic is DATEADD/DATEDIFF; SQLA
    requirements.datetime_interval is closed). Code unverified."""
    index, token = _first(s, lambda i, t: is_word(t, "INTERVAL"))
    return token and syntax_error(-1, "IDENTIFIER expected, %s found" % found(token), s.sql, token)


def postgres_functions(s):
    """Functions IRIS SQL lacks, PostgreSQL's catalog schema included:
    SQLCODE -359 (PGWIRE docs/orm-introspection-findings.md, measured for
    version(); current_schema() fails the same way there)."""
    for index, token in enumerate(s.tokens):
        following = at(s.tokens, index + 1)
        if token.kind != "word" or following is None or following.text != "(":
            continue
        if is_word(at(s.tokens, index - 1), "INTO", "TABLE", "FROM", "JOIN", "UPDATE", "REFERENCES", "ON", "INDEX"):
            continue  # a table name followed by its column list
        name = token.text.upper()
        qualifier = at(s.tokens, index - 2) if index >= 2 and s.tokens[index - 1].text == "." else None
        if qualifier is not None and qualifier.text.upper() in ("PG_CATALOG", "INFORMATION_SCHEMA", "PUBLIC"):
            return syntax_error(-359, "User defined SQL function '%s.%s' does not exist" % (
                qualifier.text.upper(), name), s.sql, token)
        if qualifier is None and (name in NOT_IRIS_FUNCTIONS or name.startswith("PG_")):
            return syntax_error(-359, "User defined SQL function 'SQLUSER.%s' does not exist" % name, s.sql, token)
    return None


def limit_before_2025_1(s):
    """LIMIT/OFFSET exist from IRIS 2025.1 (SQLA: supports_modern_pagination =
    server_version_info >= (2025, 1); before it, TOP or ROW_NUMBER())."""
    if _settings.at_least(2025, 1):
        return None
    index, token = _first(s, lambda i, t: is_word(t, "LIMIT", "OFFSET"))
    return token and syntax_error(-25, "Input (%s) encountered after end of query" % token.text.upper(), s.sql, token)


def float_vectors_before_2024_3(s):
    """The FLOAT vector element type is new in 2024.3 (VECSEARCH sql_demo.ipynb:
    "The FLOAT option here is new in 2024.3"; SQLSyntax.md: default "FLOAT
    (was DOUBLE up to 2024.2)"). Column types are checked in _ddl.py. Code unverified."""
    if _settings.at_least(2024, 3):
        return None
    for index, token in enumerate(s.tokens):
        following = at(s.tokens, index + 1)
        if is_word(token, "TO_VECTOR") and following is not None and following.text == "(":
            for inner in s.tokens[index + 2:closing(s.tokens, index + 1)]:
                if is_word(inner, "FLOAT") or (inner.kind == "string" and inner.text.upper() == "'FLOAT'"):
                    return syntax_error(-1, "Invalid VECTOR element type FLOAT", s.sql, inner)
    return None


def long_vector_literal(s):
    """A vector spelled out in the SQL text fails past ~129 elements (PGWIRE
    docs/VECTOR_PARAMETER_BINDING.md: text literal limit 129D; E2E_FINDINGS:
    "[SQLCODE: <-400>:<Fatal error occurred>] [%msg: <Error compiling cached
    query class...>]"). Bind it as a parameter instead."""
    for index, token in enumerate(s.tokens):
        if is_word(token, "TO_VECTOR") and at(s.tokens, index + 2) is not None:
            literal = s.tokens[index + 2]
            if literal.kind == "string" and literal.text.count(",") + 1 > 129:
                return syntax_error(-400, "Error compiling cached query class %sqlcq.USER.cls1", s.sql, literal)
    return None


def begin_statement(s):
    """IRIS opens a transaction with START TRANSACTION; BEGIN is no IRIS
    statement (DOC(RSQL_starttransaction); PGWIRE transaction_translator.py
    rewrites BEGIN into START TRANSACTION). Code unverified."""
    if s.first == "BEGIN":
        return syntax_error(-51, "SQL statement expected, %s found" % found(s.tokens[0]), s.sql, s.tokens[0])
    return None


RULES = (
    Rule("BEGIN", begin_statement, "DOC(RSQL_starttransaction); PGWIRE"),
    Rule("trailing semicolon", trailing_semicolon, "DOC(GSQL_langelements)"),
    Rule("% as modulo", percent_modulo, "DOC(RSQL_mod); SQLA visit_mod_binary"),
    Rule("predicate as a value", predicate_as_value, "PGWIRE boolean_expr.py; SQLA"),
    Rule("IS TRUE / IS DISTINCT FROM", is_true_or_distinct, "SQLA"),
    Rule("bare column as a condition", bare_condition, "PGWIRE boolean_expr.py"),
    Rule("NULLS FIRST/LAST", nulls_ordering, "DOC(RSQL_orderby); SQLA nullsordering"),
    Rule("multi-row VALUES", multirow_values, "DOC(RSQL_insert); SQLA"),
    Rule("TRUNCATE without TABLE", truncate_without_table, "DOC(RSQL_truncatetable)"),
    Rule("ROLLBACK TO / RELEASE SAVEPOINT", savepoint_syntax, "DOC(RSQL_savepoint); SQLA"),
    Rule("LIMIT after ORDER BY in a subquery", limit_in_subquery, "DOC(RSQL_limit)"),
    Rule("reserved word as alias or column", reserved_alias, "DOC(RSQL_reservedwords)"),
    Rule("FOR UPDATE", for_update, "DOC(RSQL_select); SQLA"),
    Rule("INTERVAL", interval_literal, "DOC(RSQL_reservedwords); SQLA"),
    Rule("PostgreSQL-only functions", postgres_functions, "PGWIRE"),
    Rule("LIMIT/OFFSET before 2025.1", limit_before_2025_1, "SQLA"),
    Rule("FLOAT vectors before 2024.3", float_vectors_before_2024_3, "VECSEARCH"),
    Rule("long inline vector literal", long_vector_literal, "PGWIRE"),
)


def check(sql, tokens):
    """Raise the IRIS error for the earliest refused construct of the statement."""
    if not tokens:
        return
    statement = Statement(sql, tokens, tokens[0].text.upper() if tokens[0].kind == "word" else "")
    errors = [error for error in (rule.check(statement) for rule in RULES) if error]
    if errors:
        raise min(errors, key=lambda error: len(error.message.rpartition("^")[2]))

