"""The framed pipe protocol: frames in and out, request payloads, the errors
that travel as ``E`` frames. Specified in ``docs/bridge-protocol.md``."""

import io
import marshal
import os
import struct
import sys

PROTOCOL_VERSION = 1
MAX_FRAME = 1 << 30  # docs/bridge-protocol.md: a longer frame is a protocol error

# ``Q`` flag bit 0: also report declared column types.
FLAG_DESCRIBE = 1

_HEADER = struct.Struct(">cI")
_SQL_LENGTH = struct.Struct(">I")


def log(message):
    """One line on stderr, which the front end forwards to its own log."""
    sys.stderr.write("iriswire-worker[%d]: %s\n" % (os.getpid(), message))
    sys.stderr.flush()


class WorkerError(Exception):
    """An error reported to the client as an ``E`` frame."""

    def __init__(self, sqlstate, message, detail=None, hint=None, backend_code=None):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint
        self.backend_code = backend_code
        # PostgreSQL's fields naming the object an error is about (class 23).
        self.schema = None
        self.table = None
        self.column = None
        self.constraint = None
        # For an ``M`` request: the index of the parameter tuple that failed,
        # when the driver can tell (sent as the ``E`` frame's seventh field).
        self.row = None


class ProtocolError(Exception):
    """The byte stream cannot be trusted any more; the worker must exit."""


class Channel:
    """Frames over two file descriptors: buffered reads, one write call per send."""

    def __init__(self, read_fd, write_fd):
        # Our own buffered reader on the fd: sys.stdin may be replaced by the
        # host (IRIS maps the standard streams) and must not steal bytes.
        self._reader = io.open(read_fd, "rb", buffering=1 << 16, closefd=False)
        self._write_fd = write_fd

    def read_frame(self):
        """Return ``(tag, payload)``, or None at a clean end of input."""
        header = self._reader.read(_HEADER.size)
        if not header:
            return None
        if len(header) < _HEADER.size:
            raise ProtocolError("end of input inside a frame header")
        tag, length = _HEADER.unpack(header)
        if length > MAX_FRAME:
            raise ProtocolError("frame of %d bytes exceeds the 1 GiB limit" % length)
        payload = self._reader.read(length)
        if len(payload) < length:
            raise ProtocolError("end of input inside a frame payload")
        return tag, payload

    def send(self, parts):
        """Write header/payload pieces with as few write() calls as the pipe allows."""
        view = memoryview(b"".join(parts))
        while view:
            view = view[os.write(self._write_fd, view):]


# Version 2, the last without back-references (version 3 added them): a
# payload that holds one tuple object twice (a description whose columns
# share a type tuple, a result that repeats a row object) would otherwise
# carry a reference to a container, which the front end's borrowing decoder
# cannot follow. It costs three bytes per short string.
MARSHAL_VERSION = 2


def dumps(value):
    """``marshal.dumps`` in the version the front end reads."""
    return marshal.dumps(value, MARSHAL_VERSION)


def frame(tag, payload):
    """Header and payload as separate pieces, so a send joins them once."""
    return [_HEADER.pack(tag, len(payload)), payload]


def error_frame(error, in_transaction):
    fields = (error.sqlstate, error.message, error.detail, error.hint,
              error.backend_code, bool(in_transaction),
              error.schema, error.table, error.column, error.constraint)
    if error.row is not None:
        fields += (error.row,)
    return frame(b"E", dumps(fields))


def batch_frames(rows):
    """``B`` frames for ``rows``, split in halves in the rare case one passes 1 GiB."""
    payload = dumps(rows)
    if len(payload) <= MAX_FRAME:
        return frame(b"B", payload)
    if len(rows) == 1:
        raise WorkerError("54000", "row is too large to send (over 1 GiB)")
    half = len(rows) // 2
    return batch_frames(rows[:half]) + batch_frames(rows[half:])


def parse_query(payload):
    """``(flags, sql, params)`` of a ``Q`` payload; 08P01 when it is malformed."""
    try:
        flags = payload[0]
        (sql_length,) = _SQL_LENGTH.unpack_from(payload, 1)
        sql = payload[5:5 + sql_length].decode("utf-8")
        params = marshal.loads(payload[5 + sql_length:])
    except (IndexError, struct.error, UnicodeDecodeError, ValueError, EOFError, TypeError) as exc:
        raise WorkerError("08P01", "malformed Q request: %s" % exc)
    return flags, sql, params


def parse_many(payload):
    """``(sql, rows)`` of an ``M`` payload: the statement and its list of
    parameter tuples; 08P01 when it is malformed."""
    try:
        (sql_length,) = _SQL_LENGTH.unpack_from(payload, 0)
        sql = payload[4:4 + sql_length].decode("utf-8")
        rows = marshal.loads(payload[4 + sql_length:])
    except (IndexError, struct.error, UnicodeDecodeError, ValueError, EOFError, TypeError) as exc:
        raise WorkerError("08P01", "malformed M request: %s" % exc)
    if not isinstance(rows, list):
        raise WorkerError("08P01", "malformed M request: the parameters are not a list")
    return sql, rows


def parse_lock_timeout(payload):
    """The milliseconds of an ``L`` payload (a big-endian u32); 08P01 when malformed."""
    if len(payload) != 4:
        raise WorkerError("08P01", "malformed L request: %d bytes" % len(payload))
    return _SQL_LENGTH.unpack(payload)[0]


def parse_prepare(payload):
    """The SQL text of a ``P`` payload; 08P01 when it is not UTF-8."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkerError("08P01", "malformed P request: %s" % exc)
