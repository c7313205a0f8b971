"""The configuration reference, written from the settings' own declarations so it cannot drift.

``stillme settings`` prints it; ``docs/configuration.md`` holds it, and a test
checks that the two agree.  No pytest here.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["settings_table"]


def _shown(value: Any) -> str:
    if value is None or value == () or value == {} or value == "":
        return "-"
    if isinstance(value, enum.Enum):
        return str(value.name).lower()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _key(key: str) -> str:
    table, _, name = key.rpartition(".")
    return f"`{name}` in `[tool.stillme.{table}]`" if table else f"`{key}`"


def settings_table() -> str:
    """One Markdown row per declared setting, grouped by table, in declaration order."""
    from ..builtin import builtin_registry

    rows = [
        "| setting | pyproject.toml | ini key | environment | option | default | meaning |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for setting in builtin_registry().settings.values():
        option = f"`{setting.option}`" if setting.option else "-"
        ini = f"`{setting.ini}`" if setting.ini != "-" else "-"
        env = f"`{setting.env}`" if setting.env != "-" else "-"
        rows.append(
            f"| {setting.key} | {_key(setting.key)} | {ini} | {env} | {option} | "
            f"{_cell(_shown(setting.default))} | {_cell(setting.help)} |"
        )
    return "\n".join(rows) + "\n"
