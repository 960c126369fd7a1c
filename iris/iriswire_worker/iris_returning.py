"""``INSERT ... RETURNING`` on IRIS, which has no RETURNING clause.

A single-row ``INSERT INTO t (...) VALUES (...) RETURNING cols`` runs as the
INSERT without its RETURNING, then ``SELECT cols FROM t WHERE %ID =
LAST_IDENTITY()`` (IRIS's row id of the row just inserted in this process;
DOC(RSQL_lastidentity)), both in one transaction: inside the client's if it
has one, else in one opened and committed here, so no other session's row
can be read back. UPDATE/DELETE ... RETURNING, several rows and ON CONFLICT
are not emulated yet (0A000), rather than silently losing the clause.
"""

from .protocol import WorkerError
from .sql_tokens import is_word, next_significant, tokenize


def _text(tokens):
    return "".join("?" if kind == "param" else text for kind, text in tokens)


def split_returning(sql):
    """``None`` when `sql` has no top-level RETURNING; else ``(insert_sql,
    table, returning_list)`` for a single-row INSERT, or 0A000."""
    if "RETURNING" not in sql.upper():
        return None
    tokens = tokenize(sql)
    depth, at = 0, None
    for i, (kind, text) in enumerate(tokens):
        if kind == "punct" and text == "(":
            depth += 1
        elif kind == "punct" and text == ")":
            depth -= 1
        elif depth == 0 and is_word(tokens[i], "RETURNING"):
            at = i
            break
    if at is None:
        return None
    first = next_significant(tokens, 0)
    if not is_word(tokens[first], "INSERT"):
        raise WorkerError("0A000", "%s ... RETURNING is not supported on IRIS yet" % tokens[first][1].upper())
    into = next_significant(tokens, first + 1)
    table = next_significant(tokens, into + 1)
    if not is_word(tokens[into], "INTO") or table >= len(tokens):
        raise WorkerError("0A000", "this INSERT ... RETURNING form is not supported on IRIS")
    end = table + 1  # a schema-qualified name: t . name
    while end + 1 < len(tokens) and tokens[end][1] == ".":
        end += 2
    if any(is_word(t, "SELECT", "ON") for t in tokens[:at]):
        raise WorkerError("0A000", "only a single-row INSERT ... VALUES ... RETURNING is supported on IRIS")
    return _text(tokens[:at]).rstrip(), _text(tokens[table:end]), _text(tokens[at + 1:]).strip()


def _select_returned(table, returning):
    return "SELECT %s FROM %s WHERE %%ID = LAST_IDENTITY()" % (returning, table)


def describe_returning(driver, plan):
    """``(columns, params)`` for a P request: the INSERT's parameters, the
    returned columns' descriptions."""
    insert_sql, table, returning = plan
    _, params = driver.prepare(insert_sql)
    columns, _ = driver.prepare(_select_returned(table, returning))
    return columns, params


def insert_returning(driver, plan, params, describe):
    """Run `plan` (from split_returning) on `driver`: ``(columns, fetch,
    rowcount)``, the returned row and the INSERT's count."""
    insert_sql, table, returning = plan
    own = not driver.in_transaction()
    if own:
        driver.execute("START TRANSACTION", (), False)
    try:
        driver.execute(insert_sql, params, False)
        inserted = driver.rowcount()
        columns, fetch = driver.execute(
            _select_returned(table, returning), (), describe)
        rows = fetch(1 << 30) if fetch is not None else []
        if own:
            driver.execute("COMMIT", (), False)
    except BaseException:
        if own:
            try:
                driver.execute("ROLLBACK", (), False)
            except WorkerError:
                pass
        raise
    pending = list(rows)

    def replay(count):
        batch = pending[:count]
        del pending[:count]
        return batch
    return columns, replay, inserted
