"""``--stillme-scan bandit``: the real Bandit on trees the tests write, through pytest sessions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import load_sarif, sarif_results

pytest.importorskip("bandit")

APP = """\
import hashlib
import os
import pickle
import random
import subprocess
import tempfile

import requests
import yaml

password = "hunter2"
HOST = "0.0.0.0"


def login(user, secret="s3cr3t"):
    assert user
    return secret


def run(cmd, blob, text):
    subprocess.call(cmd, shell=True)
    os.system(cmd)
    os.chmod("/tmp/x", 0o777)
    exec(text)
    eval(text)  # nosec
    eval(text)  # nosec B307
    exec(text)  # nosec B101
    data = pickle.loads(blob)
    digest = hashlib.md5(blob).hexdigest()
    name = tempfile.mktemp()
    config = yaml.load(text)
    token = random.random()
    requests.get("https://example.com", verify=False)
    query = "SELECT * FROM users WHERE name = '%s'" % text
    login(user="x", secret="hunter2")
    try:
        pass
    except Exception:
        pass
    return data, digest, name, config, token, query
"""

NET = """\
import ftplib
import telnetlib
import xml.etree.ElementTree
from urllib.request import urlopen

import jinja2


def fetch(url):
    return urlopen(url)


def page(tpl):
    env = jinja2.Environment(autoescape=False)
    return env.from_string(tpl)


def loop(items):
    for item in items:
        try:
            item()
        except Exception:
            continue
    return ftplib, telnetlib, xml.etree.ElementTree
"""

PYPROJECT = """\
[tool.stillme.gate]
coverage = "off"

[tool.bandit]
skips = ["B311"]
exclude_dirs = ["src/pkg/vendored"]
"""

#: A stand-in for Bandit's command: logs each call, then runs the real Bandit's command line,
#: or misbehaves as ``mode.txt`` says.
FAKE_BANDIT = """\
import json, os, runpy, sys, time

args = sys.argv[1:]
with open("bandit-calls.log", "a") as log:
    log.write(json.dumps(args) + "\\n")
mode = open("mode.txt").read().strip() if os.path.exists("mode.txt") else "real"
if "--version" in args:
    version = open("version.txt").read().strip() if os.path.exists("version.txt") else "1.9.4"
    print(f"bandit {version}")
    sys.exit(0)
if mode == "crash":
    sys.stderr.write("[main] ERROR something broke\\nRuntimeError: bandit blew up\\n")
    sys.exit(1)
if mode == "hang":
    time.sleep(60)
if mode == "garbage":
    with open(args[args.index("-o") + 1], "w") as out:
        out.write("this is not JSON {")
    sys.exit(0)
sys.argv = ["bandit", *args]
runpy.run_module("bandit", run_name="__main__", alter_sys=True)
"""


def write_tree(root: Path) -> None:
    files = {
        "src/pkg/__init__.py": "",
        "src/pkg/app.py": APP,
        "src/pkg/sub/__init__.py": "",
        "src/pkg/sub/net.py": NET,
        "src/pkg/vendored/legacy.py": 'import subprocess\nsubprocess.call("x", shell=True)\n',
        # Never scanned by default: tests, a virtual environment, a build folder.
        "tests/test_app.py": "def test_x():\n    assert eval('1')\n",
        ".venv/pyvenv.cfg": "home = /usr/bin\n",
        ".venv/lib/site.py": "exec('x')\n",
        "build/lib/pkg/app.py": "exec('x')\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def tree(pytester: pytest.Pytester) -> pytest.Pytester:
    write_tree(pytester.path)
    pytester.makepyprojecttoml(PYPROJECT)
    return pytester


def use_fake_bandit(project: pytest.Pytester, mode: str = "real", timeout: float = 600) -> None:
    # In a folder .gitignore ignores: the default scope (the whole root) leaves it out, as a user's tools.
    (project.path / "tools").mkdir(exist_ok=True)
    (project.path / "tools" / "fakebandit.py").write_text(FAKE_BANDIT)
    (project.path / ".gitignore").write_text("tools/\n")
    (project.path / "mode.txt").write_text(mode)
    text = (project.path / "pyproject.toml").read_text()
    command = json.dumps([sys.executable, "tools/fakebandit.py"])
    project.makepyprojecttoml(text + f"\n[tool.stillme.bandit]\ncommand = {command}\ntimeout = {timeout}\n")


def scanned_files(project: pytest.Pytester) -> list[str]:
    """Every file the fake Bandit was asked to scan, in call order (duplicates kept)."""
    log = project.path / "bandit-calls.log"
    if not log.exists():
        return []
    files: list[str] = []
    for line in log.read_text().splitlines():
        args = json.loads(line)
        if "--" in args:
            files.extend(args[args.index("--") + 1 :])
    return files


def cli_findings(root: Path, *args: str) -> set[tuple[str, str, int]]:
    done = subprocess.run(
        [sys.executable, "-m", "bandit", *args, "-f", "json", "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    data = json.loads(done.stdout)
    assert data["errors"] == []
    return {(r["test_id"], os.path.normpath(r["filename"]), r["line_number"]) for r in data["results"]}


def session_findings(sarif: Path) -> set[tuple[str, str, int]]:
    data = load_sarif(sarif)
    found = set()
    for run in data["runs"]:
        if run["tool"]["driver"]["name"] != "bandit":
            continue
        for result in run["results"]:
            physical = result["locations"][0]["physicalLocation"]
            found.add((result["ruleId"], physical["artifactLocation"]["uri"], physical["region"]["startLine"]))
    return found


def test_findings_equal_bandit_cli(tree: pytest.Pytester) -> None:
    result = tree.runpytest_subprocess("--stillme-scan", "bandit", "--stillme-sarif=out.sarif", "-p", "no:randomly")
    ours = session_findings(tree.path / "out.sarif")
    theirs = cli_findings(tree.path, "-c", "pyproject.toml", "-r", "src")
    assert ours == theirs
    assert len({rule for rule, _, _ in ours}) >= 15
    # Bandit's config (skips, exclude_dirs) and nosec were honoured, tests and venvs never scanned.
    assert not any(rule == "B311" or "vendored" in path for rule, path, _ in ours)
    assert ("B307", "src/pkg/app.py", 25) not in ours
    assert ("B102", "src/pkg/app.py", 27) in ours
    outcomes = result.parseoutcomes()
    # app.py and net.py fail (high findings); the two __init__ files, the status item and the test pass
    assert outcomes == {"failed": 2, "passed": 4}
    names = [line for line in tree.runpytest("--stillme-scan", "bandit", "--co", "-q").outlines if "::bandit" in line]
    assert names == [
        "src/pkg/__init__.py::bandit",
        "src/pkg/app.py::bandit",
        "src/pkg/sub/__init__.py::bandit",
        "src/pkg/sub/net.py::bandit",
        "stillme::bandit",
    ]


def test_item_failure_is_plain_text_with_every_detail(tree: pytest.Pytester) -> None:
    result = tree.runpytest("--stillme-scan", "bandit", "-k", "app.py")
    assert result.ret == 1
    text = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*_ src/pkg/app.py (bandit) _*",
            "src/pkg/app.py:",
            "*bandit finding(s) at or above the gate's threshold (sast >= high):",
            "B602 subprocess_popen_with_shell_equals_true (severity high, confidence high, CWE-78)",
            "    line 21: subprocess call with shell=True identified, security issue.",
            "    > subprocess.call(cmd, shell=True)",
            "    https://bandit.readthedocs.io/*b602*",
            "also found, below the threshold:",
            "  B105 hardcoded_password_string (severity low, confidence medium, CWE-259) line 11:*",
        ]
    )
    assert "Traceback" not in text
    assert "def runtest" not in text


def test_gate_sarif_and_thresholds(tree: pytest.Pytester) -> None:
    result = tree.runpytest("--stillme-scan", "bandit", "--stillme-gate", "--stillme-sarif=out.sarif")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["sast findings*high*FAIL*", "*[[]high[]] bandit B602*src/pkg/app.py:21*"])
    data = load_sarif(tree.path / "out.sarif")
    run = next(r for r in data["runs"] if r["tool"]["driver"]["name"] == "bandit")
    assert run["tool"]["driver"]["version"]
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "B602")
    assert rule["helpUri"].startswith("https://bandit.readthedocs.io/")
    assert rule["properties"]["precision"] == "high"
    assert "external/cwe/cwe-78" in rule["properties"]["tags"]
    # sast=critical: nothing blocks, every item passes, the findings are still in the SARIF.
    result = tree.runpytest(
        "--stillme-scan", "bandit", "--stillme-gate", "--stillme-fail-on", "sast=critical", "--stillme-sarif=b.sarif"
    )
    assert result.ret == 0
    assert session_findings(tree.path / "b.sarif") == session_findings(tree.path / "out.sarif")


def test_severity_and_confidence_levels_match_cli(tree: pytest.Pytester) -> None:
    text = (tree.path / "pyproject.toml").read_text()
    tree.makepyprojecttoml(text + '\n[tool.stillme.bandit]\nseverity = "medium"\nconfidence = "high"\n')
    tree.runpytest("--stillme-scan", "bandit", "--stillme-sarif=out.sarif")
    ours = session_findings(tree.path / "out.sarif")
    cli = cli_findings(
        tree.path, "-c", "pyproject.toml", "--severity-level", "medium", "--confidence-level", "high", "-r", "src"
    )
    assert ours == cli
    assert ours
    assert not any(rule in ("B105", "B404") for rule, _, _ in ours)


def test_dot_bandit_ini_is_honoured(tree: pytest.Pytester) -> None:
    (tree.path / ".bandit").write_text("[bandit]\nskips = B101,B404\n")
    tree.runpytest("--stillme-scan", "bandit", "--stillme-sarif=out.sarif")
    ours = session_findings(tree.path / "out.sarif")
    assert ours == cli_findings(tree.path, "-c", "pyproject.toml", "--ini", ".bandit", "-r", "src")
    assert not any(rule in ("B101", "B404") for rule, _, _ in ours)


def test_fingerprints_survive_line_moves_and_repeat_lines(tree: pytest.Pytester) -> None:
    app = tree.path / "src" / "pkg" / "app.py"
    app.write_text(APP + "\n\ndef again(text):\n    exec(text)\n    exec(text)\n")
    tree.runpytest("--stillme-scan", "bandit", "--stillme-sarif=one.sarif", "-p", "no:cacheprovider")
    app.write_text("\n\n\n# moved down\n" + app.read_text())
    tree.runpytest("--stillme-scan", "bandit", "--stillme-sarif=two.sarif", "-p", "no:cacheprovider")
    one, two = sarif_results(tree.path / "one.sarif"), sarif_results(tree.path / "two.sarif")
    assert one == two
    execs = [r for r in one if r[1] == "B102"]
    assert len(execs) == 4  # four `exec(text)` lines with the same code: four fingerprints


def test_cache_rescans_only_what_changed(tree: pytest.Pytester) -> None:
    use_fake_bandit(tree)
    first = tree.runpytest("--stillme-scan", "bandit", "--stillme-sarif=one.sarif")
    assert sorted(scanned_files(tree)) == [
        "src/pkg/__init__.py",
        "src/pkg/app.py",
        "src/pkg/sub/__init__.py",
        "src/pkg/sub/net.py",
    ]
    log = tree.path / "bandit-calls.log"

    def rerun() -> list[str]:
        log.unlink()
        result = tree.runpytest("--stillme-scan", "bandit", "--stillme-sarif=again.sarif")
        assert result.parseoutcomes() == first.parseoutcomes()
        assert sarif_results(tree.path / "again.sarif") == sarif_results(tree.path / "one.sarif")
        return sorted(scanned_files(tree))

    assert rerun() == []  # nothing changed: nothing scanned, same findings
    net = tree.path / "src" / "pkg" / "sub" / "net.py"
    net.write_text(net.read_text() + "\n")
    assert rerun() == ["src/pkg/sub/net.py"]
    (tree.path / "version.txt").write_text("1.99.0")  # another Bandit
    assert len(rerun()) == 4
    assert rerun() == []
    text = (tree.path / "pyproject.toml").read_text()
    tree.makepyprojecttoml(text.replace('skips = ["B311"]', 'skips = ["B311", "B999"]'))  # another config
    assert len(rerun()) == 4
    text = (tree.path / "pyproject.toml").read_text()
    tree.makepyprojecttoml(text + '\nseverity = "all"\n')  # another stillme option for Bandit
    assert len(rerun()) == 4


def test_unscannable_files_fail_the_status_item_and_the_gate(tree: pytest.Pytester) -> None:
    pkg = tree.path / "src" / "pkg"
    (pkg / "broken.py").write_text("def f(:\n    pass\n")
    (pkg / "gone.py").symlink_to(tree.path / "nowhere.py")
    text = (tree.path / "pyproject.toml").read_text()
    tree.makepyprojecttoml(text + '\n[tool.stillme.bandit]\npaths = ["src", "lib"]\n')
    result = tree.runpytest("--stillme-scan", "bandit", "--stillme-gate", "--stillme-fail-on", "sast=off")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*_ src/pkg/broken.py (bandit) _*",
            "not scanned:",
            "  bandit (src/pkg/broken.py): could not scan: syntax error while parsing AST from file*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ stillme::bandit _*",
            "bandit on src, lib with pyproject.toml (*):",
            "bandit failed:",
            "  bandit (lib): path 'lib' does not exist*",
            # Each file's own item shows why; the status item counts them (a long list shown once).
            "bandit could not scan 2 of its targets: see their items",
        ]
    )
    result.stdout.fnmatch_lines(["scanner errors*3*FAIL*"])
    assert "Traceback" not in result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 4  # broken.py, gone.py, the status item, the gate


@pytest.mark.parametrize(
    ("mode", "timeout", "message"),
    [
        (
            "crash",
            600,
            "*bandit exited with status 1: [[]main[]] ERROR something broke | RuntimeError: bandit blew up*",
        ),
        ("hang", 1, "*bandit timed out after 1 s - raise bandit.timeout*"),
        ("garbage", 600, "*unparsable Bandit output: not JSON*"),
    ],
)
def test_tool_failures_fail_items_status_and_gate(
    tree: pytest.Pytester, mode: str, timeout: float, message: str
) -> None:
    use_fake_bandit(tree, mode, timeout)
    result = tree.runpytest("--stillme-scan", "bandit", "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*_ stillme::bandit _*", "bandit failed:", message])
    result.stdout.fnmatch_lines(["*_ src/pkg/app.py (bandit) _*", "src/pkg/app.py: not scanned, bandit did not run:"])
    result.stdout.fnmatch_lines(["scanner errors*1*FAIL*", message])
    assert result.parseoutcomes() == {"failed": 6, "passed": 1}  # four files, the status item, the gate; the test
    assert "Traceback" not in result.stdout.str()


def test_not_installed(tree: pytest.Pytester) -> None:
    text = (tree.path / "pyproject.toml").read_text()
    tree.makepyprojecttoml(text + '\n[tool.stillme.bandit]\ncommand = "no-such-bandit-command --flag"\n')
    result = tree.runpytest("--stillme-scan", "bandit", "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*bandit is not installed: command 'no-such-bandit-command' not found*"
            "pip install 'pytest-stillme[[]bandit[]]'*bandit.command*"
        ]
    )
    result.stdout.fnmatch_lines(["scanner errors*1*FAIL*"])


def test_interpreter_without_bandit(tree: pytest.Pytester) -> None:
    base = Path(sys.base_prefix) / "bin" / "python3"
    if not base.exists() or subprocess.run([base, "-c", "import bandit"], capture_output=True).returncode == 0:
        pytest.skip("needs a base interpreter without Bandit")
    text = (tree.path / "pyproject.toml").read_text()
    tree.makepyprojecttoml(text + f'\n[tool.stillme.bandit]\ncommand = ["{base}", "-m", "bandit"]\n')
    result = tree.runpytest("--stillme-scan", "bandit", "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*--version failed (status 1): *No module named bandit*"])


def test_default_command_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without bandit importable or on PATH, identify fails closed with the install hint."""
    import importlib.util
    import shutil

    from pytest_stillme.scanners.api import ScanRequest
    from pytest_stillme.scanners.bandit import scan as scanner
    from pytest_stillme.scanners.process import ToolFailure

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bandit" else real(name, *a))
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(ToolFailure) as excinfo:
        scanner.identify(ScanRequest(tmp_path))
    assert "bandit is not installed" in excinfo.value.error.message
    assert "pytest-stillme[bandit]" in excinfo.value.error.hint


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[tool.bandit]\nskips = "B101"\n', "*'skips' in Bandit config pyproject.toml must be a list of strings*"),
        ('[tool.bandit]\ntests = ["B999"]\n', "*bandit exited with status 2:*"),
    ],
)
def test_bad_bandit_config(pytester: pytest.Pytester, config: str, message: str) -> None:
    write_tree(pytester.path)
    pytester.makepyprojecttoml('[tool.stillme.gate]\ncoverage = "off"\n' + config)
    result = pytester.runpytest("--stillme-scan", "bandit", "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*_ stillme::bandit _*", message])
    result.stdout.fnmatch_lines(["scanner errors*FAIL*"])


def test_missing_config_file(tree: pytest.Pytester) -> None:
    text = (tree.path / "pyproject.toml").read_text()
    tree.makepyprojecttoml(text + '\n[tool.stillme.bandit]\nconfig = "nope.yaml"\n')
    result = tree.runpytest("--stillme-scan", "bandit", "--stillme-gate")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*cannot read Bandit config nope.yaml*"])


def test_bad_settings_are_usage_errors(tree: pytest.Pytester) -> None:
    text = (tree.path / "pyproject.toml").read_text()
    tree.makepyprojecttoml(text + '\n[tool.stillme.bandit]\nseverity = "hgh"\ntimeout = -1\nsevrity = 1\n')
    result = tree.runpytest("--stillme-scan", "bandit")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*invalid level 'hgh' for bandit.severity in *pyproject.toml (use all, low, medium, high)*",
            "*invalid timeout -1 for bandit.timeout in *pyproject.toml*",
        ]
    )
    result.stderr.fnmatch_lines(["*unknown key 'bandit.sevrity'*(known: command, confidence, config, paths, *"])
    result = tree.runpytest("--stillme-scan", "bandt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown scanner 'bandt' for scan in --stillme-scan (use bandit, mypy, passive, pip-audit, ruff, zap*"]
    )


def test_scan_alone_is_a_valid_session(pytester: pytest.Pytester) -> None:
    pkg = pytester.mkpydir("app")
    (pkg / "core.py").write_text("def add(a, b):\n    return a + b\n")
    result = pytester.runpytest("--stillme-scan", "bandit", "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["app/__init__.py::bandit PASSED*", "app/core.py::bandit PASSED*", "stillme::bandit PASSED*"]
    )


def test_scan_list_in_pyproject_and_switching_it_off(tree: pytest.Pytester) -> None:
    text = (tree.path / "pyproject.toml").read_text()
    tree.makepyprojecttoml(
        text.replace("[tool.stillme.gate]", '[tool.stillme]\nscan = ["bandit"]\n\n[tool.stillme.gate]')
    )
    assert tree.runpytest("--co", "-q").parseoutcomes() == {"tests": 6}  # the test and the bandit items
    assert tree.runpytest("--co", "-q", "--stillme-scan", "none").parseoutcomes() == {"test": 1}


def test_deselection_scans_only_selected_files(tree: pytest.Pytester) -> None:
    use_fake_bandit(tree)
    tree.makepyfile(test_unit="def test_unit():\n    pass\n")
    result = tree.runpytest("--stillme-scan", "bandit", "-k", "not bandit")
    assert result.parseoutcomes() == {"passed": 2, "deselected": 5}  # the two tests run
    assert scanned_files(tree) == []
    result = tree.runpytest("--stillme-scan", "bandit", "-k", "net.py")
    assert result.parseoutcomes() == {"failed": 1, "deselected": 6}
    assert scanned_files(tree) == ["src/pkg/sub/net.py"]
    result = tree.runpytest("--stillme-scan", "bandit", "-m", "stillme_scan", "-p", "no:cacheprovider")
    assert result.parseoutcomes()["deselected"] == 2
    result = tree.runpytest(
        "--stillme-scan", "bandit", "-m", "stillme_scan(scanner='bandit')", "-p", "no:cacheprovider"
    )
    assert result.parseoutcomes()["deselected"] == 2


def test_default_scope_is_the_whole_root(pytester: pytest.Pytester) -> None:
    """As ``bandit -r .`` less virtual environments, build output, tool folders, .gitignore and tests."""
    files = {
        "app/__init__.py": "",
        "app/views.py": "exec('1')\n",
        "app/tests/test_views.py": "exec('1')\n",
        "app/conftest.py": "exec('1')\n",
        "labs/flask_lab/app.py": "exec('1')\n",  # no __init__.py anywhere: scanned all the same
        "tools.py": "exec('1')\n",
        "setup.py": "exec('1')\n",
        "docs/__init__.py": "exec('1')\n",
        "generated/big.py": "exec('1')\n",
        ".gitignore": "generated/\n",
        "venv/pyvenv.cfg": "",
        "venv/lib/x.py": "exec('1')\n",
        "build/lib/app.py": "exec('1')\n",
        "node_modules/x/y.py": "exec('1')\n",
        ".tox/py311/x.py": "exec('1')\n",
    }
    for name, text in files.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text)
    result = pytester.runpytest("--stillme-scan", "bandit", "--co", "-q")
    assert sorted(line for line in result.outlines if "::" in line) == [
        "app/__init__.py::bandit",
        "app/views.py::bandit",
        "docs/__init__.py::bandit",
        "labs/flask_lab/app.py::bandit",
        "setup.py::bandit",
        "stillme::bandit",
        "tools.py::bandit",
    ]


MODES = {"absent": ["-p", "no:xdist"], "n0": ["-n", "0"], "n2": ["-n", "2"]}


def test_xdist_same_findings_each_file_scanned_once_cache_on_controller(tree: pytest.Pytester) -> None:
    use_fake_bandit(tree)
    for extra in range(30):  # enough files for a chunk per worker
        (tree.path / "src" / "pkg" / f"mod{extra:02d}.py").write_text(f"import pickle\nX{extra} = pickle.loads(b'')\n")
    outcomes: dict[str, Any] = {}
    for mode, args in MODES.items():
        (tree.path / "bandit-calls.log").unlink(missing_ok=True)
        # The cache only in the last mode: its workers' entries must reach the controller's cache.
        cache = [] if mode == "n2" else ["-p", "no:cacheprovider"]
        result = tree.runpytest_subprocess(
            "--stillme-scan", "bandit", "--stillme-gate", f"--stillme-sarif={mode}.sarif", *cache, *args
        )
        outcomes[mode] = result.parseoutcomes()
        files = scanned_files(tree)
        assert len(files) == len(set(files)) == 34, mode  # every file scanned, none twice
    assert outcomes["absent"] == outcomes["n0"] == outcomes["n2"]
    results = {mode: sarif_results(tree.path / f"{mode}.sarif") for mode in MODES}
    assert results["absent"] == results["n0"] == results["n2"]
    assert len(results["n2"]) > 50
    cache = json.loads((tree.path / ".pytest_cache" / "v" / "stillme" / "scan-bandit").read_text())
    assert len(cache["entries"]) == 34
    (tree.path / "bandit-calls.log").unlink()
    again = tree.runpytest_subprocess(
        "--stillme-scan", "bandit", "--stillme-gate", "--stillme-sarif=warm.sarif", "-n", "2"
    )
    assert scanned_files(tree) == []
    assert again.parseoutcomes() == outcomes["n2"]
    assert sarif_results(tree.path / "warm.sarif") == results["n2"]
