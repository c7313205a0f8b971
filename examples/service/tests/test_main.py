"""``python -m inventory``: configuration from the environment and the uvicorn hand-off."""

from __future__ import annotations

import runpy
import sys
from typing import Any

import pytest
import uvicorn

from inventory.__main__ import main, server_address


def test_defaults() -> None:
    assert server_address({}) == ("127.0.0.1", 8000)


def test_environment_overrides() -> None:
    assert server_address({"INVENTORY_HOST": "::1", "INVENTORY_PORT": "9001"}) == ("::1", 9001)
    assert server_address({"INVENTORY_HOST": ""}) == ("127.0.0.1", 8000)


@pytest.mark.parametrize("port", ["", "0", "65536", "http", "-1", "80.5", "\u0668\u0660"])
def test_invalid_port_is_a_clean_exit(port: str) -> None:
    with pytest.raises(SystemExit, match="INVENTORY_PORT must be an integer between 1 and 65535"):
        server_address({"INVENTORY_PORT": port})


def test_main_runs_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.setenv("INVENTORY_PORT", "8123")
    monkeypatch.delenv("INVENTORY_HOST", raising=False)
    main()
    assert calls == [(("inventory.app:app",), {"host": "127.0.0.1", "port": 8123})]


def test_python_dash_m(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("INVENTORY_HOST", "127.0.0.1")
    monkeypatch.setenv("INVENTORY_PORT", "8124")
    monkeypatch.delitem(sys.modules, "inventory.__main__", raising=False)
    runpy.run_module("inventory", run_name="__main__", alter_sys=False)
    assert calls == [{"host": "127.0.0.1", "port": 8124}]
