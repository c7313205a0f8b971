"""The pytest side of chaos testing, loaded by ``pytest_stillme.plugin`` (``pytest_plugins``).

Contract: ``@pytest.mark.chaos`` and ``@pytest.mark.integration`` are
registered markers.  Chaos tests are deselected unless the session asks for
them (``-m`` naming chaos, or ``--stillme-chaos``); the header says which, with
the session's seed.  Marked tests get a time limit through pytest-timeout
(chaos 600 s, integration 300 s by default; an explicit ``timeout`` marker or
``timeout=`` marker argument wins).  A test that exceeds its limit is a
TIMEOUT, its own outcome in the terminal, the summary and JUnit, with the
stacks of all threads; one that does not stop ``grace`` seconds later is ended
from outside, and the session goes on when it runs in an xdist worker or in a
child process (``isolate``).  The ``chaos`` fixture injects faults into
callables and httpx clients and runs stress loads, all seeded per test.

Registered as its own plugin module so that ``-p no:stillme`` switches it off
with the rest, while its hooks stay apart from the gate's.  Importing it
imports nothing heavy: httpx, asyncio and the fixture's machinery load when a
test first asks for them.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

from .markers import MARKER_LINES
from .settings import CHAOS_SETTINGS, ChaosSettings, chaos_settings
from .state import AUTO_WORKER, DIR_INPUT, FIXTURE_KEY, INFO_KEY, SEED_INPUT, START_INPUT, STATE_KEY, ChaosState

if TYPE_CHECKING:
    from ..scanners.api import ScannerRegistry
    from .fixture import Chaos

__all__ = ["chaos"]


def pytest_stillme_register(registry: ScannerRegistry) -> None:
    registry.add_settings(*CHAOS_SETTINGS)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> Generator[None, None, None]:
    """A chaos session that would run in one process runs in one pytest-xdist worker instead.

    A test stuck in native code (a C extension that never returns to Python) can only be
    stopped by ending its process.  In a worker that is the worker: xdist reports the test as
    crashed, stillme as a TIMEOUT, and the session goes on to write JUnit, SARIF and the gate.
    The whole process would take every report with it.  ``chaos.worker = false``, ``-n``,
    ``-p no:xdist``, a debugger or ``isolate`` keep the session as it was.
    """
    from .worker import wants_worker

    if wants_worker(early_config, args):
        args[:0] = ["-n", "1"]
        # Plugins that read the early options in this same hook (pytest-cov picks its xdist mode there) must
        # see the worker too: a wrapper runs before them, and the early namespace is told as the args are.
        early_config.known_args_namespace.numprocesses = 1
        early_config.stash[AUTO_WORKER] = True
    yield


def _load_settings(config: pytest.Config) -> ChaosSettings:
    # The core plugin resolved every setting, ours too, before us: pytest_configure is trylast.
    from ..adapter.recording import settings_of

    core = settings_of(config)
    return chaos_settings(core.table("chaos"), core.origins)


def _session_seed(config: pytest.Config, settings: ChaosSettings) -> tuple[int, str]:
    from .seeds import CACHE_KEY, SeedError, resolve_session_seed

    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and SEED_INPUT in workerinput:
        return int(workerinput[SEED_INPUT]), "from the xdist controller"
    cache = getattr(config, "cache", None)
    try:
        seed, how = resolve_session_seed(settings.seed, cache)
    except SeedError as exc:
        raise pytest.UsageError(f"pytest-stillme configuration:\n  {exc}") from None
    if cache is not None and workerinput is None:
        cache.set(CACHE_KEY, seed)
    return seed, how


@pytest.hookimpl(trylast=True)  # after the core plugin's pytest_configure, which resolves the settings
def pytest_configure(config: pytest.Config) -> None:
    for line in MARKER_LINES:
        config.addinivalue_line("markers", line)
    settings = _load_settings(config)
    seed, how = _session_seed(config, settings)
    workerinput = getattr(config, "workerinput", None)
    state = ChaosState(settings=settings, seed=seed, seed_how=how, is_worker=workerinput is not None)
    if workerinput is not None:
        state.session_start = float(workerinput.get(START_INPUT, state.session_start))
        state.watch_dir = workerinput.get(DIR_INPUT)
    config.stash[STATE_KEY] = state

    from .reporting import OutcomePlugin, ReportPlugin
    from .selection import SelectionPlugin

    # The per-test machinery (timers, isolation, budgets) is registered by the
    # selection plugin once collection shows that some test needs it; an xdist
    # controller cannot know, and reads every report.
    config.pluginmanager.register(SelectionPlugin(config, state), "stillme-chaos-selection")
    config.pluginmanager.register(ReportPlugin(config, state), "stillme-chaos-reporting")
    if workerinput is None and getattr(config.option, "dist", "no") != "no":  # an xdist controller
        config.pluginmanager.register(OutcomePlugin(state), "stillme-chaos-outcome")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return
    state.close()
    reporting = config.pluginmanager.get_plugin("stillme-chaos-reporting")
    if reporting is not None:
        reporting.close()


@pytest.fixture
def chaos(request: pytest.FixtureRequest) -> Iterator[Chaos]:
    """Fault injection and stress, seeded per test: ``chaos.patch``, ``chaos.http``, ``chaos.stress``.

    Every patch is undone at teardown, whatever the test did.  When the test
    fails, its report shows the seeds and every fault injected.
    """
    from .fixture import Chaos
    from .seeds import seed_for_test

    state = request.config.stash[STATE_KEY]
    item = request.node
    assert isinstance(item, pytest.Item)
    info = item.stash.get(INFO_KEY, None)
    pinned = info.seed if info is not None else None
    seed = pinned if pinned is not None else seed_for_test(state.seed, item.nodeid)

    def record(name: str, value: object) -> None:
        item.user_properties.append((name, value))

    fixture = Chaos(nodeid=item.nodeid, session_seed=state.seed, seed=seed, record_property=record)
    item.stash[FIXTURE_KEY] = fixture
    record("stillme.chaos.seed", state.seed)
    try:
        yield fixture
    finally:
        fixture.close()
