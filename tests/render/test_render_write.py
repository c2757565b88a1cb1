"""Writing charts: deterministic, atomic, `--check`/`--diff`, `--prune`, never outside `--out`.

The catalog is written into a scratch folder beside its charts folder, as in the
repository (`catalog/` and `charts/` side by side).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import render_helpers as h
import yaml

from catalog_gen.cli import main
from catalog_gen.errors import CatalogInvalid, UsageError
from catalog_gen.render import write
from catalog_gen.render.run import render_catalog

LEAVES = [
    h.leaf(serviceName="alpha"),
    h.leaf(serviceName="beta", model="llama3.2:3b", cache={"mode": "pvc", "size": "20Gi"}),
    h.leaf(serviceName="gamma", environment="prod", container={"replicas": 2}, ingress={"enabled": True, "host": "g.example.com"}),
]


def make_catalog(root: Path, leaves=LEAVES) -> Path:
    catalog = root / "catalog"
    for data in leaves:
        h.write_leaf(catalog, data)
    return catalog


def staging_dirs(out: Path) -> list[Path]:
    """Staging folders anywhere under out; read while a render may be writing (os.walk skips folders that vanish)."""
    return [Path(root) / name for root, dirs, _ in os.walk(out) for name in dirs if name.startswith(write.TMP_PREFIX)]


def whole_tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root with its content and mtime (to see that nothing was even rewritten)."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def change_every_leaf(catalog: Path, replicas: int = 4) -> None:
    for path in catalog.rglob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        data["container"] = {**data.get("container", {}), "replicas": replicas}
        path.write_text(yaml.safe_dump(data, sort_keys=False))


# --- determinism -------------------------------------------------------------------------------


def test_rendering_twice_gives_identical_trees(tmp_path):
    catalog = make_catalog(tmp_path)
    render_catalog([catalog], tmp_path / "charts")
    render_catalog([catalog], tmp_path / "again")
    first = h.tree(tmp_path / "charts")
    assert first and first == h.tree(tmp_path / "again")
    before = whole_tree(tmp_path / "charts")
    result = render_catalog([catalog], tmp_path / "charts")
    assert result.written == []
    assert whole_tree(tmp_path / "charts") == before  # unchanged charts are not even rewritten


def test_output_does_not_depend_on_file_system_order(tmp_path, monkeypatch):
    catalog = make_catalog(tmp_path)
    render_catalog([catalog], tmp_path / "charts")
    expected = h.tree(tmp_path / "charts")

    real_scandir, real_listdir = os.scandir, os.listdir

    class Reversed:
        def __init__(self, path="."):
            self.entries = iter(list(real_scandir(path))[::-1])

        def __iter__(self):
            return self

        def __next__(self):
            return next(self.entries)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def close(self):
            pass

    monkeypatch.setattr(os, "scandir", Reversed)
    monkeypatch.setattr(os, "listdir", lambda path=".": real_listdir(path)[::-1])
    assert list(os.scandir(catalog))[0].name == real_listdir(catalog)[::-1][0]
    render_catalog([catalog], tmp_path / "reversed")
    monkeypatch.undo()
    assert h.tree(tmp_path / "reversed") == expected


def test_output_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    catalog = make_catalog(tmp_path)
    monkeypatch.chdir(tmp_path)
    render_catalog([Path("catalog")], Path("charts"))
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    render_catalog([catalog], tmp_path / "charts-from-elsewhere")
    assert h.tree(tmp_path / "charts-from-elsewhere") == h.tree(tmp_path / "charts")
    chart_yaml = (tmp_path / "charts" / "dev" / "alpha" / "Chart.yaml").read_text()
    assert 'catalog-gen.io/source-leaf: "catalog/dev/alpha.yaml"' in chart_yaml


# --- atomic write ------------------------------------------------------------------------------


@pytest.fixture
def rendered_v1(tmp_path):
    """A catalog rendered once, then changed so that every chart differs; returns (catalog, out, v1 tree)."""
    catalog = make_catalog(tmp_path)
    out = tmp_path / "charts"
    render_catalog([catalog], out)
    v1 = whole_tree(out)
    change_every_leaf(catalog)
    return catalog, out, v1


def test_a_failure_while_building_leaves_the_old_charts(rendered_v1, monkeypatch):
    catalog, out, v1 = rendered_v1
    real_build, calls = write.Staging.build, []

    def failing_build(self, rel, files):
        calls.append(rel)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_build(self, rel, files)

    monkeypatch.setattr(write.Staging, "build", failing_build)
    with pytest.raises(OSError):
        render_catalog([catalog], out)
    assert whole_tree(out) == v1
    assert staging_dirs(out) == []


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4, 5])
def test_a_failure_while_swapping_puts_every_chart_back(rendered_v1, monkeypatch, fail_at):
    catalog, out, v1 = rendered_v1
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append((src, dst))
        if len(calls) == fail_at:
            raise KeyboardInterrupt  # Ctrl-C between two renames
        real_replace(src, dst)

    monkeypatch.setattr(write.os, "replace", failing_replace)
    with pytest.raises(KeyboardInterrupt):
        render_catalog([catalog], out)
    monkeypatch.undo()
    assert len(calls) >= fail_at
    assert whole_tree(out) == v1
    assert staging_dirs(out) == []
    render_catalog([catalog], out)  # and the next run completes
    assert len(render_catalog([catalog], out, check=True).drift) == 0


def test_interrupting_a_large_render_keeps_the_previous_charts(tmp_path):
    """SIGINT (Ctrl-C) and SIGTERM (a cancelled CI job) to a real `catalog-gen render` of 200 leaves (workers).

    Before the swap is done the old charts stay, untouched; a signal that comes after it (a slow machine,
    during clean-up) leaves the new charts whole and says so, never "undone".
    """
    import signal
    import subprocess
    import sys
    import time

    leaves = [h.leaf(serviceName=f"svc-{i:03d}", model=("qwen2.5:0.5b", "llama3.2:3b", "phi3:mini")[i % 3],
                     cache={"mode": ("emptyDir", "pvc", "shared")[i % 3]}) for i in range(200)]
    catalog = make_catalog(tmp_path, leaves)
    out = tmp_path / "charts"
    command = [sys.executable, "-m", "catalog_gen.cli", "render", str(catalog), "--out"]
    assert subprocess.run(command + [str(out)], capture_output=True).returncode == 0
    outcomes = []
    for round_, (delay, sig) in enumerate(((0.0, signal.SIGINT), (0.3, signal.SIGINT), (0.1, signal.SIGTERM))):
        before = whole_tree(out)
        change_every_leaf(catalog, replicas=4 + round_)
        reference = tmp_path / f"reference-{round_}"
        assert subprocess.run(command + [str(reference)], capture_output=True).returncode == 0
        proc = subprocess.Popen(command + [str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not staging_dirs(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
        if proc.returncode == 0:  # it finished before the signal: nothing to show
            pytest.fail(f"the render finished before the interrupt (delay {delay}); make the catalog larger")
        assert proc.returncode == (130 if sig == signal.SIGINT else 143), stderr
        assert "interrupted" in stderr and "Traceback" not in stderr
        assert staging_dirs(out) == []
        if "unfinished work was undone" in stderr:
            assert whole_tree(out) == before
            outcomes.append("undone")
        else:
            assert f"the charts in {out} had already been written whole" in stderr, stderr
            assert h.tree(out) == h.tree(reference)
            outcomes.append("written")
    assert outcomes[0] == "undone", outcomes  # a signal as the staging folder appears always undoes


def test_an_interrupt_after_the_swap_says_the_charts_are_written(rendered_v1, monkeypatch, capsys):
    catalog, out, v1 = rendered_v1
    reference = out.parent / "reference"
    render_catalog([catalog], reference)
    real_rmtree = write.shutil.rmtree

    def interrupted_cleanup(path, *args, **kwargs):
        real_rmtree(path, *args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C while the staging folder is removed, after the swap

    monkeypatch.setattr(write.shutil, "rmtree", interrupted_cleanup)
    assert main(["render", str(catalog), "--out", str(out)]) == 130
    monkeypatch.undo()
    stderr = capsys.readouterr().err
    assert f"interrupted by Ctrl-C (SIGINT); the charts in {out} had already been written whole" in stderr
    assert "undone" not in stderr
    assert h.tree(out) == h.tree(reference) != {k: v for k, (v, _) in v1.items()}
    assert staging_dirs(out) == []
    capsys.readouterr()
    monkeypatch.setattr(write.os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    change_every_leaf(catalog, replicas=7)
    assert main(["render", str(catalog), "--out", str(out)]) == 130  # the next command starts afresh
    assert "unfinished work was undone" in capsys.readouterr().err


def test_leftovers_of_a_killed_run_are_recovered(tmp_path):
    catalog = make_catalog(tmp_path)
    out = tmp_path / "charts"
    render_catalog([catalog], out)
    v1 = whole_tree(out)
    # what SIGKILL in the middle of a swap leaves: a chart moved aside, not replaced
    leftover = out / f"{write.TMP_PREFIX}killed"
    (leftover / "old" / "dev").mkdir(parents=True)
    os.replace(out / "dev" / "alpha", leftover / "old" / "dev" / "alpha")
    (leftover / "new" / "dev" / "alpha").mkdir(parents=True)
    write.recover(out)
    assert whole_tree(out) == v1
    assert staging_dirs(out) == []


# --- --check and --diff ------------------------------------------------------------------------


def test_check_writes_nothing_and_names_each_chart_that_differs(rendered_v1, capsys, monkeypatch):
    catalog, out, v1 = rendered_v1
    (catalog / "dev" / "alpha.yaml").write_text((catalog / "dev" / "alpha.yaml").read_text())  # unchanged on purpose
    code = main(["render", str(catalog), "--out", str(out), "--check"])
    printed = capsys.readouterr().out
    assert code == 1
    for chart in ("dev/alpha", "dev/beta", "prod/gamma"):
        assert f"{out / chart}: changed (" in printed
        assert "values.yaml" in printed
    assert whole_tree(out) == v1


def test_check_diff_shows_a_unified_diff(rendered_v1, capsys):
    catalog, out, v1 = rendered_v1
    code = main(["render", str(catalog), "--out", str(out), "--check", "--diff"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "--- a/dev/alpha/values.yaml\n+++ b/dev/alpha/values.yaml\n" in printed
    assert "\n-replicaCount: 1\n+replicaCount: 4\n" in printed
    assert whole_tree(out) == v1


def test_check_passes_when_nothing_changed_and_catches_hand_edits(tmp_path, capsys):
    catalog = make_catalog(tmp_path)
    out = tmp_path / "charts"
    render_catalog([catalog], out)
    assert main(["render", str(catalog), "--out", str(out), "--check"]) == 0
    (out / "dev" / "beta" / "templates" / "service.yaml").write_text("# edited by hand\n")
    (out / "dev" / "alpha" / "extra.txt").write_text("not generated\n")
    capsys.readouterr()
    assert main(["render", str(catalog), "--out", str(out), "--check"]) == 1
    printed = capsys.readouterr().out
    assert f"{out / 'dev/beta'}: changed (templates/service.yaml)" in printed
    assert f"{out / 'dev/alpha'}: changed (extra.txt)" in printed
    assert "prod/gamma" not in printed


def test_check_of_a_missing_output_folder_creates_nothing(tmp_path, capsys):
    catalog = make_catalog(tmp_path)
    out = tmp_path / "charts"
    assert main(["render", str(catalog), "--out", str(out), "--check"]) == 1
    assert f"{out / 'dev/alpha'}: missing" in capsys.readouterr().out
    assert not out.exists()


# --- --prune -----------------------------------------------------------------------------------


def test_prune_removes_only_generated_charts_whose_leaf_is_gone(tmp_path, capsys):
    catalog = make_catalog(tmp_path)
    out = tmp_path / "charts"
    other = tmp_path / "other-catalog"  # leaves outside the rendered paths, rendered into the same folder
    h.write_leaf(other, h.leaf(serviceName="outsider"))
    render_catalog([catalog], out)
    render_catalog([other], out)
    handmade = out / "dev" / "handmade"  # a chart catalog-gen did not make
    handmade.mkdir()
    (handmade / "Chart.yaml").write_text("apiVersion: v2\nname: handmade\nversion: 1.0.0\n")
    notes = out / "dev" / "notes"
    notes.mkdir()
    (notes / "README.md").write_text("kept\n")
    (catalog / "dev" / "alpha.yaml").unlink()

    assert main(["render", str(catalog), "--out", str(out), "--check", "--prune"]) == 1  # reported, not removed
    assert f"{out / 'dev/alpha'}: stale" in capsys.readouterr().out
    assert (out / "dev" / "alpha").is_dir()

    result = render_catalog([catalog], out, prune=True)
    assert result.pruned == ["dev/alpha"]
    assert not (out / "dev" / "alpha").exists()
    for kept in ("dev/beta", "prod/gamma", "dev/outsider", "dev/handmade", "dev/notes"):
        assert (out / kept).is_dir(), kept
    assert staging_dirs(out) == []


def test_prune_removes_the_old_chart_of_a_renamed_service(tmp_path):
    catalog = make_catalog(tmp_path)
    out = tmp_path / "charts"
    render_catalog([catalog], out)
    path = catalog / "prod" / "gamma.yaml"
    data = yaml.safe_load(path.read_text())
    data["serviceName"] = "delta"
    path.write_text(yaml.safe_dump(data))
    result = render_catalog([catalog], out, prune=True)
    assert result.pruned == ["prod/gamma"] and "prod/delta" in result.written
    assert sorted(p.name for p in (out / "prod").iterdir() if not p.name.startswith("_")) == ["delta"]


def test_prune_without_the_flag_keeps_stale_charts(tmp_path):
    catalog = make_catalog(tmp_path)
    out = tmp_path / "charts"
    render_catalog([catalog], out)
    (catalog / "dev" / "alpha.yaml").unlink()
    result = render_catalog([catalog], out)
    assert result.pruned == [] and (out / "dev" / "alpha").is_dir()


# --- nothing outside --out; nothing from an invalid catalog -------------------------------------


def test_nothing_is_written_outside_the_output_folder(tmp_path):
    catalog = make_catalog(tmp_path)
    before = {p for p in tmp_path.rglob("*")}
    render_catalog([catalog], tmp_path / "charts")
    created = {p for p in tmp_path.rglob("*")} - before
    assert created and all(p == tmp_path / "charts" or (tmp_path / "charts") in p.parents for p in created)


def test_a_symlink_cannot_lead_the_charts_outside(tmp_path):
    catalog = make_catalog(tmp_path)
    out = tmp_path / "charts"
    outside = tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / "dev").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UsageError, match="outside the output folder"):
        render_catalog([catalog], out)
    assert list(outside.iterdir()) == []
    assert staging_dirs(out) == []
    assert main(["render", str(catalog), "--out", str(out)]) == 2


def test_an_invalid_catalog_renders_nothing(tmp_path, capsys):
    catalog = make_catalog(tmp_path)
    out = tmp_path / "charts"
    render_catalog([catalog], out)
    v1 = whole_tree(out)
    change_every_leaf(catalog)
    broken = yaml.safe_load((catalog / "prod" / "gamma.yaml").read_text())
    broken["container"]["replicas"] = "many"
    (catalog / "prod" / "gamma.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(CatalogInvalid):
        render_catalog([catalog], out)
    assert whole_tree(out) == v1
    capsys.readouterr()
    assert main(["render", str(catalog), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "gamma.yaml" in captured.out + captured.err
    assert whole_tree(out) == v1
    fresh = tmp_path / "fresh"
    assert main(["render", str(catalog), "--out", str(fresh)]) == 1
    assert not fresh.exists()


# --- workers -----------------------------------------------------------------------------------


def test_workers_and_one_process_render_the_same_bytes(tmp_path):
    import subprocess
    import sys

    leaves = [h.leaf(serviceName=f"w-{i:02d}", model=("qwen2.5:0.5b", "llama3.2:3b")[i % 2],
                     cache={"mode": ("emptyDir", "shared")[i % 2]}) for i in range(12)]
    catalog = make_catalog(tmp_path, leaves)
    trees = []
    for jobs in ("1", "3"):
        out = tmp_path / f"charts-{jobs}"
        proc = subprocess.run([sys.executable, "-m", "catalog_gen.cli", "render", str(catalog), "--out", str(out)],
                              capture_output=True, text=True, env={**os.environ, "CATALOG_GEN_JOBS": jobs})
        assert proc.returncode == 0, proc.stderr
        trees.append(h.tree(out))
    assert trees[0] == trees[1] and len(trees[0]) > 12
    check = subprocess.run([sys.executable, "-m", "catalog_gen.cli", "render", str(catalog), "--out",
                            str(tmp_path / "charts-1"), "--check"],
                           capture_output=True, text=True, env={**os.environ, "CATALOG_GEN_JOBS": "2"})
    assert check.returncode == 0 and "0 differ" in check.stdout


# A render whose plan fails for one leaf (validation catches every leaf problem we know of, so the
# failure is injected into the planner of a real `catalog-gen render` process).
FAILING_RENDER = """
import sys
from catalog_gen.errors import ToolError
from catalog_gen.render import run
real = run.build_plan
def build_plan(leaf, source):
    if leaf.service_name == "w-bad":
        raise ToolError("planning w-bad failed", hint="see helper:1")
    return real(leaf, source)
run.build_plan = build_plan
from catalog_gen.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_an_error_in_a_worker_is_reported_like_in_one_process(tmp_path):
    import subprocess
    import sys

    leaves = [h.leaf(serviceName=f"w-{i:02d}") for i in range(6)] + [h.leaf(serviceName="w-bad")]
    catalog = make_catalog(tmp_path, leaves)
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"charts-{jobs}"
        proc = subprocess.run([sys.executable, "-c", FAILING_RENDER, "render", str(catalog), "--out", str(out)],
                              capture_output=True, text=True, env={**os.environ, "CATALOG_GEN_JOBS": jobs})
        assert proc.returncode == 2 and "planning w-bad failed" in proc.stderr and "helper:1" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert not [p for p in out.rglob("*") if p.is_file()] if out.exists() else True
        outputs.append(proc.stderr)
    assert outputs[0] == outputs[1]


def test_jobs_setting_is_checked(tmp_path, capsys, monkeypatch):
    catalog = make_catalog(tmp_path)
    monkeypatch.setenv("CATALOG_GEN_JOBS", "many")
    assert main(["render", str(catalog), "--out", str(tmp_path / "charts")]) == 2
    assert "CATALOG_GEN_JOBS" in capsys.readouterr().err
    assert not (tmp_path / "charts").exists()


def test_prune_keeps_a_chart_whose_leaf_path_needs_escaping(tmp_path):
    """The source path in Chart.yaml is JSON with `&`, `'` and non-ASCII escaped; prune must read it back."""
    catalog = make_catalog(tmp_path)
    odd = h.write_leaf(catalog, h.leaf(serviceName="odd"), "café & 'co'.yaml")
    out = tmp_path / "charts"
    render_catalog([catalog], out)
    assert "\\u00e9" in (out / "dev" / "odd" / "Chart.yaml").read_text()  # escaped, as tojson writes it
    result = render_catalog([catalog / "prod"], out, prune=True)  # the dev leaves are outside the rendered paths
    assert result.pruned == [] and (out / "dev" / "odd").is_dir()
    odd.unlink()
    assert render_catalog([catalog], out, prune=True).pruned == ["dev/odd"]
