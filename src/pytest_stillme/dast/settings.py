"""The DAST settings, declared once: ``[tool.stillme.zap]`` and ``[tool.stillme.passive]``.

Each is an option or ini key and an environment variable as well (see
:mod:`pytest_stillme.core.settings`); the scanners receive them by their
short names in ``ScanRequest.options``.  The ZAP API key is read from
``ZAP_API_KEY`` only: a key belongs in the CI's secrets, not in
pyproject.toml.  No pytest here.
"""

from __future__ import annotations

from ..core.settings import Bad, Setting, boolean, choice, integer, path, seconds, text, words

__all__ = ["PASSIVE_SETTINGS", "ZAP_SETTINGS"]


def _url(raw: object) -> str:
    value = text(raw)
    if not value.startswith(("http://", "https://")):
        raise Bad(f"invalid URL {raw!r}", "expected http://HOST:PORT")
    return value.rstrip("/")


def _optional_url(raw: object) -> str:
    return "" if isinstance(raw, str) and not raw.strip() else _url(raw)


def _key(raw: object) -> str:
    """Any text, empty included: ZAP started with ``api.disablekey=true`` needs none."""
    return str(raw).strip()


def _level(raw: object) -> str:
    value = str(raw).strip().upper()
    if value not in ("WARN", "INFO"):
        raise Bad(f"invalid default level {raw!r}", "use WARN (zap-baseline's default) or INFO (its -i)")
    return value


def _paths(raw: object) -> tuple[str, ...]:
    found = words(raw, "list of paths")
    for item in found:
        if not item.startswith("/"):
            raise Bad(f"invalid path {item!r}", "paths start with / (they are joined to the target's origin)")
    return found


_RULES_HELP = "zap-baseline rule configuration file (default: .zap/rules.tsv when it exists)"
_DEFAULT_HELP = "level of rules the rule file does not list: WARN (zap-baseline's default) or INFO"

ZAP_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "zap.api",
        _url,
        "http://127.0.0.1:8080",
        "address of the ZAP daemon's API (its proxy port)",
        option="--stillme-zap-api",
        metavar="URL",
    ),
    Setting("zap.api_key", _key, "", "ZAP's API key (from the environment only)", ini="-", env="ZAP_API_KEY"),
    Setting(
        "zap.target_url",
        _optional_url,
        "",
        "the target as ZAP reaches it, when that differs from --stillme-target (ZAP in a container)",
    ),
    Setting(
        "zap.allow_remote", boolean, False, "let zap.target_url name a host that is not loopback or a private address"
    ),
    Setting("zap.rules", path, "", _RULES_HELP, option="--stillme-zap-rules", metavar="FILE"),
    Setting("zap.default_level", _level, "WARN", _DEFAULT_HELP),
    Setting("zap.new_session", boolean, True, "start a new ZAP session, so earlier scans' alerts do not count"),
    Setting("zap.spider_minutes", integer(minimum=1, maximum=600), 1, "spider bound in minutes (zap-baseline -m)"),
    Setting("zap.spider_depth", integer(minimum=0), 5, "spider depth bound (0: ZAP's unlimited)"),
    Setting("zap.spider_children", integer(minimum=0), 0, "spider bound on children per node (0: unlimited)"),
    Setting("zap.ajax_spider", boolean, False, "also run the Ajax spider (zap-baseline -j)"),
    Setting("zap.ajax_minutes", integer(minimum=1, maximum=600), 1, "Ajax spider bound in minutes"),
    Setting("zap.passive_wait", seconds(), 300.0, "bound on waiting for ZAP's passive scan to finish"),
    Setting("zap.active_scan", boolean, False, "also run ZAP's active scan (attacks the target: opt in)"),
    Setting("zap.active_minutes", integer(minimum=1, maximum=1440), 10, "active scan bound in minutes"),
    Setting("zap.active_policy", text, "", "ZAP scan policy for the active scan (default: ZAP's)"),
    Setting("zap.include_out_of_date", boolean, False, "keep ZAP's own 'ZAP is Out of Date' alert (10116)"),
    Setting(
        "zap.report",
        path,
        "",
        "write ZAP's traditional JSON report here (IGNOREd rules left out)",
        option="--stillme-zap-report",
        metavar="PATH",
    ),
    Setting("zap.poll", seconds(), 2.0, "how often to ask ZAP for progress"),
    Setting("zap.call_timeout", seconds(), 60.0, "bound on one ZAP API call"),
    Setting("zap.timeout", seconds(), 1800.0, "bound on the whole ZAP run"),
)

PASSIVE_SETTINGS: tuple[Setting, ...] = (
    Setting("passive.rules", path, "", _RULES_HELP, option="--stillme-passive-rules", metavar="FILE"),
    Setting("passive.default_level", _level, "WARN", _DEFAULT_HELP),
    Setting("passive.seeds", _paths, ("/",), "paths the crawl starts from, besides /robots.txt and /sitemap.xml"),
    Setting("passive.max_pages", integer(minimum=1, maximum=100_000), 200, "bound on requests the crawl sends"),
    Setting("passive.max_depth", integer(minimum=0, maximum=100), 10, "bound on link depth from a seed"),
    Setting("passive.timeout", seconds(), 120.0, "bound on the whole crawl"),
    Setting("passive.request_timeout", seconds(), 10.0, "bound on one request"),
    Setting("passive.concurrency", integer(minimum=1, maximum=32), 4, "requests in flight at once"),
    Setting(
        "passive.forms",
        choice("all", "get", "none", what="form policy"),
        "all",
        "submit forms as ZAP's spider does: all, get (GET forms only) or none",
    ),
    Setting(
        "passive.in_process",
        boolean,
        False,
        "scan an app target in process (no socket) instead of serving it on loopback",
    ),
    Setting("passive.max_body", integer(minimum=1024), 2_000_000, "bytes of a response body that are read"),
)
