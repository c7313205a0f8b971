"""zap-baseline's rule configuration file: levels, sub-rules, OUTOFSCOPE, and clear errors for bad lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_stillme.dast.rules import RuleConfig, RuleFileError, find_rule_file, load_rule_config, parse_rule_config

#: As teams write it for zap-baseline (generated with -g, then edited): tabs, comments, a message field.
BASELINE_FILE = (
    "# zap-baseline rule configuration file\n"
    "# Change WARN to IGNORE to ignore rule or FAIL to fail if rule matches\n"
    "10010\tWARN\t(Cookie No HttpOnly Flag)\n"
    "10038\tFAIL\t(Content Security Policy (CSP) Header Not Set)\tthe security team requires CSP\n"
    "10096\tIGNORE\t(Timestamp Disclosure)\n"
    "10027\tINFO\t(Information Disclosure - Suspicious Comments)\n"
    "10055-4\tIGNORE\t(CSP: Wildcard Directive)\n"
    "10055\tFAIL\t(CSP)\n"
    "10021,10020\tOUTOFSCOPE\thttp://127.0.0.1:\\d+/static/.*\n"
    "*\tOUTOFSCOPE\t.*/vendor/.*\n"
    "\n"
)


def test_levels_messages_and_defaults() -> None:
    rules = parse_rule_config(BASELINE_FILE, source="rules.tsv")
    assert rules.level("10038") == "FAIL"
    assert rules.level("10096") == "IGNORE"
    assert rules.level("10027") == "INFO"
    assert rules.level("10010") == "WARN"
    # Unlisted rules are WARN, as in zap-baseline; INFO with its -i.
    assert rules.level("90022") == "WARN"
    assert parse_rule_config(BASELINE_FILE, default="INFO").level("90022") == "INFO"
    assert rules.message("10038") == "the security team requires CSP"
    assert rules.message("10010") == ""


def test_a_sub_rule_wins_over_its_rule() -> None:
    rules = parse_rule_config(BASELINE_FILE)
    assert rules.level("10055", "10055-4") == "IGNORE"
    assert rules.level("10055", "10055-5") == "FAIL"
    assert rules.key("10055", "10055-4") == "10055-4"
    assert rules.key("10055", "10055-5") == "10055"


def test_out_of_scope_matches_from_the_start_of_the_url() -> None:
    rules = parse_rule_config(BASELINE_FILE)
    assert not rules.in_scope("10021", "http://127.0.0.1:8000/static/app.css")
    assert not rules.in_scope("10020", "http://127.0.0.1:8000/static/x")
    assert rules.in_scope("10038", "http://127.0.0.1:8000/static/app.css")  # listed for 10021/10020 only
    assert not rules.in_scope("10038", "http://127.0.0.1:8000/vendor/lib.js")  # "*" covers every rule
    assert rules.in_scope("10021", "http://example.org/?u=http://127.0.0.1:1/static/")  # match(), not search()


def test_describe_counts_levels() -> None:
    text = parse_rule_config(BASELINE_FILE, source="rules.tsv").describe()
    assert text == "rules from rules.tsv (2 IGNORE, 1 INFO, 1 WARN, 2 FAIL, 3 OUTOFSCOPE; others WARN)"
    assert RuleConfig().describe() == "no rule file (every rule WARN)"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("10038 FAIL (CSP)", "separated by spaces, but zap-baseline needs tabs"),
        ("10038\tfail\t(CSP)", "level 'fail' must be upper case (FAIL)"),
        ("10038\tBLOCK\t(CSP)", "unknown level 'BLOCK'"),
        ("CSP\tFAIL\t(CSP)", "invalid rule id 'CSP'"),
        ("*\tFAIL\tall", "invalid rule id '*'"),
        ("10038\tOUTOFSCOPE", "OUTOFSCOPE needs a URL regular expression"),
        ("10038\tOUTOFSCOPE\thttp://[", "invalid OUTOFSCOPE regular expression"),
        ("a,b\tOUTOFSCOPE\t.*", "invalid rule ids 'a,b' for OUTOFSCOPE"),
    ],
)
def test_bad_lines_name_file_and_line(line: str, problem: str) -> None:
    with pytest.raises(RuleFileError) as info:
        parse_rule_config(f"# comment\n10010\tWARN\t(x)\n{line}\n", source="zap.conf")
    assert str(info.value).startswith("zap.conf:3: ")
    assert problem in str(info.value)


def test_files_read_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "rules.tsv"
    path.write_bytes("\ufeff10038\tFAIL\t(CSP)\r\n10096\tIGNORE\t(TS)\r\n".encode())
    rules = load_rule_config(path)
    assert rules.level("10038") == "FAIL"
    assert rules.ignored("10096")


def test_unreadable_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="rule file not found"):
        load_rule_config(tmp_path / "missing.tsv", shown="missing.tsv")
    (tmp_path / "latin.tsv").write_bytes(b"10038\tFAIL\t(\xe9)\n")
    with pytest.raises(RuleFileError, match="not UTF-8"):
        load_rule_config(tmp_path / "latin.tsv")


def test_the_conventional_file_is_found_when_none_is_configured(tmp_path: Path) -> None:
    assert find_rule_file(tmp_path, "") is None
    (tmp_path / ".zap").mkdir()
    (tmp_path / ".zap" / "rules.tsv").write_text("10038\tFAIL\t(CSP)\n")
    assert find_rule_file(tmp_path, "") == tmp_path / ".zap" / "rules.tsv"
    assert find_rule_file(tmp_path, "other.conf") == tmp_path / "other.conf"


_LEVEL = st.sampled_from(["IGNORE", "INFO", "WARN", "FAIL", "PASS"])
_ID = st.integers(min_value=0, max_value=200_000).map(str)


@given(
    st.dictionaries(_ID, _LEVEL, max_size=20),
    st.text(alphabet=st.characters(blacklist_characters="\t\r\n"), max_size=30),
)
def test_any_well_formed_file_round_trips(levels: dict[str, str], text: str) -> None:
    body = "".join(f"{rule}\t{level}\t({text})\n" for rule, level in levels.items())
    rules = parse_rule_config(body)
    assert dict(rules.levels) == levels


@given(st.text(max_size=200))
def test_any_text_parses_or_fails_clearly(text: str) -> None:
    try:
        parse_rule_config(text, source="f")
    except RuleFileError as exc:
        problem = str(exc)
    else:
        problem = "f:"
    assert problem.startswith("f:")
