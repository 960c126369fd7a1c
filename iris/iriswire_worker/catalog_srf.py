"""Set-returning functions and derived tables in catalog statements, for
SQLite, which has neither LATERAL, nor set-returning functions in a SELECT
list, nor column alias lists on subqueries; its table-valued ``json_each``
over an array (``iriswire_array`` gives arrays as JSON) stands in:

* in FROM: ``unnest(a) AS u(x)``, ``generate_series(1, n) s``,
  ``_pg_expandarray(a)`` → ``(SELECT value AS x FROM json_each(...)) AS u``;
* in a SELECT list: ``unnest(a)``, ``generate_subscripts(a, 1)``,
  ``_pg_expandarray(a)`` (its ``.x`` and ``.n``) → the ``value`` and
  ``key + 1`` of a ``json_each`` joined to that SELECT's FROM items, one per
  array, so functions over the same array advance together as in PostgreSQL;
* ``(SELECT|VALUES ...) AS s(a, b)`` → ``(WITH s(a, b) AS (...) SELECT * FROM s) AS s``.
"""

from .catalog_columns import CLAUSE_ENDS
from .sql_tokens import (
    is_punct, is_word, matching, next_significant, previous_significant, significant)

# Words that cannot be a table alias.
_NOT_ALIASES = frozenset(("AND", "OR", "NOT", "IN", "SELECT", "WHERE", "WHEN", "THEN", "ELSE", "ON",
                          "BY", "ANY", "ALL", "SOME", "EXISTS", "RETURN", "AS", "IS", "JOIN", "LEFT",
                          "RIGHT", "INNER", "OUTER", "CROSS", "FULL", "NATURAL", "USING"))


def is_keyword(token):
    return token[0] == "word" and token[1].upper() in _NOT_ALIASES


def call(name, args):
    return [["word", name], ["punct", "("]] + args + [["punct", ")"]]


_SRF = {"UNNEST": "unnest", "GENERATE_SERIES": "series", "_PG_EXPANDARRAY": "expand",
        # Without partitions, a relation is its own only ancestor.
        "PG_PARTITION_ANCESTORS": "single"}


def from_set_returning(tokens):
    """unnest(a), generate_series(a, b), _pg_expandarray(a) where a FROM item
    stands: json_each over the array, its columns named as PostgreSQL names
    them (`AS u(x)`, or the function's own name)."""
    out = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = next_significant(tokens, i + 1)
        previous = out[previous_significant(out, len(out) - 1)] if out else ["", ""]
        if (token[0] == "word" and token[1].upper() in _SRF and nxt < len(tokens)
                and is_punct(tokens[nxt], "(")
                and (is_word(previous, "FROM", "JOIN") or is_punct(previous, ","))):
            kind = _SRF[token[1].upper()]
            end = matching(tokens, nxt)
            args = tokens[nxt + 1:end]
            source = (call("iriswire_series", args) if kind == "series"
                      else call("json_array", args) if kind == "single" else call("iriswire_array", args))
            j = next_significant(tokens, end + 1)
            if j < len(tokens) and is_word(tokens[j], "WITH"):
                j = next_significant(tokens, next_significant(tokens, j + 1) + 1)  # WITH ORDINALITY
            if j < len(tokens) and is_word(tokens[j], "AS"):
                j = next_significant(tokens, j + 1)
            alias, columns = token[1].lower(), None
            if j < len(tokens) and tokens[j][0] in ("word", "qident") and not is_word(
                    tokens[j], *CLAUSE_ENDS) and not is_keyword(tokens[j]):
                alias = tokens[j][1]
                k = next_significant(tokens, j + 1)
                if k < len(tokens) and is_punct(tokens[k], "("):
                    columns = [t[1] for t in significant(tokens[k + 1:matching(tokens, k)])
                               if t[0] in ("word", "qident")]
                    j = matching(tokens, k) + 1
                else:
                    j += 1
            else:
                j = end + 1
            names = columns or ([alias] if kind != "expand" else ["x", "n"])
            select = "SELECT value AS %s" % names[0]
            if len(names) > 1:
                select += ", key + 1 AS %s" % names[1]
            out.extend([["punct", "("], ["word", select + " FROM json_each"], ["punct", "("]]
                       + source + [["punct", ")"], ["punct", ")"], ["ws", " "], ["word", "AS"],
                                   ["ws", " "], ["word", alias], ["ws", " "]])
            i = j
            continue
        out.append(token)
        i += 1
    return out


def derived_column_aliases(tokens):
    """`(SELECT|VALUES ...) AS s(a, b)`: SQLite has no column alias lists on
    derived tables, but a CTE takes one: `(WITH s(a, b) AS (...) SELECT * FROM s) AS s`."""
    i = 0
    while i < len(tokens):
        if is_punct(tokens[i], "("):
            end = matching(tokens, i)
            first = next_significant(tokens, i + 1)
            if first < end and is_word(tokens[first], "SELECT", "VALUES", "WITH"):
                j = next_significant(tokens, end + 1)
                if j < len(tokens) and is_word(tokens[j], "AS"):
                    j = next_significant(tokens, j + 1)
                k = next_significant(tokens, j + 1)
                if (j < len(tokens) and tokens[j][0] in ("word", "qident") and not is_keyword(tokens[j])
                        and not is_word(tokens[j], *CLAUSE_ENDS) and k < len(tokens)
                        and is_punct(tokens[k], "(")):
                    close = matching(tokens, k)
                    alias = tokens[j]
                    replacement = ([["punct", "("], ["word", "WITH"], ["ws", " "], alias]
                                   + tokens[k:close + 1] + [["ws", " "], ["word", "AS"], ["ws", " "]]
                                   + tokens[i:end + 1]
                                   + [["ws", " "], ["word", "SELECT * FROM"], ["ws", " "], alias,
                                      ["punct", ")"], ["ws", " "], ["word", "AS"], ["ws", " "], alias])
                    tokens = tokens[:i] + replacement + tokens[close + 1:]
                    i += 1
                    continue
        i += 1
    return tokens


# Select-list set-returning functions: name → what each row gives.
_LIST_SRF = {"unnest": "value", "generate_subscripts": "key + 1", "_pg_expandarray": "expand"}
# Words after which a SELECT's FROM clause ends.
_FROM_ENDS = frozenset(("WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "UNION",
                        "INTERSECT", "EXCEPT", "WINDOW", "FETCH", "FOR"))


def _clause_end(tokens, start, words):
    """The index of the first of `words` at `start`'s depth, or of the
    bracket closing that depth, or len(tokens)."""
    depth = 0
    for i in range(start, len(tokens)):
        kind, text = tokens[i]
        if kind == "punct" and text in "([":
            depth += 1
        elif kind == "punct" and text in ")]":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and kind == "word" and text.upper() in words:
            return i
        elif depth == 0 and kind == "punct" and text == ";":
            return i
    return len(tokens)


def select_list_set_returning(tokens):
    """Each SELECT (innermost last in the text first) whose list calls
    unnest, generate_subscripts or _pg_expandarray: those calls read a
    json_each joined to its FROM items."""
    starts = [i for i, t in enumerate(tokens) if is_word(t, "SELECT")]
    for start in reversed(starts):
        list_end = _clause_end(tokens, start + 1, CLAUSE_ENDS)
        sources = []  # (array tokens text, alias)
        i = start + 1
        while i < list_end:
            token = tokens[i]
            name = token[1].lower() if token[0] == "word" else None
            j = next_significant(tokens, i + 1)
            if name in _LIST_SRF and j < list_end and is_punct(tokens[j], "("):
                end = matching(tokens, j)
                args = tokens[j + 1:end]
                array = _first_argument(args)
                key = "".join(t[1] for t in array)
                alias = next((a for k, a in sources if k == key), None)
                if alias is None:
                    alias = "_iw_srf%d_%d" % (start, len(sources))
                    sources.append((key, alias))
                replacement = _srf_value(_LIST_SRF[name], alias, tokens, end, args)
                consumed = replacement[1]
                tokens = tokens[:i] + replacement[0] + tokens[consumed:]
                list_end += len(replacement[0]) - (consumed - i)
                i += len(replacement[0])
                continue
            i += 1
        if not sources:
            continue
        joins = []
        for key, alias in sources:
            joins += [["punct", ","], ["ws", " "]] + call("json_each", call("iriswire_array", [["raw", key]])) \
                + [["ws", " "], ["word", "AS"], ["ws", " "], ["word", alias]]
        if len(sources) > 1:  # lockstep: the same position in every array
            first = sources[0][1]
            where = [["ws", " "], ["word", "AND" if _has_where(tokens, list_end) else "WHERE"]]
            for _, alias in sources[1:]:
                where += [["ws", " "], ["word", "%s.key = %s.key" % (alias, first)]]
        else:
            where = []
        if is_word(tokens[list_end] if list_end < len(tokens) else ["", ""], "FROM"):
            from_end = _clause_end(tokens, list_end + 1, _FROM_ENDS)
            if where and _has_where(tokens, list_end):
                where_at = from_end
                cond_end = _clause_end(tokens, where_at + 1, _FROM_ENDS - {"WHERE"})
                tokens = tokens[:cond_end] + where + tokens[cond_end:]
                where = []
            tokens = tokens[:from_end] + joins + where + [["ws", " "]] + tokens[from_end:]
        else:
            tokens = tokens[:list_end] + [["ws", " "], ["word", "FROM"], ["ws", " "]] + joins[2:] \
                + where + [["ws", " "]] + tokens[list_end:]
    return [["word", t[1]] if t[0] == "raw" else t for t in tokens]


def _has_where(tokens, list_end):
    if list_end >= len(tokens) or not is_word(tokens[list_end], "FROM"):
        return False
    end = _clause_end(tokens, list_end + 1, _FROM_ENDS)
    return end < len(tokens) and is_word(tokens[end], "WHERE")


def _first_argument(args):
    depth = 0
    for k, token in enumerate(args):
        if token[0] == "punct" and token[1] in "([":
            depth += 1
        elif token[0] == "punct" and token[1] in ")]":
            depth -= 1
        elif depth == 0 and is_punct(token, ","):
            return args[:k]
    return args


def _srf_value(kind, alias, tokens, end, args):
    """(replacement tokens, index after what they replace) for one SRF call
    ending at `end`; _pg_expandarray's record is read by its field. Further
    arguments (generate_subscripts' dimension) stay as iriswire_first's, so
    their placeholders keep their values."""
    if kind != "expand":
        rest = args[len(_first_argument(args)):]
        if any(t[0] == "param" for t in rest):
            return call("iriswire_first", [["word", "%s.%s" % (alias, kind)]] + rest), end + 1
        return [["word", "(%s.%s)" % (alias, kind)]], end + 1
    # (_pg_expandarray(a)).x / .n: the call is parenthesised, the field follows.
    k = next_significant(tokens, end + 1)
    if k < len(tokens) and is_punct(tokens[k], ")"):
        f = next_significant(tokens, k + 1)
        if f + 1 < len(tokens) and is_punct(tokens[f], ".") and tokens[f + 1][0] == "word":
            field = tokens[f + 1][1].lower()
            value = "%s.value" % alias if field == "x" else "(%s.key + 1)" % alias
            return [["word", value], ["punct", ")"]], f + 2
    return [["word", "%s.value" % alias]], end + 1
