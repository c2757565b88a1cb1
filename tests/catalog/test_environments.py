"""Rules across environments: every cross rule has a folder that fires it, and the Argo CD destination reaches the chart."""

from __future__ import annotations

from catalog_fixtures import FIXTURES
from expectations import FOLDERS

from catalog_gen.catalog.environments import CROSS_RULES


def test_every_cross_environment_rule_has_a_fixture_folder_that_fires_it():
    fired = {code for _, _, code, *_ in FOLDERS}
    assert set(CROSS_RULES) <= fired
    for code, (description, fn) in CROSS_RULES.items():
        assert code.startswith("catalog.") and description.endswith(".") and callable(fn)


def test_the_gitops_disagreement_names_both_files_and_lines(validate_in):
    [finding] = validate_in(FIXTURES / "gitops_disagree").findings
    assert (finding.file, finding.line) == ("b.yaml", 11)
    assert "in a.yaml (a.yaml:11)" in finding.message


def test_a_sync_policy_disagreement_counts_only_with_an_applicationset(validate_in, tmp_path):
    leaf = ("workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: {name}\nserviceCatalog: ml\nnamespace: ml\nenvironment: dev\n"
            "model: phi:latest\ngitops:\n  repoURL: https://github.com/example/c.git\n  argocd:\n    mode: {mode}\n"
            "    syncPolicy:\n      prune: {prune}\n")
    for mode, expected in (("applicationset", ["catalog.gitops-disagree"]), ("application", [])):
        folder = tmp_path / mode
        folder.mkdir()
        (folder / "a.yaml").write_text(leaf.format(name="a", mode=mode, prune="true"))
        (folder / "b.yaml").write_text(leaf.format(name="b", mode=mode, prune="false"))
        assert [f.code for f in validate_in(folder).findings] == expected


def test_the_argocd_destination_is_the_environment_charts_destination(validate_in):
    from catalog_gen.render import gitops
    from catalog_gen.render.run import leaf_model

    result = validate_in(FIXTURES / "same_host_in_other_environment")
    servers = sorted(gitops._values(leaf.data["environment"], leaf_model(leaf).gitops, [])[0]["argocd"]["destinationServer"]
                     for leaf in result.leaves)
    assert servers == ["https://dev.k8s.example.com:6443", "https://prod.k8s.example.com:6443"]


def test_without_a_destination_the_chart_deploys_in_cluster(validate_in):
    from catalog_gen.render import gitops
    from catalog_gen.render.run import leaf_model

    leaf = validate_in(FIXTURES / "host_across_environments").leaves[0]
    assert gitops._values("dev", leaf_model(leaf).gitops, [])[0]["argocd"]["destinationServer"] == gitops.IN_CLUSTER
