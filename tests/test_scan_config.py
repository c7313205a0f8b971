"""Scanner settings: ``scan`` and the scanner tables, with the same precedence and error style as the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_stillme.builtin import builtin_registry
from pytest_stillme.core.config import ConfigError, load_settings

REGISTRY = builtin_registry()
DECLARED = tuple(REGISTRY.settings.values())
SCANNERS = tuple(REGISTRY.scanners)


def load(
    tmp_path: Path,
    table: dict[str, Any] | None = None,
    ini: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
):
    ini = ini or {}
    return load_settings(
        root=tmp_path,
        declared=DECLARED,
        scanners=SCANNERS,
        pyproject=table or {},
        ini=lambda key: ini.get(key, ""),
        ini_name="pytest.ini",
        options=options or {},
        environ=environ or {},
    )


def given(settings: Any, table: str) -> dict[str, Any]:
    """The settings of one table that some layer set (not the defaults)."""
    return {k: v for k, v in settings.table(table).items() if settings.values.is_set(f"{table}.{k}")}


def problems(tmp_path: Path, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as excinfo:
        load(tmp_path, **kwargs)
    return "\n".join(excinfo.value.problems)


def test_scan_from_every_source_by_precedence(tmp_path: Path) -> None:
    assert load(tmp_path).scan == ()
    assert load(tmp_path, {"scan": ["bandit", "ruff"]}).scan == ("bandit", "ruff")
    assert load(tmp_path, {"scan": ["bandit"]}, ini={"stillme_scan": "mypy\nruff"}).scan == ("mypy", "ruff")
    assert load(tmp_path, {"scan": ["bandit"]}, environ={"STILLME_SCAN": "ruff,mypy"}).scan == ("ruff", "mypy")
    s = load(
        tmp_path, {"scan": "bandit"}, environ={"STILLME_SCAN": "ruff"}, options={"stillme_scan": ["Bandit", "mypy"]}
    )
    assert s.scan == ("bandit", "mypy")
    assert s.origins["scan"] == "--stillme-scan"
    assert load(tmp_path, {"scan": ["bandit", "bandit"]}).scan == ("bandit",)
    assert load(tmp_path, {"scan": ["bandit"]}, options={"stillme_scan": ["none"]}).scan == ()


def test_unknown_scanner_named_with_its_source(tmp_path: Path) -> None:
    text = problems(tmp_path, table={"scan": ["bandit", "bandt"]}, environ={"STILLME_SCAN": "pylint"})
    assert "unknown scanner 'bandt' for scan in pyproject.toml (use bandit, mypy, " in text
    assert "pip-audit, ruff, " in text
    assert ", or none)" in text
    assert "unknown scanner 'pylint' for scan in environment variable STILLME_SCAN" in text
    assert "invalid scanner list 3" in problems(tmp_path, table={"scan": 3})


def test_scanner_tables_are_settings(tmp_path: Path) -> None:
    table = {
        "bandit": {
            "paths": ["src", "lib"],
            "severity": "Medium",
            "command": "python3 -m bandit --quiet",
            "timeout": "90s",
            "scan_tests": True,
        },
        "ruff": {"format": False, "command": ["ruff"]},
    }
    s = load(tmp_path, table)
    assert given(s, "bandit") == {
        "paths": ("src", "lib"),
        "severity": "medium",
        "command": ("python3", "-m", "bandit", "--quiet"),
        "timeout": 90.0,
        "scan_tests": True,
    }
    assert given(s, "ruff") == {"format": False, "command": ("ruff",)}
    assert s.table("bandit")["confidence"] == ""  # the declared default
    assert load(tmp_path, {"bandit": {"paths": "src"}}).table("bandit")["paths"] == ("src",)


def test_scanner_settings_by_precedence(tmp_path: Path) -> None:
    table = {"bandit": {"timeout": 10}, "profiles": {"production": {"bandit": {"severity": "high"}}}}
    assert given(load(tmp_path, table), "bandit") == {"timeout": 10.0}
    s = load(tmp_path, table, environ={"STILLME_ENV": "production"})
    assert given(s, "bandit") == {"timeout": 10.0, "severity": "high"}
    s = load(tmp_path, table, ini={"stillme_bandit_timeout": "20"}, environ={"STILLME_BANDIT_TIMEOUT": "30"})
    assert s.table("bandit")["timeout"] == 30.0
    assert s.origins["bandit.timeout"] == "environment variable STILLME_BANDIT_TIMEOUT"
    s = load(tmp_path, ini={"stillme_bandit_paths": "src\nlib", "stillme_ruff_format": "false"})
    assert (given(s, "bandit"), given(s, "ruff")) == ({"paths": ("src", "lib")}, {"format": False})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"bandit": {"severity": "hgh"}}, "invalid level 'hgh' for bandit.severity in pyproject.toml (use all, low"),
        ({"bandit": {"timeout": 0}}, "invalid timeout 0 for bandit.timeout in pyproject.toml (a number of seconds"),
        ({"bandit": {"timeout": "soon"}}, "invalid timeout 'soon' for bandit.timeout"),
        ({"bandit": {"timeout": True}}, "invalid timeout True for bandit.timeout"),
        ({"mypy": {"command": ""}}, "invalid command '' for mypy.command in pyproject.toml (expected a program"),
        ({"mypy": {"command": "mypy 'open"}}, 'invalid command "mypy \'open": No closing quotation'),
        ({"ruff": {"command": 3}}, "invalid command 3 for ruff.command"),
        ({"ruff": {"format": "maybe"}}, "invalid boolean 'maybe' for ruff.format"),
        ({"bandit": {"paths": [1]}}, "invalid path 1 for bandit.paths"),
        (
            {"bandit": {"sevrity": "low"}},
            "unknown key 'bandit.sevrity' in [tool.stillme.bandit] of pyproject.toml (known: ",
        ),
        ({"bandit": 3}, "unknown key 'bandit' in [tool.stillme]"),
    ],
)
def test_bad_scanner_settings(tmp_path: Path, table: dict[str, Any], message: str) -> None:
    assert message in problems(tmp_path, table=table)


def test_unknown_key_lists_the_table(tmp_path: Path) -> None:
    text = problems(tmp_path, table={"bandit": {"sevrity": "low"}})
    assert "(known: command, confidence, config, paths, scan_tests, severity, timeout)" in text
    text = problems(tmp_path, table={"sarf": 1})
    assert "unknown key 'sarf'" in text
    assert "bandit" in text
    assert "scan" in text
