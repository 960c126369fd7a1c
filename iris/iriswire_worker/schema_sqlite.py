"""The SQLite backend's schema, read from sqlite_schema and the table-valued
pragmas (table_info, index_list, index_xinfo, foreign_key_list); CHECK
constraints and constraint names, which no pragma reports, come from the
``CREATE TABLE`` text that SQLite keeps.

Four queries read the whole schema, whatever the number of tables.
"""

import re

from .schema_reader import REFERENTIAL_ACTIONS, Check, Column, ForeignKey, Index, Relation, Snapshot
from .sql_tokens import identifier, is_punct, is_word, matching, significant, split_top_level, tokenize

_USER_OBJECTS = "m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"

# iriswire's DDL translation adds `v IS NULL OR TO_VECTOR(v, 'FLOAT', n) IS NOT NULL`
# to each vector column: pgvector's own type check, not a constraint of the user's.
_VECTOR_TYPE_CHECK = re.compile(
    r"\s*(\w+|\"[^\"]+\")\s+IS\s+NULL\s+OR\s+TO_VECTOR\s*\(\s*\1\s*,", re.IGNORECASE)


class SqliteSchemaReader:
    """Reads the schema of the database open on `conn` (a sqlite3 connection)."""

    def __init__(self, conn):
        self._conn = conn

    def version(self):
        # Bumped by SQLite on every schema change, by any connection.
        return self._conn.execute("PRAGMA schema_version").fetchone()[0]

    def read(self):
        conn = self._conn
        relations = {}
        sql_of = {}
        for kind, name, sql in conn.execute(
                "SELECT m.type, m.name, m.sql FROM sqlite_schema m WHERE " + _USER_OBJECTS
                + " ORDER BY m.name"):
            relation = Relation("public", name, "v" if kind == "view" else "r")
            if kind == "view":
                relation.definition = _view_body(sql)
            relations[name] = relation
            sql_of[name] = sql or ""
        pk_columns = {}
        for table, name, declared, not_null, default, pk in conn.execute(
                "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk"
                " FROM sqlite_schema m, pragma_table_info(m.name) p WHERE " + _USER_OBJECTS
                + " ORDER BY m.name, p.cid"):
            relation = relations.get(table)
            if relation is None:
                continue
            # PostgreSQL: primary key columns are NOT NULL.
            relation.columns.append(Column(name, declared or "", bool(not_null) or pk > 0, default))
            if pk:
                pk_columns.setdefault(table, []).append((pk, name))
        names = {}
        for relation in relations.values():
            names[relation.name] = _ConstraintNames()
            if relation.kind == "r":
                _read_table_sql(relation, sql_of[relation.name], names[relation.name])
        index_columns = {}
        for table, index, seqno, column, desc in conn.execute(
                "SELECT m.name, il.name, ii.seqno, ii.name, ii.\"desc\""
                " FROM sqlite_schema m, pragma_index_list(m.name) il, pragma_index_xinfo(il.name) ii"
                " WHERE m.type = 'table' AND ii.key ORDER BY m.name, il.name, ii.seqno"):
            index_columns.setdefault((table, index), []).append((column, bool(desc)))
        for table, index, unique, origin in conn.execute(
                "SELECT m.name, il.name, il.\"unique\", il.origin FROM sqlite_schema m,"
                " pragma_index_list(m.name) il WHERE m.type = 'table' ORDER BY m.name, il.seq DESC"):
            relation = relations.get(table)
            if relation is None:
                continue
            columns = index_columns.get((table, index), [])
            columns_named = tuple(c or "" for c, _ in columns)
            primary = origin == "pk"
            constraint_name = None
            if primary:
                constraint_name = names[table].pk
            elif origin == "u":
                constraint_name = names[table].unique.get(columns_named)
            # An autoindex has no name of its own: PostgreSQL's, unless the SQL named it.
            shown = index if origin == "c" else constraint_name
            relation.indexes.append(Index(
                shown, columns_named, bool(unique), primary, origin != "c",
                tuple(d for _, d in columns)))
        for relation in relations.values():
            pks = pk_columns.get(relation.name)
            if pks and not any(i.primary for i in relation.indexes):
                # INTEGER PRIMARY KEY is the rowid itself: no index, but PostgreSQL has one.
                pk_names = tuple(n for _, n in sorted(pks))
                relation.indexes.insert(0, Index(names[relation.name].pk, pk_names, True, True, True))
        fks = {}
        for table, fk_id, seq, target, source, to, on_update, on_delete in conn.execute(
                "SELECT m.name, f.id, f.seq, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete"
                " FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
                " ORDER BY m.name, f.id, f.seq"):
            key = (table, fk_id)
            if key not in fks:
                fks[key] = ForeignKey(None, (), "public", target, (),
                                      REFERENTIAL_ACTIONS.get(on_update, "a"),
                                      REFERENTIAL_ACTIONS.get(on_delete, "a"))
            fk = fks[key]
            fk.columns += (source,)
            fk.ref_columns += (to,)
        for (table, _), fk in sorted(fks.items(), key=lambda item: (item[0][0], -item[0][1])):
            relation = relations.get(table)
            if relation is None:
                continue
            if not fk.ref_columns or None in fk.ref_columns:  # REFERENCES t: its primary key
                target = relations.get(fk.ref_table)
                pk = next((i.columns for i in target.indexes if i.primary), ()) if target else ()
                fk.ref_columns = tuple(pk) or fk.ref_columns
            fk.name = names[table].fk.get(fk.columns)
            relation.foreign_keys.append(fk)
        return Snapshot(list(relations.values()))


def _view_body(sql):
    match = re.search(r"\bAS\b(.*)\Z", sql or "", re.IGNORECASE | re.DOTALL)
    return match.group(1).strip() if match else None


class _ConstraintNames:
    """The names a CREATE TABLE gave its constraints (CONSTRAINT name ...), by columns."""

    def __init__(self):
        self.pk = None
        self.unique = {}
        self.fk = {}


def _read_table_sql(relation, sql, names):
    """CHECK constraints and constraint names from the CREATE TABLE text."""
    tokens = tokenize(sql)
    start = next((i for i, t in enumerate(tokens) if is_punct(t, "(")), None)
    if start is None:
        return
    body = tokens[start + 1:matching(tokens, start)]
    for element in split_top_level(body):
        words = significant(element)
        if not words:
            continue
        if is_word(words[0], "CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
            _table_constraint(relation, names, words)
        else:
            _column_constraints(relation, names, identifier(words[0]), words[1:])


def _names_in(words, index):
    """The identifiers inside the parentheses at `index` (e.g. a column list)."""
    end = matching(words, index)
    return tuple(identifier(w) for w in words[index + 1:end] if w[0] in ("word", "qident", "str")
                 and not is_word(w, "ASC", "DESC", "COLLATE")), end


def _check_text(words, index):
    """The expression inside CHECK's parentheses at `index`, spaced as
    PostgreSQL prints expressions."""
    end = matching(words, index)
    text = ""
    previous = None
    for token in words[index + 1:end]:
        tight = previous is None or is_punct(previous, "(") or is_punct(previous, ".") or (
            token[0] == "punct" and token[1] in "),.") or (
            is_punct(token, "(") and previous[0] == "word")
        text += ("" if tight else " ") + token[1]
        previous = token
    return text, end


def _table_constraint(relation, names, words):
    name = None
    i = 0
    if is_word(words[0], "CONSTRAINT") and len(words) > 1:
        name, i = identifier(words[1]), 2
    if i >= len(words):
        return
    head = words[i][1].upper()
    paren = next((j for j in range(i, len(words)) if is_punct(words[j], "(")), None)
    if paren is None:
        return
    if head == "CHECK":
        text, _ = _check_text(words, paren)
        if not _VECTOR_TYPE_CHECK.match(text):
            relation.checks.append(Check(name, text))
        return
    columns, _ = _names_in(words, paren)
    if name is None:
        return
    if head == "PRIMARY":
        names.pk = name
    elif head == "UNIQUE":
        names.unique[columns] = name
    elif head == "FOREIGN":
        names.fk[columns] = name


def _column_constraints(relation, names, column, words):
    i = 0
    name = None
    while i < len(words):
        word = words[i]
        if is_word(word, "CONSTRAINT") and i + 1 < len(words):
            name = identifier(words[i + 1])
            i += 2
            continue
        if is_punct(word, "("):  # a type's modifiers or a default expression
            i = matching(words, i) + 1
            continue
        if is_word(word, "CHECK") and i + 1 < len(words) and is_punct(words[i + 1], "("):
            text, end = _check_text(words, i + 1)
            if not _VECTOR_TYPE_CHECK.match(text):
                relation.checks.append(Check(name, text, column))
            name, i = None, end + 1
            continue
        if name is not None and is_word(word, "PRIMARY"):
            names.pk, name = name, None
        elif name is not None and is_word(word, "UNIQUE"):
            names.unique[(column,)], name = name, None
        elif name is not None and is_word(word, "REFERENCES"):
            names.fk[(column,)], name = name, None
        i += 1
