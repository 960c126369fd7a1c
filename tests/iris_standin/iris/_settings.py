"""The stand-in's switches, read once from the environment.

IRIS_STANDIN_STRICT: "1" (default) refuses what IRIS refuses (rules.py) and
applies IRIS's semantics (_ddl.py, _rewrite.py, _functions.py, _results.py,
_engine.py); "0" is the lenient stand-in the IRIS-path tests were written
against (SQLite's dialect, version "0.0.0-standin").

IRIS_STANDIN_PASSWORD_SHA256: when set, the SHA-256 (hex) of the password a
login must give: connect()'s ``password`` (the DB-API), or IRISPASSWORD in
the process's environment when embedded Python enters a namespace
(irispython logs in with it). A digest, so a test can look for the password
itself in a worker's environment.

IRIS_STANDIN_VERSION: 2024.1, 2024.3 or 2025.1 (default), the IRIS release
to imitate. It gates the features that appeared in a release (LIMIT/OFFSET,
HNSW, FLOAT vectors) and is what %SYSTEM.Version and $ZVERSION report.
"""

import hashlib
import os

STRICT = os.environ.get("IRIS_STANDIN_STRICT", "1").strip() not in ("0", "false", "no", "off")

PASSWORD_SHA256 = os.environ.get("IRIS_STANDIN_PASSWORD_SHA256")


def check_password(given):
    """Refuses a login as IRIS does when IRIS_STANDIN_PASSWORD_SHA256 is set and `given` differs."""
    if PASSWORD_SHA256 is None:
        return
    if hashlib.sha256((given or "").encode("utf-8")).hexdigest() != PASSWORD_SHA256.lower():
        raise RuntimeError("Access Denied")

# Release -> (build, build date), shaped as $ZVERSION prints them:
# "<product> for <platform> (<cpu>) <version> (Build <n>U) <date>"
# (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RCOS_vzversion).
# Build numbers and dates are illustrative, not those of a real kit.
_RELEASES = {
    "2024.1": ("267U", "Tue Apr 30 2024 16:06:39 EDT"),
    "2024.3": ("217U", "Fri Nov 15 2024 10:21:33 EST"),
    "2025.1": ("223U", "Tue Mar 11 2025 18:14:42 EDT"),
}

VERSION = os.environ.get("IRIS_STANDIN_VERSION", "2025.1").strip() or "2025.1"
if VERSION not in _RELEASES:
    raise ValueError("IRIS_STANDIN_VERSION must be one of %s, not %r" % (", ".join(_RELEASES), VERSION))
VERSION_TUPLE = tuple(int(part) for part in VERSION.split("."))

ZVERSION = "IRIS for UNIX (Ubuntu Server LTS for x86-64 Containers) %s (Build %s) %s" % (
    VERSION, _RELEASES[VERSION][0], _RELEASES[VERSION][1])


def at_least(major, minor):
    """Whether the imitated release is ``major.minor`` or later."""
    return VERSION_TUPLE >= (major, minor)
