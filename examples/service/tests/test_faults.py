"""The test-only fault switch: what a deployment check relies on to see an SLO fail."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from inventory.__main__ import app_ref
from inventory.app import create_app
from inventory.faults import CONTROL_PATH, FaultInjection, Faults

pytestmark = pytest.mark.anyio


@pytest.fixture
async def switched() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=FaultInjection(create_app()))
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory.test") as client:
        yield client


async def test_off_until_switched_on(switched: httpx.AsyncClient) -> None:
    assert (await switched.get("/healthz")).status_code == 200
    state = (await switched.get(CONTROL_PATH)).json()
    assert (state["latency_ms"], state["error_rate"], state["paths"], state["fail_first"]) == (0.0, 0.0, [], 0)


async def test_errors_are_spread_evenly_on_the_chosen_paths(switched: httpx.AsyncClient) -> None:
    answer = await switched.post(CONTROL_PATH, json={"error_rate": 0.5, "paths": ["/healthz"]})
    assert answer.status_code == 200
    statuses = [(await switched.get("/healthz")).status_code for _ in range(6)]
    assert statuses.count(500) == 3  # exactly half, not by chance
    assert (await switched.get("/readyz")).status_code == 200  # another path: untouched
    await switched.delete(CONTROL_PATH)
    assert (await switched.get("/healthz")).status_code == 200


async def test_fail_first_then_latency(switched: httpx.AsyncClient) -> None:
    await switched.post(CONTROL_PATH, json={"fail_first": 2, "latency_ms": 1})
    statuses = [(await switched.get("/healthz")).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    body = (await switched.get("/healthz")).json() if statuses[-1] == 200 else {}
    assert isinstance(body, dict)


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 2},
        {"latency_ms": -1},
        {"paths": ["items"]},
        {"fail_first": True},
        {"latency_ms": "slow"},
        {"nonsense": 1},
        [],
    ],
)
async def test_bad_switch_requests_are_refused(switched: httpx.AsyncClient, body: object) -> None:
    answer = await switched.post(CONTROL_PATH, json=body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_faults"


async def test_only_get_post_and_delete(switched: httpx.AsyncClient) -> None:
    assert (await switched.put(CONTROL_PATH, json={})).status_code == 405


def test_served_only_when_asked() -> None:
    assert app_ref({}) == "inventory.app:app"
    assert app_ref({"INVENTORY_TEST_FAULTS": "1"}) == "inventory.faults:app"
    assert Faults(paths=("/items",)).applies_to("/items/3")
    assert not Faults(paths=("/items",)).applies_to("/healthz")


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def inner(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        seen.append(scope["type"])

    await FaultInjection(inner)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]
