"""`catalog-gen lint` and `catalog-gen checks` as users run them: formats, exit codes, locations."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from catalog_gen.cli import main
from catalog_gen.lint import docs, lint_charts, parallel
from catalog_gen.lint.policies import CHECKS
from lint_cases import CASES, GOOD, SHARED_CRDS, build_chart, marked_line

CRDS = ["--crds", str(SHARED_CRDS)]


def _case(name):
    return next(c for c in CASES if c.name == name)


@pytest.fixture
def broken(tmp_path):
    return build_chart(_case("unknown container field"), tmp_path)


def test_clean_chart_exits_0(capsys):
    assert main(["lint", str(GOOD), *CRDS]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_broken_chart_exits_1_and_names_file_and_line(broken, capsys):
    assert main(["lint", str(broken), *CRDS]) == 1
    out = capsys.readouterr().out
    line = marked_line(broken, "templates/deployment.yaml")
    assert f"{broken.as_posix()}/templates/deployment.yaml:{line}:11: error: unknown field 'bogus'" in out
    assert "(kube-schema) [Deployment/ollama-phi]" in out
    assert "at /spec/template/spec/containers/1/bogus" in out


def test_json_report_carries_chart_template_and_rendered_line(broken, capsys):
    assert main(["lint", str(broken), *CRDS, "--format", "json"]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["chart"] == broken.as_posix()
    assert finding["template"] == "templates/deployment.yaml"
    assert finding["template_line"] == finding["line"] == marked_line(broken, "templates/deployment.yaml")
    assert finding["rendered_line"] > 0 and finding["object"] == "Deployment/ollama-phi"


def test_sarif_and_junit_reports(broken, tmp_path, capsys):
    sarif_path = tmp_path / "lint.sarif"
    assert main(["lint", str(broken), *CRDS, "--format", "sarif", "--output", str(sarif_path)]) == 1
    [result] = json.loads(sarif_path.read_text())["runs"][0]["results"]
    assert result["ruleId"] == "kube-schema"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == marked_line(broken, "templates/deployment.yaml")
    assert main(["lint", str(broken), *CRDS, "--format", "junit"]) == 1
    suites = ET.fromstring(capsys.readouterr().out)
    assert suites.get("failures") == "1"


def test_github_annotations_are_capped(tmp_path, capsys):
    chart = build_chart(_case("host network"), tmp_path)
    deployment = chart / "templates" / "deployment.yaml"
    text = deployment.read_text()
    extra = "".join(f"          bogus{i}: 1\n" for i in range(12))
    deployment.write_text(text.replace('          args: ["--config"', extra + '          args: ["--config"'))
    assert main(["lint", str(chart), *CRDS, "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert out.count("::error ") == 10
    assert "3 more error(s) not annotated" in out


def test_folders_of_charts_at_any_depth(tmp_path, capsys):
    for env in ("dev", "prod"):
        shutil.copytree(GOOD, tmp_path / "charts" / env / "ollama-phi")
    assert main(["lint", str(tmp_path / "charts"), *CRDS]) == 0
    assert "lint: 2 charts checked" in capsys.readouterr().out


def test_usage_errors_exit_2(tmp_path, capsys, monkeypatch):
    assert main(["lint", str(tmp_path / "nope")]) == 2
    assert main(["lint", str(GOOD), "--kube-version", "1.12"]) == 2
    assert main(["lint", str(GOOD), "--crds", str(tmp_path / "missing")]) == 2
    monkeypatch.chdir(tmp_path)
    assert main(["lint"]) == 2  # default charts/ does not exist here
    err = capsys.readouterr().err
    assert "no such directory" in err and "1.25 .. 1.37" in err and "not a directory" in err


def test_require_schemas_turns_the_warning_into_an_error(tmp_path, capsys):
    chart = build_chart(_case("crd without schema"), tmp_path)
    assert main(["lint", str(chart), *CRDS]) == 0
    assert main(["lint", str(chart), *CRDS, "--require-schemas"]) == 1
    assert "CRD widgets.example.com was not found" in capsys.readouterr().out


def test_result_does_not_depend_on_worker_processes(tmp_path, monkeypatch):
    for i, name in enumerate(("root user", "broken yaml", "cpu lots through toYaml", "service selects nothing")):
        build_chart(_case(name), tmp_path / str(i))
    serial = lint_charts([tmp_path], crd_dirs=[SHARED_CRDS], jobs=1)
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 2)  # use workers for these 4 charts
    in_workers = lint_charts([tmp_path], crd_dirs=[SHARED_CRDS], jobs=3)
    assert serial.charts_checked == in_workers.charts_checked == 4
    assert serial.findings == in_workers.findings and len(serial.findings) >= 4


def test_checks_lists_the_registry(capsys):
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    assert all(f"{c.id} ({c.severity.value}" in out for c in CHECKS)
    assert main(["checks", "--format", "json"]) == 0
    assert [c["id"] for c in json.loads(capsys.readouterr().out)] == [c.id for c in CHECKS]
    assert main(["checks", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == docs.markdown_table()


def test_checks_update_readme(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"x\n{docs.START}\n{docs.END}\n")
    assert main(["checks", "--update-readme", str(readme)]) == 0
    assert docs.markdown_table() in readme.read_text()
    readme.write_text("no markers\n")
    assert main(["checks", "--update-readme", str(readme)]) == 2
