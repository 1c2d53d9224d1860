"""Say which backends `make test` will use, and check they answer.

Prints shell statements for the Makefile to eval: nothing when the configured services answer,
``unset`` lines to fall back to the embedded default when they don't (unless REQUIRE_SERVICES=1,
in which case it exits 1). Messages go to stderr.
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlparse


def _reachable(url: str, default_port: int) -> str | None:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as exc:
        return f"{host}:{port} unreachable ({exc})"


def main() -> int:
    required = os.environ.get("REQUIRE_SERVICES") == "1"
    shell: list[str] = []
    names = []
    for var, default_port, label, fallback in (
        ("DATABASE_URL", 5432, "PostgreSQL", "SQLite file"),
        ("REDIS_URL", 6379, "Redis", "file broker + database cache"),
    ):
        url = os.environ.get(var, "")
        if not url:
            if required:
                print(f"REQUIRE_SERVICES=1 but {var} is not set", file=sys.stderr)
                return 1
            names.append(fallback)
            continue
        problem = _reachable(url, default_port)
        if problem is None:
            names.append(f"{label} ({urlparse(url).hostname}:{urlparse(url).port or default_port})")
        elif required:
            print(f"REQUIRE_SERVICES=1 and {label} is not reachable: {problem}", file=sys.stderr)
            return 1
        else:
            print(f"warning: {label} {problem}; falling back to {fallback}", file=sys.stderr)
            shell.append(f"unset {var}")
            names.append(fallback)
    print("Testing against: " + ", ".join(names), file=sys.stderr)
    print("\n".join(shell))
    return 0


if __name__ == "__main__":
    sys.exit(main())
