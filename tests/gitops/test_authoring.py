"""`catalog-gen new` scaffolds a leaf that validates with its catalog at once, never overwriting one.

Flags in scripts; on a terminal the missing answers are asked for (checked as typed). A leaf
that would not validate with the catalog around it is not kept.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import gitops_helpers as g
import pytest
import yaml

from catalog_gen.catalog.validate import validate_paths
from catalog_gen.cli import main
from catalog_gen.lint import lint_charts

FLAGS = ["--name", "newbie", "--environment", "dev", "--namespace", "team-new", "--service-catalog", "ml-inference",
         "--model", "llama3.2:3b", "--gpus", "1", "--host", "newbie.example.com"]


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A scratch repository: the example catalog (with its defaults), run from its root."""
    shutil.copytree(g.CATALOG, tmp_path / "catalog")
    (tmp_path / "schemas").mkdir()
    shutil.copy(g.REPO / "schemas" / "ollama-inference-load.schema.json", tmp_path / "schemas")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_new_from_flags_validates_renders_and_lints(repo, capsys):
    assert main(["new", *FLAGS]) == 0
    leaf = repo / "catalog" / "dev" / "newbie.yaml"
    assert f"created {Path('catalog/dev/newbie.yaml')}" in capsys.readouterr().out
    text = leaf.read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/ollama-inference-load.schema.json\n")
    assert validate_paths([repo / "catalog"]).findings == []
    result = g.render(repo, [Path("catalog/dev/newbie.yaml")])
    assert result.written == ["dev/_gitops", "dev/newbie"]  # the first render of this scratch repo
    lint = lint_charts([repo / "charts" / "dev" / "newbie"], crd_dirs=[g.CRDS], require_schemas=True)
    assert [f.message for f in lint.findings] == []
    assert (repo / "charts" / "dev" / "newbie" / "catalog-info.yaml").is_file()  # owner from catalog/_defaults.yaml


def test_new_never_overwrites(repo, capsys):
    leaf = repo / "catalog" / "dev" / "tiny-cpu.yaml"
    before = leaf.read_bytes()
    code = main(["new", *FLAGS[:1], "tiny-cpu", *FLAGS[2:]])
    assert code == 2
    assert "exists" in capsys.readouterr().err
    assert leaf.read_bytes() == before


def test_a_leaf_that_does_not_validate_with_the_catalog_is_not_kept(repo, capsys):
    taken = ["--host", "chat.dev.example.com"]  # chat-multi's host in dev
    code = main(["new", *FLAGS[:-2], *taken])
    captured = capsys.readouterr()
    assert code == 1
    assert "catalog.duplicate-host" in captured.out and "not kept" in captured.err
    assert not (repo / "catalog" / "dev" / "newbie.yaml").exists()

    code = main(["new", *FLAGS[:8], "--model", "team/mystery:1"])  # no size can be inferred
    assert code == 1 and "leaf.model-size" in capsys.readouterr().out
    assert not (repo / "catalog" / "dev" / "newbie.yaml").exists()


def test_without_a_terminal_missing_values_are_named(repo, capsys):
    assert main(["new", "--name", "x", "--no-input"]) == 2
    err = capsys.readouterr().err
    assert "missing --namespace, --model" in err  # --environment and --service-catalog take their prompts' defaults
    assert main(["new", *FLAGS[:1], "Not_A_Label", *FLAGS[2:]]) == 2
    assert "--name: 'Not_A_Label': is not a valid RFC 1035 label" in capsys.readouterr().err


def run_in_terminal(cwd: Path, args: list[str], answers: list[tuple[str, str]], timeout: float = 30) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal, answering each prompt (waited for by its text) in turn."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "catalog_gen.cli", *args], cwd=cwd, stdin=terminal, stdout=terminal,
                               stderr=terminal, close_fds=True)
    os.close(terminal)
    seen, pending = "", list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 4096).decode("utf-8", "replace")
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if pending and pending[0][0] in seen.rsplit("\n", 1)[-1]:
                os.write(controller, (pending.pop(0)[1] + "\n").encode())
            elif process.poll() is not None and not ready:
                break
        return process.wait(timeout=5), seen
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()


def test_on_a_terminal_new_asks_and_asks_again_when_an_answer_is_wrong(repo):
    answers = [("Service name", "Bad_Name"), ("Service name", "asked"), ("Environment [dev]", ""),
               ("Kubernetes namespace", "team-asked"), ("Catalog group [ml-inference]", ""),
               ("Model(s)", "qwen2.5:0.5b, nomic-embed-text:v1.5"), ("GPUs per pod", "0"),
               ("External host name", ""), ("Owning team", "group:askers")]
    code, transcript = run_in_terminal(repo, ["new"], answers)
    assert code == 0, transcript
    assert "is not a valid RFC 1035 label" in transcript and "try again" in transcript
    leaf = repo / "catalog" / "dev" / "asked.yaml"
    assert validate_paths([leaf]).findings == []
    data = yaml.safe_load(leaf.read_text())
    assert data["models"] == [{"name": "qwen2.5:0.5b"}, {"name": "nomic-embed-text:v1.5"}]
    assert data["gpu"] == {"count": 0, "vendor": "none"} and data["ownership"] == {"owner": "group:askers"}
    assert "ingress" not in data
