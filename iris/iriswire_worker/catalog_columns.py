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


def name_columns(tokens):
    """Aliases with PostgreSQL's names for the outermost SELECT's unaliased
    columns; the boolean ones are noted in the types list."""
    span = _top_select_list(tokens)
    if span is None:
        return tokens, None
    start, end = span
    items = split_top_level(tokens[start:end])
    out_items = []
    column_types = []
    for item in items:
        words = significant(item)
        aliased = _has_alias(words)
        expression = words[:-2] if aliased and is_word(words[-2], "AS") else words[:-1] if aliased else words
        column_types.append("bool" if _is_boolean(expression) else None)
        label = None if aliased else _label(item)
        if label is not None and not (len(words) == 1 and is_punct(words[0], "*")):
            trailing = []
            while item and item[-1][0] in ("ws", "comment"):
                trailing.insert(0, item.pop())
            item = item + [["ws", " "], ["word", "AS"], ["ws", " "],
                           ["qident", '"%s"' % label.replace('"', '""')]] + trailing
        out_items.append(item)
    rebuilt = []
    for n, item in enumerate(out_items):
        if n:
            rebuilt.append(["punct", ","])
        rebuilt.extend(item)
    if not any(column_types):
        column_types = None
    return tokens[:start] + rebuilt + tokens[end:], column_types
