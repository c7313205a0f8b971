"""What a blue-green job does after ``pytest --stillme-deploy`` checked the colour that now serves traffic.

Reads the verdict file the deploy session writes (``slo.verdict``, by default
``artifacts/deploy-verdict.json``) and the session's exit status, and prints GitHub step outputs
(``decision=...``, ``verdict=...``, ``exit-status=...``) on stdout; ``--summary FILE`` appends a Markdown
report (``$GITHUB_STEP_SUMMARY``).

    keep      verdict pass and exit status 0: the new colour keeps the traffic
    rollback  verdict rollback or exit status 6 (a rollback trigger fired: health, error rate, p95);
              with --rollback-on-fail also every outcome that is not a pass
    hold      verdict fail (1), or a session that did not finish (2 to 5, or no verdict file): the new
              colour is not proven good, and not proven broken; the job fails and people decide

Used by .github/workflows/cd-prod.yml (see docs/ci.md and docs/deploy.md):

    python .github/scripts/deploy_decision.py --verdict artifacts/deploy-verdict.json --status "$status"
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_PASS = 0
EXIT_ROLLBACK = 6


@dataclass(frozen=True)
class Decision:
    decision: str  # keep, rollback or hold
    verdict: str  # pass, fail, rollback, or missing / unreadable when there is no usable verdict file
    exit_status: int
    reasons: tuple[str, ...] = field(default=())

    def outputs(self) -> str:
        return f"decision={self.decision}\nverdict={self.verdict}\nexit-status={self.exit_status}\n"

    def markdown(self) -> str:
        word = {"keep": "kept", "rollback": "rolled back", "hold": "held (not proven good)"}[self.decision]
        lines = [
            f"### Deployment {word}",
            "",
            f"verdict `{self.verdict}`, pytest exit status {self.exit_status}, decision **{self.decision}**",
        ]
        if self.reasons:
            lines += ["", *(f"- {reason}" for reason in self.reasons)]
        return "\n".join(lines) + "\n"


def read_verdict(path: Path) -> tuple[str, int | None, tuple[str, ...]]:
    """The verdict, its exit status and its reasons; ``missing`` or ``unreadable`` when there is none."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "missing", None, (f"no verdict file at {path}: the session ended before it judged the deployment",)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return "unreadable", None, (f"the verdict file {path} cannot be read: {exc}",)
    if not isinstance(data, dict) or data.get("verdict") not in ("pass", "fail", "rollback"):
        return "unreadable", None, (f"{path} is not a stillme deployment verdict",)
    status = data.get("exit_status")
    reasons = data.get("reasons")
    return (
        str(data["verdict"]),
        status if isinstance(status, int) and not isinstance(status, bool) else None,
        tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
    )


def decide(verdict_path: Path, status: int, *, rollback_on_fail: bool = False) -> Decision:
    verdict, verdict_status, reasons = read_verdict(verdict_path)
    if status == EXIT_ROLLBACK or verdict == "rollback" or verdict_status == EXIT_ROLLBACK:
        return Decision("rollback", verdict, status, reasons)
    if status == EXIT_PASS and verdict == "pass":
        return Decision("keep", verdict, status, reasons)
    if status == EXIT_PASS:
        # The session passed but its verdict did not: never read as a pass.
        reasons = (*reasons, f"exit status 0 with verdict {verdict!r}")
    return Decision("rollback" if rollback_on_fail else "hold", verdict, status, reasons)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--verdict", required=True, type=Path, help="the verdict file of the deploy session")
    parser.add_argument("--status", required=True, type=int, help="the deploy session's exit status")
    parser.add_argument(
        "--rollback-on-fail",
        default="false",
        help="true: roll back on every outcome that is not a pass (default false: only on the rollback verdict)",
    )
    parser.add_argument("--summary", type=Path, help="append a Markdown report here ($GITHUB_STEP_SUMMARY)")
    args = parser.parse_args(argv)
    rollback_on_fail = str(args.rollback_on_fail).strip().lower() in ("1", "true", "yes", "on")
    decision = decide(args.verdict, args.status, rollback_on_fail=rollback_on_fail)
    sys.stdout.write(decision.outputs())
    sys.stderr.write(decision.markdown())
    if args.summary is not None:
        with args.summary.open("a", encoding="utf-8") as out:
            out.write(decision.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
