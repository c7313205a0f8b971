"""Fault injection into callables: raise, add latency or return a value, on a schedule; always undone.

:class:`Patcher` replaces an attribute (a function of a module, a method of a
class or instance, a static or class method) by a wrapper that asks a
:class:`~.schedule.Schedule` whether to fire on each call, and puts the exact
original object back on :meth:`Patcher.undo_all` (the ``chaos`` fixture calls
it at teardown, whatever the test did).  Coroutine functions get a coroutine
wrapper whose latency is an ``asyncio.sleep``.  No pytest here, so the
benchmark and other tools can use it directly.
"""

from __future__ import annotations

import copy
import functools
import inspect
import pkgutil
import threading
import time
from collections.abc import Callable
from typing import Any

from .schedule import FaultLog, Schedule, check_seconds

__all__ = ["NOTHING", "Patch", "Patcher", "resolve_target"]


class _Nothing:
    """Marks "no return value given" (``None`` is a value a fault may return)."""

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()
_MISSING = object()


def resolve_target(target: object, attribute: str | None) -> tuple[Any, str]:
    """The object that holds the attribute, and its name, from ``(obj, "name")`` or a dotted path."""
    if attribute is not None:
        if not isinstance(attribute, str) or not attribute.isidentifier():
            raise ValueError(f"attribute must be an attribute name, not {attribute!r}")
        return target, attribute
    if not isinstance(target, str):
        raise TypeError("give an object and an attribute name, or one dotted path such as 'pkg.module.Class.method'")
    owner_path, sep, name = target.rpartition(".")
    if not sep or not name.isidentifier():
        raise ValueError(f"{target!r} is not a dotted path to an attribute (such as 'pkg.module.function')")
    try:
        owner = pkgutil.resolve_name(owner_path)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot resolve {owner_path!r} (from {target!r}): {exc}") from None
    return owner, name


def _label(owner: Any, name: str) -> str:
    base = getattr(owner, "__qualname__", None) or type(owner).__qualname__
    module = getattr(owner, "__module__", None) if inspect.isclass(owner) else None
    if inspect.ismodule(owner):
        return f"{owner.__name__}.{name}"
    return f"{module}.{base}.{name}" if module and module != "builtins" else f"{base}.{name}"


def _make_exception(raises: BaseException | type[BaseException], call: int) -> BaseException:
    if isinstance(raises, type):
        try:
            return raises(f"injected by stillme chaos (call {call})")
        except TypeError:  # an exception class with a constructor of its own
            return raises()
    try:
        return copy.copy(raises).with_traceback(None)
    except Exception:  # some exceptions cannot be copied; raise the instance itself
        return raises.with_traceback(None)


class _Fault:
    """What a patch does when its schedule fires."""

    __slots__ = ("latency", "log", "raises", "returns", "target")

    def __init__(
        self,
        target: str,
        log: FaultLog,
        raises: BaseException | type[BaseException] | None,
        latency: float,
        returns: Any,
    ) -> None:
        self.target = target
        self.log = log
        self.raises = raises
        self.latency = latency
        self.returns = returns

    def action(self) -> str:
        parts = []
        if self.latency:
            parts.append(f"slept {self.latency:g} s")
        if self.raises is not None:
            shown = self.raises.__name__ if isinstance(self.raises, type) else repr(self.raises)
            parts.append(f"raised {shown}")
        elif self.returns is not NOTHING:
            parts.append(f"returned {self.returns!r}"[:200])
        else:
            parts.append("then called the original")
        return ", ".join(parts)

    def outcome(self, call: int) -> tuple[BaseException | None, bool]:
        """Log the fault; the exception to raise (or None), and whether to skip the original."""
        self.log.add(self.target, call, self.action())
        if self.raises is not None:
            return _make_exception(self.raises, call), True
        return None, self.returns is not NOTHING


class Patch:
    """One patched attribute: counts, and :meth:`undo`."""

    def __init__(
        self, owner: Any, name: str, label: str, schedule: Schedule, raw: Any, own: bool, *, shown: bool = True
    ) -> None:
        self.owner = owner
        #: False for plumbing (the HTTP client patch), which the failure report does not list.
        self.shown = shown
        self.name = name
        self.label = label
        self.schedule = schedule
        self._raw = raw
        self._own = own
        self._lock = threading.Lock()
        self.active = True

    @property
    def calls(self) -> int:
        """Calls the patch has seen."""
        return self.schedule.calls

    @property
    def fired(self) -> int:
        """Faults it injected."""
        return self.schedule.fired

    def undo(self) -> None:
        """Put the original back (idempotent)."""
        with self._lock:
            if not self.active:
                return
            self.active = False
            if self._own:
                setattr(self.owner, self.name, self._raw)
            else:
                delattr(self.owner, self.name)

    def __enter__(self) -> Patch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.undo()

    def __repr__(self) -> str:
        state = "active" if self.active else "undone"
        return f"<chaos patch {self.label} ({self.schedule.describe()}): {self.fired} of {self.calls} calls, {state}>"


def _wrap(original: Callable[..., Any], schedule: Schedule, fault: _Fault) -> Callable[..., Any]:
    decide = schedule.decide
    latency = fault.latency
    returns = fault.returns

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = decide()
            if not call:
                return await original(*args, **kwargs)
            error, skip = fault.outcome(call)
            if latency:
                import asyncio

                await asyncio.sleep(latency)
            if error is not None:
                raise error
            return returns if skip else await original(*args, **kwargs)

        return async_wrapper

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = decide()
        if not call:
            return original(*args, **kwargs)
        error, skip = fault.outcome(call)
        if latency:
            time.sleep(latency)
        if error is not None:
            raise error
        return returns if skip else original(*args, **kwargs)

    return wrapper


class Patcher:
    """Applies patches and undoes them all, last first."""

    def __init__(self, log: FaultLog | None = None, seed_for: Callable[[str], int] | None = None) -> None:
        self.log = log if log is not None else FaultLog()
        self._seed_for = seed_for or (lambda label: 0)
        self.patches: list[Patch] = []
        self._count = 0

    def patch(
        self,
        target: object,
        attribute: str | None = None,
        *,
        raises: BaseException | type[BaseException] | None = None,
        latency: float = 0.0,
        returns: Any = NOTHING,
        rate: float = 1.0,
        after: int = 0,
        times: int | None = None,
    ) -> Patch:
        """Patch ``target.attribute`` (or the dotted path ``target``) to misbehave on a schedule."""
        latency = check_seconds(latency, "latency")
        if raises is not None and not (
            isinstance(raises, BaseException) or (isinstance(raises, type) and issubclass(raises, BaseException))
        ):
            raise TypeError(f"raises must be an exception class or instance, not {raises!r}")
        if raises is not None and returns is not NOTHING:
            raise ValueError("give raises= or returns=, not both")
        if raises is None and returns is NOTHING and not latency:
            raise ValueError("say what the fault does: raises=, latency= and/or returns=")
        owner, name = resolve_target(target, attribute)
        raw = inspect.getattr_static(owner, name, _MISSING)
        if raw is _MISSING:
            raise AttributeError(f"{_label(owner, name)} does not exist")
        own = name in getattr(owner, "__dict__", {})
        label = _label(owner, name)
        self._count += 1
        schedule = Schedule(rate=rate, after=after, times=times, seed=self._seed_for(f"{label}#{self._count}"))
        fault = _Fault(label, self.log, raises, latency, returns)
        setattr(owner, name, self._replacement(owner, name, raw, schedule, fault))
        handle = Patch(owner, name, label, schedule, raw, own)
        self.patches.append(handle)
        return handle

    def replace(self, owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Patch:
        """Replace a plain function attribute by ``make(original)``; undone like any patch."""
        raw = inspect.getattr_static(owner, name)
        own = name in getattr(owner, "__dict__", {})
        setattr(owner, name, make(raw))
        handle = Patch(owner, name, _label(owner, name), Schedule(rate=0.0), raw, own, shown=False)
        self.patches.append(handle)
        return handle

    @staticmethod
    def _replacement(owner: Any, name: str, raw: Any, schedule: Schedule, fault: _Fault) -> Any:
        if isinstance(raw, staticmethod):
            return staticmethod(_wrap(raw.__func__, schedule, fault))
        if isinstance(raw, classmethod):
            return classmethod(_wrap(raw.__func__, schedule, fault))
        if inspect.isclass(owner) or inspect.ismodule(owner):
            if not callable(raw):
                raise TypeError(f"{_label(owner, name)} is not callable ({type(raw).__name__})")
            return _wrap(raw, schedule, fault)
        # An instance: wrap what attribute access gives (a bound method), set on the instance.
        bound = getattr(owner, name)
        if not callable(bound):
            raise TypeError(f"{_label(owner, name)} is not callable ({type(bound).__name__})")
        return _wrap(bound, schedule, fault)

    def undo_all(self) -> None:
        """Undo every patch, last first, even if one of them fails; re-raise the first failure."""
        first: BaseException | None = None
        while self.patches:
            handle = self.patches.pop()
            try:
                handle.undo()
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first
