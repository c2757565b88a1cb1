"""`catalog-gen explain FIELD` and the generated field reference, both read from the leaf schema."""

from __future__ import annotations

import gitops_helpers as g
import pytest
import yaml

from catalog_gen.authoring import check_value
from catalog_gen.catalog import explain
from catalog_gen.cli import main


def test_explain_prints_meaning_type_default_and_example(capsys):
    assert main(["explain", "autoscaling.targetQueueDepth"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("autoscaling.targetQueueDepth\n")
    assert "Queue depth per replica that triggers a scale-up." in out
    assert "type:     integer" in out and "default:  4" in out and "rule:     >= 1" in out
    example = out.split("example:\n", 1)[1]
    assert yaml.safe_load("\n".join(line[4:] for line in example.splitlines())) == {"autoscaling": {"targetQueueDepth": 4}}


def test_list_items_and_nested_objects(capsys):
    assert main(["explain", "models[].digest"]) == 0
    out = capsys.readouterr().out
    assert "string (optional)" in out and "must be a model digest" in out
    snippet = yaml.safe_load("\n".join(line[4:] for line in out.split("example:\n", 1)[1].splitlines()))
    assert list(snippet) == ["models"] and len(snippet["models"][0]["digest"]) == 64
    assert main(["explain", "gitops.argocd"]) == 0
    assert "fields:   mode, namespace, project, syncPolicy" in capsys.readouterr().out


@pytest.mark.parametrize("typed,meant", [
    ("target_queue_depth", "autoscaling.targetQueueDepth"),  # snake_case and a unique ending
    ("Autoscaling.TargetQueueDepth", "autoscaling.targetQueueDepth"),
    ("selfHeal", "gitops.argocd.syncPolicy.selfHeal"),
    ("models.0.digest", "models[].digest"),
])
def test_forgiving_names(typed, meant):
    assert explain.lookup(typed).path == meant


def test_unknown_fields_get_suggestions(capsys):
    assert main(["explain", "autoscaling.targetQueDepth"]) == 2
    err = capsys.readouterr().err
    assert "no leaf field 'autoscaling.targetQueDepth'" in err and "did you mean `autoscaling.targetQueueDepth`" in err
    assert main(["explain", "zzzz"]) == 2
    assert "catalog-gen explain --list" in capsys.readouterr().err
    assert main(["explain", "enabled"]) == 2  # many fields end in `enabled`: ask which
    assert "`ingress.enabled`" in capsys.readouterr().err


def test_every_field_is_documented_and_listed(capsys):
    index = explain.field_index()
    assert {"gitops.repoURL", "gitops.argocd.syncPolicy.prune", "monitoring.alerts.queueDepth",
            "autoscaling.activationQuery", "ownership.lifecycle"} <= set(index)
    assert [path for path, doc in index.items() if not doc.description] == []
    assert main(["explain", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == list(index)


def test_every_example_is_valid_for_its_field():
    for path, doc in explain.field_index().items():
        value = explain.example_value(doc)
        if value is None or doc.children:
            continue
        tokens = [t for part in path.split(".") for t in ([part[:-2], "0"] if part.endswith("[]") else [part])]
        assert check_value(tokens, value) is None, f"{path}: example {value!r}"


def test_the_committed_field_reference_is_up_to_date():
    committed = (g.REPO / "docs" / "leaf-reference.md").read_text(encoding="utf-8")
    assert committed == explain.reference_markdown(), "run `catalog-gen explain --reference --write docs/leaf-reference.md`"
    assert "| `gitops.argocd.mode` |" in committed
