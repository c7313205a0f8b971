"""Settings: precedence, profiles, every bad value named with its source."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_stillme.builtin import builtin_registry
from pytest_stillme.core.config import ConfigError, load_settings, parse_fail_on
from pytest_stillme.core.findings import Severity
from pytest_stillme.core.suppressions import SuppressionsError, load_suppressions

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


def test_defaults(tmp_path: Path) -> None:
    s = load(tmp_path)
    assert s.gate is False
    assert s.sarif_path is None
    assert s.coverage_min == 85.0
    assert not s.coverage_explicit
    assert s.thresholds["sast"] is Severity.HIGH
    assert s.thresholds["deps"] is Severity.CRITICAL
    assert s.thresholds["lint"] is Severity.LOW
    assert s.env == "development"


def test_gate_on_implies_default_sarif(tmp_path: Path) -> None:
    s = load(tmp_path, options={"stillme_gate": True})
    assert s.sarif_path == tmp_path / "artifacts" / "stillme.sarif"


def test_precedence_option_env_ini_pyproject(tmp_path: Path) -> None:
    table = {"gate": {"sast": "low"}, "sarif": "from-pyproject.sarif"}
    assert load(tmp_path, table).thresholds["sast"] is Severity.LOW
    ini = {"stillme_gate_sast": "medium", "stillme_sarif": "from-ini.sarif"}
    s = load(tmp_path, table, ini)
    assert s.thresholds["sast"] is Severity.MEDIUM
    assert s.sarif == "from-ini.sarif"
    env = {"STILLME_GATE_SAST": "critical", "STILLME_SARIF": "from-env.sarif"}
    s = load(tmp_path, table, ini, environ=env)
    assert s.thresholds["sast"] is Severity.CRITICAL
    assert s.origins["gate.sast"] == "environment variable STILLME_GATE_SAST"
    s = load(tmp_path, table, ini, {"stillme_fail_on": {"sast": "info"}, "stillme_sarif": "cli.sarif"}, env)
    assert s.thresholds["sast"] is Severity.INFO
    assert s.sarif == "cli.sarif"


def test_production_profile_is_stricter(tmp_path: Path) -> None:
    prod = load(tmp_path, environ={"STILLME_ENV": "production"})
    dev = load(tmp_path)
    for category in ("sast", "deps", "container", "dast", "fuzz"):
        assert prod.thresholds[category] < dev.thresholds[category]  # type: ignore[operator]


def test_profile_table_overrides_base(tmp_path: Path) -> None:
    table = {"gate": {"dast": "high"}, "profiles": {"staging": {"gate": {"dast": "low", "coverage": 90}}}}
    s = load(tmp_path, table, options={"stillme_env": "staging"})
    assert s.thresholds["dast"] is Severity.LOW
    assert s.coverage_min == 90.0
    assert load(tmp_path, table).thresholds["dast"] is Severity.HIGH


def test_bad_values_all_reported_with_source(tmp_path: Path) -> None:
    table = {"gate": {"sast": "hgh", "coverage": 120}, "sarf": "x"}
    with pytest.raises(ConfigError) as info:
        load(tmp_path, table, ini={"stillme_gate": "perhaps"}, environ={"STILLME_ENV": "prod"})
    problems = info.value.problems
    text = "\n".join(problems)
    assert "invalid severity 'hgh' for gate.sast in pyproject.toml" in text
    assert "invalid coverage minimum 120 for gate.coverage in pyproject.toml" in text
    assert "unknown key 'sarf' in [tool.stillme] of pyproject.toml" in text
    assert "invalid boolean 'perhaps' for gate in pytest.ini (key stillme_gate)" in text
    assert "invalid environment 'prod' for env in environment variable STILLME_ENV" in text
    assert len(problems) == 5


def test_fail_on_parsing() -> None:
    assert parse_fail_on(["sast=medium", "deps=high"]) == {"sast": "medium", "deps": "high"}
    with pytest.raises(ValueError, match="CATEGORY=SEVERITY"):
        parse_fail_on(["sast"])
    with pytest.raises(ValueError, match="category one of"):
        parse_fail_on(["nope=high"])


def test_tool_categories(tmp_path: Path) -> None:
    s = load(tmp_path, {"tools": {"Semgrep": "sast", "grype": "container"}})
    assert s.tool_categories == {"semgrep": "sast", "grype": "container"}
    with pytest.raises(ConfigError, match=r"invalid category 'bogus' for tools\.x"):
        load(tmp_path, {"tools": {"x": "bogus"}})


def test_suppressions_file(tmp_path: Path) -> None:
    (tmp_path / ".stillme-suppressions.toml").write_text(
        '[[suppress]]\nrule = "B101"\nlocation = "tests/*"\nreason = "asserts in tests"\nexpires = 2099-01-01\n'
        '[[suppress]]\nfingerprint = "abc"\nreason = "accepted"\nexpires = "2020-01-01"\n'
    )
    s = load(tmp_path)
    assert [x.rule or x.fingerprint for x in s.suppressions] == ["B101", "abc"]
    assert s.suppressions[1].expires == date(2020, 1, 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[suppress]]\nrule = "B1"\nexpires = 2099-01-01\n', "entry 1: 'reason' is required"),
        ('[[suppress]]\nrule = "B1"\nreason = "r"\n', "entry 1: 'expires' is required"),
        ('[[suppress]]\nreason = "r"\nexpires = 2099-01-01\n', "entry 1: give a 'fingerprint', or a 'rule'"),
        ('[[suppress]]\nrule = "B1"\nreason = "r"\nexpires = 2099-01-01\nwhy = 1\n', "unknown key(s) why"),
        ("[[suppress]\n", "cannot read suppressions"),
        ('suppress = "x"\n', "must be an array of tables"),
        (
            '[[suppress]]\nrule = "B1"\nreason = "r"\nexpires = 2099-01-01\nline = -1\n',
            "'line' must be a whole number, 0",
        ),
        (
            '[[suppress]]\nrule = "B1"\nreason = "r"\nexpires = 2099-01-01\nline = true\n',
            "'line' must be a whole number",
        ),
    ],
)
def test_bad_suppressions(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(body)
    with pytest.raises(SuppressionsError) as info:
        load_suppressions(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_configured_suppressions_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="suppressions file not found"):
        load(tmp_path, {"suppressions": "missing.toml"})


toml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.dates(),
    st.lists(st.text(max_size=5), max_size=3),
)
keys = st.sampled_from(
    [
        "gate",
        "sarif",
        "markdown",
        "reports",
        "env",
        "log_level",
        "report_category",
        "automation_id",
        "suppressions",
        "bogus",
        "tools",
        "profiles",
    ]
)
gate_keys = st.sampled_from(["coverage", "sast", "deps", "container", "dast", "fuzz", "lint", "slo", "nope"])


@settings(max_examples=100, deadline=None)
@given(
    table=st.dictionaries(
        keys, st.one_of(toml_scalars, st.dictionaries(gate_keys, toml_scalars, max_size=4)), max_size=6
    ),
    env=st.dictionaries(
        st.sampled_from(
            [
                "STILLME_ENV",
                "STILLME_GATE",
                "STILLME_COVERAGE",
                "STILLME_GATE_SAST",
                "STILLME_REPORTS",
                "STILLME_LOG_LEVEL",
            ]
        ),
        st.text(max_size=8),
        max_size=3,
    ),
)
def test_any_input_gives_settings_or_config_error(
    tmp_path_factory: pytest.TempPathFactory, table: dict[str, Any], env: dict[str, str]
) -> None:
    root = tmp_path_factory.getbasetemp()
    try:
        s = load(root, table, environ=env)
    except ConfigError as exc:
        problems = exc.problems
    else:
        problems = []
        assert s.env in ("development", "staging", "production")
        assert s.coverage_min is None or 0 <= s.coverage_min <= 100
    assert all(isinstance(p, str) and p for p in problems)
