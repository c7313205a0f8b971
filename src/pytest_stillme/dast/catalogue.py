"""ZAP's alert types, known before any scan: the ZAP items exist at collection time.

pytest collects before anything runs, and under pytest-xdist every worker
collects the same items, so the items of ``--stillme-scan zap`` cannot come
from the scan (or from asking ZAP, which one worker may reach and another
not).  They come from this static list instead: one item per alert type
(alert reference) of the passive scan rules zap-baseline runs (release and
beta add-ons of ZAP 2.16), plus the active scan rules when the active scan is
on, minus the rules the rule file IGNOREs.  Deterministic and free.  An alert
whose reference is not listed here (a newer ZAP, an alpha add-on) is carried
by the ``zap`` status item, which lists it, so nothing is lost.

Names are ZAP's (its alert pages, https://www.zaproxy.org/docs/alerts/);
they only label the items before the scan: a finding takes its name from
the alert ZAP raised.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["ACTIVE", "PASSIVE", "alert_types", "item_key", "plugin_of"]

#: Passive alert types by alert reference.
PASSIVE: Mapping[str, str] = MappingProxyType(
    {
        "2": "Private IP Disclosure",
        "3": "Session ID in URL Rewrite",
        "10003": "Vulnerable JS Library",
        "10009": "In Page Banner Information Leak",
        "10010": "Cookie No HttpOnly Flag",
        "10011": "Cookie Without Secure Flag",
        "10015": "Re-examine Cache-control Directives",
        "10017": "Cross-Domain JavaScript Source File Inclusion",
        "10019": "Content-Type Header Missing",
        "10020-1": "Missing Anti-clickjacking Header",
        "10020-2": "Multiple X-Frame-Options Header Entries",
        "10020-3": "X-Frame-Options Defined via META (Non-compliant with Spec)",
        "10020-4": "X-Frame-Options Setting Malformed",
        "10021": "X-Content-Type-Options Header Missing",
        "10023": "Information Disclosure - Debug Error Messages",
        "10024": "Information Disclosure - Sensitive Information in URL",
        "10025": "Information Disclosure - Sensitive Information in HTTP Referrer Header",
        "10026": "HTTP Parameter Override",
        "10027": "Information Disclosure - Suspicious Comments",
        "10028": "Off-site Redirect",
        "10029": "Cookie Poisoning",
        "10030": "User Controllable Charset",
        "10031": "User Controllable HTML Element Attribute (Potential XSS)",
        "10032": "Viewstate",
        "10033": "Directory Browsing",
        "10034": "Heartbleed OpenSSL Vulnerability (Indicative)",
        "10035-1": "Strict-Transport-Security Header Not Set",
        "10035-2": "Strict-Transport-Security Disabled",
        "10035-3": "Strict-Transport-Security Multiple Header Entries (Non-compliant with Spec)",
        "10035-4": "Strict-Transport-Security Header on Plaintext HTTP Response",
        "10035-5": "Strict-Transport-Security Missing Max-Age (Non-compliant with Spec)",
        "10035-6": "Strict-Transport-Security Defined via META (Non-compliant with Spec)",
        "10035-7": "Strict-Transport-Security Max-Age Malformed (Non-compliant with Spec)",
        "10035-8": "Strict-Transport-Security Malformed Content (Non-compliant with Spec)",
        "10036-1": 'Server Leaks its Webserver Application via "Server" HTTP Response Header Field',
        "10036-2": 'Server Leaks Version Information via "Server" HTTP Response Header Field',
        "10037": 'Server Leaks Information via "X-Powered-By" HTTP Response Header Field(s)',
        "10038-1": "Content Security Policy (CSP) Header Not Set",
        "10038-2": "Obsolete Content Security Policy (CSP) Header Found",
        "10038-3": "Content Security Policy (CSP) Report-Only Header Found",
        "10039": "X-Backend-Server Header Information Leak",
        "10040": "Secure Pages Include Mixed Content",
        "10041": "HTTP to HTTPS Insecure Transition in Form Post",
        "10042": "HTTPS to HTTP Insecure Transition in Form Post",
        "10043": "User Controllable JavaScript Event (XSS)",
        "10044": "Big Redirect Detected (Potential Sensitive Information Leak)",
        "10049-1": "Non-Storable Content",
        "10049-2": "Storable but Non-Cacheable Content",
        "10049-3": "Storable and Cacheable Content",
        "10050-1": "Retrieved from Cache",
        "10052": "X-ChromeLogger-Data (XCOLD) Header Information Leak",
        "10054-1": "Cookie without SameSite Attribute",
        "10054-2": "Cookie with SameSite Attribute None",
        "10054-3": "Cookie with Invalid SameSite Attribute",
        "10055": "CSP: Wildcard Directive and other CSP problems",
        "10056": "X-Debug-Token Information Leak",
        "10057": "Username Hash Found",
        "10061": "X-AspNet-Version Response Header",
        "10062": "PII Disclosure",
        "10063-1": "Permissions Policy Header Not Set",
        "10063-2": "Deprecated Feature Policy Header Set",
        "10096": "Timestamp Disclosure - Unix",
        "10097": "Hash Disclosure",
        "10098": "Cross-Domain Misconfiguration",
        "10105": "Weak Authentication Method",
        "10108": "Reverse Tabnabbing",
        "10109": "Modern Web Application",
        "10110": "Dangerous JS Functions",
        "10111": "Authentication Request Identified",
        "10112": "Session Management Response Identified",
        "10113": "Verification Request Identified",
        "10115": "Script Served From Malicious Domain (polyfill)",
        "10202": "Absence of Anti-CSRF Tokens",
        "90001": "Insecure JSF ViewState",
        "90002": "Java Serialization Object",
        "90003": "Sub Resource Integrity Attribute Missing",
        "90004-1": "Insufficient Site Isolation Against Spectre Vulnerability",
        "90004-2": "Insufficient Site Isolation Against Spectre Vulnerability",
        "90004-3": "Insufficient Site Isolation Against Spectre Vulnerability",
        "90011": "Charset Mismatch",
        "90022": "Application Error Disclosure",
        "90033": "Loosely Scoped Cookie",
    }
)

#: Active scan alert types by plugin id: only collected with ``zap.active_scan``.
ACTIVE: Mapping[str, str] = MappingProxyType(
    {
        "0": "Directory Browsing",
        "6": "Path Traversal",
        "7": "Remote File Inclusion",
        "10045": "Source Code Disclosure - /WEB-INF Folder",
        "10047": "HTTPS Content Available via HTTP",
        "10048": "Remote Code Execution - Shell Shock",
        "10051": "Relative Path Confusion",
        "10058": "GET for POST",
        "10095": "Backup File Disclosure",
        "10104": "User Agent Fuzzer",
        "10106": "HTTP Only Site",
        "10107": "Httpoxy - Proxy Header Misuse",
        "20012": "Anti-CSRF Tokens Check",
        "20014": "HTTP Parameter Pollution",
        "20015": "Heartbleed OpenSSL Vulnerability",
        "20016": "Cross-Domain Misconfiguration",
        "20019": "External Redirect",
        "30001": "Buffer Overflow",
        "30002": "Format String Error",
        "40003": "CRLF Injection",
        "40008": "Parameter Tampering",
        "40009": "Server Side Include",
        "40012": "Cross Site Scripting (Reflected)",
        "40014": "Cross Site Scripting (Persistent)",
        "40018": "SQL Injection",
        "40019": "SQL Injection - MySQL",
        "40020": "SQL Injection - Hypersonic SQL",
        "40021": "SQL Injection - Oracle",
        "40022": "SQL Injection - PostgreSQL",
        "40024": "SQL Injection - SQLite",
        "40026": "Cross Site Scripting (DOM Based)",
        "40027": "SQL Injection - MsSQL",
        "40028": "ELMAH Information Leak",
        "40029": "Trace.axd Information Leak",
        "40032": ".htaccess Information Leak",
        "40034": ".env Information Leak",
        "40035": "Hidden File Finder",
        "40042": "Spring Actuator Information Leak",
        "40043": "Log4Shell",
        "40045": "Spring4Shell",
        "40046": "Server Side Request Forgery",
        "90019": "Server Side Code Injection",
        "90020": "Remote OS Command Injection",
        "90021": "XPath Injection",
        "90023": "XML External Entity Attack",
        "90024": "Generic Padding Oracle",
        "90025": "Expression Language Injection",
        "90028": "Insecure HTTP Method",
        "90034": "Cloud Metadata Potentially Exposed",
        "90035": "Server Side Template Injection",
        "90036": "Server Side Template Injection (Blind)",
    }
)


def item_key(ref: str, keys: Mapping[str, object]) -> str:
    """The item an alert reference belongs to: itself when listed, else its plugin's, else "" (status item)."""
    if ref in keys:
        return ref
    plugin = plugin_of(ref)
    return plugin if plugin in keys else ""


def plugin_of(ref: str) -> str:
    """The plugin id of an alert reference: ``10038-1`` -> ``10038``."""
    return ref.split("-", 1)[0]


def alert_types(*, active: bool = False) -> dict[str, str]:
    """Alert reference -> name of every alert type the ZAP items cover, in id order."""
    table = dict(PASSIVE)
    if active:
        for ref, name in ACTIVE.items():
            table.setdefault(ref, name)
    return dict(sorted(table.items(), key=lambda item: tuple(int(p) for p in item[0].split("-"))))
