"""Deployment verification: health, metrics, smoke tests and load against SLOs, with a rollback verdict.

``pytest --stillme-deploy --stillme-target URL -m smoke`` checks a running
service as one pytest session (see :mod:`.plugin` for the contract), and the
``slo`` fixture lets a test drive its own load.  The modules below the pytest
layer know nothing of pytest: :mod:`.plan` (endpoints, mix, the load plan),
:mod:`.engine` (the load engine, open and closed model, on :mod:`.connection`
and :mod:`.http1`),
:mod:`.stats` (percentiles, histogram), :mod:`.health`, :mod:`.metrics`,
:mod:`.judge` (SLOs, rollback triggers, findings) and :mod:`.verdict` (the
verdict file a CD job acts on).  Importing this package imports none of them.
"""

from __future__ import annotations

#: Exit status of a session whose verdict is "rollback" (pytest's own statuses are 0 to 5).
ROLLBACK_EXIT = 6

__all__ = ["ROLLBACK_EXIT"]
