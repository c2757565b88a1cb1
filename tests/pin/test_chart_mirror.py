"""The chart hands a leaf's registry mirror to the pull script (init container and loader Job), and only when set."""

from __future__ import annotations

from pathlib import Path

import helm_python
import pytest
import yaml

from catalog_gen.cli import main

LEAF = "workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: phi\nserviceCatalog: c\nnamespace: n\nenvironment: dev\nmodel: phi:latest\n"


def pull_envs(chart: Path) -> list[dict[str, str]]:
    """The env of every container that runs pull-models.sh, as rendered by real Helm."""
    out = []
    for name, text in helm_python.Chart.load(chart).render(values={}, name="phi", namespace="n").items():
        if not name.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(text):
            spec = (doc or {}).get("spec", {})
            pod = spec.get("template", {}).get("spec", spec)
            for c in pod.get("initContainers", []) + pod.get("containers", []):
                if any("pull-models.sh" in part for part in c.get("command", []) + c.get("args", [])):
                    out.append({e["name"]: e.get("value") for e in c.get("env", [])})
    return out


@pytest.mark.parametrize("cache", ["emptyDir", "shared"])
def test_the_mirror_reaches_the_pull_script(tmp_path, monkeypatch, cache):
    (tmp_path / ".git").mkdir()
    (tmp_path / "catalog" / "dev").mkdir(parents=True)
    (tmp_path / "catalog" / "_defaults.yaml").write_text("registry:\n  mirror: registry.internal:5000\n  insecure: true\n")
    (tmp_path / "catalog" / "dev" / "phi.yaml").write_text(LEAF + f"cache:\n  mode: {cache}\n")
    monkeypatch.chdir(tmp_path)

    assert main(["render", "catalog", "--out", "charts"]) == 0

    envs = pull_envs(tmp_path / "charts" / "dev" / "phi")
    assert envs and all(e["PULL_REGISTRY_MIRROR"] == "registry.internal:5000" and e["PULL_REGISTRY_INSECURE"] == "1"
                        for e in envs)


def test_without_a_mirror_the_script_gets_no_mirror(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "catalog" / "dev").mkdir(parents=True)
    (tmp_path / "catalog" / "dev" / "phi.yaml").write_text(LEAF)
    monkeypatch.chdir(tmp_path)

    assert main(["render", "catalog", "--out", "charts"]) == 0

    envs = pull_envs(tmp_path / "charts" / "dev" / "phi")
    assert envs and not any("PULL_REGISTRY_MIRROR" in e for e in envs)


def pull_mounts(chart: Path) -> tuple[list[dict], list[dict]]:
    """(mounts of the pull containers, volumes of their pods) as rendered by real Helm."""
    mounts, volumes = [], []
    for name, text in helm_python.Chart.load(chart).render(values={}, name="phi", namespace="n").items():
        if not name.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(text):
            spec = (doc or {}).get("spec", {})
            pod = spec.get("template", {}).get("spec", spec)
            for c in pod.get("initContainers", []) + pod.get("containers", []):
                if any("pull-models.sh" in part for part in c.get("command", []) + c.get("args", [])):
                    mounts.extend(c.get("volumeMounts", []))
                    volumes.extend(pod.get("volumes", []))
    return mounts, volumes


@pytest.mark.parametrize("cache", ["emptyDir", "shared"])
def test_the_credentials_secret_becomes_ollamas_key_file_in_the_pulls(tmp_path, monkeypatch, cache):
    (tmp_path / ".git").mkdir()
    (tmp_path / "catalog" / "dev").mkdir(parents=True)
    (tmp_path / "catalog" / "dev" / "phi.yaml").write_text(
        LEAF + f"cache:\n  mode: {cache}\nregistry:\n  mirror: registry.internal\n  credentialsSecret:\n    name: ollama-key\n")
    monkeypatch.chdir(tmp_path)

    assert main(["render", "catalog", "--out", "charts"]) == 0

    mounts, volumes = pull_mounts(tmp_path / "charts" / "dev" / "phi")
    assert {"name": "registry-key", "mountPath": "/home/ollama/.ollama/id_ed25519", "subPath": "id_ed25519", "readOnly": True} in mounts
    assert {"name": "registry-key", "secret": {"secretName": "ollama-key", "defaultMode": 0o440}} in volumes


def test_without_a_credentials_secret_nothing_is_mounted(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "catalog" / "dev").mkdir(parents=True)
    (tmp_path / "catalog" / "dev" / "phi.yaml").write_text(LEAF)
    monkeypatch.chdir(tmp_path)

    assert main(["render", "catalog", "--out", "charts"]) == 0

    mounts, volumes = pull_mounts(tmp_path / "charts" / "dev" / "phi")
    assert mounts and not any(m["name"] == "registry-key" for m in mounts + volumes)


def test_an_unserved_base_is_pulled_first_with_its_pin(tmp_path, monkeypatch):
    base_pin = "c" * 64
    (tmp_path / ".git").mkdir()
    (tmp_path / "catalog" / "dev").mkdir(parents=True)
    (tmp_path / "catalog" / "dev" / "phi.yaml").write_text(
        "workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: phi\nserviceCatalog: c\nnamespace: n\nenvironment: dev\nmodels:\n"
        f"  - name: helper:1\n    modelfile:\n      from: llama3.1:8b\n      fromDigest: {base_pin}\n      system: be brief\n")
    monkeypatch.chdir(tmp_path)

    assert main(["render", "catalog", "--out", "charts"]) == 0

    rendered = helm_python.Chart.load(tmp_path / "charts" / "dev" / "phi").render(values={}, name="phi", namespace="n")
    config = next(d for n, t in rendered.items() if n.endswith(".yaml") for d in yaml.safe_load_all(t)
                  if d and d.get("kind") == "ConfigMap"
                  and "models.tsv" in d.get("data", {}))
    rows = [line.split("\t") for line in config["data"]["models.tsv"].splitlines() if not line.startswith("#")]
    assert rows == [["llama3.1:8b", base_pin, "0", "-"], ["helper:1", "-", "0", "model-0.Modelfile"]]
