"""SQL as a list of tokens: enough structure (parentheses, commas, words) to
rewrite catalog statements and to read constraints out of SQLite's
``CREATE TABLE`` text, without a parser.

A token is ``[kind, text]``; kinds: ``ws``, ``comment``, ``str`` (a standard
SQL string; ``E'...'`` strings are turned into one), ``qident`` (a quoted
identifier), ``num``, ``param``, ``word``, ``op``, ``punct`` (``( ) , ; [ ] .``).

Parameters come out numbered (``?1``, ``?2``...; PostgreSQL's ``$n`` as
``?n``, a bare ``?`` as the largest number so far plus one, SQLite's own
rule), so a rewrite may move or repeat an expression without changing which
value each placeholder takes.
"""

import re

_TOKEN = re.compile(r"""
      (?P<ws>\s+)
    | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<estr>[Ee]'(?:[^'\\]|\\.|'')*'?)
    | (?P<str>'(?:[^']|'')*'?)
    | (?P<qident>"(?:[^"]|"")*"?)
    | (?P<param>\$\d+|\?\d*)
    | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<word>[A-Za-z_\x80-\uffff][\w$\x80-\uffff]*)
    | (?P<op>::|<>|!=|<=|>=|\|\||!~~\*|!~~|~~\*|~~|!~\*|!~|~\*|[-+*/%<>=~!@#^&|`:])
    | (?P<punct>[(),;\[\].])
""", re.VERBOSE | re.DOTALL)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'"}


def _standard_string(escaped):
    """E'...' → '...': backslash escapes resolved, quotes doubled."""
    body = escaped[2:-1] if escaped.endswith("'") else escaped[2:]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            octal = re.match(r"[0-7]{1,3}", body[i + 1:])
            hexa = re.match(r"x([0-9A-Fa-f]{1,2})", body[i + 1:])
            if octal:
                out.append(chr(int(octal.group(0), 8)))
                i += 1 + len(octal.group(0))
                continue
            if hexa:
                out.append(chr(int(hexa.group(1), 16)))
                i += 1 + len(hexa.group(0))
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if ch == "'" and body[i + 1:i + 2] == "'":
            out.append("'")
            i += 2
            continue
        out.append(ch)
        i += 1
    return "'" + "".join(out).replace("'", "''") + "'"


def tokenize(sql):
    """The tokens of `sql`; anything unrecognised becomes an ``op`` token of one character."""
    tokens = []
    pos = 0
    length = len(sql)
    highest = 0
    while pos < length:
        match = _TOKEN.match(sql, pos)
        if match is None:
            tokens.append(["op", sql[pos]])
            pos += 1
            continue
        kind = match.lastgroup
        text = match.group(0)
        if kind == "estr":
            kind, text = "str", _standard_string(text)
        elif kind == "param":
            number = int(text[1:]) if len(text) > 1 else highest + 1
            highest = max(highest, number)
            text = "?%d" % number
        tokens.append([kind, text])
        pos = match.end()
    return tokens


def join(tokens):
    return "".join(t[1] for t in tokens)


def is_word(token, *words):
    """Whether `token` is a word, one of `words` (upper case) when given."""
    return token[0] == "word" and (not words or token[1].upper() in words)


def is_punct(token, text):
    return token[0] == "punct" and token[1] == text


def matching(tokens, index):
    """The index of the bracket closing the one at `index` (or len(tokens))."""
    opening = tokens[index][1]
    closing = ")" if opening == "(" else "]"
    depth = 0
    for i in range(index, len(tokens)):
        kind, text = tokens[i]
        if kind != "punct":
            continue
        if text == opening:
            depth += 1
        elif text == closing:
            depth -= 1
            if depth == 0:
                return i
    return len(tokens)


def next_significant(tokens, index):
    """The index of the first token at or after `index` that is not whitespace or a comment."""
    while index < len(tokens) and tokens[index][0] in ("ws", "comment"):
        index += 1
    return index


def previous_significant(tokens, index):
    """The index of the last token at or before `index` that is not whitespace or a comment."""
    while index >= 0 and tokens[index][0] in ("ws", "comment"):
        index -= 1
    return index


def split_top_level(tokens, separator=","):
    """`tokens` cut at the separators outside brackets."""
    parts, current, depth = [], [], 0
    for token in tokens:
        if token[0] == "punct" and token[1] in "([":
            depth += 1
        elif token[0] == "punct" and token[1] in ")]":
            depth -= 1
        if depth == 0 and token[0] == "punct" and token[1] == separator:
            parts.append(current)
            current = []
            continue
        current.append(token)
    parts.append(current)
    return parts


def significant(tokens):
    """`tokens` without whitespace and comments."""
    return [t for t in tokens if t[0] not in ("ws", "comment")]


def identifier(token):
    """The name a word or quoted identifier token stands for (words as written)."""
    if token[0] == "qident":
        return token[1][1:-1].replace('""', '"')
    if token[0] == "str":  # SQLite accepts 'name' where a name is expected
        return token[1][1:-1].replace("''", "'")
    if token[1].startswith("[") or token[1].startswith("`"):
        return token[1][1:-1]
    return token[1]
