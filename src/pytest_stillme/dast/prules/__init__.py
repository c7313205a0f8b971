"""The built-in passive rules, by ZAP plugin id: policy, transport and leaking headers, cookies, content."""

from __future__ import annotations

from .base import AlertType, Hit, PassiveRule
from .content import RULES as _CONTENT
from .cookies import RULES as _COOKIES
from .leaks import RULES as _LEAKS
from .markup import RULES as _MARKUP
from .policy import RULES as _POLICY
from .transport import RULES as _TRANSPORT

__all__ = ["RULES", "AlertType", "Hit", "PassiveRule", "by_id"]

#: Every rule, in plugin id order.
RULES: tuple[PassiveRule, ...] = tuple(
    sorted((*_POLICY, *_TRANSPORT, *_LEAKS, *_COOKIES, *_CONTENT, *_MARKUP), key=lambda r: int(r.plugin_id))
)


def by_id() -> dict[str, PassiveRule]:
    return {rule.plugin_id: rule for rule in RULES}
