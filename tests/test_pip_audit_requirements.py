"""Finding the line that declares a dependency: requirements files (with includes) and pyproject.toml."""

from __future__ import annotations

import textwrap
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_stillme.core.findings import Location
from pytest_stillme.scanners.pip_audit.requirements import (
    logical_lines,
    pinned_version,
    read_pyproject,
    read_requirements,
    relative_path,
)


def test_requirements_syntax(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_text(
        textwrap.dedent(
            """\
            # a comment line
            --index-url https://pypi.example.org/simple
            --requirement=more.txt
            -c constraints.txt

            Requests[security, socks] == 2.19.0 ; python_version >= "3.6"  # pinned
            django \\
                ==3.2.1 \\
                --hash=sha256:0123 \\
                --hash=sha256:4567
            flask>=1.0 # not pinned
            -e git+https://example.org/x/yolo.git#egg=yolo
            ./local/package
            https://example.org/pkg-1.0.tar.gz#egg=urlpkg
            named @ https://example.org/named-1.0.tar.gz
            url#fragment==1.0
            """
        )
    )
    (tmp_path / "reqs" / "more.txt").write_text("urllib3==1.24.1\n-r base.txt\n")  # a cycle: read once
    (tmp_path / "reqs" / "constraints.txt").write_text("idna==2.7\n")
    found = read_requirements("reqs/base.txt", root=tmp_path)
    assert found.path == "reqs/base.txt"
    assert found.files == ("reqs/base.txt", "reqs/more.txt", "reqs/constraints.txt")
    assert found.constraint_files == ("reqs/constraints.txt",)
    table = {(r.key, r.path, r.line, r.pinned, r.constraint, r.direct) for r in found.requirements}
    assert table == {
        ("urllib3", "reqs/more.txt", 1, "1.24.1", False, False),
        ("idna", "reqs/constraints.txt", 1, "2.7", True, False),
        ("requests", "reqs/base.txt", 6, "2.19.0", False, False),
        ("django", "reqs/base.txt", 7, "3.2.1", False, False),
        ("flask", "reqs/base.txt", 11, "", False, False),
        ("yolo", "reqs/base.txt", 12, "", False, True),
        ("urlpkg", "reqs/base.txt", 14, "", False, True),
        ("named", "reqs/base.txt", 15, "", False, True),
        ("url", "reqs/base.txt", 16, "", False, False),
    }
    requests = next(r for r in found.requirements if r.key == "requests")
    assert requests.marker == 'python_version >= "3.6"'
    assert requests.text == 'Requests[security, socks] == 2.19.0 ; python_version >= "3.6"'
    assert requests.applies()
    assert not found.all_pinned  # flask is a range
    assert len(found.problems) == 1
    assert "reqs/base.txt:16: not a valid requirement" in found.problems[0]


def test_locate_prefers_the_line_that_allows_the_version(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        'demo==1.0 ; python_version < "3"\ndemo==2.0 ; python_version >= "3"\n-c c.txt\n'
    )
    (tmp_path / "c.txt").write_text("transitive==5.0\n")
    found = read_requirements("requirements.txt", root=tmp_path)
    assert found.locate("Demo", "2.0") == Location(path="requirements.txt", line=2, package="demo", version="2.0")
    assert found.locate("demo", "1.0").line == 1
    # A constraint pins it, it is declared nowhere else: the constraint line is the best there is.
    assert found.locate("transitive", "5.0") == Location(path="c.txt", line=1, package="transitive", version="5.0")
    # Brought in by resolution: the file, no line.
    assert found.locate("six", "1.16") == Location(path="requirements.txt", package="six", version="1.16")
    assert found.all_pinned


def test_missing_and_unreadable_files_are_problems(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r missing.txt\n-r https://example.org/r.txt\nok==1\n")
    found = read_requirements("requirements.txt", root=tmp_path)
    assert [r.key for r in found.requirements] == ["ok"]
    assert "requirements.txt:1: cannot read missing.txt" in found.problems[0]
    assert "remote include" in found.problems[1]
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9==1\n")
    assert "not UTF-8" in read_requirements("latin1.txt", root=tmp_path).problems[0]
    assert "cannot read" in read_requirements("nope.txt", root=tmp_path).problems[0]


def test_logical_lines_and_pins() -> None:
    text = "a==1 \\\n  ; os_name == 'posix'\n# c \\\nb==2#not-a-comment\n\n   \nc \\\n"
    assert logical_lines(text) == [(1, "a==1   ; os_name == 'posix'"), (4, "b==2#not-a-comment"), (7, "c")]
    assert pinned_version("==1.0") == "1.0"
    assert pinned_version("== 1.0.0") == "1.0.0"
    assert pinned_version("==1.*") == ""
    assert pinned_version("===1.0") == ""
    assert pinned_version(">=1,<2") == ""
    assert pinned_version("==bad!") == ""


def test_pyproject_dependencies_extras_and_self_references(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = ["setuptools==68.0"]

            [project]
            name = "My_Project"
            dependencies = ["alpha==1.0", 'beta>=2',
              "gamma[x]==3.0 ; python_version >= '3.8'",  # comment
            ]

            [project.optional-dependencies]
            test = [
                "my-project[lint]",
                "delta==4.0",
            ]
            lint = ["epsilon==5.0"]
            docs = ["zeta==6.0"]

            [tool.other]
            alpha = "alpha==1.0"
            """
        )
    )
    plain = read_pyproject("pyproject.toml", root=tmp_path)
    assert plain.project == "My_Project"
    assert [(r.key, r.line) for r in plain.requirements] == [("alpha", 6), ("beta", 6), ("gamma", 7)]
    assert not plain.all_pinned
    test = read_pyproject("pyproject.toml", root=tmp_path, extras=["test"])
    assert [(r.key, r.line) for r in test.requirements][3:] == [("delta", 13), ("epsilon", 15)]
    everything = read_pyproject("pyproject.toml", root=tmp_path, extras=["*"])
    assert {r.key for r in everything.requirements} >= {"delta", "epsilon", "zeta"}
    unknown = read_pyproject("pyproject.toml", root=tmp_path, extras=["nope"])
    assert "no optional-dependencies group 'nope'" in unknown.problems[0]


def test_pyproject_problems(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[project\n")
    assert "not valid TOML" in read_pyproject("bad.toml", root=tmp_path).problems[0]
    (tmp_path / "none.toml").write_text("[tool.x]\n")
    assert "no [project] table" in read_pyproject("none.toml", root=tmp_path).problems[0]
    (tmp_path / "odd.toml").write_text('[project]\nname = "x"\ndependencies = ["ok==1", 3, "not valid ~~"]\n')
    odd = read_pyproject("odd.toml", root=tmp_path)
    assert [r.key for r in odd.requirements] == ["ok"]
    assert len(odd.problems) == 2
    assert "cannot read" in read_pyproject("missing.toml", root=tmp_path).problems[0]


def test_relative_path(tmp_path: Path) -> None:
    assert relative_path("a/b.txt", tmp_path) == "a/b.txt"
    assert relative_path(tmp_path / "c.txt", tmp_path) == "c.txt"
    assert relative_path("/elsewhere/x.txt", tmp_path) == "/elsewhere/x.txt"


_line = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(
        [
            "-r other.txt",
            "-c c.txt",
            "-r",
            "--requirement",
            "-e .",
            "-e git+x#egg=",
            "a==1 \\",
            "b[x,y]>=1;python_version<'3'",
            "c @ https://x/y.whl",
            "# comment",
            "d==1.0 --hash=sha256:00",
            "==1",
            "e===1",
            "f ; ",
            "\\",
        ]
    ),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_line, max_size=12), version=st.sampled_from(["1", "1.0", "bad"]))
def test_arbitrary_requirements_files_never_raise(tmp_path: Path, lines: list[str], version: str) -> None:
    (tmp_path / "other.txt").write_text("x==1\n")
    (tmp_path / "r.txt").write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    found = read_requirements("r.txt", root=tmp_path)
    for requirement in found.requirements:
        assert requirement.line >= 1
        found.locate(requirement.name, version)
        requirement.applies()
    assert isinstance(found.all_pinned, bool)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dependencies=st.lists(st.text(max_size=15) | st.integers(), max_size=5),
    extras=st.lists(st.sampled_from(["a", "b", "*", "x"]), max_size=2),
    raw=st.text(max_size=40),
)
def test_arbitrary_pyprojects_never_raise(
    tmp_path: Path, dependencies: list[object], extras: list[str], raw: str
) -> None:
    import json

    items = ", ".join(json.dumps(d) for d in dependencies)
    body = f'[project]\nname = "p"\ndependencies = [{items}]\n'
    body += f'[project.optional-dependencies]\na = ["p[b]"]\nb = [{items}]\n'
    (tmp_path / "pyproject.toml").write_text(body + raw, encoding="utf-8", errors="surrogatepass")
    found = read_pyproject("pyproject.toml", root=tmp_path, extras=extras)
    for requirement in found.requirements:
        found.locate(requirement.key, "1")
