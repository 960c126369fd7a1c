"""The images' HEALTHCHECK: GET /health/ready on iriswire's HTTP port.

Exit 0 when iriswire answers 200 (the listener accepts and a bridge worker
ran ``SELECT 1`` in time), 1 otherwise, printing why. Standard library
only: it runs under the image's Python (irispython in the IRIS image,
python3 in the slim one), so the images need no curl.

The address is ``IRISWIRE_HTTP_LISTEN`` when set, the same variable that
moves iriswire's own ``http_listen``, else ``127.0.0.1:9930`` (the port of
docker/iriswire.toml). A wildcard host is probed on loopback.
"""

import os
import sys
import urllib.error
import urllib.request

READY_PATH = "/health/ready"
DEFAULT_LISTEN = "127.0.0.1:9930"
TIMEOUT_S = 4.0
WILDCARDS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "": "127.0.0.1"}


def ready_url(listen):
    host, _, port = listen.rpartition(":")
    host = WILDCARDS.get(host, host)
    return f"http://{host}:{port}{READY_PATH}"


def main():
    url = ready_url(os.environ.get("IRISWIRE_HTTP_LISTEN") or DEFAULT_LISTEN)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as reply:
            print(f"{url}: {reply.status}")
            return 0
    except urllib.error.HTTPError as e:
        print(f"{url}: {e.code} {e.read(500).decode(errors='replace')}")
    except OSError as e:
        print(f"{url}: {e}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
