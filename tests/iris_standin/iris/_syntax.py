"""The few shapes of a statement that rules and rewrites need: the select
lists, their scopes, and the places where a condition is expected.

Works on the token list of _lexer.tokenize; everything is found by depth and
keyword, which is enough for the statements the stand-in is given.
"""

from collections import namedtuple

from ._lexer import at, closing, is_word

# One SELECT: where its list starts and ends, where its scope (the statement
# or the enclosing parentheses) ends, and its TOP clause (token range) if any.
Select = namedtuple("Select", "keyword list_start list_end scope_end distinct top")

_LIST_END = frozenset(("FROM", "INTO", "WHERE", "GROUP", "HAVING", "ORDER", "UNION", "INTERSECT",
                       "EXCEPT", "LIMIT", "OFFSET", "FETCH", "FOR"))
_CONDITION_END = frozenset(("GROUP", "ORDER", "HAVING", "UNION", "INTERSECT", "EXCEPT", "LIMIT",
                            "OFFSET", "FETCH", "FOR", "WINDOW", "RETURNING"))
_JOIN_WORDS = frozenset(("JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "OUTER", "WHERE"))


def scope_end(tokens, index):
    """Index just past the scope a token sits in: its closing parenthesis or the end."""
    depth = tokens[index].depth
    for position in range(index + 1, len(tokens)):
        if tokens[position].depth < depth or (tokens[position].text == ")" and tokens[position].depth == depth - 1):
            return position
    return len(tokens)


def selects(tokens):
    """Every SELECT in the statement, outermost first."""
    found = []
    for index, token in enumerate(tokens):
        if not is_word(token, "SELECT"):
            continue
        depth, position, distinct, top = token.depth, index + 1, False, None
        if is_word(at(tokens, position), "DISTINCT"):
            distinct, position = True, position + 1
            if is_word(at(tokens, position), "BY") and at(tokens, position + 1) and tokens[position + 1].text == "(":
                position = closing(tokens, position + 1) + 1
        elif is_word(at(tokens, position), "ALL"):
            position += 1
        if is_word(at(tokens, position), "TOP"):
            start = position
            position += 1
            if at(tokens, position) is not None and tokens[position].text == "(":
                position = closing(tokens, position) + 1
            else:
                position += 1
            top = (start, position)
        end = scope_end(tokens, index)
        list_end = position
        while list_end < end and not (tokens[list_end].depth == depth and is_word(tokens[list_end], *_LIST_END)):
            list_end += 1
        found.append(Select(index, position, list_end, end, distinct, top))
    return found


def items(tokens, start, end):
    """(from, to) index pairs of the comma-separated items of tokens[start:end]."""
    if start >= end:
        return []
    depth = tokens[start].depth
    parts, begin = [], start
    for index in range(start, end):
        if tokens[index].text == "," and tokens[index].depth == depth:
            parts.append((begin, index))
            begin = index + 1
    parts.append((begin, end))
    return [(a, b) for a, b in parts if a < b]


def condition_regions(tokens):
    """(from, to) ranges where IRIS expects a condition: after WHERE, HAVING,
    ON (of a JOIN), and WHEN of a searched CASE (up to its THEN)."""
    regions = []
    for index, token in enumerate(tokens):
        if token.kind != "word":
            continue
        word = token.text.upper()
        depth = token.depth
        if word == "ON" and not any(is_word(t, "JOIN") and t.depth == depth for t in tokens[:index]):
            continue
        if word == "WHEN":
            case_at = max((i for i in range(index) if is_word(tokens[i], "CASE") and tokens[i].depth == depth), default=None)
            if case_at is None or not is_word(tokens[case_at + 1], "WHEN"):
                continue  # a simple CASE x WHEN value: a value, not a condition
        if word not in ("WHERE", "HAVING", "ON", "WHEN"):
            continue
        end = index + 1
        stops = ("THEN",) if word == "WHEN" else _CONDITION_END | (_JOIN_WORDS if word == "ON" else frozenset())
        while end < len(tokens) and tokens[end].depth >= depth and not (
                tokens[end].depth == depth and (is_word(tokens[end], *stops) or tokens[end].text == ";")):
            end += 1
        regions.append((index + 1, end))
    return regions


def operands(tokens, start, end):
    """The AND/OR operands of a condition, NOT and enclosing parentheses
    unwrapped (recursively), as (from, to) ranges."""
    if start >= end:
        return []
    depth = tokens[start].depth
    while start < end and is_word(tokens[start], "NOT"):
        start += 1
    if start < end and tokens[start].text == "(" and closing(tokens, start) == end - 1 and not is_word(
            at(tokens, start + 1), "SELECT"):
        return operands(tokens, start + 1, end - 1)
    found, begin, between = [], start, False
    for index in range(start, end):
        token = tokens[index]
        if token.depth != depth:
            continue
        if is_word(token, "BETWEEN"):
            between = True
        elif is_word(token, "AND", "OR"):
            if between and is_word(token, "AND"):
                between = False
                continue
            found.extend(operands(tokens, begin, index) if index > begin else [])
            begin = index + 1
    if begin == start:
        return [(start, end)]
    found.extend(operands(tokens, begin, end))
    return found
