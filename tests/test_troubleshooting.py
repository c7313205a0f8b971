"""docs/troubleshooting.md lists every error message of the code, and nothing else.

The messages are read from the source with :mod:`ast`, never imported or
run, so the doc cannot drift from the code in either direction:

* a message added to the code without a row in the doc fails
  :func:`test_every_message_in_the_code_is_in_the_troubleshooting_doc`;
* a row whose message is gone from the code fails
  :func:`test_every_message_in_the_doc_is_still_in_the_code`.

What counts as a message (the *sinks*):

* the message argument of every exception raised or built: the built-in ones
  (``ValueError(...)``), ``pytest.UsageError``/``fail``/``skip``/``exit``, and
  every exception class defined under ``src/`` (its ``message``, ``problem``
  or ``problems`` parameter, else its first argument), plus what an
  exception class's ``__str__`` or ``super().__init__`` builds;
* the ``message``/``problem``/``problems`` argument of every other class that
  carries one (``ScannerError``, ``Coverage``, the deployment checks' results),
  except the few in :data:`NOT_ERRORS` whose text is a finding's, not an error's;
* the details of a gate row (``core/gate.py``'s ``Check``), what is
  appended to a list named ``...problems`` or ``...details`` (or to a local
  list that ends up in ``reasons`` or is returned by ``problems()``), the
  items of a literal ``problems = (...)``, and a test report's ``longrepr``;
* the message argument of a helper that passes its parameter on to a sink
  (``_fail(where, problem)``, ``self.fail(message, hint)``), found by the
  extractor itself: called in its module, imported by another
  (``from .jsonpath import raise_invalid as _fail``), or the default of a
  parameter (``fail=raise_invalid``).

A message argument is followed through string concatenation, conditional
expressions, ``str.format`` on a literal, local and module-level variables,
and calls of functions of the same module (their ``return`` values).

The key of a message is its text with every interpolated part replaced by
``…`` and whitespace folded: ``f"{tool} timed out after {limit:g} s"`` is
``… timed out after … s``.  A message with no text of its
own (``f"{where}: {exc}"``, ``f"{message} for {key}"``: fewer than five letters) only passes
another message on and is no key.

Not followed (so not keyed): hints (the "what to do" half of a ``ScannerError``
or ``Bad``), warnings and notes, and a message handed back inside a tuple
(``return {}, f"unknown argument(s) ..."`` in ``chaos/markers.py``).
"""

from __future__ import annotations

import ast
import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "pytest_stillme"
DOC = ROOT / "docs" / "troubleshooting.md"
PACKAGE = "pytest_stillme"

#: What stands for an interpolated part in a key.
HOLE = "…"

BUILTIN_EXCEPTIONS = frozenset(
    {
        "BaseException",
        "Exception",
        "ValueError",
        "TypeError",
        "RuntimeError",
        "KeyError",
        "LookupError",
        "AttributeError",
        "AssertionError",
        "NotImplementedError",
        "OSError",
    }
)
#: ``pytest.<name>(message)``: the message is the first argument.
PYTEST_CALLS = frozenset({"UsageError", "fail", "skip", "exit"})
#: Parameter and field names that hold a message, most specific first.
MESSAGE_NAMES = ("message", "problem", "problems", "msg")
#: Parameters through which a helper passes a message on (``_fail(where, problem)``).
WRAPPER_PARAMS = (*MESSAGE_NAMES, "reason", "text", "detail", "why")
#: Classes with a ``message`` field whose text is not an error message.
NOT_ERRORS = {
    "Finding": "a finding's own text (what a scanner found), shown as the finding",
    "Failure": "a fuzz check's finding, shown as the finding",
    "AppError": "the text of an exception the app under test raised, quoted in a fuzz finding",
}
#: Sinks that are no exception and have no message field: (module, class) -> (index, keyword).
EXTRA_SINKS = {(f"{PACKAGE}.core.gate", "Check"): (4, "details")}
#: ``<...>problems.append(message)``, ``details.insert(0, message)``.
LIST_SINK = re.compile(r"(problems|details)$")
#: A local list that ends up in one of these is a list of messages too: ``reasons = tuple(back + fail)``,
#: ``return tuple(found)`` in a ``problems`` property.
LIST_FLOW = re.compile(r"problems|reasons")
#: A key must have this many letters of its own (else it only passes another message on).
MIN_LETTERS = 5

DOC_START = "<!-- messages:start -->"
DOC_END = "<!-- messages:end -->"


# --------------------------------------------------------------------------- the extractor


_Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class _Class:
    module: str
    name: str
    bases: list[str]
    params: list[str] | None  # __init__'s parameters (without self), or the fields of a dataclass
    init: bool  # params come from an __init__
    node: ast.ClassDef


@dataclass
class _Module:
    name: str
    path: str
    tree: ast.Module
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # alias -> (module, name)
    constants: dict[str, list[ast.expr]] = field(default_factory=lambda: defaultdict(list))
    functions: dict[str, list[_Function]] = field(default_factory=lambda: defaultdict(list))
    #: Helpers of this module that pass a parameter on to a sink: name -> (index, keyword).
    wrappers: dict[str, tuple[int, str]] = field(default_factory=dict)


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute module of ``from <level dots><target> import ...`` inside ``module``."""
    if level == 0:
        return target or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _load(sources: Mapping[str, str]) -> list[_Module]:
    """Modules by their path relative to the package (``core/gate.py``)."""
    modules = []
    for rel, text in sorted(sources.items()):
        dotted = rel.removesuffix(".py").replace("/", ".")
        is_package = dotted.endswith("__init__")
        dotted = dotted.removesuffix(".__init__").removesuffix("__init__")
        name = f"{PACKAGE}.{dotted}" if dotted else PACKAGE
        module = _Module(name, rel, ast.parse(text, filename=rel))
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ImportFrom):
                origin = _absolute(name, is_package, node.level, node.module)
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = (origin, alias.name)
        for node in module.tree.body:
            for target, value in _assignments(node):
                module.constants[target].append(value)
        for node in ast.walk(module.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                module.functions[node.name].append(node)
        modules.append(module)
    return modules


def _classes(modules: Iterable[_Module]) -> dict[tuple[str, str], _Class]:
    found = {}
    for module in modules:
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.ClassDef):
                continue
            init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
            if init is not None:
                params: list[str] | None = [a.arg for a in init.args.args[1:]]
            else:
                fields = [t for n in node.body if isinstance(n, ast.AnnAssign) for t, _ in _assignments(n, value=False)]
                params = fields or None
            bases = [_call_name(b) for b in node.bases]
            found[(module.name, node.name)] = _Class(module.name, node.name, bases, params, init is not None, node)
    return found


class _Extractor:
    def __init__(self, sources: Mapping[str, str]) -> None:
        self.modules = _load(sources)
        self.classes = _classes(self.modules)
        self.by_module = {m.name: m for m in self.modules}
        self._contexts: dict[int, tuple[frozenset[str], dict[str, tuple[int, str]]]] = {}
        self._deriving = False
        self._lists: dict[int, frozenset[str]] = {}
        self.by_name: dict[str, list[_Class]] = defaultdict(list)
        for cls in self.classes.values():
            self.by_name[cls.name].append(cls)
        self.sinks: dict[tuple[str, str], tuple[int, str]] = {}
        for key, cls in self.classes.items():
            spec = self._class_sink(cls)
            if spec is not None:
                self.sinks[key] = spec
        self.sinks.update(EXTRA_SINKS)

    # -- which calls are sinks

    def _base_class(self, name: str, module: str) -> _Class | None:
        here = self.classes.get((module, name))
        if here is not None:
            return here
        candidates = self.by_name.get(name, [])
        return candidates[0] if len(candidates) == 1 else None

    def is_exception(self, cls: _Class, seen: frozenset[str] = frozenset()) -> bool:
        for base in cls.bases:
            if base in BUILTIN_EXCEPTIONS:
                return True
            parent = self._base_class(base, cls.module)
            if parent is not None and parent.name not in seen and self.is_exception(parent, seen | {cls.name}):
                return True
        return False

    def _class_sink(self, cls: _Class) -> tuple[int, str] | None:
        if cls.name in NOT_ERRORS:
            return None
        params = cls.params
        if self.is_exception(cls):
            # Without an __init__ of its own, an exception takes its parent's (or the built-in message first).
            probe: _Class | None = cls
            while probe is not None and not probe.init:
                probe = next((p for b in probe.bases if (p := self._base_class(b, probe.module)) is not None), None)
            if probe is None:
                return (0, "")
            params = probe.params or []
            named = next((p for p in MESSAGE_NAMES if p in params), None)
            return (params.index(named), named) if named else (-1, "")
        named = next((p for p in MESSAGE_NAMES if params and p in params), None)
        if params and named:
            return (params.index(named), named)
        return None

    def resolve_class(self, module: _Module, func: ast.expr) -> tuple[str, str] | None:
        if isinstance(func, ast.Name):
            if (module.name, func.id) in self.classes:
                return (module.name, func.id)
            if func.id in module.imports:
                return module.imports[func.id]
            return None
        if isinstance(func, ast.Attribute):
            candidates = self.by_name.get(func.attr, [])
            if len(candidates) == 1:
                return (candidates[0].module, candidates[0].name)
        return None

    def wrapper(self, module: _Module, name: str) -> tuple[int, str] | None:
        """A helper of the module, or one it imports, that passes a message on."""
        if name in module.wrappers:
            return module.wrappers[name]
        origin, original = module.imports.get(name, ("", ""))
        source = self.by_module.get(origin)
        return source.wrappers.get(original) if source is not None else None

    def _context(self, module: _Module, fn: _Function | None) -> tuple[frozenset[str], dict[str, tuple[int, str]]]:
        """The function's lists of messages, and its parameters that default to a helper (``fail=raise_invalid``)."""
        if fn is None:
            return frozenset(), {}
        cached = self._contexts.get(id(fn))
        if cached is not None:
            return cached
        args = fn.args.args + fn.args.kwonlyargs
        defaults = [*([None] * (len(fn.args.args) - len(fn.args.defaults))), *fn.args.defaults, *fn.args.kw_defaults]
        aliases = {}
        for arg, default in zip(args, defaults, strict=True):
            if isinstance(default, ast.Name) and (spec := self.wrapper(module, default.id)) is not None:
                aliases[arg.arg] = spec
        lists = self._lists.get(id(fn))
        if lists is None:
            lists = self._lists[id(fn)] = _message_lists(fn)
        context = (lists, aliases)
        if not self._deriving:  # helpers found later may still turn a default into an alias
            self._contexts[id(fn)] = context
        return context

    def sink(self, module: _Module, call: ast.Call, fn: _Function | None = None) -> tuple[int, str] | None:
        """How to find the message among the call's arguments, if the call takes one."""
        func = call.func
        name = _call_name(func)
        lists, aliases = self._context(module, fn)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "pytest":
            return (0, "reason" if name != "UsageError" else "") if name in PYTEST_CALLS else None
        if isinstance(func, ast.Attribute) and name in ("append", "insert"):
            held = _call_name(func.value)
            if LIST_SINK.search(held) or (isinstance(func.value, ast.Name) and held in lists):
                return (len(call.args) - 1, "")
        if isinstance(func, ast.Name) and func.id in aliases:
            return aliases[func.id]
        own = isinstance(func, ast.Name) or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls")
        )
        if own and (spec := self.wrapper(module, name)) is not None:
            return spec
        key = self.resolve_class(module, func)
        if key is not None:
            return self.sinks.get(key)
        if isinstance(func, ast.Name) and func.id in BUILTIN_EXCEPTIONS:
            return (0, "")
        return None

    @staticmethod
    def argument(call: ast.Call, spec: tuple[int, str]) -> ast.expr | None:
        index, keyword = spec
        for kw in call.keywords:
            if keyword and kw.arg == keyword:
                return kw.value
        if 0 <= index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
            return call.args[index]
        return None

    # -- helpers that pass a message on

    def derive_wrappers(self) -> None:
        """Helpers that pass a parameter on to a sink become sinks, across modules, until nothing changes."""
        self._deriving = True
        changed = True
        while changed:
            changed = False
            for module in self.modules:
                for name, defs in module.functions.items():
                    if name in module.wrappers or name.startswith("__") or len(defs) != 1:
                        continue
                    fn = defs[0]
                    params = [a.arg for a in fn.args.args]
                    offset = 1 if params[:1] in (["self"], ["cls"]) else 0
                    for call in ast.walk(fn):
                        if not isinstance(call, ast.Call) or (spec := self.sink(module, call, fn)) is None:
                            continue
                        arg = self.argument(call, spec)
                        used = {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)} if arg is not None else set()
                        passed = [p for p in params if p in used and p in WRAPPER_PARAMS]
                        if passed:
                            module.wrappers[name] = (params.index(passed[0]) - offset, passed[0])
                            changed = True
                            break
        self._deriving = False

    # -- message texts

    def templates(
        self, module: _Module, node: ast.expr, env: Mapping[str, list[ast.expr]], depth: int = 0, whole: bool = True
    ) -> list[str]:
        """The texts ``node`` can be, with ``…`` for what varies.

        Alternatives (``a if c else b``, a helper's several ``return``s) are followed only where they
        make the whole message; inside a longer message they are one varying part.
        """
        if depth > 8:
            return [HOLE]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.JoinedStr):
            return ["".join(str(v.value) if isinstance(v, ast.Constant) else HOLE for v in node.values)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.templates(module, node.left, env, depth + 1, whole=False)
            right = self.templates(module, node.right, env, depth + 1, whole=False)
            return [a + b for a in left for b in right]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            base = node.func.value
            if isinstance(base, ast.Constant) and isinstance(base.value, str):
                return [re.sub(r"\{[^{}]*\}", HOLE, base.value)]
        if isinstance(node, ast.Name) and node.id in env:
            rest = {k: v for k, v in env.items() if k != node.id}
            values = env[node.id]
            if not whole and len(values) > 1:
                return [HOLE]
            return [t for value in values for t in self.templates(module, value, rest, depth + 1, whole)] or [HOLE]
        if not whole:
            return [HOLE]
        if isinstance(node, ast.IfExp):
            return self.templates(module, node.body, env, depth + 1) + self.templates(
                module, node.orelse, env, depth + 1
            )
        if isinstance(node, ast.BoolOp):
            return [t for v in node.values for t in self.templates(module, v, env, depth + 1)]
        if isinstance(node, (ast.Tuple, ast.List)):
            return [t for v in node.elts for t in self.templates(module, v, env, depth + 1)]
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            return self.templates(module, node.elt, env, depth + 1)
        if isinstance(node, ast.Call) and _call_name(node.func) in ("tuple", "list") and len(node.args) == 1:
            return self.templates(module, node.args[0], env, depth + 1)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in module.functions:
            out = []
            for fn in module.functions[node.func.id]:
                inner = self.environment(module, fn)
                for ret in ast.walk(fn):
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        out += self.templates(module, ret.value, inner, depth + 2)
            return out or [HOLE]
        return [HOLE]

    def environment(self, module: _Module, fn: ast.AST | None) -> dict[str, list[ast.expr]]:
        env: dict[str, list[ast.expr]] = defaultdict(list, {k: list(v) for k, v in module.constants.items()})
        if fn is None:
            return env
        local: dict[str, list[ast.expr]] = defaultdict(list)
        for node in ast.walk(fn):
            for target, value in _assignments(node):
                local[target].append(value)
        env.update(local)
        return env

    # -- everything

    def messages(self) -> Iterator[tuple[str, str]]:
        """(key, "path:line") of every message."""
        self.derive_wrappers()
        for module in self.modules:
            owner: dict[int, _Function] = {}
            for outer in ast.walk(module.tree):
                if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for node in ast.walk(outer):
                        owner[id(node)] = outer  # the innermost function wins: walk visits outer ones first
            for node in ast.walk(module.tree):
                fn = owner.get(id(node))
                if isinstance(node, ast.Call) and (spec := self.sink(module, node, fn)) is not None:
                    arg = self.argument(node, spec)
                    if arg is not None:
                        env = self.environment(module, fn)
                        for text in self.templates(module, arg, env):
                            yield text, f"{module.path}:{node.lineno}"
                elif isinstance(node, ast.ClassDef):
                    yield from self._exception_texts(module, node)
                elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and t.attr == "longrepr" for t in node.targets
                ):
                    for text in self.templates(module, node.value, self.environment(module, fn)):
                        yield text, f"{module.path}:{node.lineno}"
                elif (elements := _message_tuple(node)) is not None:
                    env = self.environment(module, fn)
                    for element in elements:
                        for text in self.templates(module, element, env):
                            yield text, f"{module.path}:{element.lineno}"

    def _exception_texts(self, module: _Module, node: ast.ClassDef) -> Iterator[tuple[str, str]]:
        """What an exception class builds itself: ``__str__``'s return, ``super().__init__(text)``."""
        cls = self.classes[(module.name, node.name)]
        if not self.is_exception(cls):
            return
        for fn in node.body:
            if not isinstance(fn, ast.FunctionDef) or fn.name not in ("__str__", "__init__"):
                continue
            env = self.environment(module, fn)
            for inner in ast.walk(fn):
                if fn.name == "__str__" and isinstance(inner, ast.Return) and inner.value is not None:
                    for text in self.templates(module, inner.value, env):
                        yield text, f"{module.path}:{inner.lineno}"
                if fn.name == "__init__" and isinstance(inner, ast.Call) and _is_super_init(inner):
                    for arg in inner.args:
                        for text in self.templates(module, arg, env):
                            yield text, f"{module.path}:{inner.lineno}"


def _assignments(node: ast.AST, *, value: bool = True) -> list[tuple[str, ast.expr]]:
    """``(name, value)`` of ``name = value`` and ``name: T = value`` (``value=False``: annotations alone too)."""
    if isinstance(node, ast.Assign):
        return [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        if node.value is not None:
            return [(node.target.id, node.value)]
        if not value:
            return [(node.target.id, node.target)]
    return []


def _is_super_init(call: ast.Call) -> bool:
    """``super().__init__(...)``."""
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and _call_name(func.value.func) == "super"
    )


def _message_tuple(node: ast.AST) -> list[ast.expr] | None:
    """The items of ``problems = ("...", ...)``: a literal list of messages."""
    for target, value in _assignments(node):
        if LIST_FLOW.fullmatch(target) and isinstance(value, (ast.Tuple, ast.List)) and value.elts:
            return value.elts
    return None


def _message_lists(fn: ast.AST) -> frozenset[str]:
    """Local lists whose items become messages: ``reasons = tuple(back + fail)``, ``return found`` in ``problems()``."""
    names: set[str] = set()
    for node in ast.walk(fn):
        values = [v for t, v in _assignments(node) if LIST_FLOW.fullmatch(t)]
        if isinstance(node, ast.Return) and node.value is not None and LIST_FLOW.fullmatch(getattr(fn, "name", "")):
            values.append(node.value)
        for value in values:
            names.update(n.id for n in ast.walk(value) if isinstance(n, ast.Name))
    return frozenset(names)


def message_key(text: str) -> str:
    """Whitespace folded, holes separated only by whitespace merged into one."""
    key = " ".join(text.split())
    return re.sub(rf"{HOLE}(?:\s*{HOLE})+", HOLE, key)


def is_message(key: str) -> bool:
    """A key with text of its own; ``… for …`` or ``GET …: …`` only pass another message on."""
    return len(re.findall(r"[A-Za-z]", key)) >= MIN_LETTERS


def extract_messages(sources: Mapping[str, str]) -> dict[str, list[str]]:
    """Every message key of the given modules (path relative to the package -> source) -> where it is."""
    found: dict[str, list[str]] = defaultdict(list)
    for text, where in _Extractor(sources).messages():
        key = message_key(text)
        if is_message(key) and where not in found[key]:
            found[key].append(where)
    return dict(found)


@functools.cache
def code_messages() -> dict[str, list[str]]:
    sources = {p.relative_to(SRC).as_posix(): p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}
    return extract_messages(sources)


_CODE_SPAN = re.compile(r"^(`+)\s?(.*?)\s?\1$")


def doc_messages(text: str) -> list[str]:
    """The first cell of every table row between the markers: the message keys the doc lists."""
    start, end = text.index(DOC_START), text.index(DOC_END)
    keys = []
    for line in text[start:end].splitlines():
        if not line.startswith("|"):
            continue
        cells = re.split(r"(?<!\\)\|", line.strip())
        first = cells[1].strip() if len(cells) > 2 else ""
        match = _CODE_SPAN.match(first)
        if match:
            keys.append(match.group(2).replace("\\|", "|"))
    return keys


# --------------------------------------------------------------------------- the extractor finds what it must

SYNTHETIC = {
    "core/findings.py": """
@dataclass(frozen=True)
class Finding:
    tool: str
    rule: Rule
    category: str
    severity: Severity
    message: str


@dataclass(frozen=True)
class ScannerError:
    tool: str
    message: str
    hint: str = ""
""",
    "things/errors.py": '''
class FrobError(ValueError):
    """A frob that cannot be used."""


class PathError(Exception):
    def __init__(self, path, problem, hint=""):
        super().__init__(path, problem)
        self.problem = problem

    def __str__(self):
        return f"{self.path}: {self.problem}"


@dataclass
class Verdict:
    ok: bool
    message: str = ""
''',
    "things/use.py": """
from .errors import FrobError, PathError, Verdict
from ..core.findings import ScannerError, Finding

LIMIT_TEXT = "the widget limit was reached"

def _fail(where, problem):
    raise PathError(where, problem)

def _why(code):
    if code == 1:
        return "the frobnicator is missing"
    return f"the frobnicator answered {code}"

def frob(x, problems):
    if x is None:
        raise FrobError(f"cannot frob {x!r}: nothing   given")
    if x == 1:
        _fail("a.json", f"expected a list, got {x}")
    if x == 2:
        message = "frob two is " + "not supported"
        raise RuntimeError(message)
    if x == 3:
        problems.append(f"{x}: no frobbing on Tuesdays")
    if x == 4:
        raise FrobError(LIMIT_TEXT)
    if x == 5:
        raise FrobError(_why(x))
    if x == 6:
        return Verdict(False, message=f"{x} did not answer within {x} ms")
    if x == 7:
        raise FrobError(f"{x}: {problems}")  # passes another message on: no key
    if x == 8:
        fail = []
        fail.append(f"the widget check {x} did not run")
        reasons = tuple(fail)
        return reasons
    if x == 9:
        problems: tuple[str, ...] = (f"the gizmo dropped {x} frames",)
        return problems
    if x == 10:
        report.longrepr = f"OVER TIME: the frob took {x} s"
    Finding(tool="t", rule=None, category="sast", severity="high", message="eval used here")
    return ScannerError("frobber", f"{x} is not installed: command {x!r} not found", "pip install frobber")
""",
}


def test_the_extractor_finds_each_kind_of_message_in_a_synthetic_module() -> None:
    found = set(extract_messages(SYNTHETIC))
    assert found == {
        "cannot frob …: nothing given",  # an exception of the project's own, whitespace folded
        "expected a list, got …",  # through a helper that raises with its parameter
        "frob two is not supported",  # a local variable, a concatenation, a built-in exception
        "…: no frobbing on Tuesdays",  # appended to a list of problems
        "the widget limit was reached",  # a module-level constant
        "the frobnicator is missing",  # the return values of a function of the module
        "the frobnicator answered …",
        "… did not answer within … ms",  # a class with a message field, by keyword
        "… is not installed: command … not found",  # ScannerError's message, imported from the core
        "the widget check … did not run",  # a local list that becomes the reasons
        "the gizmo dropped … frames",  # a literal tuple of problems
        "OVER TIME: the frob took … s",  # a test report's failure text
    }, "a finding's message, and a message that only passes another one on, are no keys"


def test_the_extractor_finds_the_codes_messages() -> None:
    found = code_messages()
    assert len(found) > 350, f"only {len(found)} messages found: is the extractor broken?"
    for key in (
        "… is not installed: command … not found",  # scanners/process.py
        "… timed out after … s",
        "invalid severity …",  # core/settings.py: Bad
        "unknown key '…' in … of … (known: …)",  # core/config: problems.append
        "total coverage …% is below …%",  # core/gate.py: Check details
        "the SARIF holds no runs: no tool reported a scan",  # readers/sarif.py
        "expected tab-separated fields: rule id, level and a description…",  # dast/rules.py: RuleFileError
        "TIMEOUT: … exceeded the … s limit (after … s)",  # chaos/timer.py: TestTimeout's super().__init__
    ):
        assert key in found, key


# --------------------------------------------------------------------------- the doc and the code agree


def test_every_message_in_the_code_is_in_the_troubleshooting_doc() -> None:
    listed = set(doc_messages(DOC.read_text(encoding="utf-8")))
    missing = {key: where for key, where in code_messages().items() if key not in listed}
    assert not missing, "add a row to docs/troubleshooting.md for each:\n" + "\n".join(
        f"  `{key}`  ({', '.join(where)})" for key, where in sorted(missing.items(), key=lambda kv: kv[1])
    )


def test_every_message_in_the_doc_is_still_in_the_code() -> None:
    found = code_messages()
    stale = [key for key in doc_messages(DOC.read_text(encoding="utf-8")) if key not in found]
    assert not stale, "these rows of docs/troubleshooting.md match no message in src/ any more:\n" + "\n".join(
        f"  `{key}`" for key in stale
    )


def test_each_message_is_listed_once() -> None:
    keys = doc_messages(DOC.read_text(encoding="utf-8"))
    twice = sorted({key for key in keys if keys.count(key) > 1})
    assert not twice, f"listed more than once in docs/troubleshooting.md: {twice}"


def test_the_doc_parser_reads_code_spans_and_escaped_pipes() -> None:
    rows = ["| message | meaning |", "| --- | --- |", "| `a \\| b` | x |", "| `` c `d` `` | y |", "| plain | z |"]
    text = "\n".join([DOC_START, *rows, DOC_END])
    assert doc_messages(text) == ["a | b", "c `d`"]
