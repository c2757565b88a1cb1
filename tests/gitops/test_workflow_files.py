"""The pre-commit hooks and the example GitHub Actions workflow run real catalog-gen commands."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import gitops_helpers as g
import yaml

from catalog_gen.cli import build_parser, main

HOOKS = g.REPO / ".pre-commit-hooks.yaml"
WORKFLOW = g.REPO / "docs" / "examples" / "github-actions.yaml"


def hook_argv(hook: dict) -> list[str]:
    entry = shlex.split(hook["entry"])
    assert entry[0] == "catalog-gen"
    return entry[1:] + list(hook.get("args", []))


def test_hooks_are_complete_and_parse():
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}
    assert set(hooks) == {"catalog-gen-validate", "catalog-gen-render-check"}
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook) and hook["language"] == "python"
        assert hook["pass_filenames"] is False  # cross-leaf rules need the whole catalog
        build_parser().parse_args(hook_argv(hook))
        assert re.search(hook["files"], "catalog/dev/x.yaml")
    assert re.search(hooks["catalog-gen-render-check"]["files"], "charts/dev/x/values.yaml")
    assert "--check" in hook_argv(hooks["catalog-gen-render-check"])


def test_the_hooks_pass_on_a_rendered_catalog_and_fail_on_drift(tmp_path, monkeypatch, capsys):
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}
    g.render_copy(tmp_path, g.CATALOG)
    monkeypatch.chdir(tmp_path)
    assert main(hook_argv(hooks["catalog-gen-validate"])) == 0
    assert main(hook_argv(hooks["catalog-gen-render-check"])) == 0
    (tmp_path / "charts" / "dev" / "tiny-cpu" / "gitops.json").unlink()
    assert main(hook_argv(hooks["catalog-gen-render-check"])) == 1
    assert "charts/dev/tiny-cpu: changed (gitops.json)" in capsys.readouterr().out


def test_the_workflow_is_a_valid_github_workflow():
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_runs_ci_with_sarif_and_junit():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["catalog"]["steps"]
    commands = [shlex.split(line) for step in steps for line in step.get("run", "").splitlines()
                if line.strip().startswith("catalog-gen")]
    formats = set()
    for argv in commands:
        argv = argv[: argv.index("||")] if "||" in argv else argv
        args = build_parser().parse_args(argv[1:])
        assert args.command == "ci"
        formats.add(args.format)
        if args.format == "sarif":
            sarif = args.output
    assert formats == {"sarif", "junit", "github"}
    upload = [s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")]
    assert upload and upload[0]["with"]["sarif_file"] == sarif
    assert workflow["permissions"]["security-events"] == "write"


def test_the_default_router_image_is_the_one_the_image_workflow_builds():
    """Leaves run `router.image` by default: the image workflow pushes exactly that name and tag from the Dockerfile."""
    import tomllib

    from catalog_gen.catalog.model import Router

    workflow = yaml.safe_load((g.REPO / ".github" / "workflows" / "image.yaml").read_text())
    steps = workflow["jobs"]["image"]["steps"]
    (build,) = [s for s in steps if s.get("uses", "").startswith("docker/build-push-action")]
    assert build["with"]["context"] == "." and (g.REPO / "Dockerfile").is_file()
    tag = build["with"]["tags"]
    version = tomllib.loads((g.REPO / "pyproject.toml").read_text())["project"]["version"]
    image = Router().image
    assert image.repository == "ghcr.io/catalog-gen/catalog-gen"
    assert tag == "ghcr.io/${{ github.repository_owner }}/catalog-gen:${{ steps.version.outputs.version }}"
    assert image.tag == version
