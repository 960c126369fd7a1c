"""Tokens of an SQL statement, enough to check IRIS's grammar and rewrite it.

Not a parser: rules and rewrites look at the token list (without spaces and
comments) and at parenthesis depth, which is as far as they need to see.
IRIS words may start with ``%`` (``%EXACT``, ``%ID``) or ``$``
(``$TLEVEL``, ``$ZVERSION``); a lone ``%`` is an operator token, which is
how the modulo rule finds it.
"""

import re
from collections import namedtuple

Token = namedtuple("Token", "kind text start end depth")

_SCANNER = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^']|'')*(?:'|\Z))
  | (?P<qident>"(?:[^"]|"")*(?:"|\Z))
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<word>\$?%?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<param>\?)
  | (?P<op><>|!=|<=|>=|\|\||::|.)
""", re.VERBOSE | re.DOTALL)


def tokenize(sql):
    """Significant tokens of ``sql`` (spaces and comments dropped), with depth.

    ``depth`` counts the parentheses around a token; an opening parenthesis
    has the depth outside it, its closing one likewise.
    """
    tokens, depth = [], 0
    for match in _SCANNER.finditer(sql):
        kind = match.lastgroup
        if kind in ("space", "comment"):
            continue
        text = match.group()
        if text == ")":
            depth -= 1
        tokens.append(Token(kind, text, match.start(), match.end(), depth))
        if text == "(":
            depth += 1
    return tokens


def upper(token):
    """The token's text upper-cased when it is a word, else as is."""
    return token.text.upper() if token.kind == "word" else token.text


def is_word(token, *words):
    return token is not None and token.kind == "word" and token.text.upper() in words


def at(tokens, index):
    """tokens[index], or None past either end."""
    return tokens[index] if 0 <= index < len(tokens) else None


def closing(tokens, index):
    """Index of the ``)`` matching the ``(`` at ``index`` (len(tokens) if none)."""
    depth = tokens[index].depth
    for position in range(index + 1, len(tokens)):
        if tokens[position].text == ")" and tokens[position].depth == depth:
            return position
    return len(tokens)


def identifier_name(token):
    """The name an identifier token stands for: unquoted or delimited."""
    if token.kind == "qident":
        return token.text[1:-1].replace('""', '"')
    return token.text
