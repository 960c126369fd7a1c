"""PostgreSQL's session functions on a backend that lacks them (IRIS: SQLCODE
-359, "User defined SQL function 'SQLUSER.VERSION' does not exist").

``version()``, ``current_schema[()]``, ``current_database()``, ``current_user``,
``session_user``, ``current_catalog``, ``pg_backend_pid()`` (also
``pg_catalog.``-qualified) are answered by the worker, not by the
translation: their values are the worker's (the backend's version from its
ready info, the namespace or database name and user from its configuration,
its own pid) and one place serves both IRIS drivers and both the Q and P
requests. A statement that reads no table (``SELECT version()``, what ORMs
and drivers send at connect) goes to the worker's in-memory catalog, which
already implements them with PostgreSQL's column names and types; in a
statement that reads tables, each call becomes a literal.
"""

from .sql_tokens import is_punct, is_word, next_significant, previous_significant, tokenize

# Called with parentheses.
_FUNCTIONS = frozenset(("VERSION", "CURRENT_SCHEMA", "CURRENT_DATABASE", "PG_BACKEND_PID"))
# SQL's keyword forms, without parentheses (current_schema takes both).
_KEYWORDS = frozenset(("CURRENT_USER", "SESSION_USER", "CURRENT_SCHEMA", "CURRENT_CATALOG"))


def _calls(tokens):
    """``(start, end, name)`` of each session-function use: tokens[start:end]."""
    found = []
    for i, token in enumerate(tokens):
        if not is_word(token):
            continue
        name = token[1].upper()
        start = i
        before = previous_significant(tokens, i - 1)
        if before >= 0 and is_punct(tokens[before], "."):
            qualifier = previous_significant(tokens, before - 1)
            if qualifier < 0 or not is_word(tokens[qualifier], "PG_CATALOG"):
                continue  # t.version is a column
            start = qualifier
        after = next_significant(tokens, i + 1)
        if name in _FUNCTIONS and after < len(tokens) and is_punct(tokens[after], "("):
            close = next_significant(tokens, after + 1)
            if close < len(tokens) and is_punct(tokens[close], ")"):
                found.append((start, close + 1, name))
        elif name in _KEYWORDS and not (after < len(tokens) and is_punct(tokens[after], "(")):
            found.append((start, i + 1, name))
    return found


def _literal(name, session):
    if name == "PG_BACKEND_PID":
        import os
        return ["num", str(os.getpid())]
    value = {"VERSION": session["version"], "CURRENT_DATABASE": session["database"],
             "CURRENT_CATALOG": session["database"], "CURRENT_SCHEMA": "public"}.get(name, session["user"])
    return ["str", "'%s'" % value.replace("'", "''")]


def _text(tokens):
    # tokenize numbers parameters ?1, ?2 ...; the backend takes bare ?s, in order.
    return "".join("?" if kind == "param" else text for kind, text in tokens)


def route(sql, session):
    """``None`` when `sql` uses no session function; else ``(to_catalog, sql)``:
    the statement for the catalog (bare keywords named as PostgreSQL names the
    column), or for the backend with each call a literal."""
    upper = sql.upper()
    if not any(word in upper for word in _FUNCTIONS | _KEYWORDS):
        return None  # the common case, without tokenizing
    tokens = tokenize(sql)
    calls = _calls(tokens)
    if not calls:
        return None
    if not any(is_word(t, "FROM") for t in tokens):
        for start, end, name in reversed(calls):
            # `SELECT current_user` names its column current_user; the catalog
            # turns the keyword into a call, so name it here unless aliased.
            after = next_significant(tokens, end)
            if tokens[end - 1][0] == "word" and (after >= len(tokens) or is_punct(tokens[after], ",")):
                tokens[end:end] = [["ws", " "], ["word", "AS"], ["ws", " "], ["qident", '"%s"' % name.lower()]]
        return True, "".join(text for _, text in tokens)
    for start, end, name in reversed(calls):
        tokens[start:end] = [_literal(name, session)]
    return False, _text(tokens)
