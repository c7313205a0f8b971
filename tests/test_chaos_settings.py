"""Chaos settings: precedence option > environment > ini > [tool.stillme.chaos], every bad value named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_stillme.builtin import builtin_registry
from pytest_stillme.chaos.seeds import SeedError, derive, resolve_session_seed, seed_for_test
from pytest_stillme.chaos.settings import chaos_settings
from pytest_stillme.core.config import ConfigError, load_settings
from pytest_stillme.core.findings import Severity

DECLARED = tuple(builtin_registry().settings.values())


def load(
    table: dict[str, Any] | None = None,
    ini: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
) -> Any:
    ini = ini or {}
    settings = load_settings(
        root=Path("."),
        declared=DECLARED,
        pyproject={"chaos": table} if table else {},
        ini=lambda key: ini.get(key, ""),
        ini_name="tox.ini",
        options=options or {},
        environ=env or {},
    )
    return chaos_settings(settings.table("chaos"), settings.origins)


def test_defaults() -> None:
    settings = load()
    assert (settings.run, settings.seed, settings.timeout, settings.integration_timeout) == (False, "random", 600, 300)
    assert (settings.grace, settings.isolate, settings.session_budget, settings.escalate) == (5.0, "off", None, True)
    assert settings.timeout_severity is Severity.MEDIUM


def test_precedence_option_env_ini_table() -> None:
    table = {"timeout": 10, "integration_timeout": 11, "grace": 1, "isolate": "all"}
    ini = {"stillme_chaos_timeout": "20", "stillme_integration_timeout": "21", "stillme_chaos_grace": "2"}
    env = {"STILLME_CHAOS_TIMEOUT": "30", "STILLME_INTEGRATION_TIMEOUT": "31"}
    options = {"stillme_chaos_timeout": "40"}
    settings = load(table, ini, env, options)
    assert (settings.timeout, settings.integration_timeout, settings.grace, settings.isolate) == (40, 31, 2, "all")
    assert settings.origins == {
        "timeout": "--stillme-chaos-timeout",
        "integration_timeout": "environment variable STILLME_INTEGRATION_TIMEOUT",
        "grace": "tox.ini (key stillme_chaos_grace)",
        "isolate": "pyproject.toml",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("off", None), (0, None), ("0", None), ("2.5", 2.5), ("3s", 3.0), (False, None), (7, 7.0)],
)
def test_timeouts_accept_seconds_or_off(raw: object, expected: float | None) -> None:
    assert load({"timeout": raw}).timeout == expected


def test_seed_forms() -> None:
    assert load({"seed": 12}).seed == 12
    assert load(options={"stillme_chaos_seed": "0x10"}).seed == 16
    assert load(env={"STILLME_CHAOS_SEED": "LAST"}).seed == "last"
    assert load(ini={"stillme_chaos_seed": "random"}).seed == "random"


def test_every_bad_value_is_reported_with_its_source() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load(
            {"timeout": -1, "timout": 3, "isolate": "sometimes", "timeout_severity": "hgh"},
            ini={"stillme_chaos_grace": "0"},
            env={"STILLME_SESSION_BUDGET": "soon", "STILLME_CHAOS": "maybe"},
            options={"stillme_chaos_seed": "-4"},
        )
    assert sorted(excinfo.value.problems) == sorted(
        [
            "unknown key 'chaos.timout' in [tool.stillme.chaos] of pyproject.toml (known: escalate, grace, "
            "integration_timeout, isolate, run, seed, session_budget, timeout, timeout_severity, worker)",
            "invalid timeout -1 for chaos.timeout in pyproject.toml (a number of seconds > 0, or off)",
            "invalid isolation 'sometimes' for chaos.isolate in pyproject.toml (use off, chaos or all)",
            "invalid severity 'hgh' for chaos.timeout_severity in pyproject.toml "
            "(use info, low, medium, high, critical or off)",
            "invalid grace period '0' for chaos.grace in tox.ini (key stillme_chaos_grace) (a number of seconds > 0)",
            "invalid session budget 'soon' for chaos.session_budget in environment variable STILLME_SESSION_BUDGET "
            "(a number of seconds > 0, or off)",
            "invalid boolean 'maybe' for chaos.run in environment variable STILLME_CHAOS (use true or false)",
            "invalid seed '-4' for chaos.seed in --stillme-chaos-seed "
            "(a whole number from 0 to 2**64-1, last or random)",
        ]
    )


class FakeCache:
    def __init__(self, stored: object = None) -> None:
        self.stored = stored

    def get(self, key: str, default: object) -> object:
        return self.stored if self.stored is not None else default


def test_session_seed_resolution() -> None:
    assert resolve_session_seed(42, None) == (42, "given")
    assert resolve_session_seed("last", FakeCache(7)) == (7, "last")
    seed, how = resolve_session_seed("random", None)
    assert how == "random"
    assert 0 <= seed < 2**32
    with pytest.raises(SeedError, match="no seed stored"):
        resolve_session_seed("last", FakeCache())
    with pytest.raises(SeedError, match="cache, which is disabled"):
        resolve_session_seed("last", None)


def test_test_seeds_depend_on_session_seed_and_test_id_only() -> None:
    assert seed_for_test(1, "t.py::a") == seed_for_test(1, "t.py::a")
    assert len({seed_for_test(1, "t.py::a"), seed_for_test(2, "t.py::a"), seed_for_test(1, "t.py::b")}) == 3
    assert derive(5, "x", 1) == derive(5, "x", 1) != derive(5, "x", 2)
    # blake2b of the text: the same value in every process, on every platform and Python version.
    assert seed_for_test(1, "t.py::a") == 0x5E0B744D7029D0A8


def test_bad_settings_stop_the_session_with_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.stillme.chaos]\ntimeout = "soon"\nisolate = "maybe"\n')
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--stillme-chaos-grace=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*pytest-stillme configuration:",
            "*invalid timeout 'soon' for chaos.timeout in *pyproject.toml*",
            "*invalid isolation 'maybe' for chaos.isolate*",
            "*invalid grace period '-1' for chaos.grace in --stillme-chaos-grace*",
        ]
    )
    assert "Traceback" not in result.stderr.str()
