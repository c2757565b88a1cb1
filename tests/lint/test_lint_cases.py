"""Every broken fixture produces the right finding at the right place; near misses produce none."""

from __future__ import annotations

import pytest

from catalog_gen.lint import lint_charts
from catalog_gen.lint.policies import CHECK_BY_ID
from lint_cases import CASES, GOOD, SHARED_CRDS, build_chart, marked_line


def _lint(chart, case=None, **kw):
    version = case.kube_version if case else "1.31"
    return lint_charts([chart], kube_version=version, crd_dirs=[SHARED_CRDS], **kw)


def test_good_chart_is_clean():
    result = _lint(GOOD)
    assert result.charts_checked == 1
    assert [f.as_dict() for f in result.findings] == []


@pytest.mark.parametrize("case", CASES, ids=[f"{c.check}: {c.name}" for c in CASES])
def test_case(case, tmp_path):
    chart = build_chart(case, tmp_path)
    findings = _lint(chart, case).findings
    hits = [f for f in findings if f.code == case.check]
    if not case.fires:
        assert hits == [], f"{case.check} fired on a near miss: {[f.message for f in hits]}"
        broken = [(f.code, f.message) for f in findings if f.code in ("helm-render", "yaml-invalid", "object-invalid", "ignore-reason-missing")]
        assert broken == [], "the near miss must still render and parse, or it proves nothing"
        return
    assert hits, f"{case.check} did not fire; got {[(f.code, f.message) for f in findings]}"
    line = marked_line(chart, case.expected_file)
    wanted_file = f"{chart.as_posix()}/{case.expected_file}"
    at_place = [
        f for f in hits
        if f.file.endswith("/" + case.expected_file) and f.file == wanted_file and f.line == line
        and (case.pointer is None or f.pointer == case.pointer)
    ]
    assert at_place, (
        f"no {case.check} finding at {case.expected_file}:{line} {case.pointer or ''}; got "
        f"{[(f.file, f.line, f.pointer, f.message) for f in hits]}"
    )
    finding = at_place[0]
    assert case.message in finding.message
    check = CHECK_BY_ID[case.check]
    assert finding.hint == check.remediation
    assert finding.chart == chart.as_posix()
    if finding.object:
        kind = finding.object.split("/")[0]
        assert check.kinds == ("*",) or kind in check.kinds, f"{kind} is not among the kinds of {check.id}"
    if line == 0 and finding.template:
        assert "rendered manifest line" in finding.message and finding.rendered_line > 0
