"""``make demo``'s pipeline (examples/pipeline.py) on copies of the bundled example.

The whole demo runs in ``.ci/run``; here the stages that tell the most run on a copy: the
example as shipped passes, the documented one-line planted vulnerability fails it for its
reason, a stage that cannot finish fails the pipeline even though no report says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_sarif_writer import assert_valid

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "examples" / "pipeline.py"
EXAMPLE = ROOT / "examples" / "service"
#: The planted vulnerability as docs/demo.md documents it: one line added to main() in __main__.py.
PLANT_AFTER = "    host, port = server_address(os.environ)\n"
PLANTED = '    os.system(f"echo inventory serving on {host}:{port}")\n'


@pytest.fixture
def example(tmp_path: Path) -> Path:
    copy = tmp_path / "service"
    shutil.copytree(
        EXAMPLE,
        copy,
        ignore=shutil.ignore_patterns("artifacts", ".hypothesis", ".*_cache", ".coverage*", "__pycache__"),
    )
    return copy


def pipeline(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PIPELINE), "--project", str(project), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_documented_planted_vulnerability_is_in_the_docs() -> None:
    doc = (ROOT / "docs" / "demo.md").read_text(encoding="utf-8")
    assert PLANTED.strip() in doc
    assert PLANT_AFTER in (EXAMPLE / "src" / "inventory" / "__main__.py").read_text(encoding="utf-8")


def test_shipped_example_passes_security_and_dast(example: Path) -> None:
    done = pipeline(example, "--stages", "security,dast")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pipeline PASSED" in done.stdout
    artifacts = example / "artifacts"
    for stage in ("security", "dast"):
        assert (artifacts / f"junit-{stage}.xml").is_file()
        assert (artifacts / "sarif" / f"{stage}.sarif").is_file()
    merged = json.loads((artifacts / "stillme.sarif").read_text(encoding="utf-8"))
    assert_valid(merged)
    tools = {run["tool"]["driver"]["name"] for run in merged["runs"]}
    assert {"bandit", "ruff", "mypy"} <= tools
    assert (artifacts / "summary.md").read_text(encoding="utf-8").startswith("## ✅ stillme: gate PASSED")


def test_planted_vulnerability_fails_the_pipeline_for_its_reason(example: Path) -> None:
    main = example / "src" / "inventory" / "__main__.py"
    main.write_text(main.read_text(encoding="utf-8").replace(PLANT_AFTER, PLANT_AFTER + PLANTED), encoding="utf-8")
    done = pipeline(example, "--stages", "security")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pipeline FAILED" in done.stdout
    gate_line = next(line for line in done.stdout.splitlines() if line.startswith("sast findings"))
    assert "1 high" in gate_line
    assert gate_line.endswith("FAIL")
    assert "bandit B605" in done.stdout
    assert "src/inventory/__main__.py" in done.stdout
    merged = json.loads((example / "artifacts" / "stillme.sarif").read_text(encoding="utf-8"))
    rules = [result["ruleId"] for run in merged["runs"] for result in run["results"]]
    assert "B605" in rules


def test_a_stage_that_cannot_finish_fails_the_pipeline(example: Path) -> None:
    pyproject = example / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace('sast = "high"', 'sast = "hgh"'), encoding="utf-8"
    )
    done = pipeline(example, "--stages", "dast")
    assert done.returncode != 0
    assert "dast         DID NOT FINISH (exit 4)" in done.stdout
    assert "stage dast did not finish (exit 4)" in done.stdout
    assert "invalid severity 'hgh'" in done.stdout  # the tail of the stage's log says why


def test_unknown_stage_is_a_usage_error(example: Path) -> None:
    done = pipeline(example, "--stages", "unit,lint")
    assert done.returncode == 2
    assert "unknown stage 'lint'" in done.stderr
