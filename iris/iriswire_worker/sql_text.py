"""SQL text scanning without a parser: placeholders, the first keyword,
declared types, transaction keywords. Enough for Describe and Prepare on
SQLite and for tracking IRIS transactions over the DB-API."""

import re

_SQL_TOKEN = re.compile(r"""
      '[^']*(?:''[^']*)*'?            # string literal; unterminated runs to the end
    | "[^"]*(?:""[^"]*)*"?            # quoted identifier
    | `[^`]*(?:``[^`]*)*`?            # MySQL-style identifier (SQLite accepts it)
    | \[[^\]]*\]?                     # [identifier] (SQLite accepts it)
    | --[^\n]*                        # line comment
    | /\*.*?(?:\*/|\Z)                # block comment
    | \?(\d*)                         # placeholder: ? or ?NNN
    | ([A-Za-z_][A-Za-z0-9_$]*)       # word
""", re.VERBOSE | re.DOTALL)


def _null_marker(index):
    # NULL, spelled so that a column named after the expression (SQLite
    # names it by its source text) can be traced back to the placeholder.
    return "CAST(NULL AS _iw_p%d)" % index


class ScannedSql:
    """SQL with each placeholder replaced by a NULL marker, the parameter count, the first word."""

    __slots__ = ("nulled", "placeholders", "param_count", "first_word")

    def __init__(self, sql):
        count = 0
        placeholders = []
        words = []  # only the first is kept; comments and literals are skipped

        def substitute(match):
            nonlocal count
            number, word = match.group(1), match.group(2)
            if number is not None:
                # SQLite numbering: ?NNN is parameter NNN, a bare ? is the
                # largest number so far plus one.
                count = max(count, int(number)) if number else count + 1
                placeholders.append(match.group(0))
                return _null_marker(len(placeholders) - 1)
            if word and not words:
                words.append(word.upper())
            return match.group(0)

        self.nulled = _SQL_TOKEN.sub(substitute, sql)
        self.placeholders = placeholders
        self.param_count = count
        self.first_word = words[0] if words else ""

    def original_name(self, name):
        """A column name the NULL-marked text produced, as the original text produces it."""
        for index, placeholder in enumerate(self.placeholders):
            name = name.replace(_null_marker(index), placeholder)
        return name


# First words of the statements that return rows and can become a view.
QUERY_WORDS = ("SELECT", "VALUES", "WITH")
# SQL that is empty or only comments: running it does nothing.
EMPTY_SQL = re.compile(r"(?:\s|;|--[^\n]*|/\*.*?\*/)*\Z", re.DOTALL)
_DECLARED_TYPE = re.compile(r"[^(]*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def declared_type(decl):
    """``(type_name, precision, scale)`` from a declared type such as ``NUMERIC(10,2)``."""
    match = _DECLARED_TYPE.match(decl)
    if not match:
        return decl.strip().lower(), 0, 0
    return decl.strip().lower(), int(match.group(1)), int(match.group(2) or 0)


_TRANSACTION_START = re.compile(r"\s*(START\s+TRANSACTION|BEGIN)\b", re.IGNORECASE)
_TRANSACTION_END = re.compile(r"\s*(COMMIT|ROLLBACK(?!\s+TO\b))\b", re.IGNORECASE)


def transaction_after(sql, in_transaction):
    """Transaction state after ``sql`` succeeded, from its leading keywords."""
    if _TRANSACTION_START.match(sql):
        return True
    if _TRANSACTION_END.match(sql):
        return False
    return in_transaction
