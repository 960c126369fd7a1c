"""``INSERT ... RETURNING`` on IRIS, which has no RETURNING clause.

A single-row ``INSERT INTO t (...) VALUES (...) RETURNING cols`` runs as the
INSERT without its RETURNING, then ``SELECT cols FROM t WHERE %ID =
LAST_IDENTITY()`` (IRIS's row id of the row just inserted in this process;
DOC(RSQL_lastidentity)), both in one transaction: inside the client's if it
has one, else in one opened and committed here, so no other session's row
can be read back. ``UPDATE/DELETE ... WHERE c RETURNING cols`` select the
affected rows' %IDs (DELETE: the returned columns) with ``WHERE c`` first, in
the same transaction. Several-row INSERTs and ON CONFLICT are not emulated
yet (0A000), rather than silently losing the clause.
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
    if is_word(tokens[first], "UPDATE", "DELETE"):
        return _changed_rows_plan(tokens, first, at)
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


def _changed_rows_plan(tokens, first, at):
    """UPDATE/DELETE ... RETURNING: ``("changed", statement, table, where,
    where_param_offset, returning)``."""
    verb = tokens[first][1].upper()
    table = next_significant(tokens, first + 1)
    if verb == "DELETE":
        if not is_word(tokens[table], "FROM"):
            raise WorkerError("0A000", "this DELETE ... RETURNING form is not supported on IRIS")
        table = next_significant(tokens, table + 1)
    end = table + 1
    while end + 1 < len(tokens) and tokens[end][1] == ".":
        end += 2
    where = next((i for i in range(end, at) if is_word(tokens[i], "WHERE")), None)
    if any(is_word(t, "FROM", "USING") for t in tokens[end:at]):
        raise WorkerError("0A000", "%s ... FROM/USING ... RETURNING is not supported on IRIS" % verb)
    offset = sum(1 for t in tokens[:where or at] if t[0] == "param")
    return ("changed", _text(tokens[:at]).rstrip(), _text(tokens[table:end]),
            _text(tokens[where + 1:at]).strip() if where is not None else "1 = 1", offset,
            _text(tokens[at + 1:]).strip())


def changed_returning(driver, plan, params, describe):
    """UPDATE/DELETE ... RETURNING on `driver`: the affected rows' %IDs are
    selected first, in the same transaction; DELETE reads the returned
    columns before deleting, UPDATE after. ``(columns, fetch, rowcount)``."""
    _, statement, table, where, offset, returning = plan
    deleting = statement.lstrip().upper().startswith("DELETE")
    own = not driver.in_transaction()
    if own:
        driver.execute("START TRANSACTION", (), False)
    try:
        where_params = tuple(params[offset:])
        if deleting:
            columns, fetch = driver.execute(
                "SELECT %s FROM %s WHERE %s" % (returning, table, where), where_params, describe)
            rows = _all(fetch)
            driver.execute(statement, params, False)
            count = driver.rowcount()
        else:
            _, fetch = driver.execute("SELECT %%ID FROM %s WHERE %s" % (table, where), where_params, False)
            ids = [row[0] for row in _all(fetch)]
            driver.execute(statement, params, False)
            count = driver.rowcount()
            id_list = ", ".join(str(int(i)) for i in ids) or "NULL"
            columns, fetch = driver.execute(
                "SELECT %s FROM %s WHERE %%ID IN (%s)" % (returning, table, id_list), (), describe)
            rows = _all(fetch)
        if own:
            driver.execute("COMMIT", (), False)
    except BaseException:
        if own:
            try:
                driver.execute("ROLLBACK", (), False)
            except WorkerError:
                pass
        raise
    return columns, _replay(rows), count


def _all(fetch):
    rows = []
    while fetch is not None:
        batch = fetch(1024)
        rows.extend(batch)
        if len(batch) < 1024:
            break
    return rows


def _replay(rows):
    pending = list(rows)

    def replay(count):
        batch = pending[:count]
        del pending[:count]
        return batch
    return replay


def _select_returned(table, returning):
    return "SELECT %s FROM %s WHERE %%ID = LAST_IDENTITY()" % (returning, table)


def describe_returning(driver, plan):
    """``(columns, params)`` for a P request: the INSERT's parameters, the
    returned columns' descriptions."""
    if plan[0] == "changed":
        _, _, table, _, _, returning = plan
        _, params = driver.prepare(plan[1])
        columns, _ = driver.prepare("SELECT %s FROM %s" % (returning, table))
        return columns, params
    insert_sql, table, returning = plan
    _, params = driver.prepare(insert_sql)
    columns, _ = driver.prepare(_select_returned(table, returning))
    return columns, params


def insert_returning(driver, plan, params, describe):
    """Run `plan` (from split_returning) on `driver`: ``(columns, fetch,
    rowcount)``, the returned row and the INSERT's count."""
    if plan[0] == "changed":
        return changed_returning(driver, plan, params, describe)
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
