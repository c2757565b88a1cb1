"""`catalog-gen new` on a terminal and in scripts: answers checked at their prompt, nothing left by a cancelled run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from cli_helpers import REPO, cli, run_on_terminal

FLAGS = ["--name", "newbie", "--namespace", "team-new", "--model", "llama3.2:3b"]


@pytest.fixture
def repo(tmp_path) -> Path:
    """The example catalog (with its defaults and a host other leaves claim) in a scratch repository."""
    shutil.copytree(REPO / "catalog", tmp_path / "catalog")
    (tmp_path / ".git").mkdir()
    return tmp_path


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_a_host_another_leaf_claims_is_asked_again_at_its_prompt(repo):
    answers = [("Service name", "asked"), ("Environment [dev]", ""), ("Kubernetes namespace", "team-asked"),
               ("Catalog group [ml-inference]", ""), ("Model(s)", "llama3.2:3b"), ("GPUs per pod", "0"),
               ("External host name", "chat.dev.example.com"),  # chat-multi's host in dev
               ("External host name", "asked.dev.example.com"), ("Owning team", "")]
    code, screen = run_on_terminal(["new"], repo, answers)
    assert code == 0, screen
    before_owner = screen.split("Owning team")[0]
    assert "chat.dev.example.com" in before_owner and "try again" in before_owner.split("External host name")[1]
    data = yaml.safe_load((repo / "catalog" / "dev" / "asked.yaml").read_text())
    assert data["ingress"] == {"enabled": True, "host": "asked.dev.example.com"}


def test_a_model_whose_size_is_unknown_gets_a_size_question(repo):
    answers = [("Service name", "coder"), ("Environment [dev]", ""), ("Kubernetes namespace", "team-code"),
               ("Catalog group [ml-inference]", ""), ("Model(s)", "team/mystery:1"), ("GPUs per pod", "0"),
               ("External host name", ""), ("Owning team", ""), ("Parameter count of team/mystery:1", "lots"),
               ("Parameter count of team/mystery:1", "3B")]
    code, screen = run_on_terminal(["new"], repo, answers)
    assert code == 0, screen
    assert "'lots'" in screen.split("Parameter count of team/mystery:1")[1] and "try again" in screen
    data = yaml.safe_load((repo / "catalog" / "dev" / "coder.yaml").read_text())
    assert data["models"] == [{"name": "team/mystery:1", "size": {"parameters": "3B"}}]


def test_the_size_hint_is_a_flag_too(repo):
    proc = cli("new", *FLAGS[:-1], "team/mystery:1", "--model-size", "3B", "--no-input", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load((repo / "catalog" / "dev" / "newbie.yaml").read_text())
    assert data["models"] == [{"name": "team/mystery:1", "size": {"parameters": "3B"}}]
    bad = cli("new", *FLAGS, "--model-size", "other:1=3B", "--no-input", cwd=repo)
    assert bad.returncode == 2 and "'other:1' is not one of the --model values" in bad.stderr


def test_ctrl_d_at_a_prompt_writes_nothing(repo):
    before = files_under(repo)
    answers = [("Service name", "quitter"), ("Environment [dev]", "brand-new-env"), ("Kubernetes namespace", b"\x04")]
    status, screen = run_on_terminal(["new"], repo, answers)
    assert status == 2, screen
    assert "input ended at 'Kubernetes namespace'; nothing was written" in screen
    assert "Traceback" not in screen and "internal error" not in screen
    assert files_under(repo) == before  # no leaf, no folder for the new environment


def test_ctrl_c_at_a_prompt_exits_130_and_writes_nothing(repo, monkeypatch, capsys):
    """input() raises KeyboardInterrupt on Ctrl-C; the prompter is the CLI's own, on a faked terminal."""
    from catalog_gen import cli as cli_module

    answers = iter(["quitter", "brand-new-env"])

    def ask(prompt: str) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.chdir(repo)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setattr(cli_module._TerminalPrompter, "ask", lambda self, prompt: ask(prompt))
    before = files_under(repo)
    assert cli_module.main(["new"]) == 130
    assert "interrupted by Ctrl-C (SIGINT)" in capsys.readouterr().err
    assert files_under(repo) == before


def test_ctrl_c_while_the_leaf_is_checked_removes_the_leaf_and_its_new_folder(repo, monkeypatch):
    from catalog_gen import authoring
    from catalog_gen.catalog import validate

    monkeypatch.chdir(repo)
    before = files_under(repo)
    answers = authoring.Answers(service_name="late", environment="brand-new-env", namespace="team-late",
                                service_catalog="ml-inference", models=["llama3.2:3b"], gpus=0)
    real = validate.validate_paths
    calls = []

    def interrupted(paths, *args, **kwargs):
        calls.append(paths)
        if len(calls) == 2:  # the check of the catalog with the new leaf in it
            assert (repo / "catalog" / "brand-new-env" / "late.yaml").is_file()
            raise KeyboardInterrupt
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(validate, "validate_paths", interrupted)
    with pytest.raises(KeyboardInterrupt):
        authoring.create(answers, Path("catalog"))
    assert files_under(repo) == before


def test_a_failed_leaf_leaves_no_folder_behind(repo):
    before = files_under(repo)
    proc = cli("new", *FLAGS, "--environment", "brand-new-env", "--host", "chat.dev.example.com", "--no-input", cwd=repo)
    assert proc.returncode == 1
    assert "not kept" in proc.stderr
    assert files_under(repo) == before  # not even catalog/brand-new-env/


def test_no_input_takes_the_defaults_the_prompts_offer(repo):
    proc = cli("new", *FLAGS, "--no-input", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load((repo / "catalog" / "dev" / "newbie.yaml").read_text())
    assert (data["environment"], data["serviceCatalog"], data["gpu"]) == ("dev", "ml-inference", {"count": 0, "vendor": "none"})
    missing = cli("new", "--name", "x", "--no-input", cwd=repo)
    assert missing.returncode == 2 and "missing --namespace, --model" in missing.stderr


def test_next_steps_follow_the_catalog_used(repo):
    (repo / "catalog").rename(repo / "services")
    proc = cli("new", *FLAGS, "--catalog", "services", "--no-input", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "next: catalog-gen plan services/dev/newbie.yaml" in proc.stdout
    assert "catalog-gen render services --prune" in proc.stdout
    (repo / "services").rename(repo / "catalog")
    plain = cli("new", *FLAGS[:1], "other", *FLAGS[2:], "--no-input", cwd=repo)
    assert plain.returncode == 0, plain.stderr
    assert "      catalog-gen render --prune && catalog-gen lint" in plain.stdout  # the default catalog needs no path



def test_new_refuses_to_write_through_a_symlink(repo):
    (repo / "catalog" / "dev" / "newbie.yaml").symlink_to("/tmp/somewhere-else.yaml")
    proc = cli("new", *FLAGS, "--no-input", cwd=repo)
    assert proc.returncode == 2 and "exists; `new` never overwrites a leaf" in proc.stderr
    assert not Path("/tmp/somewhere-else.yaml").exists()
