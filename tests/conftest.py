"""Shared fixtures: a project folder for pytester sessions that use the plugin."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

#: A module under test with a known coverage shape: 3 of 6 statements run by
#: ``test_add`` alone (50 %), all of them with ``test_all``.
PACKAGE = """
def add(a, b):
    return a + b


def sign(x):
    if x < 0:
        return -1
    return 1
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A small project: package ``pkg`` and nothing else; tests add their own files."""
    pytester.mkpydir("pkg")
    (pytester.path / "pkg" / "__init__.py").write_text(PACKAGE)
    return pytester


def load_sarif(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def sarif_results(path: Path) -> set[tuple[str, str, str, str]]:
    """(tool, ruleId, fingerprint, level) of every result: comparable across runs, ignoring order."""
    data = load_sarif(path)
    return {
        (run["tool"]["driver"]["name"], r["ruleId"], r["partialFingerprints"]["stillme/v1"], r.get("level", ""))
        for run in data["runs"]
        for r in run["results"]
    }


@pytest.fixture(autouse=True)
def _inner_sessions_without_hypothesis_plugin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester sessions leave Hypothesis's own pytest plugin out unless a test says it needs it.

    That plugin costs about 2 s per inner session here (in process as in a subprocess), which
    across several hundred sessions is most of the suite's time; the sessions that test
    ``--hypothesis-seed`` or profiles keep it (``@pytest.mark.hypothesis_plugin``).
    """
    if "pytester" in request.fixturenames and request.node.get_closest_marker("hypothesis_plugin") is None:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when it starts: set it after that
        current = os.environ.get("PYTEST_ADDOPTS", "")
        monkeypatch.setenv("PYTEST_ADDOPTS", f"{current} -p no:hypothesispytest".strip())
