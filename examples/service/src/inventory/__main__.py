"""``python -m inventory``: serve the app with uvicorn (INVENTORY_HOST / INVENTORY_PORT).

``INVENTORY_TEST_FAULTS=1`` serves it behind the test-only fault switch (:mod:`inventory.faults`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import uvicorn

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def server_address(env: Mapping[str, str]) -> tuple[str, int]:
    """Host and port from the environment; a bad port is a startup error, not a crash."""
    host = env.get("INVENTORY_HOST", DEFAULT_HOST) or DEFAULT_HOST
    raw_port = env.get("INVENTORY_PORT", str(DEFAULT_PORT))
    if not raw_port.isascii() or not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
        raise SystemExit(f"INVENTORY_PORT must be an integer between 1 and 65535, got {raw_port!r}")
    return host, int(raw_port)


def app_ref(env: Mapping[str, str]) -> str:
    """The app to serve: behind the fault switch only when a test asked for it."""
    return "inventory.faults:app" if env.get("INVENTORY_TEST_FAULTS") == "1" else "inventory.app:app"


def main() -> None:
    host, port = server_address(os.environ)
    uvicorn.run(app_ref(os.environ), host=host, port=port)


if __name__ == "__main__":
    main()
