"""IRIS's errors as PostgreSQL's: SQLCODE to SQLSTATE, and the texts of a
failed %Status, of the DB-API client and of a refused connection."""

import re

from .iris_error_text import reword
from .protocol import WorkerError

# SQLCODE -> SQLSTATE. SQLCODE meanings from the IRIS "SQL Error Messages"
# reference.
IRIS_SQLSTATES = {
    -1: "42601", -2: "42601", -3: "42601", -4: "42601", -5: "42601", -6: "42601",
    -7: "42601", -8: "42601", -9: "42601", -10: "42601", -11: "42601", -12: "42601",
    -13: "42601", -14: "42601", -15: "42601", -16: "42601", -17: "42601", -18: "42601",
    -19: "42803",   # aggregate in WHERE/GROUP BY
    -20: "42712",   # name conflict in FROM
    -22: "42601", -23: "42P01", -24: "42702", -25: "42601", -26: "42601",
    -27: "42702",   # ambiguous field
    -28: "42601",
    -29: "42703",   # field not found
    -30: "42P01",   # table or view not found
    -31: "42703", -33: "42703",
    -35: "0A000", -36: "0A000", -37: "0A000", -40: "0A000",
    -51: "42601",
    -99: "42501",   # privilege violation
    -101: "24000", -102: "24000", -103: "24000",
    -107: "428C9",  # cannot update the RowID
    -108: "23502",  # required field missing
    -110: "55P03", -114: "55P03",  # lock conflicts
    -111: "428C9", -112: "42501", -116: "42601", -117: "0A000", -118: "42704",
    -119: "23505", -120: "23505", -125: "23505",  # unique / primary key
    -121: "23503", -122: "23503", -123: "23503", -124: "23503", -127: "23503",
    -126: "2BP01",
    -130: "09000", -131: "09000", -132: "09000", -133: "09000", -134: "09000", -135: "09000",
    -136: "44000", -137: "44000",  # WITH CHECK OPTION
    -138: "428C9",
    -139: "40001",  # row version changed under us
    -140: "22011", -141: "22P02", -144: "0A000",
    -149: "38000",  # an SQL function raised an error
    -201: "42P07",  # table or view name not unique
    -257: "22000",  # vectors of different lengths (pgvector: "different vector dimensions")
    -258: "42804", -259: "42804",  # a non-numeric vector; vectors of different element types
    -306: "42701", -311: "42701", -307: "42P16", -315: "42704", -324: "42P07",
    -359: "42883",  # user defined SQL function does not exist
    -400: "XX000",
    -401: "08006", -402: "28P01", -405: "08006", -406: "08006", -407: "08006", -408: "08001",
    -417: "42501", -428: "42883", -429: "42883",
    -450: "57014",  # request timed out
    -461: "08006",
}

# ObjectScript errors behind SQLCODE -400 that have a precise SQLSTATE.
_IRIS_SYSTEM_ERRORS = (("<DIVIDE>", "22012"), ("<MAXNUMBER>", "22003"))

_STATUS_SQLCODE = re.compile(r"SQLCODE:?\s*<?(-?\d+)>?")
_STATUS_MESSAGE = re.compile(r"Message:\s*(.*)", re.DOTALL)
_DBAPI_MSG = re.compile(r"\[%msg:\s*<(.*?)>\]", re.DOTALL)
_DBAPI_TEXT = re.compile(r"\[SQLCODE:\s*<-?\d+>:<(.*?)>\]", re.DOTALL)


def iris_error(sqlcode, message):
    """WorkerError for an IRIS SQLCODE and %msg."""
    message = (message or "").strip()
    sqlstate = IRIS_SQLSTATES.get(sqlcode)
    if sqlcode == -400:
        sqlstate = next((s for marker, s in _IRIS_SYSTEM_ERRORS if marker in message), sqlstate)
    elif sqlcode == -104 or sqlcode == -105:  # field validation failed
        if "MAXLEN" in message or "length longer" in message:
            sqlstate = "22001"
        elif "MAXVAL" in message or "MINVAL" in message:
            sqlstate = "22003"
        else:
            sqlstate = "22P02"
    if sqlstate is None:
        sqlstate = "42000" if -99 <= sqlcode <= -1 else "XX000"
    error = WorkerError(sqlstate, message or "SQLCODE %d" % sqlcode,
                        detail="SQLCODE: %d" % sqlcode, backend_code=sqlcode)
    return reword(error, sqlcode, message)


def iris_status_error(text):
    """WorkerError for a failed %Status (``ERROR #5540: SQLCODE: -30 Message: ...``)."""
    code = _STATUS_SQLCODE.search(text)
    if code is None:
        return WorkerError("XX000", text)
    message = _STATUS_MESSAGE.search(text)
    return iris_error(int(code.group(1)), message.group(1) if message else text)


def iris_exception(exc):
    """WorkerError for an exception from the IRIS client or the embedded bridge.

    The DB-API driver words errors as ``[SQLCODE: <-30>:<Table or view not
    found>] [Location: <Prepare>] [%msg: <Table 'SQLUSER.X' not found>]``;
    some versions also set ``sqlcode`` on the exception.
    """
    text = str(exc)
    sqlcode = getattr(exc, "sqlcode", None)
    if sqlcode is None:
        match = _STATUS_SQLCODE.search(text)
        if match is None:
            return WorkerError("XX000", text)
        sqlcode = int(match.group(1))
    message = _DBAPI_MSG.search(text) or _DBAPI_TEXT.search(text)
    return iris_error(-abs(int(sqlcode)), message.group(1) if message else text)


def iris_connect_error(exc, namespace):
    """WorkerError for a failed connect(): unknown namespace, bad login, or unreachable."""
    text = str(exc)
    lowered = text.lower()
    if "namespace" in lowered:
        return WorkerError("3D000", 'namespace "%s" does not exist' % namespace, detail=text)
    if "access denied" in lowered or "password" in lowered or "authentication" in lowered:
        return WorkerError("28P01", "IRIS rejected the username or password", detail=text)
    return WorkerError("08001", "could not connect to IRIS: %s" % text)
