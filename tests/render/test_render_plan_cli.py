"""`catalog-gen plan LEAF` prints every derived decision and why: preset, memory, cache, probes, files."""

from __future__ import annotations

import json

import pytest
import render_helpers as h

from catalog_gen.cli import main
from catalog_gen.render.chart import chart_files
from catalog_gen.render.run import plan_leaves

LEAVES = sorted(p for p in h.CATALOG.rglob("*.yaml") if not p.name.startswith("_"))


@pytest.mark.parametrize("leaf", LEAVES, ids=[p.stem for p in LEAVES])
def test_plan_prints_every_decision_and_why(leaf, capsys):
    assert main(["plan", str(leaf)]) == 0
    printed = capsys.readouterr().out
    (plan,), _ = plan_leaves([leaf])
    sizing, values = plan.sizing, plan.values
    lines = printed.splitlines()
    assert lines[0].endswith(f"-> charts/{plan.chart_dir}")

    def topic_lines(topic: str) -> str:
        return "\n".join(line for line in lines if line.strip().startswith(topic + " "))

    assert sizing.preset in topic_lines("sizing")  # the preset
    assert f"{sizing.memory_estimate_bytes / 2**30:.1f} GiB" in printed  # the memory estimate
    assert values["cache"]["size"] in topic_lines("cache") and values["cache"]["mode"] in topic_lines("cache")
    startup = values["probes"]["startup"]
    budget = int(topic_lines("probes").split("startup budget ")[1].split("s")[0])
    assert budget <= startup["periodSeconds"] * startup["failureThreshold"] < budget + startup["periodSeconds"]
    assert "readiness" in topic_lines("probes") and "liveness" in topic_lines("probes")
    for topic in ("pull", "router", "ingress", "security", "pdb"):
        assert topic_lines(topic), f"no {topic} decision"
    # every decision says why
    assert printed.count("because ") == len(plan.decisions) > 8
    assert all(why.strip() for _, _, why in plan.decisions)
    # the files emitted
    listed = printed.split("  files:\n")[1].split()
    assert listed == sorted(chart_files(plan)) and "values.yaml" in listed


def test_plan_json_has_the_same_decisions(capsys):
    leaf = h.CATALOG / "prod" / "assistant-shared.yaml"
    assert main(["plan", str(leaf), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (plan,), _ = plan_leaves([leaf])
    assert doc["chart"] == plan.chart_dir
    assert [(d["topic"], d["decision"], d["why"]) for d in doc["decisions"]] == plan.decisions
    assert doc["files"] == sorted(chart_files(plan))
    assert doc["values"]["cache"]["mode"] == "shared"


def test_plan_of_an_invalid_leaf_reports_findings(tmp_path, capsys):
    data = h.leaf(container={"replicas": "many"})
    path = h.write_leaf(tmp_path / "catalog", data)
    assert main(["plan", str(path)]) == 1
    assert "replicas" in capsys.readouterr().out


def test_plan_of_a_missing_file_is_a_usage_error(tmp_path, capsys):
    assert main(["plan", str(tmp_path / "nope.yaml")]) == 2
    assert "no such leaf file" in capsys.readouterr().err
