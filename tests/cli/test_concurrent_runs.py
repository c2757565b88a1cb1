"""Two runs on one output folder: the second waits for the lock or exits 2 naming the holder; the first never crashes."""

from __future__ import annotations

import os
import subprocess

from cli_helpers import CLI, REPO, cli, make_catalog, tree

from catalog_gen import fsutil


def test_a_second_render_exits_2_naming_the_holder(tmp_path):
    make_catalog(tmp_path, 2)
    out = tmp_path / "charts"
    out.mkdir()
    with fsutil.locked(out):
        proc = cli("render", "catalog", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"charts is in use by pid {os.getpid()} (`catalog-gen" in proc.stderr and ", started 20" in proc.stderr
    assert "--lock-timeout" in proc.stderr
    assert list(out.iterdir()) == []  # it wrote nothing, not even a staging folder
    assert cli("render", "catalog", cwd=tmp_path).returncode == 0  # the lock went with its holder
    assert not (out / fsutil.LOCK_NAME).exists()  # and leaves no lock file behind


def test_a_second_render_waits_for_the_lock_and_says_so_in_the_log(tmp_path):
    make_catalog(tmp_path, 2)
    out = tmp_path / "charts"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "CATALOG_GEN_PROGRESS_INTERVAL": "0.5"}
    with fsutil.locked(out):
        proc = subprocess.Popen([*CLI, "render", "catalog", "--lock-timeout", "60"], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stderr.readline()  # the waiting run says what it waits for, in a log (not a terminal)
        assert not (out / "dev").exists()  # and has written nothing meanwhile
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert line.startswith("catalog-gen render: waiting for the lock on charts: ")
    assert f"held by pid {os.getpid()} (`catalog-gen" in line
    assert (out / "dev" / "svc-001" / "Chart.yaml").is_file()


def test_render_check_waits_for_a_render_that_writes(tmp_path):
    """A check takes the lock shared: it never sees a chart half-swapped."""
    make_catalog(tmp_path, 2)
    assert cli("render", "catalog", cwd=tmp_path).returncode == 0
    out = tmp_path / "charts"
    with fsutil.locked(out):
        busy = cli("render", "catalog", "--check", cwd=tmp_path)
    assert busy.returncode == 2 and "is in use by" in busy.stderr
    with fsutil.locked(out, exclusive=False):  # readers share
        assert cli("render", "catalog", "--check", cwd=tmp_path).returncode == 0
    assert not (out / fsutil.LOCK_NAME).exists()


def test_two_renders_at_once_both_succeed_and_leave_whole_charts(tmp_path):
    make_catalog(tmp_path, 60)
    env = {**os.environ, "PYTHONPATH": str(REPO), "CATALOG_GEN_JOBS": "2"}
    command = [*CLI, "render", "catalog", "--lock-timeout", "120"]
    for attempt in range(2):
        if attempt:
            for leaf in sorted((tmp_path / "catalog" / "dev").iterdir()):
                text = leaf.read_text()
                leaf.write_text(text.replace(f"namespace: ml-test{attempt - 1 if attempt > 1 else ''}\n",
                                             f"namespace: ml-test{attempt}\n"))
        first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        second = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        results = [p.communicate(timeout=240) for p in (first, second)]
        assert [first.returncode, second.returncode] == [0, 0], results
        assert not any("internal error" in err for _, err in results)
        check = cli("render", "catalog", "--check", cwd=tmp_path)
        assert check.returncode == 0, check.stdout
        charts = tmp_path / "charts"
        assert not [p for p in charts.iterdir() if p.name.startswith(".catalog-gen")]  # no staging folder, no lock file
        assert len([p for p in (charts / "dev").iterdir() if (p / "Chart.yaml").is_file()]) == 60
    assert "ml-test1" in tree(tmp_path / "charts" / "dev" / "svc-000")["values.yaml"].decode()  # the last change is in
