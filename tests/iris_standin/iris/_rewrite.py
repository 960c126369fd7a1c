"""IRIS SQL rewritten into the SQLite SQL that behaves the same.

Each rewrite carries IRIS's meaning over, not PostgreSQL's: TOP n is LIMIT n;
# is modulo; / divides without truncating (7/2 is 3.5) and fails on zero
(<DIVIDE>, SQLCODE -400); %EXACT, %SQLUPPER, %ID, $TLEVEL, $ZVERSION become
stand-in functions (_functions.py); CAST to a string type and || print
numbers in canonical form; DISTINCT and GROUP BY return SQLUPPER columns
upper-cased (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=GSQL_collation_query:
"DISTINCT or GROUP BY operations on a field of collation type SQLUPPER ...
display that field in all uppercase letters"); SQLUser is the default schema
(caretdev/sqlalchemy-iris: default_schema_name = "SQLUser").
"""

from ._functions import canonical
from ._lexer import at, closing, identifier_name, is_word
from ._syntax import items, selects

_STRING_TYPES = frozenset(("VARCHAR", "CHAR", "CHARACTER", "NVARCHAR", "NCHAR", "VARCHAR2", "SYSNAME",
                           "LONGVARCHAR", "TEXT", "STRING"))
_FROM_END = frozenset(("WHERE", "GROUP", "HAVING", "ORDER", "UNION", "INTERSECT", "EXCEPT", "LIMIT", "OFFSET"))

# IRIS's INFORMATION_SCHEMA.COLUMNS, over SQLite's catalog: DATA_TYPE is the bare
# type name ("numeric", "varchar"); lengths, precision and scale are columns of their
# own, as iris-pgwire reads them on real IRIS (src/iris_pgwire/iris_executor.py).
# A primary key column reports IS_NULLABLE 'NO': IRIS makes primary key fields
# required (IRIS SQL reference, CREATE TABLE, "Defining a Primary Key").
INFORMATION_SCHEMA_COLUMNS = (
    "(SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME, p.name AS COLUMN_NAME, "
    "iris_data_type(p.type) AS DATA_TYPE, iris_type_argument(p.type, 'length') AS CHARACTER_MAXIMUM_LENGTH, "
    "iris_type_argument(p.type, 'precision') AS NUMERIC_PRECISION, "
    "iris_type_argument(p.type, 'scale') AS NUMERIC_SCALE, "
    "CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 'NO' ELSE 'YES' END AS IS_NULLABLE, p.dflt_value AS COLUMN_DEFAULT, "
    "p.cid + 1 AS ORDINAL_POSITION "
    "FROM sqlite_master m, pragma_table_info(m.name) p "
    "WHERE m.type = 'table' AND m.name NOT LIKE '\\_standin\\_%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\')")


class _Edits:
    def __init__(self):
        self.edits = []

    def replace(self, start, end, text):
        self.edits.append((start, end, len(self.edits), text))

    def insert(self, position, text):
        self.replace(position, position, text)

    def apply(self, sql):
        out, position = [], 0
        for start, end, _, text in sorted(self.edits):
            if start < position:  # overlapping edits: the earlier one stands
                continue
            out.append(sql[position:start])
            out.append(text)
            position = end
        out.append(sql[position:])
        return "".join(out)


def _term_end(tokens, index):
    """Index just past the primary term starting at tokens[index] (a divisor)."""
    while index < len(tokens) and tokens[index].text in ("-", "+"):
        index += 1
    if index >= len(tokens):
        return index
    if tokens[index].text == "(":
        return closing(tokens, index) + 1
    end = index + 1
    while end + 1 < len(tokens) and tokens[end].text == "." and tokens[end + 1].kind in ("word", "qident"):
        end += 2
    if end < len(tokens) and tokens[end].text == "(" and tokens[index].kind == "word":
        end = closing(tokens, end) + 1
    return end


def _from_tables(tokens, select, catalog):
    """Tables named in a SELECT's FROM clause that exist, with their columns."""
    depth = tokens[select.keyword].depth
    start = select.list_end
    if start >= len(tokens) or not is_word(tokens[start], "FROM"):
        return []
    tables = []
    for token in tokens[start + 1:select.scope_end]:
        if token.depth == depth and is_word(token, *_FROM_END):
            break
        if token.depth == depth and token.kind in ("word", "qident"):
            columns = catalog(identifier_name(token))
            if columns:
                tables.append(columns)
    return tables


def _uppercase_sqlupper_items(tokens, select, catalog, edits):
    depth = tokens[select.keyword].depth
    grouped = any(is_word(t, "GROUP") and t.depth == depth for t in tokens[select.list_end:select.scope_end])
    if not (select.distinct or grouped):
        return
    tables = _from_tables(tokens, select, catalog)
    for a, b in items(tokens, select.list_start, select.list_end):
        span = tokens[a:b]
        if not (len(span) in (1, 3) and span[-1].kind in ("word", "qident") and (len(span) == 1 or span[1].text == ".")):
            continue
        name = identifier_name(span[-1]).lower()
        for columns in tables:
            if name in columns and columns[name][2] == "SQLUPPER":
                edits.replace(span[0].start, span[-1].end, 'UPPER(%s) AS "%s"' % (
                    "".join(t.text for t in span), columns[name][0]))
                break


def rewrite(sql, tokens, params, catalog):
    """(SQLite SQL, parameters in SQLite's order) for an IRIS statement.

    ``catalog(table)`` answers {lower-case column: (name, declared type, collation)}.
    """
    edits = _Edits()
    moved_params = {}  # param token start -> new position
    for select in selects(tokens):
        if select.top:
            start, end = select.top
            value = tokens[start + 1:end]
            edits.replace(tokens[start].start, tokens[end - 1].end, "")
            limit = "".join(t.text for t in value if t.text not in ("(", ")"))
            if limit.upper() != "ALL":
                where = tokens[select.scope_end - 1].end if select.scope_end <= len(tokens) else len(sql)
                edits.insert(where, " LIMIT %s" % limit)
                for token in value:
                    if token.kind == "param":
                        moved_params[token.start] = where + 0.5
        _uppercase_sqlupper_items(tokens, select, catalog, edits)
    for index, token in enumerate(tokens):
        word = token.text.upper() if token.kind == "word" else None
        following = at(tokens, index + 1)
        if word == "SQLUSER" and following is not None and following.text == ".":
            edits.replace(token.start, following.end, "")
        elif token.kind == "op" and token.text == "#":
            edits.replace(token.start, token.end, "%")
        elif token.kind == "op" and token.text == "/":
            end = _term_end(tokens, index + 1)
            edits.replace(token.start, token.end, "* 1.0 /")
            if end > index + 1 and not (end == index + 2 and tokens[index + 1].kind == "number"
                                        and float(tokens[index + 1].text) != 0):
                edits.insert(tokens[index + 1].start, "iris_divisor(")
                edits.insert(tokens[end - 1].end, ")")
        elif word in ("%EXACT", "%SQLUPPER") and following is not None and following.text == "(":
            edits.replace(token.start, token.end, "iris_" + word[1:].lower())
        elif word == "%ID":
            edits.replace(token.start, token.end, "rowid")
        elif word == "$TLEVEL":
            edits.replace(token.start, token.end, "iris_tlevel()")
        elif word in ("$ZVERSION", "$ZV"):
            edits.replace(token.start, token.end, "iris_zversion()")
        elif word == "%SYSTEM_SQL" and following is not None and following.text == "." and \
                is_word(at(tokens, index + 2), "UTIL_GETOPTION"):
            edits.replace(token.start, tokens[index + 2].end, "iris_getoption")
        elif word == "TO_VECTOR" and following is not None and following.text == "(":
            for a, b in items(tokens, index + 2, closing(tokens, index + 1))[1:2]:
                if b - a == 1 and tokens[a].kind == "word":
                    edits.replace(tokens[a].start, tokens[a].end, "'%s'" % tokens[a].text.upper())
        elif word == "CAST" and following is not None and following.text == "(":
            stop = closing(tokens, index + 1)
            as_at = next((i for i in range(index + 2, stop) if is_word(tokens[i], "AS")
                          and tokens[i].depth == following.depth + 1), None)
            if as_at is not None and is_word(at(tokens, as_at + 1), *_STRING_TYPES) and as_at > index + 2:
                edits.insert(tokens[index + 2].start, "iris_canon(")
                edits.insert(tokens[as_at - 1].end, ")")
        elif token.kind == "number" and (
                (following is not None and following.text == "||") or (index > 0 and tokens[index - 1].text == "||")):
            number = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            edits.replace(token.start, token.end, "'%s'" % canonical(number))
    param_tokens = [t for t in tokens if t.kind == "param"]
    order = sorted(range(len(param_tokens)), key=lambda i: moved_params.get(param_tokens[i].start, param_tokens[i].start))
    params = list(params)
    if len(params) == len(param_tokens):
        params = [params[i] for i in order]
    return edits.apply(sql), params
