"""OSV records: parsing, version matching, severities, snapshots and the loopback API."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_stillme.core.findings import Severity
from pytest_stillme.readers.osv import OsvError, SnapshotError, derive_severity, parse_record, parse_time
from pytest_stillme.readers.osv_snapshot import Snapshot, load_snapshot
from pytest_stillme.scanners.pip_audit.osv_server import OsvServer, fetch_advisories

CVSS31_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
CVSS31_MEDIUM = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"  # 5.4
CVSS40_CRITICAL = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"  # 9.3
CVSS20_HIGH = "AV:N/AC:L/Au:N/C:P/I:P/A:P"  # 7.5


def now_text(days_ago: float = 0.0) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def osv_record(
    ident: str,
    package: str,
    *,
    introduced: str | None = "0",
    fixed: str | None = None,
    last_affected: str | None = None,
    versions: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    vectors: tuple[tuple[str, str], ...] = (),
    label: str | None = None,
    summary: str = "",
    withdrawn: str | None = None,
    modified: str | None = None,
    cwe: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A realistic OSV record for one PyPI package."""
    events: list[dict[str, str]] = []
    if introduced is not None:
        events.append({"introduced": introduced})
    if fixed is not None:
        events.append({"fixed": fixed})
    if last_affected is not None:
        events.append({"last_affected": last_affected})
    affected: dict[str, Any] = {"package": {"ecosystem": "PyPI", "name": package, "purl": f"pkg:pypi/{package}"}}
    if events:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions:
        affected["versions"] = list(versions)
    record: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": ident,
        "modified": modified or now_text(1),
        "published": "2023-01-02T03:04:05Z",
        "aliases": list(aliases),
        "details": f"details of {ident}",
        "affected": [affected],
        "references": [{"type": "WEB", "url": f"https://example.org/{ident}"}],
    }
    if summary:
        record["summary"] = summary
    if vectors:
        record["severity"] = [{"type": kind, "score": vector} for kind, vector in vectors]
    specific: dict[str, Any] = {}
    if label:
        specific["severity"] = label
    if cwe:
        specific["cwe_ids"] = list(cwe)
    if specific:
        record["database_specific"] = specific
    if withdrawn:
        record["withdrawn"] = withdrawn
    return record


def write_snapshot(folder: Path, records: list[dict[str, Any]], *, yaml: bool = False) -> Path:
    """The records as a PyPA-advisory-database-like tree: ``vulns/<package>/<id>.json`` (or ``.yaml``)."""
    import yaml as pyyaml

    for record in records:
        package = record["affected"][0]["package"]["name"]
        target = folder / "vulns" / package / (record["id"] + (".yaml" if yaml else ".json"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pyyaml.safe_dump(record) if yaml else json.dumps(record, indent=1), encoding="utf-8")
    return folder


# -- parsing and matching --------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "affected"),
    [("0.9", True), ("1.0", True), ("1.4.2", True), ("1.5", False), ("2.0", False), ("1.5rc1", True)],
)
def test_ecosystem_range_introduced_fixed(version: str, affected: bool) -> None:
    advisory = parse_record(osv_record("PYSEC-1", "demo", fixed="1.5"))
    assert advisory.affects("demo", version) is affected


def test_range_with_last_affected_and_reintroduction() -> None:
    record = osv_record("PYSEC-2", "Demo_Pkg", introduced=None)
    record["affected"][0]["ranges"] = [
        {
            "type": "ECOSYSTEM",
            "events": [{"introduced": "2.0"}, {"fixed": "2.1"}, {"introduced": "3.0"}, {"last_affected": "3.2"}],
        }
    ]
    advisory = parse_record(record)
    checks = {"1.9": False, "2.0": True, "2.0.5": True, "2.1": False, "2.9": False, "3.0": True, "3.2": True}
    checks["3.2.1"] = False
    for version, expected in checks.items():
        assert advisory.affects("demo-pkg", version) is expected, version


def test_limit_events_and_unsorted_events() -> None:
    record = osv_record("PYSEC-3", "demo", introduced=None)
    record["affected"][0]["ranges"] = [
        {"type": "ECOSYSTEM", "events": [{"fixed": "1.3"}, {"limit": "1.2"}, {"introduced": "1.0"}]}
    ]
    advisory = parse_record(record)
    assert advisory.affects("demo", "1.1")
    assert not advisory.affects("demo", "1.2.5")  # beyond the limit
    assert not advisory.affects("demo", "0.5")


def test_explicit_versions_match_normalised_and_git_ranges_are_ignored() -> None:
    record = osv_record("PYSEC-4", "demo", introduced=None, versions=("1.0", "2.0.post1", "weird-legacy"))
    record["affected"][0]["ranges"] = [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "abc123"}]}]
    advisory = parse_record(record)
    assert advisory.affects("demo", "1.0.0")  # 1.0 == 1.0.0
    assert advisory.affects("demo", "2.0-post1")
    assert advisory.affects("demo", "WEIRD-legacy")
    assert not advisory.affects("demo", "1.1")
    assert not advisory.affects("other", "1.0")


def test_unparsable_event_versions_err_on_the_affected_side() -> None:
    record = osv_record("PYSEC-5", "demo", introduced="not a version", fixed="also bad")
    advisory = parse_record(record)
    assert advisory.affects("demo", "0.1")  # introduced read as 0, fixed ignored
    assert advisory.affects("demo", "99")
    assert advisory.fixed_versions("demo") == ()


def test_withdrawn_records_never_match() -> None:
    advisory = parse_record(osv_record("PYSEC-6", "demo", withdrawn="2024-01-01T00:00:00Z"))
    assert advisory.withdrawn
    assert not advisory.affects("demo", "1.0")


def test_other_ecosystems_are_ignored_and_names_canonical() -> None:
    record = osv_record("GHSA-x", "Zope.Interface", fixed="5")
    record["affected"].append({"package": {"ecosystem": "npm", "name": "zope"}, "versions": ["1.0"]})
    advisory = parse_record(record)
    assert [a.name for a in advisory.affected] == ["zope-interface"]
    assert advisory.affects("zope_interface", "4.0")
    assert advisory.fixed_versions("ZOPE.interface") == ("5",)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda r: r.pop("id"), "id: missing"),
        (lambda r: r.update(schema_version="2.0.0"), "not a supported OSV schema"),
        (lambda r: r.update(modified="yesterday"), "not an RFC 3339 time"),
        (lambda r: r.update(affected={"x": 1}), "affected: expected an array"),
        (lambda r: r["affected"][0].update(ranges="x"), "affected[0].ranges: expected an array"),
        (lambda r: r["affected"][0]["ranges"][0].update(events=[{"introduced": "0", "fixed": "1"}]), "exactly one"),
        (lambda r: r["affected"][0]["package"].update(name=""), "package.name: missing"),
        (lambda r: r.update(aliases=[1]), "aliases[0]: expected a string"),
        (lambda r: r.update(severity=[3]), "severity[0]: expected an object"),
    ],
)
def test_invalid_records_say_where(mutate: Any, problem: str) -> None:
    record = osv_record("PYSEC-7", "demo", fixed="2")
    mutate(record)
    with pytest.raises(OsvError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_record(record)


def test_parse_time_variants() -> None:
    assert parse_time("2024-05-06T07:08:09Z") == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    nanos = parse_time("2024-05-06T07:08:09.123456789Z")
    assert nanos is not None
    assert nanos.microsecond == 123456
    offset = parse_time("2024-05-06T09:08:09+02:00")
    assert offset == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    assert parse_time("2024-13-45T00:00:00Z") is None
    assert parse_time("soon") is None


# -- severity ----------------------------------------------------------------------


def test_severity_from_cvss_v3_v4_v2_and_labels() -> None:
    v3 = parse_record(osv_record("GHSA-1", "demo", vectors=(("CVSS_V3", CVSS31_CRITICAL),)))
    derived = derive_severity([v3], "demo")
    assert (derived.severity, derived.score) == (Severity.CRITICAL, 9.8)
    assert derived.source == "CVSS 3.1 score 9.8 in GHSA-1"

    both = parse_record(
        osv_record("GHSA-2", "demo", vectors=(("CVSS_V3", CVSS31_MEDIUM), ("CVSS_V4", CVSS40_CRITICAL)))
    )
    assert derive_severity([both]).score == 9.3  # the newest CVSS version of a record counts

    v2 = parse_record(osv_record("PYSEC-3", "demo", vectors=(("CVSS_V2", CVSS20_HIGH),)))
    assert derive_severity([v2]).severity is Severity.HIGH

    labelled = parse_record(osv_record("GHSA-4", "demo", label="MODERATE"))
    derived = derive_severity([labelled])
    assert (derived.severity, derived.score) == (Severity.MEDIUM, None)
    assert "MODERATE" in derived.source


def test_severity_is_the_highest_over_aliases_and_unknown_without_source() -> None:
    pysec = parse_record(osv_record("PYSEC-9", "demo", aliases=("GHSA-9",)))
    ghsa = parse_record(osv_record("GHSA-9", "demo", aliases=("PYSEC-9",), vectors=(("CVSS_V3", CVSS31_MEDIUM),)))
    other = parse_record(osv_record("CVE-9", "demo", label="CRITICAL"))
    assert derive_severity([pysec, ghsa]).severity is Severity.MEDIUM
    assert derive_severity([pysec, ghsa, other]).severity is Severity.MEDIUM  # a score beats a label
    assert derive_severity([pysec]).severity is None
    assert derive_severity([]).severity is None


def test_malformed_vectors_are_named_not_fatal() -> None:
    bad = parse_record(osv_record("GHSA-b", "demo", vectors=(("CVSS_V3", "CVSS:3.1/AV:X"),), label="LOW"))
    derived = derive_severity([bad])
    assert derived.severity is Severity.LOW
    assert derived.problems
    assert "GHSA-b" in derived.problems[0]


def test_entry_level_severity_labels_count() -> None:
    record = osv_record("GHSA-e", "demo")
    record["affected"][0]["ecosystem_specific"] = {"severity": "HIGH"}
    assert derive_severity([parse_record(record)], "demo").severity is Severity.HIGH


# -- snapshots -----------------------------------------------------------------------


def test_snapshot_from_json_and_yaml_tree_skips_hidden_and_foreign_files(tmp_path: Path) -> None:
    write_snapshot(tmp_path, [osv_record("PYSEC-1", "demo", fixed="2.0")])
    write_snapshot(tmp_path, [osv_record("GHSA-1", "other", fixed="1.10", aliases=("CVE-1",))], yaml=True)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: docs\n")
    snapshot = load_snapshot(tmp_path)
    assert snapshot.problems == []
    assert snapshot.records == 2
    assert [a.id for a in snapshot.query("demo", "1.0")] == ["PYSEC-1"]
    # YAML "1.10" stays the string 1.10 (not the float 1.1): 1.9 is affected, 1.10 is not.
    assert [a.id for a in snapshot.query("other", "1.9")] == ["GHSA-1"]
    assert snapshot.query("other", "1.10") == []
    assert [a.id for a in snapshot.lookup(["CVE-1"])] == ["GHSA-1"]


def test_snapshot_from_osv_zip_and_single_file(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("PYSEC-1.json", json.dumps(osv_record("PYSEC-1", "demo", fixed="2")))
        zf.writestr("GHSA-2.json", json.dumps(osv_record("GHSA-2", "demo", fixed="3")))
    snapshot = load_snapshot(archive)
    assert [a.id for a in snapshot.query("demo", "1")] == ["GHSA-2", "PYSEC-1"]
    single = tmp_path / "records.json"
    single.write_text(json.dumps([osv_record("PYSEC-3", "demo", fixed="2")]))
    assert load_snapshot(single).records == 1


def test_snapshot_problems_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        load_snapshot(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SnapshotError, match="holds no OSV records for PyPI"):
        load_snapshot(tmp_path / "empty")
    write_snapshot(tmp_path / "db", [osv_record("PYSEC-1", "demo")])
    (tmp_path / "db" / "broken.json").write_text('{"id": "PYSEC-2", "affected": 5}')
    (tmp_path / "db" / "truncated.json").write_text('{"id": "PYSEC-3", "aff')
    (tmp_path / "db" / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    snapshot = load_snapshot(tmp_path / "db")
    assert snapshot.records == 1
    problems = "\n".join(snapshot.problems)
    assert "broken.json: affected: expected an array" in problems
    assert "truncated.json: not valid JSON" in problems
    assert "binary.json" in problems


def test_duplicate_ids_keep_the_newer_and_withdrawals_win(tmp_path: Path) -> None:
    snapshot = Snapshot(path="x")
    snapshot.add(parse_record(osv_record("PYSEC-1", "demo", fixed="2", modified="2024-01-01T00:00:00Z")))
    snapshot.add(parse_record(osv_record("PYSEC-1", "demo", fixed="3", modified="2024-02-01T00:00:00Z")))
    snapshot.add(parse_record(osv_record("PYSEC-1", "demo", fixed="4", modified="2023-02-01T00:00:00Z")))
    assert [a.fixed_versions("demo") for a in snapshot.query("demo", "2.5")] == [("3",)]
    snapshot.add(
        parse_record(osv_record("PYSEC-1", "demo", withdrawn="2024-03-01T00:00:00Z", modified="2024-03-01T00:00:00Z"))
    )
    assert snapshot.query("demo", "2.5") == []
    assert snapshot.withdrawn == 1
    assert snapshot.get("PYSEC-1") is None


def test_records_are_validated_in_full_when_first_used(tmp_path: Path) -> None:
    record = osv_record("PYSEC-1", "demo", fixed="2")
    record["affected"][0]["ranges"][0]["events"] = "not a list"
    write_snapshot(tmp_path, [record, osv_record("PYSEC-2", "other", fixed="2")])
    snapshot = load_snapshot(tmp_path)
    assert snapshot.problems == []  # indexed, not yet parsed
    assert [a.id for a in snapshot.query("other", "1")] == ["PYSEC-2"]
    assert snapshot.query("demo", "1") == []
    assert snapshot.problems == [
        "vulns/demo/PYSEC-1.json: affected[0].ranges[0].events: expected an array, got a string"
    ]


def test_snapshot_age(tmp_path: Path) -> None:
    write_snapshot(tmp_path, [osv_record("PYSEC-1", "demo", modified=now_text(100))])
    age = load_snapshot(tmp_path).age_days()
    assert age is not None
    assert 99.9 < age < 100.1


# -- the loopback API ---------------------------------------------------------------


def post(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_server_answers_query_querybatch_and_vulns(tmp_path: Path) -> None:
    records = [
        osv_record("PYSEC-1", "demo", fixed="2.0", summary="first", vectors=(("CVSS_V3", CVSS31_CRITICAL),)),
        osv_record("PYSEC-2", "demo", fixed="1.0", withdrawn="2024-01-01T00:00:00Z"),
    ]
    snapshot = load_snapshot(write_snapshot(tmp_path, records))
    with OsvServer(snapshot) as server:
        assert server.url.startswith("http://127.0.0.1:")
        status, body = post(f"{server.url}/query", {"package": {"name": "Demo", "ecosystem": "PyPI"}, "version": "0.5"})
        assert status == 200
        assert [v["id"] for v in body["vulns"]] == ["PYSEC-1"]
        assert body["vulns"][0]["severity"] == [{"type": "CVSS_V3", "score": CVSS31_CRITICAL}]
        assert post(f"{server.url}/query", {"package": {"name": "demo", "ecosystem": "PyPI"}, "version": "3"}) == (
            200,
            {},
        )
        assert post(f"{server.url}/query", {"package": {"name": "demo", "ecosystem": "npm"}, "version": "1"})[1] == {}
        status, body = post(
            f"{server.url}/querybatch",
            {"queries": [{"package": {"purl": "pkg:pypi/demo"}, "version": "1"}, {"commit": "abc"}]},
        )
        assert body == {
            "results": [
                {"vulns": [{"id": "PYSEC-1", "modified": body["results"][0]["vulns"][0]["modified"]}]},
                {"vulns": []},
            ]
        }
        assert post(f"{server.url}/query", {"version": "1"})[0] == 400
        assert post(f"{server.url}/nope", {})[0] == 404
        with urllib.request.urlopen(f"{server.url}/vulns/PYSEC-1", timeout=5) as response:
            assert json.loads(response.read())["id"] == "PYSEC-1"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{server.url}/vulns/PYSEC-2", timeout=5)  # withdrawn: not served
        assert info.value.code == 404
        assert ("demo", "0.5") in server.queried
        assert ("demo", "1") in server.queried


def test_fetch_advisories_online_lookup(tmp_path: Path) -> None:
    snapshot = load_snapshot(write_snapshot(tmp_path, [osv_record("GHSA-1", "demo", label="HIGH")]))
    with OsvServer(snapshot) as server:
        found, problems = fetch_advisories(["GHSA-1", "CVE-404", "GHSA-1"], api=server.url, timeout=5)
    assert list(found) == ["GHSA-1"]
    assert problems == []  # a 404 is "no record", not a problem
    found, problems = fetch_advisories(["GHSA-1"], api="http://127.0.0.1:9/v1", timeout=5)
    assert found == {}
    assert "could not be reached" in problems[0]
    assert fetch_advisories(["GHSA-1"], api="file:///etc", timeout=5)[1] == [
        "the OSV API 'file:///etc' is not an http(s) URL"
    ]


# -- never a traceback ---------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
_event = st.dictionaries(
    st.sampled_from(["introduced", "fixed", "last_affected", "limit", "x"]),
    st.sampled_from(["0", "1.0", "2", "1.0rc1", "bad", "", "3!1", "1.0.post2"]) | _json,
    min_size=1,
    max_size=2,
)
_records = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=8) | _json,
        "affected": st.lists(
            st.fixed_dictionaries(
                {
                    "package": st.fixed_dictionaries(
                        {"ecosystem": st.sampled_from(["PyPI", "npm", "PyPI:x"]) | _json, "name": st.text(max_size=6)}
                    ),
                    "ranges": st.lists(
                        st.fixed_dictionaries(
                            {
                                "type": st.sampled_from(["ECOSYSTEM", "SEMVER", "GIT"]),
                                "events": st.lists(_event, max_size=4),
                            }
                        ),
                        max_size=2,
                    )
                    | _json,
                    "versions": st.lists(st.text(max_size=5), max_size=3) | _json,
                }
            ),
            max_size=2,
        )
        | _json,
    },
    optional={
        "severity": _json
        | st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["CVSS_V3", "CVSS_V4", "CVSS_V2"]), "score": st.text(max_size=20)}
            )
        ),
        "aliases": _json,
        "modified": st.text(max_size=25) | _json,
        "schema_version": st.sampled_from(["1.0.0", "2.0", "x"]) | _json,
        "withdrawn": _json,
        "database_specific": _json,
    },
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(_records | _json, max_size=3), version=st.sampled_from(["0", "1.0", "2", "bad"]))
def test_arbitrary_records_in_a_snapshot_index_or_fail_clearly(records: list[Any], version: str) -> None:
    snapshot = Snapshot(path="x")
    for record in records:
        try:
            snapshot.add_record(record, "r.json")
        except OsvError as exc:
            snapshot.problems.append(str(exc))
    snapshot.finish()
    for record in records:
        affected = record.get("affected") if isinstance(record, dict) else None
        for entry in affected if isinstance(affected, list) else []:
            package = entry.get("package") if isinstance(entry, dict) else None
            name = package.get("name") if isinstance(package, dict) else None
            if isinstance(name, str):
                snapshot.query(name, version)
    snapshot.lookup([r.get("id") for r in records if isinstance(r, dict) and isinstance(r.get("id"), str)])
    assert all(isinstance(p, str) and p for p in snapshot.problems)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_records | _json, version=st.sampled_from(["0", "1.0", "1.0rc1", "2", "bad version", ""]))
def test_arbitrary_records_parse_or_fail_clearly(record: Any, version: str) -> None:
    try:
        advisory = parse_record(record)
    except OsvError as exc:
        problem = str(exc)
        assert problem.strip()
        return
    for entry in advisory.affected:
        entry.affects(version)
        advisory.fixed_versions(entry.name)
    advisory.served()
    derive_severity([advisory], "x")
