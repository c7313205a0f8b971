"""DAST: drive an OWASP ZAP daemon, read ZAP's reports, and a built-in passive scan with ZAP's rule ids.

Three ways to the same findings (category ``dast``, ZAP's alert ids as rule
ids, ZAP's risks as severities), so results read the same whichever ran:

* :mod:`.zap` drives a ZAP daemon through its API (``--stillme-scan zap``);
* :mod:`pytest_stillme.readers.zap` reads ZAP's JSON and XML reports
  (``--stillme-report``);
* :mod:`.passive` crawls the target itself and applies passive rules that
  carry ZAP's plugin ids (``--stillme-scan passive``), for when there is no ZAP.

All three honour zap-baseline's rule configuration file (:mod:`.rules`).
Nothing here imports pytest except :mod:`.plugin`.
"""
