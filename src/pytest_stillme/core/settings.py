"""Settings declared once: name, type, default, option, ini key, environment variable and help.

Every setting of stillme, of its scanners and of its stages is a
:class:`Setting`.  Declaring one is all it takes: the pytest layer adds its
command-line option and ini key (sharing the help text, pytest-timeout's
way), :func:`resolve` reads it from every layer in one precedence order, and
every bad value is reported with the exact source it came from::

    Setting("fuzz.examples", parse=integer(minimum=1), default=100,
            help="examples per endpoint", option="--stillme-fuzz-examples")

The key is dotted: ``fuzz.examples`` lives in ``[tool.stillme.fuzz]`` as
``examples``, in ini files as ``stillme_fuzz_examples``, in the environment as
``STILLME_FUZZ_EXAMPLES``.  Parsers take the raw value (TOML's typed values,
or the strings of ini files, the environment and options) and return the
typed one or raise :class:`Bad`.

Precedence, highest first: command-line option, environment variable, ini
key, the active profile's table, ``[tool.stillme]``, the built-in profile,
the default.  No pytest here.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .findings import CATEGORIES, Severity

__all__ = [
    "Bad",
    "Resolved",
    "Setting",
    "boolean",
    "category",
    "choice",
    "command",
    "integer",
    "mapping",
    "number",
    "path",
    "paths",
    "resolve",
    "seconds",
    "severity",
    "text",
    "threshold",
    "words",
]


class Bad(ValueError):
    """A bad value: what is wrong, and separately what would be right."""

    def __init__(self, message: str, hint: str = "", subkey: str = "") -> None:
        self.message = message
        self.hint = hint
        #: The entry of a table setting that is bad (``tools.grype``), named after the setting's key.
        self.subkey = subkey
        super().__init__(f"{message} ({hint})" if hint else message)


Parser = Callable[[Any], Any]
_NAME = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$")


@dataclass(frozen=True)
class Setting:
    """One setting and every name it goes by."""

    #: Dotted key inside ``[tool.stillme]``: ``gate``, ``gate.sast``, ``fuzz.examples``.
    key: str
    parse: Parser
    #: The value when no layer sets it (already typed; never parsed).
    default: Any = None
    help: str = ""
    #: Command-line flag (``--stillme-fuzz-examples``); "" for none.
    option: str = ""
    metavar: str = ""
    #: ``store``, ``append`` (repeatable: a list) or ``store_true``.
    action: str = "store"
    #: ini key and environment variable; derived from the key when empty, "-" for none.
    ini: str = ""
    env: str = ""
    #: A list setting read one item a line from ini files (pytest's ``linelist``).
    ini_list: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.key):
            raise ValueError(f"invalid setting key {self.key!r}: lower-case dotted names only")
        slug = self.key.replace(".", "_").replace("-", "_")
        if not self.ini:
            object.__setattr__(self, "ini", f"stillme_{slug}")
        if not self.env:
            object.__setattr__(self, "env", f"STILLME_{slug.upper()}")
        if self.action not in ("store", "append", "store_true"):
            raise ValueError(f"setting {self.key!r}: unknown action {self.action!r}")

    @property
    def dest(self) -> str:
        """The argparse destination of the option."""
        return self.option.lstrip("-").replace("-", "_") if self.option else ""

    @property
    def table(self) -> str:
        """The ``[tool.stillme.<table>]`` the key lives in ("" for a top-level key)."""
        return self.key.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.key.rpartition(".")[2]

    def source_option(self) -> str:
        return self.option or "the command line"


# -- parsers ------------------------------------------------------------------------------------


_OFF = ("off", "none", "false", "no")


def boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise Bad(f"invalid boolean {raw!r}", "use true or false")


def text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Bad(f"invalid value {raw!r}", "expected a non-empty string")
    return raw.strip()


def path(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Bad(f"invalid path {raw!r}", "expected a non-empty string")
    return raw.strip()


def paths(raw: Any) -> tuple[str, ...]:
    """A list of paths: TOML list, ini lines, or ``os.pathsep``-separated in the environment."""
    if isinstance(raw, str):
        items: list[Any] = [p for p in raw.replace(os.pathsep, "\n").splitlines() if p.strip()]
    elif isinstance(raw, (list, tuple)):
        items = list(raw)
    else:
        raise Bad(f"invalid list of paths {raw!r}", "expected a list of strings")
    return tuple(path(item) for item in items)


def words(raw: Any, what: str = "list") -> tuple[str, ...]:
    """Names from TOML (a list), ini (one a line) or the environment (commas or spaces)."""
    if isinstance(raw, str):
        return tuple(w for w in raw.replace(",", " ").split() if w)
    if isinstance(raw, (list, tuple)) and all(isinstance(w, str) for w in raw):
        return tuple(w for item in raw for w in item.replace(",", " ").split() if w)
    raise Bad(f"invalid {what} {raw!r}", "expected a list of names")


def choice(*options: str, what: str = "value") -> Parser:
    def parse(raw: Any) -> str:
        value = str(raw).strip().lower()
        if value not in options:
            raise Bad(f"invalid {what} {raw!r}", f"use {', '.join(options)}")
        return value

    return parse


def category(raw: Any) -> str:
    result: str = choice(*CATEGORIES, what="category")(raw)
    return result


_SEVERITY_HINT = "use info, low, medium, high, critical or off"


def severity(raw: Any) -> Severity:
    if not isinstance(raw, (str, Severity)) or isinstance(raw, bool):
        raise Bad(f"invalid severity {raw!r}", _SEVERITY_HINT.removesuffix(" or off"))
    try:
        return Severity.parse(raw)
    except ValueError:
        raise Bad(f"invalid severity {raw!r}", _SEVERITY_HINT.removesuffix(" or off")) from None


def threshold(raw: Any) -> Severity | None:
    """A gate threshold: a severity, or ``None`` for off (``never`` too)."""
    if isinstance(raw, Severity) or raw is None:
        return raw
    if raw is False or (isinstance(raw, str) and raw.strip().lower() in (*_OFF, "never")):
        return None
    if not isinstance(raw, str):
        raise Bad(f"invalid severity {raw!r}", _SEVERITY_HINT)
    try:
        return Severity.parse(raw)
    except ValueError:
        raise Bad(f"invalid severity {raw!r}", _SEVERITY_HINT) from None


def _number_text(raw: Any) -> str:
    if isinstance(raw, bool):
        raise ValueError(raw)
    return str(raw).strip()


def number(
    minimum: float | None = None, maximum: float | None = None, *, what: str = "number", unit: str = ""
) -> Parser:
    """A finite float within bounds (a trailing ``unit`` such as ``%``, ``s`` or ``ms`` is allowed)."""
    bounds = _bounds_hint(minimum, maximum)

    def parse(raw: Any) -> float:
        try:
            textual = _number_text(raw)
            if unit and textual.endswith(unit):
                textual = textual[: -len(unit)].strip()
            value = float(textual)
        except ValueError:
            raise Bad(f"invalid {what} {raw!r}", f"a number{bounds}") from None
        if (
            not math.isfinite(value)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            raise Bad(f"invalid {what} {raw!r}", f"a number{bounds}")
        return value

    return parse


def integer(minimum: int | None = None, maximum: int | None = None, *, what: str = "number") -> Parser:
    bounds = _bounds_hint(minimum, maximum)

    def parse(raw: Any) -> int:
        try:
            value = int(_number_text(raw), 10)
        except ValueError:
            raise Bad(f"invalid {what} {raw!r}", f"a whole number{bounds}") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise Bad(f"invalid {what} {raw!r}", f"a whole number{bounds}")
        return value

    return parse


def _bounds_hint(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f" of at least {minimum:g}"
    if maximum is not None:
        return f" of at most {maximum:g}"
    return ""


def seconds(*, allow_off: bool = False, what: str = "timeout") -> Parser:
    """Seconds above 0 (``5``, ``5s``, ``500ms``); with ``allow_off``, ``off``/``0`` give ``None``."""
    hint = "a number of seconds above 0" + (", or off" if allow_off else "")

    def parse(raw: Any) -> float | None:
        if allow_off and (raw is False or (isinstance(raw, str) and raw.strip().lower() in _OFF)):
            return None
        try:
            textual = _number_text(raw).lower()
            scale = 1.0
            if textual.endswith("ms"):
                textual, scale = textual[:-2], 0.001
            elif textual.endswith("s"):
                textual = textual[:-1]
            value = float(textual.strip()) * scale
        except ValueError:
            raise Bad(f"invalid {what} {raw!r}", hint) from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_off):
            raise Bad(f"invalid {what} {raw!r}", hint)
        return value or None

    return parse


def command(raw: Any) -> tuple[str, ...]:
    """A command line: a list of words, or one string split as a POSIX shell would."""
    if isinstance(raw, str):
        try:
            parts = shlex.split(raw)
        except ValueError as exc:
            raise Bad(f"invalid command {raw!r}: {exc}", "check the quotes") from None
    elif isinstance(raw, (list, tuple)) and all(isinstance(w, str) for w in raw):
        parts = list(raw)
    else:
        raise Bad(f"invalid command {raw!r}", "expected a string or a list of strings")
    if not parts or not parts[0].strip():
        raise Bad(f"invalid command {raw!r}", "expected a program to run")
    return tuple(parts)


def mapping(value_parser: Parser, *, what: str = "table") -> Parser:
    """A TOML table, or ``name=value`` pairs (comma- or line-separated) from ini, env or options."""

    def parse(raw: Any) -> dict[str, Any]:
        items: Iterable[tuple[str, Any]]
        if isinstance(raw, Mapping):
            items = raw.items()
        elif isinstance(raw, (str, list, tuple)):
            pairs = []
            for word in words(raw, what) if not isinstance(raw, str) else re.split(r"[,\n]", raw):
                if not str(word).strip():
                    continue
                name, sep, value = str(word).partition("=")
                if not sep or not name.strip():
                    raise Bad(f"invalid {what} entry {word!r}", "use NAME=VALUE")
                pairs.append((name.strip(), value.strip()))
            items = pairs
        else:
            raise Bad(f"invalid {what} {raw!r}", "expected a table of NAME = VALUE")
        result = {}
        for name, value in items:
            try:
                result[str(name)] = value_parser(value)
            except Bad as exc:
                raise Bad(exc.message, exc.hint, subkey=str(name)) from None
        return result

    return parse


# -- resolution ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """Raw values of one source, by setting key, and how to name that source in a message."""

    values: Mapping[str, Any]
    describe: Callable[[Setting], str]


@dataclass(frozen=True)
class Resolved:
    """Typed values by key (every declared key, defaults included) and where each set one came from."""

    values: Mapping[str, Any]
    origins: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def is_set(self, key: str) -> bool:
        return key in self.origins

    def table(self, name: str) -> dict[str, Any]:
        """The settings of ``[tool.stillme.<name>]`` by their short names (defaults included)."""
        prefix = f"{name}."
        return {
            k[len(prefix) :]: v for k, v in self.values.items() if k.startswith(prefix) and "." not in k[len(prefix) :]
        }


def problem_line(exc: Bad, key: str, source: str) -> str:
    """The line reporting a bad value: "invalid X for KEY in SOURCE (hint)"."""
    hint = f" ({exc.hint})" if exc.hint else ""
    where = f"{key}.{exc.subkey}" if exc.subkey else key
    return f"{exc.message} for {where} in {source}{hint}"


def resolve(settings: Sequence[Setting], layers: Sequence[Layer], problems: list[str]) -> Resolved:
    """Parse each layer's values, lowest precedence first, so a later layer wins.

    A bad value adds a line naming its source to ``problems``; keys that are
    not declared are ignored here (the layer that reads them reports them).
    """
    by_key = {s.key: s for s in settings}
    values: dict[str, Any] = {s.key: s.default for s in settings}
    origins: dict[str, str] = {}
    for layer in layers:
        for key, raw in layer.values.items():
            spec = by_key.get(key)
            if spec is None:
                continue
            try:
                values[key] = spec.parse(raw)
                origins[key] = layer.describe(spec)
            except Bad as exc:
                problems.append(problem_line(exc, key, layer.describe(spec)))
    return Resolved(values, origins)
