"""Isolated test bodies (a forked child): fixtures stay in the session, results and coverage come back."""

from __future__ import annotations

import pytest

MODULE = """
def only_the_child_calls_this(x):
    if x > 0:
        return "positive"
    return "not positive"
"""

TESTS = """
import socket
import threading

import pytest

import mod


@pytest.fixture(scope="session")
def echo_server():
    # A server thread started by a fixture lives in the session's process; the child talks to it.
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(conn.recv(64).upper())

    threading.Thread(target=serve, daemon=True).start()
    yield port
    server.close()


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.chaos(isolate=True)
def test_sync_body_in_a_child(echo_server):
    assert mod.only_the_child_calls_this(1) == "positive"
    with socket.create_connection(("127.0.0.1", echo_server), timeout=5) as conn:
        conn.sendall(b"ping")
        assert conn.recv(64) == b"PING"


@pytest.mark.anyio
@pytest.mark.chaos(isolate=True)
async def test_async_body_in_a_child():
    import anyio

    await anyio.sleep(0)
    assert mod.only_the_child_calls_this(0) == "not positive"


@pytest.mark.chaos
def test_memory_of_the_child_is_gone():
    assert not hasattr(mod, "SET_IN_A_CHILD")


@pytest.mark.chaos(isolate=True)
def test_sets_something_in_a_child():
    mod.SET_IN_A_CHILD = True
"""


def test_isolated_bodies_report_and_cover(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(mod=MODULE, test_isolated=TESTS)
    result = pytester.runpytest_subprocess(
        "-m", "chaos", "-p", "no:randomly", "--cov=mod", "--cov-report=term-missing", "-v"
    )
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["mod.py * 4 * 0 * 100%*"])


def test_isolation_from_settings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os
        import pytest

        PARENT = os.getpid()

        @pytest.mark.chaos
        def test_chaos_runs_in_a_child():
            assert os.getpid() != PARENT

        @pytest.mark.integration
        def test_integration_stays_unless_all():
            print("INTEGRATION CHILD", os.getpid() != PARENT)

        @pytest.mark.chaos(isolate=False)
        def test_opted_out():
            assert os.getpid() == PARENT
        """
    )
    result = pytester.runpytest_subprocess("--stillme-chaos", "--stillme-chaos-isolate=chaos", "-s")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(["*INTEGRATION CHILD False*", "stillme chaos: timeouts *; isolation chaos"])
    everything = pytester.runpytest_subprocess("--stillme-chaos", "--stillme-chaos-isolate=all", "-s")
    everything.stdout.fnmatch_lines(["*INTEGRATION CHILD True*"])


def test_pytest_exit_in_a_child_ends_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.chaos(isolate=True)
        def test_exits():
            pytest.exit("enough chaos for today", returncode=3)

        @pytest.mark.chaos
        def test_never_runs():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-m", "chaos")
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*Exit: enough chaos for today*"])
    assert "test_never_runs" not in result.stdout.str()
