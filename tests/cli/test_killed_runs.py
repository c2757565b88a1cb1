"""SIGKILL at random moments: no process left behind, the next run repairs the output folder first,
and until then `render --check` and `lint` report the leftover staging folder."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import CLI, LINT_GOOD, REPO, alive, children_of, cli, make_catalog, tree

from catalog_gen.lint import scratch
from catalog_gen.render import write

LEAVES = 30  # with CATALOG_GEN_JOBS=2, rendered by two forked workers


def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def _kill_after(command: list[str], cwd: Path, delay: float, env: dict, ready=lambda proc: True) -> tuple[set[int], int]:
    """Start a run, wait until `ready(proc)` (at most 60 s) and `delay` more, note its descendants, SIGKILL it."""
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not ready(proc) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    kids = children_of(proc.pid)
    proc.kill()
    proc.wait(timeout=30)
    return kids, proc.returncode


def _wait_gone(pids: set[int], seconds: float = 5.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return {p for p in pids if alive(p)}


def _change_every_leaf(catalog: Path, group: str) -> None:
    for leaf in sorted((catalog / "dev").iterdir()):
        lines = leaf.read_text().splitlines(keepends=True)
        leaf.write_text("".join(f"serviceCatalog: {group}\n" if line.startswith("serviceCatalog:") else line for line in lines))


def whole_charts(charts: Path) -> dict[str, str]:
    """Chart name -> its manifest's fingerprint, for every chart whose files are exactly those its manifest lists,
    with the digests it records; raises AssertionError naming a chart that is half-written."""
    found = {}
    everything = tree(charts)
    for chart in sorted((charts / "dev").iterdir()):
        files = {k.split("/", 2)[2]: v for k, v in everything.items() if k.startswith(f"dev/{chart.name}/")}
        manifest = json.loads(files.pop(".catalog-gen-manifest.json"))
        assert {name: hashlib.sha256(data).hexdigest() for name, data in files.items()} == manifest["files"], chart.name
        found[chart.name] = manifest["fingerprint"]
    return found


def test_sigkill_of_render_at_random_moments(tmp_path):
    """Each chart is checked against its own manifest (file list and digests): old or new, it must be whole.
    (Comparing with a second, separate render would also compare the code of two moments.)"""
    make_catalog(tmp_path, LEAVES)
    assert cli("render", "catalog", cwd=tmp_path, timeout=120).returncode == 0
    charts = tmp_path / "charts"
    rng = random.Random(12)  # random moments, the same ones every run
    staging_seen = False
    worker_pids: set[int] = set()
    for attempt in range(3):
        before = whole_charts(charts)
        _change_every_leaf(tmp_path / "catalog", f"ml-inference-{attempt}")  # every chart changes: real work is killed
        delay = rng.uniform(0.0, 0.5)
        # the first kill lands while the forked workers run (on a fast machine they may be done before the
        # staging folder appears); the others once the staging folder exists, at a random moment of the swap
        if attempt == 0:
            delay, ready = 0.0, lambda proc: bool(children_of(proc.pid))
        else:
            ready = lambda proc: bool(write.leftover_staging(charts))  # noqa: E731
        kids, code = _kill_after([*CLI, "render", "catalog"], tmp_path, delay, _env(CATALOG_GEN_JOBS="2"), ready=ready)
        assert code in (-signal.SIGKILL, 0)
        worker_pids |= kids
        assert _wait_gone(kids) == set(), f"processes left behind after SIGKILL (attempt {attempt}, delay {delay:.2f})"
        after_kill = whole_charts(charts)  # never half-written; a chart moved aside may be missing until the next run
        leftovers = write.leftover_staging(charts)
        if leftovers:
            staging_seen = True
            check = cli("render", "catalog", "--check", cwd=tmp_path, timeout=120)
            assert check.returncode == 1
            assert f"charts/{leftovers[0]}: interrupted; a render was killed here" in check.stdout
            missing = set(before) - set(after_kill)
            assert all(f"charts/dev/{name}: missing" in check.stdout for name in missing)
        repaired = cli("render", "catalog", cwd=tmp_path, timeout=120)
        assert repaired.returncode == 0, repaired.stderr
        assert write.leftover_staging(charts) == []
        now = whole_charts(charts)
        assert set(now) == set(before)  # nothing missing after the next run
    assert cli("render", "catalog", "--check", cwd=tmp_path, timeout=120).returncode == 0
    assert worker_pids, "the renders were killed before they started any worker; the test saw nothing"
    assert staging_seen, "no kill landed while a staging folder existed"


def test_a_staging_folder_left_by_a_killed_render_is_reported_then_repaired(tmp_path):
    """The state SIGKILL leaves in the middle of the swap: a chart moved aside, not replaced."""
    make_catalog(tmp_path, 2)
    assert cli("render", "catalog", cwd=tmp_path).returncode == 0
    charts = tmp_path / "charts"
    whole = tree(charts)
    aside = charts / ".catalog-gen-tmp-killed" / "old" / "dev" / "svc-001"
    aside.parent.mkdir(parents=True)
    (charts / "dev" / "svc-001").rename(aside)

    check = cli("render", "catalog", "--check", cwd=tmp_path)
    assert check.returncode == 1
    assert "charts/dev/svc-001: missing" in check.stdout
    assert "charts/.catalog-gen-tmp-killed: interrupted; a render was killed here" in check.stdout

    lint = cli("lint", "charts", "--format", "json", cwd=tmp_path, timeout=120)
    found = [(f["file"], f["code"]) for f in json.loads(lint.stdout)["findings"]]
    assert lint.returncode == 1
    assert ("charts/.catalog-gen-tmp-killed", "chart-files") in found

    ci = cli("ci", "catalog", "--format", "json", cwd=tmp_path, timeout=120)
    messages = [f["message"] for f in json.loads(ci.stdout)["findings"] if f["code"] == "render.drift"]
    assert any("staging folder of a render that was killed" in m for m in messages)

    assert cli("render", "catalog", cwd=tmp_path).returncode == 0  # repairs first: the chart is back, whole
    assert tree(charts) == whole and write.leftover_staging(charts) == []


def test_lint_reports_a_chart_missing_files_its_manifest_lists(tmp_path):
    make_catalog(tmp_path, 1)
    assert cli("render", "catalog", cwd=tmp_path).returncode == 0
    (tmp_path / "charts" / "dev" / "svc-000" / "templates" / "service.yaml").unlink()
    lint = cli("lint", "charts", "--format", "json", cwd=tmp_path, timeout=120)
    found = [f for f in json.loads(lint.stdout)["findings"] if f["code"] == "chart-files"]
    assert lint.returncode == 1
    assert [f["file"] for f in found] == ["charts/dev/svc-000/.catalog-gen-manifest.json"]
    assert "missing 1 file(s) its manifest lists (templates/service.yaml)" in found[0]["message"]


def _own_scratch(pid: int) -> Path | None:
    """The scratch folder a lint process owns (it holds its `.owner` open); other runs on the machine have theirs."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if os.path.basename(os.path.dirname(target)).startswith(scratch.PREFIX) and target.endswith("/" + scratch.OWNER):
                return Path(os.path.dirname(target))
    except OSError:
        pass
    return None


def _start_lint_with_workers(tmp_path: Path) -> tuple[subprocess.Popen, Path, set[int]]:
    charts = tmp_path / "charts"
    for i in range(24):  # parallel lint from 16 charts on
        shutil.copytree(LINT_GOOD, charts / f"c{i:02d}")
    proc = subprocess.Popen([*CLI, "lint", "charts", "--jobs", "2"], cwd=tmp_path, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    folder = None
    while time.monotonic() < deadline and proc.poll() is None:
        folder = folder or _own_scratch(proc.pid)
        if folder is not None and (folder / "worker-1.json").exists() and children_of(proc.pid):
            break
        time.sleep(0.005)
    time.sleep(0.3)
    assert folder is not None, "lint ended before it made its scratch folder"
    return proc, folder, children_of(proc.pid)


def test_sigkill_of_lint_leaves_no_worker_and_the_next_run_removes_its_scratch(tmp_path):
    proc, folder, kids = _start_lint_with_workers(tmp_path)
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert kids, "lint was killed before it started its worker"
    assert _wait_gone(kids) == set()
    assert folder.exists(), "the killed run's scratch folder should still be there for this test to mean anything"
    assert cli("lint", str(LINT_GOOD), cwd=tmp_path, timeout=120).returncode == 0
    assert not folder.exists()  # removed by the next run


def test_sigterm_of_lint_removes_its_scratch_and_its_workers(tmp_path):
    proc, folder, kids = _start_lint_with_workers(tmp_path)
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert kids and _wait_gone(kids) == set()
    assert not folder.exists()


def test_scratch_of_a_live_run_is_kept(tmp_path):
    with scratch.scratch_folder() as mine:
        assert Path(mine) not in scratch.remove_abandoned(scratch.parent())  # its owner (this process) is alive
        assert Path(mine).exists()
    assert not Path(mine).exists()
