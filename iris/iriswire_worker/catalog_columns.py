"""The result columns of a rewritten catalog statement: PostgreSQL's names
for unaliased ones (its FigureColname: a function's name, a cast's operand
or type, ``?column?``), which SQLite would name after their text, and which
of them are booleans (PostgreSQL prints t/f where SQLite returns 1/0)."""

from .sql_tokens import is_punct, is_word, matching, next_significant, significant, split_top_level

# Functions whose result is boolean.
BOOLEAN_FUNCTIONS = frozenset((
    "pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible", "pg_is_in_recovery",
    "pg_has_role", "pg_is_other_temp_schema", "bool_and", "bool_or", "every"))
COMPARISONS = frozenset(("=", "<>", "!=", "<", ">", "<=", ">=", "~", "!~", "~*", "!~*"))
# Words that end a SELECT's result list.
CLAUSE_ENDS = frozenset(("FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET",
                         "UNION", "INTERSECT", "EXCEPT", "WINDOW", "FETCH", "FOR"))
SESSION_WORDS = frozenset(("CURRENT_USER", "SESSION_USER", "CURRENT_ROLE", "CURRENT_SCHEMA",
                           "CURRENT_CATALOG"))


def _top_select_list(tokens):
    """(start, end) of the outermost SELECT's result list, or None."""
    depth = 0
    start = None
    for i, token in enumerate(tokens):
        if token[0] == "punct" and token[1] in "([":
            depth += 1
        elif token[0] == "punct" and token[1] in ")]":
            depth -= 1
        elif depth == 0 and token[0] == "word":
            word = token[1].upper()
            if start is None and word == "SELECT":
                start = i + 1
                k = next_significant(tokens, start)
                if k < len(tokens) and is_word(tokens[k], "DISTINCT", "ALL"):
                    start = k + 1
            elif start is not None and word in CLAUSE_ENDS:
                return start, i
    return (start, len(tokens)) if start is not None else None


def _label(item):
    """PostgreSQL's name for an unaliased result column (FigureColname), or
    None when SQLite already names it so (a plain column reference)."""
    words = significant(item)
    if not words:
        return None
    if all(t[0] in ("word", "qident") or is_punct(t, ".") for t in words) and (
            len(words) == 1 or is_punct(words[-2], ".")):
        return None
    return _figure(words)[0]


def _figure(words):
    """(name, strength) as PostgreSQL's FigureColnameInternal: 2 for a name
    taken from a column or function, 1 for a cast's type name, 0 for none."""
    if not words:
        return "?column?", 0
    cast = max((i for i, t in enumerate(words) if t[0] == "op" and t[1] == "::" and _depth0(words, i)),
               default=None)
    if cast is not None and cast + 1 < len(words):
        name, strength = _figure(words[:cast])
        if strength > 1:
            return name, strength
        type_words = [t[1] for t in words[cast + 1:] if t[0] in ("word", "qident")]
        return (type_words[-1].strip('"').lower(), 1) if type_words else (name, strength)
    if all(t[0] in ("word", "qident") or is_punct(t, ".") for t in words):
        return words[-1][1].strip('"'), 2
    first = words[0]
    if first[0] == "word" and len(words) > 1 and is_punct(words[1], "(") \
            and matching(words, 1) == len(words) - 1:
        return first[1].lower(), 2
    if (first[0] == "word" and len(words) > 3 and is_punct(words[1], ".") and is_punct(words[3], "(")
            and matching(words, 3) == len(words) - 1):
        return words[2][1].lower(), 2
    if is_word(first, "CASE") and is_word(words[-1], "END"):
        return "case", 2
    if is_word(first, "ARRAY"):
        return "array", 2
    if is_word(first, "EXISTS"):
        return "exists", 2
    if first[0] == "word" and first[1].upper() in SESSION_WORDS and len(words) == 1:
        return first[1].lower(), 2
    if is_punct(first, "(") and matching(words, 0) == len(words) - 1 and len(words) > 2:
        if is_word(words[1], "SELECT"):
            inner = split_top_level(words[2:-1])[0]
            cut = next((k for k, t in enumerate(inner) if is_word(t, *CLAUSE_ENDS)), len(inner))
            target = significant(inner[:cut])
            if _has_alias(target):
                return target[-1][1].strip('"'), 2
            return _figure(target)
        return _figure(words[1:-1])
    return "?column?", 0


def _depth0(words, index):
    depth = 0
    for token in words[:index]:
        if token[0] == "punct" and token[1] in "([":
            depth += 1
        elif token[0] == "punct" and token[1] in ")]":
            depth -= 1
    return depth == 0


def _has_alias(words):
    if len(words) < 2 or words[-1][0] not in ("word", "qident"):
        return False
    if is_word(words[-2], "AS"):
        return True
    if words[-1][0] == "word" and words[-1][1].upper() in ("END", "NULL", "TRUE", "FALSE"):
        return False
    previous = words[-2]
    return not (previous[0] == "op" or is_punct(previous, ".") or is_punct(previous, "(")
                or is_word(previous, "AS"))


def _column_type(words, derived=None):
    """The PostgreSQL type of a result column where SQLite's value would
    mislead a client: booleans (1/0), arrays (text); None otherwise.
    `derived` types the columns of derived tables (`alias.column`)."""
    if _is_boolean(words):
        return "bool"
    if (derived and len(words) == 3 and is_punct(words[1], ".")
            and words[0][1].strip('"').lower() in derived):
        return derived[words[0][1].strip('"').lower()].get(words[2][1].strip('"').lower())
    if words and is_word(words[0], "ARRAY_AGG") and len(words) > 2 and is_punct(words[1], "("):
        inner = words[2:matching(words, 1)]
        cut = next((k for k, t in enumerate(inner) if is_word(t, "ORDER")), len(inner))
        if _column_type(inner[:cut], derived) == "bool":
            return "_bool"
        texts = [t[1].lower() for t in inner if t[0] == "word"]
        if "name" in texts:
            return "_name"
        if "int2" in texts or "smallint" in texts:
            return "_int2"
        if "oid" in texts or "int4" in texts or "integer" in texts:
            return "_int4" if "oid" not in texts else "_oid"
        return "_text"
    return None


def _is_boolean(words):
    """Whether an expression yields a boolean: a comparison, AND/OR/NOT,
    IS, IN, LIKE, EXISTS at its top level, or a boolean function."""
    depth = 0
    for token in words:
        if token[0] == "punct" and token[1] in "([":
            depth += 1
        elif token[0] == "punct" and token[1] in ")]":
            depth -= 1
        elif depth == 0 and (token[0] == "op" and token[1] in COMPARISONS
                             or is_word(token, "AND", "OR", "NOT", "IS", "IN", "LIKE", "EXISTS",
                                        "BETWEEN")):
            return not is_word(words[0], "CASE")
    if words and words[0][0] == "word" and words[0][1].lower() in BOOLEAN_FUNCTIONS:
        return True
    return bool(words) and words[0][0] == "word" and words[0][1].lower().startswith("has_") \
        and words[0][1].lower().endswith("_privilege")


def derived_types(tokens):
    """{alias: {column: type}} for the derived tables `(SELECT ...) [AS] alias`
    whose columns _column_type can type, inner ones first so an outer one can
    pass an inner one's column on."""
    found = {}
    spans = []
    for i, token in enumerate(tokens):
        if is_punct(token, "(") and is_word(tokens[next_significant(tokens, i + 1)], "SELECT"):
            spans.append((matching(tokens, i), i))
    for end, i in sorted(spans):
        j = next_significant(tokens, end + 1)
        if j < len(tokens) and is_word(tokens[j], "AS"):
            j = next_significant(tokens, j + 1)
        if j >= len(tokens) or tokens[j][0] not in ("word", "qident") or is_word(tokens[j], *CLAUSE_ENDS):
            continue
        inner = tokens[i + 1:end]
        span = _top_select_list(inner)
        if span is None:
            continue
        columns = {}
        for item in split_top_level(inner[span[0]:span[1]]):
            words = significant(item)
            if not words:
                continue
            aliased = _has_alias(words)
            expression = words[:-2] if aliased and is_word(words[-2], "AS") else words[:-1] if aliased else words
            kind = _column_type(expression, found)
            if kind:
                columns[words[-1][1].strip('"').lower()] = kind
        if columns:
            found[tokens[j][1].strip('"').lower()] = columns
    return found


def name_columns(tokens):
    """Aliases with PostgreSQL's names for the outermost SELECT's unaliased
    columns; (tokens, types, typing tokens): the boolean and array columns'
    types, and the statement with min()/max() of a column made the bare
    column (None if it has none), for typing by declaration."""
    span = _top_select_list(tokens)
    if span is None:
        return tokens, None, None
    start, end = span
    derived = derived_types(tokens)
    items = split_top_level(tokens[start:end])
    out_items, typing_items = [], []
    column_types = []
    for item in items:
        words = significant(item)
        aliased = _has_alias(words)
        expression = words[:-2] if aliased and is_word(words[-2], "AS") else words[:-1] if aliased else words
        column_types.append(_column_type(expression, derived))
        label = None if aliased else _label(item)
        if label is not None and not (words and words[-1][1] == "*"):
            trailing = []
            while item and item[-1][0] in ("ws", "comment"):
                trailing.insert(0, item.pop())
            item = item + [["ws", " "], ["word", "AS"], ["ws", " "],
                           ["qident", '"%s"' % label.replace('"', '""')]] + trailing
        out_items.append(item)
        typing_items.append(_unwrapped_aggregate(item, expression))
    if not any(column_types):
        column_types = None
    named = tokens[:start] + _joined(out_items) + tokens[end:]
    if all(t is None for t in typing_items):
        return named, column_types, None
    typing = [t if t is not None else item for t, item in zip(typing_items, out_items)]
    return named, column_types, tokens[:start] + _joined(typing) + tokens[end:]


def _joined(items):
    rebuilt = []
    for n, item in enumerate(items):
        if n:
            rebuilt.append(["punct", ","])
        rebuilt.extend(item)
    return rebuilt


def _unwrapped_aggregate(item, expression):
    """min(col) AS x → col AS x (the same type as col); None for anything else."""
    if (len(expression) > 3 and is_word(expression[0], "MIN", "MAX") and is_punct(expression[1], "(")
            and matching(expression, 1) == len(expression) - 1
            and all(t[0] in ("word", "qident") or is_punct(t, ".") for t in expression[2:-1])):
        alias = significant(item)[len(expression):]
        if not alias:
            alias = [["word", "AS"], ["qident", '"%s"' % expression[0][1].lower()]]
        return [["ws", " "]] + expression[2:-1] + [["ws", " "]] + [
            t for pair in zip(alias, [["ws", " "]] * len(alias)) for t in pair]
    return None
