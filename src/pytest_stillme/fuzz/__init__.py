"""Fuzzing HTTP apps from a test: the ``fuzz`` fixture and what it is made of.

``fuzz(app)`` finds what to fuzz by itself (a served OpenAPI document, the
framework's routes, a crawl of links and forms), sends hypothesis-generated
values mixed with attack payloads, runs named checks over every exchange and
differential probes that catch defects answering 200, and fails the test
with every distinct finding, each with a minimal request as ``curl`` and
Python.  See ``docs/fuzz.md``.

Importing this package imports neither hypothesis nor httpx: the public
names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checks import Check, CheckRegistry, check
    from .declare import endpoint
    from .model import Endpoint, Exchange, Failure, Param, Reply, Request
    from .probes import Probe

__all__ = [
    "Check",
    "CheckRegistry",
    "Endpoint",
    "Exchange",
    "Failure",
    "Param",
    "Probe",
    "Reply",
    "Request",
    "check",
    "endpoint",
]

_WHERE = {
    "Check": "checks",
    "CheckRegistry": "checks",
    "check": "checks",
    "endpoint": "declare",
    "Endpoint": "model",
    "Exchange": "model",
    "Failure": "model",
    "Param": "model",
    "Reply": "model",
    "Request": "model",
    "Probe": "probes",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_stillme.fuzz' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
