"""Isolation: the body of a test runs in a forked child, so a test stuck in native code can be killed.

Only the call phase moves: fixtures are set up and torn down in the session's
own process as usual (a session-scoped server keeps running there), the child
inherits them, runs the test function with pytest's own machinery (capture,
logging, xfail, the report hooks) and sends the finished report back through
a pipe, in the form xdist uses (``pytest_report_to_serializable``); warnings,
JUnit properties and coverage data come back too.  The parent waits for the
child until the test's time limit plus the grace period plus a margin; a child
that is still there is killed, and the test is a TIMEOUT with the stacks the
child's C-level watchdog wrote before it ended.  Either way the session goes
on, and JUnit and SARIF record the outcome.

The price of a child process: what the test body changes in memory stays in
the child (a patch made in the test does not reach a server thread of the
session, and fixture objects are the parent's again at teardown).  POSIX only.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from . import outcome
from .timer import Timer, Watchdog, read_watchdog_file

__all__ = ["Child", "ChildOutcome", "configured_limit", "fork_child", "wait_for_child"]

#: Seconds the parent waits beyond the child's own watchdog before it kills the child itself.
KILL_MARGIN = 2.0


if TYPE_CHECKING:
    from _pytest.outcomes import Skipped as _Skip
else:
    _Skip = pytest.skip.Exception


class ChildOutcome(_Skip):
    """Carries the report of a test body that ran in a child process.

    A skip to pytest's runner only so that it never enters the debugger or
    ``pytest_exception_interact`` for it; the plugin replaces the report
    built from it by ``stillme_child_report``.
    """

    def __init__(self, report: pytest.TestReport) -> None:
        super().__init__("the test body ran in a child process")
        self.stillme_child_report = report


def configured_limit(item: pytest.Item) -> float | None:
    """The test's pytest-timeout limit (marker, then option, environment, ini), or None."""
    marker = item.get_closest_marker("timeout")
    raw: Any = None
    if marker is not None:
        raw = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    else:
        try:
            from pytest_timeout import get_env_settings
        except ImportError:  # pragma: no cover - pytest-timeout is a dependency
            return None
        raw = get_env_settings(item.config).timeout
    try:
        value = float(raw) if raw is not None else 0.0
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


class _ChildCoverage:
    """Coverage of the test body: a fresh measurement in the child, saved as a parallel data file.

    pytest-cov (and ``coverage combine``) combine every ``.coverage.*`` file
    next to the data file, so the child's lines count.  The parent's coverage
    object is only stopped in the child, never saved from there.
    """

    def __init__(self) -> None:
        self.cov: Any = None

    def start(self) -> None:
        module = sys.modules.get("coverage")
        current = module.Coverage.current() if module is not None else None
        if current is None:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                current.stop()
                self.cov = module.Coverage(  # type: ignore[union-attr]
                    data_file=os.path.abspath(str(current.get_option("run:data_file"))),
                    data_suffix=True,
                    config_file=current.config.config_file or False,
                    source=current.get_option("run:source"),
                    source_pkgs=current.get_option("run:source_pkgs"),
                    include=current.get_option("run:include"),
                    omit=current.get_option("run:omit"),
                    branch=current.get_option("run:branch"),
                )
                self.cov.start()
        except Exception:  # coverage is a bonus here; the test must run either way
            self.cov = None

    def save(self) -> None:
        if self.cov is None:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.cov.stop()
                self.cov.save()
        except Exception:  # a child must always get to its report
            pass


@dataclass
class Child:
    """A forked child running one test body, seen from either side."""

    pid: int
    read_fd: int
    write_fd: int
    stacks_path: str
    stacks_fd: int
    started: float
    coverage: _ChildCoverage = field(default_factory=_ChildCoverage)
    caught: list[warnings.WarningMessage] = field(default_factory=list)

    @property
    def is_child(self) -> bool:
        return self.pid == 0


def fork_child() -> Child:
    """Fork; both processes get a :class:`Child` (``pid`` 0 in the child)."""
    read_fd, write_fd = os.pipe()
    stacks_fd, stacks_path = tempfile.mkstemp(prefix="stillme-child-", suffix=".stacks")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    with warnings.catch_warnings():
        # Python 3.12+ warns when a process with threads forks; the child runs one test body and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    return Child(pid, read_fd, write_fd, stacks_path, stacks_fd, time.monotonic())


# -- in the child ------------------------------------------------------------------------------------


def enter_child(child: Child, timer: Timer | None, remaining: float | None) -> Watchdog:
    """Prepare the child: its own watchdog file, the rest of the time limit, coverage, warnings."""
    os.close(child.read_fd)
    watchdog = Watchdog(child.stacks_fd)
    if timer is not None:
        timer.watchdog = watchdog
        timer.resume(remaining if remaining is not None else timer.limit)
    child.coverage.start()
    recorder = warnings.catch_warnings(record=True)
    child.caught = recorder.__enter__()  # kept until the process ends: every warning of the test body
    return watchdog


def _send(child: Child, message: dict[str, Any]) -> NoReturn:
    """Write the message to the parent and end the child, whatever happens."""
    status = 0
    try:
        child.coverage.save()
        payload = json.dumps(message, default=repr).encode("utf-8", "surrogatepass")
        view = memoryview(payload)
        while view:
            written = os.write(child.write_fd, view)
            view = view[written:]
    except BaseException:
        status = 70
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(status)


def _warning_data(caught: list[warnings.WarningMessage]) -> list[dict[str, Any]]:
    return [
        {
            "message": str(w.message),
            "category": f"{w.category.__module__}:{w.category.__qualname__}",
            "filename": w.filename,
            "lineno": w.lineno,
        }
        for w in caught
    ]


def send_report(child: Child, config: pytest.Config, report: pytest.TestReport) -> NoReturn:
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    _send(child, {"kind": "report", "report": data, "warnings": _warning_data(child.caught)})


def send_stop(child: Child, exc: BaseException) -> NoReturn:
    """The test body asked to stop the session (pytest.exit, Ctrl-C): the parent does it."""
    if isinstance(exc, pytest.exit.Exception):
        _send(child, {"kind": "exit", "msg": exc.msg, "returncode": exc.returncode})
    _send(child, {"kind": "interrupt"})


def send_error(child: Child) -> NoReturn:
    _send(child, {"kind": "error", "text": traceback.format_exc()})


# -- in the parent -----------------------------------------------------------------------------------


def _read_all(child: Child, deadline: float | None) -> tuple[bytes, bool]:
    """Everything the child wrote, and whether the parent had to kill it at ``deadline``."""
    data = bytearray()
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([child.read_fd], [], [], wait)
        if not ready:
            os.kill(child.pid, signal.SIGKILL)
            return bytes(data), True
        chunk = os.read(child.read_fd, 1 << 16)
        if not chunk:
            return bytes(data), False
        data += chunk


def _category(name: str) -> type[Warning]:
    module, _, qualname = name.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:
        return UserWarning
    return found if isinstance(found, type) and issubclass(found, Warning) else UserWarning


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"killed by {name}"
    return f"exited with status {os.WEXITSTATUS(status)}"


def wait_for_child(
    child: Child, item: pytest.Item, *, limit: float | None, remaining: float | None, grace: float
) -> pytest.TestReport:
    """Wait for the child and turn what it left into the call report (never returns without one)."""
    os.close(child.write_fd)
    deadline = None if remaining is None else time.monotonic() + max(remaining, 0.0) + grace + KILL_MARGIN
    start_wall = time.time()
    try:
        try:
            data, killed = _read_all(child, deadline)
        finally:
            os.close(child.read_fd)
            os.close(child.stacks_fd)
        _, status = os.waitpid(child.pid, 0)
    except BaseException:  # Ctrl-C while waiting: the child goes with the session
        _kill_quietly(child.pid)
        _remove(child.stacks_path)
        raise
    elapsed = time.monotonic() - child.started
    dump = read_watchdog_file(child.stacks_path)
    _remove(child.stacks_path)
    message: dict[str, Any] = {}
    if data:
        try:
            message = json.loads(data.decode("utf-8", "surrogatepass"))
        except ValueError:
            message = {"kind": "error", "text": f"unreadable message from the child process: {data[:200]!r}"}
    kind = message.get("kind")
    if kind == "report":
        for entry in message.get("warnings", []):
            warnings.warn_explicit(
                str(entry["message"]), _category(str(entry["category"])), str(entry["filename"]), int(entry["lineno"])
            )
        report: pytest.TestReport = item.config.hook.pytest_report_from_serializable(
            config=item.config, data=message["report"]
        )
        report.user_properties = [(str(p[0]), p[1]) for p in report.user_properties]  # JSON made them lists
        item.user_properties[:] = report.user_properties
        outcome.rewrap(report)
        return report
    if kind == "exit":
        pytest.exit(str(message.get("msg", "")), message.get("returncode"))
    if kind == "interrupt":
        raise KeyboardInterrupt
    stop_wall = time.time()
    sections = [("stacks of all threads (C-level watchdog)", dump[1])] if dump else []
    if killed or dump:
        how = "the child process running it was killed" if killed else "its child process was ended by its watchdog"
        text, info = outcome.escalated_info(limit or 0.0, grace, elapsed, how)
        return outcome.failure_report(
            item, "call", message=text, text=f"{text}\n{outcome.ESCALATION_NOTE}", sections=sections, timeout=info,
            start=start_wall, stop=stop_wall,
        )  # fmt: skip
    if kind == "error":
        text = "the child process running the test body failed inside pytest-stillme:\n" + str(message.get("text"))
        return outcome.failure_report(
            item, "call", message=text.splitlines()[0], text=text, start=start_wall, stop=stop_wall
        )
    text = f"the child process running the test body {_status_text(status)} before it reported (a crash?)"
    return outcome.failure_report(item, "call", message=text, text=text, start=start_wall, stop=stop_wall)


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
