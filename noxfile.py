"""The test suite on every supported Python, one command: ``nox`` (or ``make pythons``).

``nox -s tests-3.12`` runs one of them; ``nox -s tests -- -k sarif`` passes arguments to pytest.
Interpreters are found on PATH as ``python3.X``; installs made with pyenv are found too, even
when pyenv has not made them global (``~/.pyenv/versions/3.X.*/bin``).
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


def _pyenv_bins() -> list[str]:
    """pyenv's interpreters of the supported versions, newest patch of each, for PATH."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found: list[str] = []
    for version in PYTHONS:
        candidates = sorted(
            root.glob(f"{version}.*"), key=lambda p: [int(x) for x in p.name.split(".")[2:3] if x.isdigit()]
        )
        if candidates and (candidates[-1] / "bin" / f"python{version}").exists():
            found.append(str(candidates[-1] / "bin"))
    return found


os.environ["PATH"] = os.pathsep.join([*_pyenv_bins(), os.environ.get("PATH", "")])


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    workers = os.environ.get("PYTEST_WORKERS", "2")
    session.run("python", "-m", "pytest", "-n", workers, "-q", "-p", "no:randomly", *session.posargs, "tests")


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff and mypy on the oldest supported Python (what mypy checks the code against)."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "examples")
    session.run("mypy")
