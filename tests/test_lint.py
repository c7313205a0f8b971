"""``--stillme-scan ruff`` and ``--stillme-scan mypy``: the real tools on trees the tests write."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import load_sarif

pytest.importorskip("ruff")
pytest.importorskip("mypy")

CODE = """\
import os
import subprocess


def run(cmd: str) -> int:
    return subprocess.call(cmd, shell=True)
"""

TYPED = """\
def double(x: int) -> int:
    return x * 2


def bad() -> int:
    return "not an int"


count: int = double("two")
"""

PYPROJECT = """\
[tool.stillme.gate]
coverage = "off"

[tool.ruff]
line-length = 100
extend-exclude = ["src/pkg/generated"]

[tool.ruff.lint]
select = ["E", "F", "S"]

[tool.mypy]
warn_unused_configs = true
"""

#: A stand-in for a tool: passes through to the real one, or misbehaves as mode.txt says.
FAKE = """\
import os, sys, time

REAL = {real!r}
args = sys.argv[1:]
mode = open("mode.txt").read().strip() if os.path.exists("mode.txt") else "real"
if mode == "real" or "--show-files" in args or "--version" in args:
    os.execv(REAL[0], REAL + args)
if mode == "crash":
    sys.stderr.write("error: the tool crashed\\n")
    sys.exit(2)
if mode == "hang":
    time.sleep(60)
if mode == "garbage":
    print("this is not JSON")
    sys.exit(0)
"""


def ruff_binary() -> str:
    found = Path(sys.executable).parent / "ruff"
    return str(found) if found.exists() else str(shutil.which("ruff"))


def real_command(tool: str) -> list[str]:
    return [ruff_binary()] if tool == "ruff" else [sys.executable, "-m", "mypy"]


@pytest.fixture
def lint_tree(pytester: pytest.Pytester) -> pytest.Pytester:
    files = {
        "src/pkg/__init__.py": "",
        "src/pkg/run.py": CODE,
        "src/pkg/typed.py": TYPED,
        "src/pkg/clean.py": "VALUE = 1\n",
        "src/pkg/generated/big.py": "import os, sys\n",
    }
    for name, text in files.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text)
    pytester.makepyprojecttoml(PYPROJECT)
    return pytester


def use_fake(project: pytest.Pytester, tool: str, mode: str, timeout: float = 600) -> None:
    (project.path / f"fake{tool}.py").write_text(FAKE.format(real=real_command(tool)))
    (project.path / "mode.txt").write_text(mode)
    command = json.dumps([sys.executable, f"fake{tool}.py"])
    text = (project.path / "pyproject.toml").read_text()
    project.makepyprojecttoml(text + f"\n[tool.stillme.{tool}]\ncommand = {command}\ntimeout = {timeout}\n")


def test_ruff_items_follow_ruffs_configuration(lint_tree: pytest.Pytester) -> None:
    result = lint_tree.runpytest("--stillme-scan", "ruff", "--stillme-sarif=out.sarif", "-v")
    result.stdout.fnmatch_lines(
        [
            "pyproject.toml::ruff PASSED*",
            "src/pkg/__init__.py::ruff PASSED*",
            "src/pkg/clean.py::ruff PASSED*",
            "src/pkg/run.py::ruff FAILED*",
            "src/pkg/typed.py::ruff PASSED*",
            "stillme::ruff PASSED*",
        ]
    )
    assert "generated" not in result.stdout.str()  # ruff's extend-exclude
    result.stdout.fnmatch_lines(
        [
            "src/pkg/run.py:",
            "2 ruff finding(s) at or above the gate's threshold (lint >= low):",
            "F401 unused-import (severity low)",
            "    line 1: `os` imported but unused",
            "    > import os",
            "    fix: Remove unused import: `os`",
            "    https://docs.astral.sh/ruff/rules/unused-import",
            "S602 subprocess-popen-with-shell-equals-true (severity medium)",
            "    line 6: `subprocess` call with `shell=True` identified, security issue",
            "    > return subprocess.call(cmd, shell=True)",
        ]
    )
    data = load_sarif(lint_tree.path / "out.sarif")
    run = next(r for r in data["runs"] if r["tool"]["driver"]["name"] == "ruff")
    assert run["tool"]["driver"]["version"]
    assert sorted(r["ruleId"] for r in run["results"]) == ["F401", "S602"]
    # The same diagnostics as ruff itself gives.
    done = subprocess.run(
        [ruff_binary(), "check", "--output-format", "json", "."], cwd=lint_tree.path, capture_output=True, text=True
    )
    assert sorted(d["code"] for d in json.loads(done.stdout)) == ["F401", "S602"]


def test_ruff_format_and_lint_threshold(lint_tree: pytest.Pytester) -> None:
    (lint_tree.path / "src" / "pkg" / "clean.py").write_text("VALUE   =  1\n")
    result = lint_tree.runpytest("--stillme-scan", "ruff", "--stillme-gate", "--stillme-fail-on", "lint=medium")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["lint findings*1 medium, 2 low*0 at >= medium*FAIL*"])
    result.stdout.fnmatch_lines(["FAILED src/pkg/run.py::ruff*"])
    assert "FAILED src/pkg/clean.py::ruff" not in result.stdout.str()  # unformatted is low: below medium
    result = lint_tree.runpytest("--stillme-scan", "ruff", "--stillme-gate")
    result.stdout.fnmatch_lines(["lint findings*1 medium, 2 low*0 at >= low*FAIL*"])
    result.stdout.fnmatch_lines(["*unformatted (severity low)*", "    line 1: File would be reformatted"])
    text = (lint_tree.path / "pyproject.toml").read_text()
    lint_tree.makepyprojecttoml(text + "\n[tool.stillme.ruff]\nformat = false\n")
    result = lint_tree.runpytest("--stillme-scan", "ruff", "--stillme-gate")
    result.stdout.fnmatch_lines(["lint findings*1 medium, 1 low*FAIL*"])


def test_ruff_syntax_error_is_an_error_of_the_file(lint_tree: pytest.Pytester) -> None:
    (lint_tree.path / "src" / "pkg" / "broken.py").write_text("def f(:\n    pass\n")
    result = lint_tree.runpytest("--stillme-scan", "ruff", "--stillme-gate", "-k", "broken or stillme")
    result.stdout.fnmatch_lines(
        ["*_ src/pkg/broken.py (ruff) _*", "not scanned:", "  ruff (src/pkg/broken.py): syntax error at line 1:*"]
    )
    result.stdout.fnmatch_lines(["*_ stillme::ruff _*", "*ruff could not scan 1 of its targets: see their items*"])
    result.stdout.fnmatch_lines(["scanner errors*FAIL*"])


def test_mypy_items(lint_tree: pytest.Pytester) -> None:
    result = lint_tree.runpytest("--stillme-scan", "mypy", "--stillme-gate", "--stillme-sarif=out.sarif", "-v")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "src/pkg/__init__.py::mypy PASSED*",
            "src/pkg/clean.py::mypy PASSED*",
            "src/pkg/run.py::mypy PASSED*",
            "src/pkg/typed.py::mypy FAILED*",
            "src/pkg/generated/big.py::mypy PASSED*",
            "stillme::mypy PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "src/pkg/typed.py:",
            "2 mypy finding(s) at or above the gate's threshold (lint >= low):",
            "return-value (severity low)",
            '    line 6: Incompatible return value type (got "str", expected "int")',
            '    > return "not an int"',
            "*",
            "arg-type (severity low)",
        ]
    )
    result.stdout.fnmatch_lines(["lint findings*2 low*FAIL*"])
    data = load_sarif(lint_tree.path / "out.sarif")
    run = next(r for r in data["runs"] if r["tool"]["driver"]["name"] == "mypy")
    assert sorted(r["ruleId"] for r in run["results"]) == ["arg-type", "return-value"]


def test_mypy_bad_configuration_fails_the_gate(lint_tree: pytest.Pytester) -> None:
    text = (lint_tree.path / "pyproject.toml").read_text()
    lint_tree.makepyprojecttoml(text.replace("warn_unused_configs = true", 'strict = "maybe"'))
    result = lint_tree.runpytest("--stillme-scan", "mypy", "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*mypy reported a problem (exit status *): pyproject.toml: [[]mypy[]]: strict: Not a boolean: maybe*"]
    )
    result.stdout.fnmatch_lines(["*fix mypy's configuration*"])
    result.stdout.fnmatch_lines(["scanner errors*FAIL*"])


def test_ruff_bad_configuration_fails_the_gate(lint_tree: pytest.Pytester) -> None:
    text = (lint_tree.path / "pyproject.toml").read_text()
    lint_tree.makepyprojecttoml(text.replace("line-length = 100", 'line-length = "x"'))
    result = lint_tree.runpytest("--stillme-scan", "ruff", "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*_ stillme::ruff _*", "ruff failed:", "*ruff check --show-files exited with status 2:*"]
    )
    result.stdout.fnmatch_lines(["scanner errors*FAIL*"])


@pytest.mark.parametrize(
    ("tool", "mode", "timeout", "message"),
    [
        ("ruff", "crash", 600, "*ruff check exited with status 2: error: the tool crashed*"),
        ("ruff", "hang", 1, "*ruff timed out after 1 s*"),
        ("ruff", "garbage", 600, "*unparsable ruff check output: not JSON*"),
        ("mypy", "crash", 600, "*mypy reported a problem (exit status 2): error: the tool crashed*"),
        ("mypy", "hang", 1, "*mypy timed out after 1 s*"),
        ("mypy", "garbage", 600, "*unparsable mypy output: line 1: not JSON*"),
    ],
)
def test_tool_failures(lint_tree: pytest.Pytester, tool: str, mode: str, timeout: float, message: str) -> None:
    use_fake(lint_tree, tool, mode, timeout)
    result = lint_tree.runpytest("--stillme-scan", tool, "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"*_ stillme::{tool} _*", f"{tool} failed:", message])
    result.stdout.fnmatch_lines([f"src/pkg/run.py: not scanned, {tool} did not run:"])
    result.stdout.fnmatch_lines(["scanner errors*FAIL*"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_not_installed(lint_tree: pytest.Pytester, tool: str) -> None:
    text = (lint_tree.path / "pyproject.toml").read_text()
    lint_tree.makepyprojecttoml(text + f'\n[tool.stillme.{tool}]\ncommand = "no-such-{tool}"\n')
    result = lint_tree.runpytest("--stillme-scan", tool, "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"*{tool} is not installed: command 'no-such-{tool}' not found*"])
    result.stdout.fnmatch_lines(["scanner errors*FAIL*"])


def test_all_scanners_together_under_xdist(lint_tree: pytest.Pytester) -> None:
    args = ["--stillme-scan", "ruff", "--stillme-scan", "mypy", "--stillme-gate", "-p", "no:randomly"]
    one = lint_tree.runpytest_subprocess(*args, "--stillme-sarif=one.sarif", "-p", "no:xdist")
    two = lint_tree.runpytest_subprocess(*args, "--stillme-sarif=two.sarif", "-n", "2")
    assert one.parseoutcomes() == two.parseoutcomes()
    from .conftest import sarif_results

    assert sarif_results(lint_tree.path / "one.sarif") == sarif_results(lint_tree.path / "two.sarif")
