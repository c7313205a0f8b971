"""Documentation that is generated from the code stays in step with it."""

from __future__ import annotations

from pathlib import Path

from pytest_stillme.report.settings_table import settings_table

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_configuration_reference_lists_every_declared_setting() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    start = text.index("<!-- settings:start -->\n") + len("<!-- settings:start -->\n")
    end = text.index("<!-- settings:end -->")
    assert text[start:end] == settings_table(), "run: stillme settings, and paste it into docs/configuration.md"
