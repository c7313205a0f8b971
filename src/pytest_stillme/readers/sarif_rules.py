"""SARIF rules (reportingDescriptors) of a run's driver and extensions, and result messages.

A result names its rule by index, by id, or through a toolComponentReference;
the descriptor gives the name, descriptions, CWEs (from tags), default level,
score and message strings its results use.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.findings import Rule
from .jsonpath import as_obj as _as_obj
from .jsonpath import at as _at
from .jsonpath import get_list as _list
from .jsonpath import get_obj as _obj
from .jsonpath import get_str as _str
from .jsonpath import kind as _kind
from .jsonpath import raise_invalid as _fail
from .sarif_values import _CWE_TAG, _UNKNOWN_RULE, _format, _int, _level, _precision, _score, _text


@dataclass(frozen=True)
class _RuleInfo:
    """A reportingDescriptor as far as findings need it."""

    rule: Rule
    level: str
    score: float | None
    confidence: str
    message_strings: Mapping[str, str]


@dataclass(frozen=True)
class _Component:
    """The driver or an extension: a name, a guid and the rules it defines."""

    name: str
    guid: str
    rules: tuple[_RuleInfo, ...]
    by_id: Mapping[str, _RuleInfo]


def _component(component: dict[str, Any], where: str) -> _Component:
    rules: list[_RuleInfo] = []
    by_id: dict[str, _RuleInfo] = {}
    for index, descriptor in enumerate(_list(component, "rules", where)):
        at = f"{where}.rules[{index}]"
        info = _rule(_as_obj(descriptor, at), at)
        rules.append(info)
        by_id.setdefault(info.rule.id, info)
    return _Component(
        name=_str(component, "name", where),
        guid=_str(component, "guid", where),
        rules=tuple(rules),
        by_id=by_id,
    )


def _rule(descriptor: dict[str, Any], where: str) -> _RuleInfo:
    ident = _str(descriptor, "id", where)
    if not ident:
        _fail(_at(where, "id"), "missing (every rule needs an id)")
    props = _obj(descriptor, "properties", where)
    props_at = _at(where, "properties")
    cwe: list[int] = []
    tags: list[str] = []
    for index, tag in enumerate(_list(props or {}, "tags", props_at)):
        if not isinstance(tag, str):
            _fail(f"{props_at}.tags[{index}]", f"expected a string, got {_kind(tag)}")
        match = _CWE_TAG.match(tag.strip())
        if match:
            number = int(match.group(1))
            if number and number not in cwe:
                cwe.append(number)
        elif tag not in tags:
            tags.append(tag)
    config = _obj(descriptor, "defaultConfiguration", where)
    level = _level(config, "level", _at(where, "defaultConfiguration")) if config else ""
    return _RuleInfo(
        rule=Rule(
            id=ident,
            name=_str(descriptor, "name", where),
            short_description=_text(descriptor, "shortDescription", where),
            full_description=_text(descriptor, "fullDescription", where),
            help=_text(descriptor, "help", where),
            help_uri=_str(descriptor, "helpUri", where),
            cwe=tuple(cwe),
            tags=tuple(tags),
        ),
        level=level,
        score=_score(props, props_at),
        confidence=_precision((props or {}).get("precision")),
        message_strings=_message_strings(descriptor, "messageStrings", where),
    )


def _message_strings(parent: dict[str, Any], key: str, where: str) -> dict[str, str]:
    table = _obj(parent, key, where)
    at = _at(where, key)
    strings: dict[str, str] = {}
    for ident, message in (table or {}).items():
        if message is None:
            continue
        entry = _as_obj(message, _at(at, ident))
        strings[ident] = _str(entry, "text", _at(at, ident)) or _str(entry, "markdown", _at(at, ident))
    return strings


def _find_rule(result: dict[str, Any], where: str, components: list[_Component]) -> tuple[str, _RuleInfo | None]:
    """The rule id and descriptor: by index when it agrees with the id, else by id anywhere."""
    rule_id = _str(result, "ruleId", where)
    index = _int(result, "ruleIndex", where, minimum=-1)
    index_at = _at(where, "ruleIndex")
    component: _Component | None = components[0]
    reference = _obj(result, "rule", where)
    if reference is not None:
        ref_at = _at(where, "rule")
        rule_id = rule_id or _str(reference, "id", ref_at)
        ref_index = _int(reference, "index", ref_at, minimum=-1)
        if ref_index is not None and ref_index >= 0:
            index, index_at = ref_index, _at(ref_at, "index")
        tool_ref = _obj(reference, "toolComponent", ref_at)
        if tool_ref is not None:
            component = _resolve_component(tool_ref, _at(ref_at, "toolComponent"), components)
    if component is not None and index is not None and 0 <= index < len(component.rules):
        info = component.rules[index]
        if not rule_id or info.rule.id == rule_id:
            return info.rule.id, info
    if rule_id:
        searched = ([component] if component is not None else []) + components
        for candidate in searched:
            found = candidate.by_id.get(rule_id)
            if found is not None:
                return rule_id, found
        return rule_id, None
    if component is not None and index is not None and index >= len(component.rules):
        _fail(index_at, f"{index} is out of range ({len(component.rules)} rules) and the result has no ruleId")
    return _UNKNOWN_RULE, None


def _resolve_component(reference: dict[str, Any], where: str, components: list[_Component]) -> _Component | None:
    """A toolComponentReference: ``index`` counts extensions; ``name``/``guid`` match any component."""
    index = _int(reference, "index", where, minimum=-1)
    if index is not None and 0 <= index < len(components) - 1:
        return components[index + 1]
    guid = _str(reference, "guid", where)
    name = _str(reference, "name", where)
    for component in components:
        if (guid and component.guid == guid) or (name and component.name == name):
            return component
    return None


def _message(result: dict[str, Any], where: str, info: _RuleInfo | None, global_strings: Mapping[str, str]) -> str:
    message = _obj(result, "message", where)
    if message is None:
        return ""
    at = _at(where, "message")
    arguments: list[str] = []
    for index, argument in enumerate(_list(message, "arguments", at)):
        if not isinstance(argument, str):
            _fail(f"{at}.arguments[{index}]", f"expected a string, got {_kind(argument)}")
        arguments.append(argument)
    text = _str(message, "text", at) or _str(message, "markdown", at)
    if not text:
        ident = _str(message, "id", at)
        if ident:
            text = (info.message_strings.get(ident, "") if info else "") or global_strings.get(ident, "")
    return _format(text, arguments).strip()


def _fix(result: dict[str, Any], where: str) -> str:
    for index, fix in enumerate(_list(result, "fixes", where)):
        at = f"{_at(where, 'fixes')}[{index}]"
        text = _text(_as_obj(fix, at), "description", at).strip()
        if text:
            return text
    return ""
