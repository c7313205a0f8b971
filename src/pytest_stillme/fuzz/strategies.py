"""Hypothesis strategies for an endpoint's values: generated data mixed with edge values and attacks.

Each parameter draws from three branches, in this order so that shrinking
goes back to the plainest request: its normal values (the example, then
generated values of its kind), edge values (boundary and huge numbers,
unicode edge cases, null bytes, long strings), attack payloads.  A body
endpoint also draws a body mode (normal first; then malformed, wrong
content type, empty, oversized, deeply nested).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .build import BODY_MODE, BODY_MODES, OMIT
from .model import Endpoint, Param
from .payloads import ATTACKS, EDGE_NUMBERS, EDGE_STRINGS

__all__ = ["endpoint_strategy", "param_strategy"]

_ATTACK_LIST = [p for family in ATTACKS.values() for p in family]
_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


def _is_strategy(value: Any) -> bool:
    return isinstance(value, st.SearchStrategy)


def _kind_values(param: Param) -> st.SearchStrategy[Any]:
    if param.location in ("header", "cookie"):
        return _HEADER_TEXT
    kind = param.kind
    if kind == "integer":
        return st.integers()
    if kind == "number":
        return st.floats(allow_nan=param.location != "json", allow_infinity=param.location != "json") | st.integers()
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(_JSON_SCALARS, max_size=5)
    if kind == "object":
        return st.dictionaries(st.text(max_size=10), _JSON_SCALARS, max_size=5)
    if kind == "uuid":
        return st.uuids().map(str)
    return st.text(min_size=1 if param.location == "path" else 0, max_size=80)


def _normal(param: Param) -> st.SearchStrategy[Any]:
    if param.has_example and _is_strategy(param.example):
        strategy: st.SearchStrategy[Any] = param.example
        return strategy
    generated = st.sampled_from(param.enum) | _kind_values(param) if param.enum else _kind_values(param)
    if param.has_example:
        return st.just(param.example) | generated
    return generated


def _edges(param: Param) -> st.SearchStrategy[Any]:
    if param.location in ("header", "cookie"):
        return st.sampled_from([e for e in EDGE_STRINGS if e.isascii() and not any(c in e for c in "\r\n\x00")])
    if param.location == "json" or param.location == "body":
        return st.sampled_from(EDGE_NUMBERS + EDGE_STRINGS) | _JSON_VALUES
    return st.sampled_from(EDGE_STRINGS + tuple(str(n) for n in EDGE_NUMBERS))


def _attacks(param: Param) -> st.SearchStrategy[Any]:
    if param.location in ("header", "cookie"):
        return st.sampled_from([p for p in _ATTACK_LIST if p.isascii() and not any(c in p for c in "\r\n\x00")])
    return st.sampled_from(_ATTACK_LIST)


def param_strategy(param: Param) -> st.SearchStrategy[Any]:
    """Normal values, then (optionally) leaving it out, then edge values, then attacks."""
    branches = [_normal(param)]
    if not param.required and param.location != "path":
        branches.append(st.just(OMIT))
    branches += [_edges(param), _attacks(param)]
    return st.one_of(*branches)


def endpoint_strategy(endpoint: Endpoint) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of values by ``Param.slot`` (and the body mode, for endpoints with a body)."""
    fields: dict[str, st.SearchStrategy[Any]] = {p.slot: param_strategy(p) for p in endpoint.params}
    if endpoint.body:
        fields[BODY_MODE] = st.sampled_from(("normal",) * 8 + BODY_MODES)
    return st.fixed_dictionaries(fields)
