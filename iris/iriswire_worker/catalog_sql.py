"""Catalog statements, written in PostgreSQL's SQL, rewritten into SQL the
catalog's SQLite database runs.

This lives beside the catalog, not in the Rust translator, because it is
about the catalog's own SQLite schema and functions (arrays kept as
PostgreSQL's array text, ``iriswire_regclass`` and friends registered by
``catalog_functions``), and because the front end passes catalog
statements on untouched for every backend: the worker is the one place
that knows how its catalog is stored.

General rules, applied to tokens (``sql_tokens``), in order:

* ``pg_catalog.`` qualifiers go (the catalog's tables are its main
  schema); ``information_schema.`` stays before relations (an attached
  database of that name) and goes before functions;
* ``OPERATOR(pg_catalog.~)`` is the operator itself; ``COLLATE`` clauses go;
* unaliased result columns get PostgreSQL's names (``format_type``,
  ``?column?``...), since SQLite would name them by their text;
* casts: ``::regclass``/``::regtype``/``::regproc``... of a literal or
  parameter look the name up (an error if unknown, as in PostgreSQL); of
  anything else, they display the name; numeric casts become CAST, text
  casts of literals go, array and unknown type casts go;
* ``x = ANY(a)`` → ``x IN (SELECT value FROM json_each(iriswire_array(a)))``,
  ``<> ALL`` likewise with NOT IN; ``ARRAY[...]`` → ``iriswire_array_of(...)``;
  ``ARRAY(SELECT ...)`` → an array_agg subquery; ``a[i]`` → ``iriswire_array_get``;
* ``~``, ``!~``, ``~*``, ``!~*`` → SQLite's REGEXP (Python's ``re``, close
  to PostgreSQL's AREs); ``~~`` → LIKE;
* set-returning functions in FROM (``unnest``, ``generate_series``,
  ``_pg_expandarray``) become SQLite's ``json_each`` over the array;
* keywords SQLite lacks: ``current_user`` and friends without parentheses,
  ``IS [NOT] DISTINCT FROM``, ``substring(x FROM a FOR b)``,
  ``position(a IN b)``, ``string_agg`` (group_concat).
"""

from .catalog_columns import CLAUSE_ENDS, SESSION_WORDS, name_columns
from .catalog_srf import derived_column_aliases, from_set_returning, select_list_set_returning
from .catalog_tables import CATALOG_RELATION_OIDS
from .sql_tokens import (
    is_punct, is_word, join, matching, next_significant, previous_significant, significant,
    split_top_level, tokenize)

# Types whose casts look a name up (literal operand) or show one (other operands).
_REG_TYPES = {
    "regclass": ("iriswire_regclass", "iriswire_regclass_name"),
    "regtype": ("iriswire_regtype", "iriswire_regtype_name"),
    "regproc": (None, "iriswire_regproc_name"),
    "regprocedure": (None, "iriswire_regproc_name"),
    "regnamespace": (None, "iriswire_regnamespace_name"),
    "regrole": (None, "iriswire_regrole_name"),
}
_INTEGER_TYPES = frozenset(("oid", "int", "int2", "int4", "int8", "integer", "bigint", "smallint",
                            "cardinal_number", "xid", "regoper", "regoperator"))
_FLOAT_TYPES = frozenset(("float4", "float8", "real", "double", "numeric", "decimal"))
_TEXT_TYPES = frozenset(("text", "name", "varchar", "char", "bpchar", "character", "sql_identifier",
                         "character_data", "yes_or_no", "citext"))
_LITERALS = ("str", "num", "param")


class Rewritten:
    """A catalog statement for SQLite, the PostgreSQL types of its result
    columns where SQLite's would mislead (booleans, arrays; None where
    unknown), and `typing_sql`: the same statement with min()/max() around
    columns removed, whose columns SQLite can type by declaration (None when
    there is no such aggregate)."""

    __slots__ = ("sql", "column_types", "typing_sql")

    def __init__(self, sql, column_types):
        self.sql = sql
        self.column_types = column_types
        self.typing_sql = None


def rewrite(sql):
    """`sql` (PostgreSQL) as SQL for the catalog's SQLite database."""
    tokens = tokenize(sql)
    tokens = _qualifiers(tokens)
    tokens = _operator_syntax(tokens)
    tokens = _collate(tokens)
    tokens = _tableoid(tokens)
    tokens, column_types, typing = name_columns(tokens)
    rewritten = Rewritten(join(_rest(tokens)), column_types)
    if typing is not None:
        rewritten.typing_sql = join(_rest(typing))
    return rewritten


def _rest(tokens):
    tokens = _cast_calls(tokens)
    tokens = _casts(tokens)
    tokens = _any_all(tokens)
    tokens = _arrays(tokens)
    tokens = _regex_operators(tokens)
    tokens = _keywords(tokens)
    tokens = select_list_set_returning(tokens)
    tokens = from_set_returning(tokens)
    tokens = _record_fields(tokens)
    return derived_column_aliases(tokens)


def _qualifiers(tokens):
    out = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if (is_word(token, "PG_CATALOG") and i + 1 < len(tokens) and is_punct(tokens[i + 1], ".")
                and not (out and is_punct(out[-1], "."))):
            i += 2
            continue
        if (is_word(token, "INFORMATION_SCHEMA") and i + 3 < len(tokens)
                and is_punct(tokens[i + 1], ".") and tokens[i + 2][0] == "word"
                and is_punct(tokens[next_significant(tokens, i + 3)], "(")):
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _tableoid(tokens):
    """`alias.tableoid` → the OID of the catalog relation `alias` stands for
    (the relation's alias is read from its FROM item)."""
    if not any(is_word(t, "TABLEOID") for t in tokens):
        return tokens
    aliases = {}
    words = [t for t in tokens if t[0] not in ("ws", "comment")]
    for n, token in enumerate(words[:-1]):
        if token[0] == "word" and token[1].lower() in CATALOG_RELATION_OIDS:
            alias = words[n + 1]
            if is_word(alias, "AS") and n + 2 < len(words):
                alias = words[n + 2]
            if alias[0] == "word" and not _is_keyword(alias) and not is_word(alias, *CLAUSE_ENDS):
                aliases[alias[1].lower()] = CATALOG_RELATION_OIDS[token[1].lower()]
            aliases[token[1].lower()] = CATALOG_RELATION_OIDS[token[1].lower()]
    out = []
    for token in tokens:
        if (is_word(token, "TABLEOID") and len(out) >= 2 and is_punct(out[-1], ".")
                and out[-2][0] == "word" and out[-2][1].lower() in aliases):
            oid = aliases[out[-2][1].lower()]
            del out[-2:]
            out.append(["num", str(oid)])
            continue
        out.append(token)
    return out


def _operator_syntax(tokens):
    """OPERATOR(op) → op (its pg_catalog. qualifier is already gone)."""
    out = []
    i = 0
    while i < len(tokens):
        if is_word(tokens[i], "OPERATOR"):
            j = next_significant(tokens, i + 1)
            if j < len(tokens) and is_punct(tokens[j], "("):
                end = matching(tokens, j)
                inner = significant(tokens[j + 1:end])
                if len(inner) == 1 and inner[0][0] == "op":
                    out.append(inner[0])
                    i = end + 1
                    continue
        out.append(tokens[i])
        i += 1
    return out


def _collate(tokens):
    """COLLATE name: SQLite's collations are not PostgreSQL's; the clause goes."""
    out = []
    i = 0
    while i < len(tokens):
        if is_word(tokens[i], "COLLATE"):
            j = next_significant(tokens, i + 1)
            if j < len(tokens) and tokens[j][0] in ("word", "qident"):
                i = j + 1
                continue
        out.append(tokens[i])
        i += 1
    return out


def _operand_start(tokens, end):
    """The first token of the primary expression that ends at `end` (inclusive)."""
    i = previous_significant(tokens, end)
    if i < 0:
        return end + 1
    if is_punct(tokens[i], ")") or is_punct(tokens[i], "]"):
        depth = 0
        j = i
        while j >= 0:
            if tokens[j][0] == "punct" and tokens[j][1] in ")]":
                depth += 1
            elif tokens[j][0] == "punct" and tokens[j][1] in "([":
                depth -= 1
                if depth == 0:
                    break
            j -= 1
        k = previous_significant(tokens, j - 1)
        if k >= 0 and (tokens[k][0] == "word" and not _is_keyword(tokens[k]) or tokens[k][0] == "qident"
                       or is_punct(tokens[k], "]") or is_punct(tokens[k], ")")):
            return _operand_start(tokens, k) if tokens[k][0] not in ("word", "qident") \
                else _qualified_start(tokens, k)
        return j
    if tokens[i][0] in ("word", "qident"):
        return _qualified_start(tokens, i)
    return i


def _qualified_start(tokens, i):
    while i >= 2 and is_punct(tokens[i - 1], ".") and tokens[i - 2][0] in ("word", "qident"):
        i -= 2
    return i


def _is_keyword(token):
    return token[1].upper() in ("AND", "OR", "NOT", "IN", "SELECT", "WHERE", "WHEN", "THEN", "ELSE",
                                "ON", "BY", "ANY", "ALL", "SOME", "EXISTS", "RETURN", "AS", "IS")


def _cast_type(tokens, start):
    """(type name, index after it) for the type that follows `::` at start-1;
    the whitespace after the type stays in place."""
    j = next_significant(tokens, start)
    words = []
    end = j
    while j < len(tokens) and tokens[j][0] in ("word", "qident"):
        words.append(tokens[j][1].strip('"').lower())
        end = j + 1
        k = next_significant(tokens, j + 1)
        if k < len(tokens) and is_punct(tokens[k], "."):  # a schema-qualified type
            words = []
            j = next_significant(tokens, k + 1)
            continue
        # Multi-word type names: double precision, character varying, ... with time zone.
        if k < len(tokens) and tokens[k][0] == "word" and tokens[k][1].upper() in (
                "PRECISION", "VARYING", "WITH", "WITHOUT", "TIME", "ZONE"):
            j = k
            continue
        break
    array = False
    while True:
        k = next_significant(tokens, end)
        if k < len(tokens) and is_punct(tokens[k], "("):
            end = matching(tokens, k) + 1
        elif k < len(tokens) and is_punct(tokens[k], "["):
            array = True
            end = matching(tokens, k) + 1
        else:
            break
    return " ".join(words) + ("[]" if array else ""), end


def _cast_calls(tokens):
    """CAST(x AS type) → (x)::type, so both spellings follow the rules of `::`."""
    i = 0
    while i < len(tokens):
        if is_word(tokens[i], "CAST"):
            j = next_significant(tokens, i + 1)
            if j < len(tokens) and is_punct(tokens[j], "("):
                end = matching(tokens, j)
                depth, at = 0, None
                for k in range(j + 1, end):
                    kind, text = tokens[k]
                    if kind == "punct" and text in "([":
                        depth += 1
                    elif kind == "punct" and text in ")]":
                        depth -= 1
                    elif depth == 0 and is_word(tokens[k], "AS"):
                        at = k
                if at is not None:
                    replacement = ([["punct", "("]] + tokens[j + 1:at] + [["punct", ")"], ["op", "::"]]
                                   + tokens[at + 1:end])
                    tokens = tokens[:i] + replacement + tokens[end + 1:]
                    continue
        i += 1
    return tokens


def _casts(tokens):
    """Rewrites every `operand::type`, innermost-first from the left, so
    chains (`x::regtype::text`) see each earlier result as their operand."""
    i = 0
    while i < len(tokens):
        if not (tokens[i][0] == "op" and tokens[i][1] == "::"):
            i += 1
            continue
        start = _operand_start(tokens, i - 1)
        operand = tokens[start:i]
        type_name, after = _cast_type(tokens, i + 1)
        next_cast = next_significant(tokens, after)
        numeric_next = False
        if next_cast < len(tokens) and tokens[next_cast][1] == "::":
            following, _ = _cast_type(tokens, next_cast + 1)
            numeric_next = following in _INTEGER_TYPES
        replacement = _cast(operand, type_name, numeric_next)
        tokens = tokens[:start] + replacement + tokens[after:]
        i = start + len(replacement)
    return tokens


def _call(name, operand):
    return [["word", name], ["punct", "("]] + operand + [["punct", ")"]]


def _cast(operand, type_name, numeric_next):
    words = significant(operand)
    while len(words) > 2 and is_punct(words[0], "(") and matching(words, 0) == len(words) - 1:
        words = words[1:-1]  # (x)::t is x::t
    literal = len(words) == 1 and words[0][0] in _LITERALS
    base = type_name[:-2] if type_name.endswith("[]") else type_name
    if type_name.endswith("[]") or base in ("int2vector", "oidvector", "anyarray"):
        return operand
    if base in _REG_TYPES:
        lookup, display = _REG_TYPES[base]
        if literal and lookup:
            return _call(lookup, operand)
        if literal or numeric_next:
            return operand  # already an OID, or compared as one
        return _call(display, operand)
    if base in _INTEGER_TYPES:
        if literal or not _plain_column(words):
            return [["word", "CAST"], ["punct", "("]] + operand + [["ws", " "], ["word", "AS INTEGER"],
                                                                   ["punct", ")"]]
        return operand
    if base in _FLOAT_TYPES:
        return [["word", "CAST"], ["punct", "("]] + operand + [["ws", " "], ["word", "AS REAL"],
                                                               ["punct", ")"]]
    if base in _TEXT_TYPES or base.startswith("character"):
        if literal or _plain_column(words) or _text_call(words):
            return operand
        return [["word", "CAST"], ["punct", "("]] + operand + [["ws", " "], ["word", "AS TEXT"],
                                                               ["punct", ")"]]
    return operand


def _text_call(words):
    """A call of a function that returns text already (the reg* displays)."""
    return (len(words) > 2 and words[0][0] == "word" and words[0][1].endswith("_name")
            and words[0][1].startswith("iriswire_") and matching(words, 1) == len(words) - 1)


def _plain_column(words):
    return bool(words) and all(t[0] in ("word", "qident") or is_punct(t, ".") for t in words)


def _any_all(tokens):
    """`op ANY (array)` / `op ALL (array)` → [NOT] IN over the array's elements."""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if is_word(token, "ANY", "SOME", "ALL"):
            j = next_significant(tokens, i + 1)
            p = previous_significant(tokens, i - 1)
            if j < len(tokens) and is_punct(tokens[j], "(") and p >= 0 and tokens[p][0] == "op" \
                    and tokens[p][1] in ("=", "<>", "!="):
                end = matching(tokens, j)
                inner = tokens[j + 1:end]
                negate = tokens[p][1] != "=" and token[1].upper() == "ALL"
                words = significant(inner)
                if words and is_word(words[0], "ARRAY") and len(words) > 1 and is_punct(words[1], "["):
                    open_at = inner.index(words[1])
                    elements = inner[open_at + 1:matching(inner, open_at)]
                    values = [["punct", "("]] + elements + [["punct", ")"]]
                elif words and is_word(words[0], "SELECT"):
                    values = [["punct", "("]] + inner + [["punct", ")"]]
                else:
                    values = [["punct", "("], ["word", "SELECT value FROM json_each"], ["punct", "("]] \
                        + _call("iriswire_array", inner) + [["punct", ")"], ["punct", ")"]]
                head = [["word", "NOT IN" if negate else "IN"], ["ws", " "]]
                tokens = tokens[:p] + head + values + tokens[end + 1:]
                i = p + len(head) + len(values)
                continue
        i += 1
    return tokens


def _arrays(tokens):
    """ARRAY[...], ARRAY(SELECT ...) and subscripts."""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if is_word(token, "ARRAY"):
            j = next_significant(tokens, i + 1)
            if j < len(tokens) and is_punct(tokens[j], "["):
                end = matching(tokens, j)
                replacement = _call("iriswire_array_of", tokens[j + 1:end])
                tokens = tokens[:i] + replacement + tokens[end + 1:]
                continue
            if j < len(tokens) and is_punct(tokens[j], "("):
                end = matching(tokens, j)
                tokens = tokens[:i] + _array_subquery(tokens[j + 1:end]) + tokens[end + 1:]
                continue
        if is_punct(token, "[") and i > 0:
            p = previous_significant(tokens, i - 1)
            if p >= 0 and (tokens[p][0] in ("word", "qident") or is_punct(tokens[p], ")")):
                end = matching(tokens, i)
                start = _operand_start(tokens, i - 1)
                replacement = (_call("iriswire_array_get", tokens[start:i] + [["punct", ","]]
                                     + tokens[i + 1:end]))
                tokens = tokens[:start] + replacement + tokens[end + 1:]
                i = start + len(replacement)
                continue
        i += 1
    return tokens


def _array_subquery(query):
    """ARRAY(SELECT x ...) → (SELECT array_agg(x) FROM (SELECT x ...)): the
    subquery's one column, whatever its name, via a column alias list."""
    return ([["punct", "("], ["word", "WITH"], ["ws", " "], ["word", "_iw_a"], ["punct", "("],
             ["word", "v"], ["punct", ")"], ["ws", " "], ["word", "AS"], ["ws", " "], ["punct", "("]]
            + query + [["punct", ")"], ["ws", " "], ["word", "SELECT array_agg(v) FROM _iw_a"],
                       ["punct", ")"]])


_REGEX_OPERATORS = {
    "~": ["REGEXP"], "!~": ["NOT REGEXP"], "~*": ["REGEXP '(?i)' ||"], "!~*": ["NOT REGEXP '(?i)' ||"],
    "~~": ["LIKE"], "!~~": ["NOT LIKE"], "~~*": ["LIKE"], "!~~*": ["NOT LIKE"],
}


def _regex_operators(tokens):
    out = []
    for token in tokens:
        if token[0] == "op" and token[1] in _REGEX_OPERATORS:
            out.extend([["ws", " "], ["word", _REGEX_OPERATORS[token[1]][0]], ["ws", " "]])
        else:
            out.append(token)
    return out


# PostgreSQL functions with a SQLite equivalent of another name.
_RENAMED = {"json_build_object": "json_object", "jsonb_build_object": "json_object",
            "json_build_array": "json_array", "jsonb_build_array": "json_array",
            "char_length": "length", "character_length": "length", "strpos": "instr"}


def _keywords(tokens):
    out = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = next_significant(tokens, i + 1)
        following = tokens[nxt] if nxt < len(tokens) else ["", ""]
        previous = out[previous_significant(out, len(out) - 1)] if out else ["", ""]
        if (token[0] == "word" and token[1].upper() in SESSION_WORDS and not is_punct(following, "(")
                and not is_punct(previous, ".") and not is_word(previous, "AS")):
            out.extend(_call(token[1].lower(), []))
            i += 1
            continue
        if is_word(token, "IS"):
            words = significant(tokens[i + 1:i + 8])
            if len(words) >= 2 and is_word(words[0], "DISTINCT") and is_word(words[1], "FROM"):
                out.append(["word", "IS NOT"])
                i = tokens.index(words[1], i) + 1
                continue
            if len(words) >= 3 and is_word(words[0], "NOT") and is_word(words[1], "DISTINCT") \
                    and is_word(words[2], "FROM"):
                out.append(["word", "IS"])
                i = tokens.index(words[2], i) + 1
                continue
        if token[0] == "word" and token[1].lower() in _RENAMED and is_punct(following, "("):
            out.append(["word", _RENAMED[token[1].lower()]])
            i += 1
            continue
        if is_word(token, "ARRAY_AGG", "STRING_AGG") and is_punct(following, "("):
            end = matching(tokens, nxt)
            ordered = _ordered_aggregate(token[1].lower(), _keywords(tokens[nxt + 1:end]))
            if ordered is not None:
                out.extend(ordered)
                i = end + 1
                continue
        if is_word(token, "TRIM") and is_punct(following, "("):
            end = matching(tokens, nxt)
            out.extend(_trim(_keywords(tokens[nxt + 1:end])))
            i = end + 1
            continue
        if is_word(token, "SUBSTRING", "POSITION", "STRING_AGG") and is_punct(following, "("):
            end = matching(tokens, nxt)
            out.extend(_special_call(token[1].upper(), tokens[nxt + 1:end]))
            i = end + 1
            continue
        out.append(token)
        i += 1
    return out


def _ordered_aggregate(name, args):
    """array_agg(x ORDER BY k [DESC], ...) → iriswire_array_agg_ordered(x, desc, k, ...):
    SQLite (before 3.44) has no ORDER BY inside aggregates; the aggregate sorts."""
    depth = 0
    for k, token in enumerate(args):
        if token[0] == "punct" and token[1] in "([":
            depth += 1
        elif token[0] == "punct" and token[1] in ")]":
            depth -= 1
        elif depth == 0 and is_word(token, "ORDER"):
            by = next_significant(args, k + 1)
            keys = split_top_level(args[by + 1:])
            descending = "0"
            cleaned = []
            for key in keys:
                words = significant(key)
                if words and is_word(words[-1], "DESC", "ASC"):
                    descending = "1" if is_word(words[-1], "DESC") and not cleaned else descending
                    key = key[:key.index(words[-1])]
                cleaned.append(key)
            values = split_top_level(args[:k])
            head = values[0] + [["punct", ","]] + (values[1] + [["punct", ","]] if len(values) > 1 else
                                                    [["str", "','"], ["punct", ","]] if name == "string_agg"
                                                    else [])
            pieces = head + [["num", descending]]
            for key in cleaned:
                pieces += [["punct", ","]] + key
            return _call("iriswire_%s_ordered" % name, pieces)
    return None


def _trim(args):
    """trim([BOTH|LEADING|TRAILING] [chars] FROM x) → trim/ltrim/rtrim(x, chars)."""
    words = significant(args)
    if not any(is_word(t, "FROM") for t in words):
        return _call("trim", args)
    function = "trim"
    if words and is_word(words[0], "BOTH", "LEADING", "TRAILING"):
        function = {"BOTH": "trim", "LEADING": "ltrim", "TRAILING": "rtrim"}[words[0][1].upper()]
        args = args[args.index(words[0]) + 1:]
    at = next(k for k, t in enumerate(args) if is_word(t, "FROM"))
    chars, source = args[:at], args[at + 1:]
    if significant(chars):
        return _call(function, source + [["punct", ","]] + chars)
    return _call(function, source)


def _record_fields(tokens):
    """`(record).x`: the one record a catalog statement can hold is
    _pg_expandarray's, carried as its element (x)."""
    out = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if (is_punct(token, ".") and i + 1 < len(tokens) and is_word(tokens[i + 1], "X")
                and out and is_punct(out[-1], ")")):
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _special_call(name, args):
    """substring(x FROM a FOR b), position(a IN b), string_agg(x, sep)."""
    args = _keywords(args)
    if name == "STRING_AGG":
        return _call("group_concat", args)
    parts, current = [], []
    keywords = []
    depth = 0
    for token in args:
        if token[0] == "punct" and token[1] in "([":
            depth += 1
        elif token[0] == "punct" and token[1] in ")]":
            depth -= 1
        if depth == 0 and is_word(token, "FROM", "FOR", "IN"):
            parts.append(current)
            keywords.append(token[1].upper())
            current = []
            continue
        current.append(token)
    parts.append(current)
    if name == "POSITION" and keywords == ["IN"]:
        return _call("instr", parts[1] + [["punct", ","]] + parts[0])
    if name == "SUBSTRING" and keywords:
        start = parts[keywords.index("FROM") + 1] if "FROM" in keywords else [["num", "1"]]
        pieces = parts[0] + [["punct", ","]] + start
        if "FOR" in keywords:
            pieces += [["punct", ","]] + parts[keywords.index("FOR") + 1]
        return _call("substr", pieces)
    return _call("substr" if name == "SUBSTRING" else name.lower(), args)
