"""The CLI: exit codes 0/1/2 and the shape of every report format."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from catalog_gen import cli, report
from catalog_gen.catalog import schema
from catalog_gen.errors import Finding, Severity

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "catalog" / "fixtures"
EXAMPLE_LEAVES = len([p for p in (REPO / "catalog").rglob("*.yaml") if not p.name.startswith("_")])
FINDING_KEYS = {"file", "line", "column", "pointer", "code", "severity", "message", "hint"}


@pytest.fixture
def run(capsys, monkeypatch):
    """run(*argv, cwd=FIXTURES) -> (exit code, stdout, stderr), in-process."""

    def go(*argv: str, cwd: Path = FIXTURES):
        monkeypatch.chdir(cwd)
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return go


# --- exit codes --------------------------------------------------------------------------------


def test_clean_catalog_exits_0(run):
    code, out, err = run("validate", cwd=REPO)  # default path: catalog/
    assert (code, err) == (0, "")
    assert out == f"validate: {EXAMPLE_LEAVES} files checked, 0 error(s), 0 warning(s)\n"


def test_findings_of_severity_error_exit_1(run):
    code, out, err = run("validate", "cpu_lots.yaml")
    assert (code, err) == (1, "")
    assert "cpu_lots.yaml:11:12: error:" in out


def test_warnings_alone_exit_0(run):
    code, out, _ = run("validate", "gpu_product_without_count.yaml")
    assert code == 0
    assert "gpu_product_without_count.yaml:11:12: warning:" in out
    assert "0 error(s), 1 warning(s)" in out


def test_missing_path_is_a_usage_error(run):
    code, out, err = run("validate", "no-such-folder")
    assert (code, out) == (2, "")
    assert "no-such-folder: no such file or folder" in err and "hint:" in err


@pytest.mark.parametrize("argv", [["validate", "--format", "xml"], ["frobnicate"], [], ["validate", "--no-such-flag"]])
def test_bad_command_lines_exit_2(run, argv):
    code, _, _ = run(*argv)
    assert code == 2


def test_help_exits_0(run):
    code, out, _ = run("validate", "--help")
    assert code == 0 and "--format" in out


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    exe = str(Path(sys.executable).parent / "catalog-gen")
    clean = subprocess.run([exe, "validate", "catalog"], cwd=REPO, capture_output=True, text=True)
    bad = subprocess.run([exe, "validate", "alias_bomb.yaml", "not_utf8.yaml", "empty_file.yaml"], cwd=FIXTURES, capture_output=True, text=True)
    usage = subprocess.run([exe, "validate", str(tmp_path / "missing")], capture_output=True, text=True)
    assert (clean.returncode, bad.returncode, usage.returncode) == (0, 1, 2)
    assert clean.stderr == bad.stderr == ""
    assert "Traceback" not in usage.stderr and "no such file or folder" in usage.stderr


# --- formats -----------------------------------------------------------------------------------


def test_json_shape_is_exact(run):
    code, out, _ = run("validate", "--format", "json", "unknown_key_did_you_mean.yaml", "gpu_product_without_count.yaml")
    doc = json.loads(out)
    assert set(doc) == {"findings", "summary"}
    assert doc["summary"] == {"files": 2, "errors": 1, "warnings": 1, "infos": 0}
    assert [set(f) for f in doc["findings"]] == [FINDING_KEYS, FINDING_KEYS]
    first = doc["findings"][1]
    assert first == {
        "file": "unknown_key_did_you_mean.yaml", "line": 10, "column": 3, "pointer": "/gpu/vendr",
        "code": "schema.unknown-key", "severity": "error", "message": "unknown key `vendr` in `gpu`", "hint": "did you mean `vendor`?",
    }
    assert code == 1


def test_json_of_a_clean_run(run):
    code, out, _ = run("validate", "--format", "json", cwd=REPO)
    assert code == 0
    assert json.loads(out) == {"findings": [], "summary": {"files": EXAMPLE_LEAVES, "errors": 0, "warnings": 0, "infos": 0}}


def test_text_has_location_code_pointer_and_hint_without_colour_when_not_a_tty(run):
    _, out, _ = run("validate", "enum_did_you_mean.yaml")
    assert out.splitlines() == [
        "enum_did_you_mean.yaml:10:11: error: `gpu.vendor` is 'nvida', not one of: nvidia, amd, none (schema.enum)",
        "    at /gpu/vendor",
        "    hint: did you mean `nvidia`?",
        "validate: 1 file checked, 1 error(s), 0 warning(s)",
    ]
    assert "\033[" not in out


def test_text_colour_only_on_a_tty():
    finding = Finding("a.yaml", 1, 2, "/x", "schema.type", Severity.ERROR, "bad", "fix")
    plain = report.render([finding], "text", report.ReportContext("validate", 1, color=False))
    coloured = report.render([finding], "text", report.ReportContext("validate", 1, color=True))
    assert "\033[31merror\033[0m" in coloured and "\033[" not in plain


def test_github_workflow_commands(run):
    _, out, _ = run("validate", "--format", "github", "enum_did_you_mean.yaml", "gpu_product_without_count.yaml")
    lines = out.splitlines()
    assert lines[0] == "::error file=enum_did_you_mean.yaml,line=10,col=11,title=schema.enum::" \
                       "`gpu.vendor` is 'nvida', not one of: nvidia, amd, none (hint: did you mean `nvidia`?)"
    assert lines[1].startswith("::warning file=gpu_product_without_count.yaml,line=11,col=12,title=leaf.gpu::")
    assert lines[-1] == "validate: 2 file(s) checked, 1 error(s), 1 warning(s)"


def test_github_escapes_data_and_properties(tmp_path, run):
    odd = tmp_path / "a,b:c%d.yaml"
    odd.write_text('workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: x\nserviceCatalog: y\nnamespace: z\nenvironment: dev\n'
                   'model: phi\ngpu:\n  "50%\\r\\nfree": 1\n')
    _, out, _ = run("validate", "--format", "github", odd.name, cwd=tmp_path)
    command = out.splitlines()[0]
    assert command.startswith("::error file=a%2Cb%3Ac%25d.yaml,line=8,col=3,title=schema.unknown-key::")
    assert "unknown key `50%25%0D%0Afree` in `gpu`" in command
    assert "\r" not in out


def test_github_caps_annotations_and_says_how_many_more(tmp_path, run):
    lines = ["workloadType: OLLAMA_INFERENCE_LOAD", "serviceName: x", "serviceCatalog: y", "namespace: z", "environment: dev", "model: phi"]
    lines += [f"extra{i}: 1" for i in range(12)]
    (tmp_path / "many.yaml").write_text("\n".join(lines) + "\n")
    _, out, _ = run("validate", "--format", "github", ".", cwd=tmp_path)
    assert sum(line.startswith("::error ") for line in out.splitlines()) == report.GITHUB_ANNOTATION_CAP
    assert "2 more error(s) not annotated" in out


def test_junit_parses_with_the_right_counts(run):
    names = ["cpu_lots.yaml", "duplicate_key.yaml", "gpu_product_without_count.yaml"]
    code, out, _ = run("validate", "--format", "junit", *names)
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "2", "0")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == sorted(names)
    assert [(s.get("tests"), s.get("failures")) for s in suites] == [("1", "1"), ("1", "1"), ("1", "0")]
    failures = root.findall("testsuite/testcase/failure")
    assert [f.get("type") for f in failures] == ["schema.format", "yaml.duplicate-key"]
    assert "hint:" in failures[0].text and "cpu_lots.yaml:11:12" in failures[0].text
    assert code == 1


def test_junit_of_a_clean_run_has_one_passing_case(run):
    _, out, _ = run("validate", "--format", "junit", cwd=REPO)
    root = ET.fromstring(out)
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    assert root.find("testsuite/testcase/failure") is None


def test_junit_survives_characters_xml_cannot_carry():
    finding = Finding("a.yaml", 1, 1, "/x", "c", Severity.ERROR, "bad \x01 <value> & \"quotes\"", "fix")
    root = ET.fromstring(report.render([finding], "junit", report.ReportContext("validate", 1)))
    assert root.find("testsuite/testcase/failure").get("message") == 'bad \ufffd <value> & "quotes"'


def test_sarif_2_1_0_shape(run):
    _, out, _ = run("validate", "--format", "sarif", "cpu_lots.yaml", "gpu_product_without_count.yaml", "empty_file.yaml")
    doc = json.loads(out)
    assert doc["version"] == "2.1.0" and "sarif-2.1.0" in doc["$schema"]
    (sarif_run,) = doc["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "catalog-gen" and driver["version"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == sorted(set(rule_ids))
    results = sarif_run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("schema.format", "error"), ("yaml.empty", "error"), ("leaf.gpu", "warning")]
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        (location,) = result["locations"]
        region = location["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1  # SARIF lines are 1-based, even for a whole file
        assert result["message"]["text"]
    assert results[0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "cpu_lots.yaml"}, "region": {"startLine": 11, "startColumn": 12}}


def test_output_file_instead_of_stdout(run, tmp_path):
    target = tmp_path / "report.json"
    code, out, _ = run("validate", "--format", "json", "--output", str(target), "cpu_lots.yaml")
    assert (code, out) == (1, "")
    assert json.loads(target.read_text())["summary"]["errors"] == 1


# --- schema ------------------------------------------------------------------------------------


def test_schema_prints_the_committed_schema(run):
    code, out, _ = run("schema")
    assert code == 0
    assert out == schema.schema_path("OLLAMA_INFERENCE_LOAD").read_text(encoding="utf-8")


def test_schema_of_an_unknown_workload_type_is_a_usage_error(run):
    code, out, err = run("schema", "--workload-type", "NOPE")
    assert (code, out) == (2, "")
    assert "unknown workload type 'NOPE'" in err and "OLLAMA_INFERENCE_LOAD" in err
