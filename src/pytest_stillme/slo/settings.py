"""The deployment check's settings: ``deploy`` (``--stillme-deploy``) and ``[tool.stillme.slo]``.

Declared once as :class:`~pytest_stillme.core.settings.Setting`: each gets an
ini key (``stillme_slo_p95``) and an environment variable
(``STILLME_SLO_P95``) from its key.  Units are the ones people write SLOs in:
latencies in milliseconds (``500``, ``"500ms"``, ``"0.5s"``), error rates in
percent (``1``, ``"1%"``), durations in seconds.  :func:`deploy_config` turns
the resolved values into one frozen :class:`DeployConfig`.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core import settings as s
from ..core.settings import Bad, Setting

if TYPE_CHECKING:
    from .judge import Rollback, Slo
    from .plan import Endpoint, LoadPlan

__all__ = [
    "DEFAULT_VERDICT",
    "DEPLOY_SETTINGS",
    "DeployConfig",
    "deploy_config",
    "load_plan",
    "milliseconds",
    "percent",
]

DEFAULT_VERDICT = "artifacts/deploy-verdict.json"
#: How long the load drives ``/`` when no endpoints are configured (and no duration is).
DEFAULT_ENDPOINT_DURATION = 3.0


def _plan_module() -> Any:
    """The load plan module, imported when a deployment check runs (not at every session's start)."""
    from . import plan

    return plan


def _judge_module() -> Any:
    from . import judge

    return judge


def _endpoints(raw: Any) -> Any:
    return _plan_module().parse_endpoints(raw)


def _mix(raw: Any) -> Any:
    return _plan_module().parse_mix(raw)


def milliseconds(*, allow_off: bool = False, what: str = "latency") -> s.Parser:
    """Milliseconds above 0: ``500``, ``"500ms"`` or ``"0.5s"``; with ``allow_off``, ``off`` gives ``None``."""
    hint = 'milliseconds above 0, such as 500 or "500ms"' + (", or off" if allow_off else "")

    def parse(raw: Any) -> float | None:
        if allow_off and (raw is False or (isinstance(raw, str) and raw.strip().lower() in ("off", "none", "false"))):
            return None
        if isinstance(raw, bool):
            raise Bad(f"invalid {what} {raw!r}", hint)
        text = str(raw).strip().lower()
        scale = 1.0
        if text.endswith("ms"):
            text = text[:-2]
        elif text.endswith("s"):
            text, scale = text[:-1], 1000.0
        try:
            value = float(text.strip()) * scale
        except ValueError:
            raise Bad(f"invalid {what} {raw!r}", hint) from None
        if not value > 0 or value == float("inf"):
            raise Bad(f"invalid {what} {raw!r}", hint)
        return value

    return parse


def percent(*, allow_off: bool = False, what: str = "percentage") -> s.Parser:
    """A percentage from 0 to 100 (``1`` or ``"1%"`` is one percent); with ``allow_off``, ``off`` gives ``None``."""
    inner = s.number(0, 100, what=what, unit="%")

    def parse(raw: Any) -> float | None:
        if allow_off and (raw is False or (isinstance(raw, str) and raw.strip().lower() in ("off", "none", "false"))):
            return None
        value: float = inner(raw)
        return value

    return parse


def _paths(raw: Any) -> tuple[str, ...]:
    """Paths of the service (``/healthz``); ``none`` alone for no health checks."""
    words = s.words(raw, "list of paths")
    if [w.lower() for w in words] in (["none"], ["off"]):
        return ()
    for word in words:
        if not word.startswith("/") or word.startswith("//"):
            raise Bad(f"invalid path {word!r}", "a path of the target starting with /, such as /healthz")
    return words


def _path_or_off(raw: Any) -> str | None:
    if raw is False or (isinstance(raw, str) and raw.strip().lower() in ("off", "none", "false")):
        return None
    paths = _paths(raw)
    if len(paths) != 1:
        raise Bad(f"invalid path {raw!r}", "one path such as /metrics, or off")
    return paths[0]


def _metric_names(raw: Any) -> tuple[str, ...]:
    return s.words(raw, "list of metric names")


def _optional_int(minimum: int) -> s.Parser:
    inner = s.integer(minimum)

    def parse(raw: Any) -> int | None:
        if isinstance(raw, str) and raw.strip().lower() in ("off", "none"):
            return None
        value: int = inner(raw)
        return value

    return parse


def _rate(raw: Any) -> float | None:
    if isinstance(raw, str) and raw.strip().lower() in ("off", "none", "closed"):
        return None
    value: float = s.number(0.001, 1_000_000, what="rate", unit="/s")(raw)
    return value


DEPLOY_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "deploy",
        s.boolean,
        False,
        "verify a deployment of --stillme-target: health, metrics, load against the SLOs (and, with -m smoke, "
        "the smoke tests); writes the verdict file and exits 0 pass, 1 fail, 6 rollback",
        option="--stillme-deploy",
        action="store_true",
    ),
    Setting("slo.health_paths", _paths, ("/healthz", "/readyz"), "paths that must answer 2xx (none: no health check)"),
    Setting("slo.health_budget", milliseconds(what="health budget"), 200.0, "ms a health answer may take (200)"),
    Setting(
        "slo.health_wait",
        s.seconds(what="health wait"),
        30.0,
        "seconds a health check retries, with backoff, while a fresh deployment warms up (30)",
    ),
    Setting("slo.metrics_path", _path_or_off, "/metrics", "Prometheus metrics path, or off (/metrics)"),
    Setting("slo.metrics", _metric_names, (), "metric names /metrics must expose (globs such as app_http_*)"),
    Setting(
        "slo.endpoints",
        _endpoints,
        (),
        "what the load sends: METHOD /path strings or tables (none: GET / briefly)",
        ini_list=True,
    ),
    Setting("slo.mix", _mix, {}, 'weights by endpoint name, e.g. {"GET /items" = 9, "POST /items" = 1}'),
    Setting("slo.concurrency", s.integer(1, 10_000, what="concurrency"), 16, "connections the load uses (16)"),
    Setting("slo.duration", s.seconds(what="duration"), 10.0, "seconds of load (10; 3 when no endpoints are set)"),
    Setting("slo.requests", _optional_int(1), None, "requests to send (with a duration: whichever comes first)"),
    Setting("slo.rate", _rate, None, "requests per second, open model (default: closed model, as fast as answered)"),
    Setting("slo.timeout", s.seconds(what="request timeout"), 10.0, "seconds one request may take (10)"),
    Setting("slo.p95", milliseconds(what="p95 SLO"), 500.0, "SLO: p95 latency below this many ms (500)"),
    Setting("slo.errors", percent(what="error-rate SLO"), 1.0, "SLO: error rate below this percentage (1)"),
    Setting(
        "slo.rollback_p95",
        milliseconds(allow_off=True, what="rollback p95"),
        1000.0,
        "rollback when p95 is above this many ms, or off (1000)",
    ),
    Setting(
        "slo.rollback_errors",
        percent(allow_off=True, what="rollback error rate"),
        5.0,
        "rollback when the error rate is above this percentage, or off (5)",
    ),
    Setting("slo.rollback_on_health", s.boolean, True, "rollback when a health check fails (true)"),
    Setting("slo.verdict", s.path, DEFAULT_VERDICT, f"where the deployment verdict is written ({DEFAULT_VERDICT})"),
    Setting(
        "slo.generator_cpu",
        percent(what="generator CPU limit"),
        90.0,
        "share of a core (percent) above which the load generator counts as the bottleneck (90)",
    ),
    Setting(
        "slo.generator_lag",
        milliseconds(allow_off=True, what="generator lag limit"),
        100.0,
        "ms (p99) the load generator's event loop may run late before it counts as starved, or off (100)",
    ),
    Setting(
        "slo.rate_kept",
        percent(what="share of the rate kept"),
        95.0,
        "percent of an open-model run's due requests that must start on schedule (95)",
    ),
)


@dataclass(frozen=True)
class DeployConfig:
    """Everything the deployment check needs, resolved once."""

    health_paths: tuple[str, ...] = ("/healthz", "/readyz")
    health_budget: float = 0.2
    health_wait: float = 30.0
    metrics_path: str | None = "/metrics"
    metrics_required: tuple[str, ...] = ()
    plan: LoadPlan = field(default_factory=lambda: _plan_module().LoadPlan())
    slo: Slo = field(default_factory=lambda: _judge_module().Slo())
    rollback: Rollback = field(default_factory=lambda: _judge_module().Rollback())
    verdict_path: str = DEFAULT_VERDICT
    cpu_limit: float = 0.9
    lag_limit_ms: float | None = 100.0
    rate_kept: float = 0.95


Get = Callable[[str], Any]


def load_plan(get: Get, is_set: Callable[[str], bool], **overrides: Any) -> LoadPlan:
    """The load plan from the settings, each setting overridden by a keyword given (not ``None``)."""
    from .plan import DEFAULT_ENDPOINT, Endpoint, LoadPlan, apply_mix, parse_endpoint, parse_mix

    def value(name: str) -> Any:
        given = overrides.get(name)
        return given if given is not None else get(f"slo.{name}")

    def given(name: str) -> bool:
        return overrides.get(name) is not None or is_set(f"slo.{name}")

    raw_endpoints = overrides.get("endpoints")
    if raw_endpoints is None:
        endpoints: tuple[Endpoint, ...] = tuple(get("slo.endpoints") or ())
    else:
        endpoints = tuple(e if isinstance(e, Endpoint) else parse_endpoint(e) for e in raw_endpoints)
    notes: list[str] = []
    default = not endpoints
    if default:
        endpoints = (DEFAULT_ENDPOINT,)
        notes.append(
            "no endpoints configured ([tool.stillme.slo] endpoints): drove GET / only, where any answer below 500 "
            "counts as a success"
        )
    mix = value("mix") or {}
    if mix:
        endpoints = apply_mix(endpoints, mix if isinstance(mix, Mapping) else parse_mix(mix))
    requests = value("requests")
    if given("duration"):
        duration: float | None = float(value("duration"))
    elif requests is not None:
        duration = None
    else:
        duration = DEFAULT_ENDPOINT_DURATION if default else float(get("slo.duration"))
    rate = value("rate")
    return LoadPlan(
        endpoints=endpoints,
        concurrency=int(value("concurrency")),
        duration=duration,
        requests=None if requests is None else int(requests),
        rate=None if rate is None else float(rate),
        timeout=float(value("timeout")),
        default_endpoints=default,
        notes=tuple(notes),
    )


def slo_of(get: Get, **overrides: Any) -> Slo:
    from .judge import Slo

    p95 = overrides.get("p95")
    errors = overrides.get("errors")
    return Slo(
        p95_ms=float(p95 if p95 is not None else get("slo.p95")),
        error_rate=float(errors if errors is not None else get("slo.errors")) / 100.0,
    )


def rollback_of(get: Get) -> Rollback:
    from .judge import Rollback

    p95, errors = get("slo.rollback_p95"), get("slo.rollback_errors")
    return Rollback(
        p95_ms=None if p95 is None else float(p95),
        error_rate=None if errors is None else float(errors) / 100.0,
        health=bool(get("slo.rollback_on_health")),
    )


def deploy_config(get: Get, is_set: Callable[[str], bool]) -> DeployConfig:
    """The resolved settings as one :class:`DeployConfig`; :class:`Bad` for settings that disagree."""
    return DeployConfig(
        health_paths=tuple(get("slo.health_paths")),
        health_budget=float(get("slo.health_budget")) / 1000.0,
        health_wait=float(get("slo.health_wait")),
        metrics_path=get("slo.metrics_path"),
        metrics_required=tuple(get("slo.metrics") or ()),
        plan=load_plan(get, is_set),
        slo=slo_of(get),
        rollback=rollback_of(get),
        verdict_path=str(get("slo.verdict")),
        cpu_limit=float(get("slo.generator_cpu")) / 100.0,
        lag_limit_ms=get("slo.generator_lag"),
        rate_kept=float(get("slo.rate_kept")) / 100.0,
    )
