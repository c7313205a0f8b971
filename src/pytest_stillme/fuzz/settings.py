"""The fuzz settings, declared once: ``[tool.stillme.fuzz]``, ini keys, ``STILLME_FUZZ_*``, options.

A keyword argument of a ``fuzz(...)`` call wins over every setting.  No
pytest, hypothesis or httpx here.
"""

from __future__ import annotations

from typing import Any

from ..core.settings import Bad, Setting, boolean, integer, mapping, seconds, severity, words

__all__ = ["FUZZ_SETTINGS"]


def _statuses(raw: Any) -> tuple[int, ...]:
    from .discovery import parse_statuses
    from .model import FuzzError

    try:
        return tuple(sorted(parse_statuses(raw, "fuzz.expect")))
    except FuzzError as exc:
        raise Bad(exc.message, exc.hint) from None


def _words(raw: Any) -> tuple[str, ...]:
    return words(raw)


FUZZ_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "fuzz.examples",
        integer(minimum=1, what="number of examples"),
        None,
        "examples hypothesis generates per endpoint (default: the hypothesis profile's max_examples, 100)",
        option="--stillme-fuzz-examples",
        metavar="N",
    ),
    Setting(
        "fuzz.seconds",
        seconds(allow_off=True, what="time budget"),
        300.0,
        "time budget of one fuzz call in seconds; what is left unfuzzed is reported (off: none)",
        option="--stillme-fuzz-seconds",
        metavar="SECONDS",
    ),
    Setting(
        "fuzz.timeout",
        seconds(what="request timeout"),
        5.0,
        "per-request timeout in seconds: a request that takes longer is a finding, never a hung test",
    ),
    Setting(
        "fuzz.slow",
        seconds(allow_off=True, what="slow-response budget"),
        2.0,
        "a response slower than this many seconds is a finding (ReDoS, unbounded work; off: no check)",
    ),
    Setting(
        "fuzz.exclude",
        _words,
        (),
        "endpoints not to fuzz: path globs (/admin/*), 'METHOD /path' or operationIds",
        ini_list=True,
    ),
    Setting("fuzz.exclude_methods", _words, (), "methods not to fuzz (DELETE, ...)"),
    Setting("fuzz.skip_checks", _words, (), "fuzz checks switched off by name (slow-response, ...)"),
    Setting(
        "fuzz.severities",
        mapping(severity, what="table of check severities"),
        {},
        "severity per check name (sql-error = critical)",
    ),
    Setting(
        "fuzz.expect",
        mapping(_statuses, what="table of expected statuses"),
        {},
        "expected statuses per endpoint ('GET /items/{id}' = [200, 404]): others are findings, these never",
    ),
    Setting(
        "fuzz.crawl",
        integer(minimum=0, what="number of pages"),
        20,
        "pages the crawl from / may fetch to find links and forms (0: no crawl)",
    ),
    Setting(
        "fuzz.seed",
        integer(minimum=0, maximum=2**32 - 1, what="seed"),
        None,
        "seed of the generated requests (default: --hypothesis-seed, else a random one, reported)",
        option="--stillme-fuzz-seed",
        metavar="N",
    ),
    Setting(
        "fuzz.sweep",
        boolean,
        True,
        "send each attack family's canonical payloads and the differential probes to every parameter",
    ),
    Setting(
        "fuzz.progress",
        seconds(allow_off=True, what="progress interval"),
        10.0,
        "show a progress line every this many seconds while a fuzz call runs (off: never)",
    ),
)
