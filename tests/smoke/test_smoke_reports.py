"""Report writers: JUnit against the JUnit schema shape, JSON fields, the text table."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from smoke_helpers import TEXT, make_double, make_leaf, smoke

from catalog_gen.smoke.report import render
from catalog_gen.smoke.results import percentile, summarize
from catalog_gen.testing.ollama_double import serve_double

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit.xsd"))


@pytest.fixture(scope="module")
def reports():
    """A healthy run, a run with a failure and an error, and an unreachable target."""
    healthy_double = make_double()
    broken_double = make_double(stall_after_chunks=20, tokens_per_reply=40)
    broken_double.model(TEXT).wrong_digest = True
    pinned = make_double().model(TEXT).digest
    with serve_double(healthy_double) as url:
        healthy = smoke(make_leaf(), url)
    with serve_double(broken_double) as url:
        broken = smoke(make_leaf(models=[{"name": TEXT, "digest": pinned}, {"name": "nomic-embed-text:v1.5", "kind": "embedding"}]), url, timeout=0.5)
    unreachable = smoke(make_leaf(serviceName="gone"), url, warmup=0.2)
    return [healthy, broken, unreachable]


def test_junit_validates_against_the_schema(reports):
    SCHEMA.validate(render(reports, "junit"))


def test_the_schema_rejects_what_ci_tools_cannot_read():
    bad_time = '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="c" classname="s" time="1.23456"/></testsuite></testsuites>'
    two_outcomes = (
        '<testsuites><testsuite name="s" tests="1" failures="1" errors="1"><testcase name="c" classname="s" time="1">'
        "<failure/><error/></testcase></testsuite></testsuites>"
    )
    for doc in (bad_time, two_outcomes):
        assert not SCHEMA.is_valid(doc)


def test_junit_maps_statuses_to_failure_error_skipped(reports):
    root = ET.fromstring(render(reports, "junit"))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["ml/chat", "ml/chat", "ml/gone"]
    cases = {c.get("name"): c for c in suites[1].findall("testcase")}
    assert cases[f"models.listed[{TEXT}]"].find("failure") is not None
    stalled = cases[f"stream.latency[{TEXT}]"]
    assert stalled.find("error") is not None and "no complete answer within 0.5 s" in stalled.find("error").get("message")
    assert cases["security.admin_closed"].find("skipped") is not None
    assert suites[1].get("failures") == "1" and suites[1].get("errors") == "1"
    unreachable = suites[2].find("testcase")
    assert unreachable.get("name") == "target reachable" and unreachable.find("error").get("type") == "unreachable"
    totals = {k: sum(int(s.get(k)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    assert totals == {k: int(root.get(k)) for k in totals}


def test_junit_figures_are_testcase_properties(reports):
    root = ET.fromstring(render(reports, "junit"))
    case = next(c for c in root.find("testsuite").findall("testcase") if c.get("name") == f"stream.latency[{TEXT}]")
    props = {p.get("name"): p.get("value") for p in case.find("properties").findall("property")}
    assert {"ttft_s", "end_to_end_latency_s", "number_output_tokens", "output_tokens_per_s"} <= set(props)
    assert float(props["ttft_s"]) > 0
    suite_props = {p.get("name") for p in root.find("testsuite").find("properties").findall("property")}
    assert {"target", "warmup_s", "ttft_s.p95", "end_to_end_latency_s.p50"} <= suite_props


def test_json_has_each_check_and_the_latency_summary(reports):
    doc = json.loads(render(reports, "json"))
    healthy, broken, unreachable = doc["reports"]
    for check in healthy["checks"]:
        assert set(check) >= {"name", "status", "duration_s", "metrics", "error"}
    failed = next(c for c in broken["checks"] if c["name"] == f"models.listed[{TEXT}]")
    assert failed["status"] == "failed" and "pins" in failed["error"]
    assert set(healthy["latency"]["ttft_s"]) == {"p50", "p90", "p95", "p99", "mean", "min", "max", "n"}
    assert healthy["exit_code"] == 0 and broken["exit_code"] == 1 and unreachable["exit_code"] == 2
    assert doc["summary"]["exit_code"] == 2
    assert unreachable["checks"] == [] and unreachable["warmup"]["reached"] is False


def test_text_is_a_table_with_figures_and_a_count_line(reports):
    text = render(reports[:2], "text")
    assert "result  check" in text
    stream_line = next(line for line in text.splitlines() if line.startswith("pass") and f"stream.latency[{TEXT}]" in line)
    assert "ttft" in stream_line and "tok/s" in stream_line
    assert "latency" in text and "p95" in text
    assert "FAIL    models.listed" in text and "ERROR   stream.latency" in text
    assert "1 failed, 1 error(s)" in text


def test_percentiles_interpolate_linearly():
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 4.0
    assert percentile([5.0], 95) == 5.0
    assert round(percentile(list(range(1, 101)), 95), 6) == 95.05
    assert summarize([]) == {}
