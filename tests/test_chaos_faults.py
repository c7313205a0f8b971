"""Patching callables: every kind of attribute, every fault, and the exact original back afterwards."""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
import types

import pytest

from pytest_stillme.chaos.faults import Patcher, resolve_target


def plain(x: int) -> int:
    return x * 2


class Service:
    factor = 3

    def method(self, x: int) -> int:
        return x * self.factor

    @staticmethod
    def static(x: int) -> int:
        return x + 1

    @classmethod
    def klass(cls, x: int) -> int:
        return x * cls.factor

    async def fetch(self, x: int) -> int:
        await asyncio.sleep(0)
        return x


class Child(Service):
    pass


module = types.ModuleType("chaos_target_module")
module.plain = plain  # type: ignore[attr-defined]


def test_module_function_by_object_and_attribute() -> None:
    patcher = Patcher()
    handle = patcher.patch(module, "plain", raises=ConnectionError("down"), times=1)
    with pytest.raises(ConnectionError, match="down"):
        module.plain(1)
    assert module.plain(2) == 4
    assert (handle.calls, handle.fired) == (2, 1)
    patcher.undo_all()
    assert module.plain is plain


def test_dotted_path() -> None:
    assert resolve_target("os.path.join", None) == (os.path, "join")
    patcher = Patcher()
    patcher.patch(f"{__name__}.Service.method", returns=99)
    assert Service().method(1) == 99
    patcher.undo_all()
    assert Service().method(1) == 3
    assert "method" in vars(Service)


@pytest.mark.parametrize("attribute", ["static", "klass"])
def test_static_and_class_methods_keep_their_kind(attribute: str) -> None:
    raw = inspect.getattr_static(Service, attribute)
    patcher = Patcher()
    patcher.patch(Service, attribute, returns=-1, after=1)
    bound = getattr(Service, attribute)
    assert bound(2) == (3 if attribute == "static" else 6)
    assert bound(2) == -1
    assert getattr(Service(), attribute)(2) == -1
    patcher.undo_all()
    assert inspect.getattr_static(Service, attribute) is raw


def test_inherited_method_is_removed_again_not_copied() -> None:
    patcher = Patcher()
    patcher.patch(Child, "method", returns=0)
    assert Child().method(5) == 0
    assert Service().method(5) == 15
    patcher.undo_all()
    assert "method" not in vars(Child)
    assert Child().method(5) == 15


def test_instance_method_only_for_that_instance() -> None:
    one, other = Service(), Service()
    patcher = Patcher()
    patcher.patch(one, "method", raises=TimeoutError)
    with pytest.raises(TimeoutError, match="injected by stillme chaos"):
        one.method(1)
    assert other.method(1) == 3
    patcher.undo_all()
    assert "method" not in vars(one)
    assert one.method(1) == 3


def test_latency_then_the_original() -> None:
    patcher = Patcher()
    patcher.patch(module, "plain", latency=0.05)
    start = time.perf_counter()
    assert module.plain(4) == 8
    assert time.perf_counter() - start >= 0.05
    patcher.undo_all()


def test_coroutine_functions_get_an_async_wrapper() -> None:
    patcher = Patcher()
    patcher.patch(Service, "fetch", latency=0.01, raises=OSError, after=1)
    assert inspect.iscoroutinefunction(Service.fetch)
    service = Service()
    assert asyncio.run(service.fetch(7)) == 7
    with pytest.raises(OSError, match="injected by stillme chaos"):
        asyncio.run(service.fetch(7))
    patcher.undo_all()


def test_returns_none_is_a_value() -> None:
    patcher = Patcher()
    patcher.patch(module, "plain", returns=None)
    assert module.plain(1) is None
    patcher.undo_all()


def test_exception_instances_are_copied_so_tracebacks_do_not_pile_up() -> None:
    error = ValueError("boom")
    patcher = Patcher()
    patcher.patch(module, "plain", raises=error)
    caught = []
    for _ in range(3):
        try:
            module.plain(1)
        except ValueError as exc:
            caught.append(exc)
    assert all(exc is not error and str(exc) == "boom" for exc in caught)
    patcher.undo_all()


def test_undo_all_is_last_first_even_when_stacked() -> None:
    patcher = Patcher()
    patcher.patch(module, "plain", returns=1)
    patcher.patch(module, "plain", returns=2)
    assert module.plain(0) == 2
    patcher.undo_all()
    assert module.plain is plain


def test_log_records_what_fired() -> None:
    patcher = Patcher()
    patcher.patch(module, "plain", raises=KeyError, after=1, times=1)
    module.plain(1)
    with pytest.raises(KeyError):
        module.plain(1)
    patcher.undo_all()
    assert patcher.log.describe() == ["#1 chaos_target_module.plain, call 2: raised KeyError"]


def test_thread_safe_counts() -> None:
    patcher = Patcher()
    handle = patcher.patch(module, "plain", raises=RuntimeError, times=100)
    errors = []

    def work() -> None:
        for _ in range(500):
            try:
                module.plain(1)
            except RuntimeError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    patcher.undo_all()
    assert (handle.calls, handle.fired, len(errors)) == (2000, 100, 100)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((module, "plain"), {}, ValueError, "say what the fault does"),
        ((module, "plain"), {"raises": 3}, TypeError, "raises must be an exception class or instance"),
        ((module, "plain"), {"raises": OSError, "returns": 1}, ValueError, "not both"),
        ((module, "plain"), {"latency": -1}, ValueError, "latency must be a number of seconds >= 0"),
        ((module, "missing"), {"returns": 1}, AttributeError, "does not exist"),
        ((Service, "factor"), {"returns": 1}, TypeError, "is not callable"),
        (("no_dots",), {"returns": 1}, ValueError, "not a dotted path"),
        (("nosuchpackage_xyz.f",), {"returns": 1}, ValueError, "cannot resolve"),
        ((module, "not an identifier"), {"returns": 1}, ValueError, "must be an attribute name"),
        ((module,), {"returns": 1}, TypeError, "give an object and an attribute name"),
    ],
)
def test_mistakes_are_explained(args: tuple[object, ...], kwargs: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Patcher().patch(*args, **kwargs)  # type: ignore[arg-type]
