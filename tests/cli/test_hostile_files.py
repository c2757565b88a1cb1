"""Hostile and unlucky files in a catalog or a chart: findings naming the path, never a hang or a blown memory.

Every run is the real CLI in a child process with a deadline (a hang fails, it does not
hang the suite); the reads that once grew without bound run under an address-space limit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import CRDS, LINT_GOOD, cli, make_catalog

MEMORY_MB = 1024  # validate and render need ~200 MB; reading /dev/zero into memory would pass it in a second
LINT_MEMORY_MB = 3072  # lint's Go runtime (Helm) reserves address space of its own


def findings(proc: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    return [(f["file"], f["code"]) for f in json.loads(proc.stdout)["findings"]]


def test_a_fifo_leaf_is_a_finding_not_a_hang(tmp_path):
    catalog = make_catalog(tmp_path, 1)
    os.mkfifo(catalog / "dev" / "x.yaml")
    proc = cli("validate", "catalog", "--format", "json", cwd=tmp_path, timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert findings(proc) == [("catalog/dev/x.yaml", "io.special-file")]
    assert "FIFO" in json.loads(proc.stdout)["findings"][0]["message"]
    render = cli("render", "catalog", cwd=tmp_path, timeout=30)
    assert render.returncode == 1 and "io.special-file" in render.stdout
    assert not (tmp_path / "charts").exists()  # an invalid catalog writes nothing


def test_a_leaf_symlinked_to_dev_zero_is_refused_within_a_memory_limit(tmp_path):
    catalog = make_catalog(tmp_path, 1)
    (catalog / "dev" / "zero.yaml").symlink_to("/dev/zero")
    proc = cli("validate", "catalog", "--format", "json", cwd=tmp_path, timeout=30, memory_mb=MEMORY_MB)
    assert proc.returncode == 1, proc.stderr
    assert findings(proc) == [("catalog/dev/zero.yaml", "io.symlink-escape")]


def test_a_device_inside_the_catalog_is_refused_by_its_kind(tmp_path):
    """Without the symlink check (an explicit root that holds the device), the kind still refuses it."""
    from catalog_gen.catalog.load import load_document

    doc, problems = load_document(Path("/dev/zero"), "zero.yaml", root=Path("/dev"))
    assert doc is None and [(f.code, f.message) for f in problems] == [
        ("io.special-file", "is a character device, not a regular file; it is not read")]


def test_the_size_limit_holds_while_reading():
    """/proc files are regular files whose stat says 0 bytes: only the bytes read count."""
    from catalog_gen import fsutil

    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(fsutil.Refused) as refused:
        fsutil.read_regular("/proc/self/status", 16)
    assert refused.value.code == "io.too-large"
    assert fsutil.read_regular("/proc/self/status", 1 << 20).startswith(b"Name:")


def test_symlinks_inside_the_catalog_are_followed_and_out_of_it_are_findings(tmp_path):
    catalog = make_catalog(tmp_path, 2)
    shared = tmp_path / "shared-leaves"
    shared.mkdir()
    (catalog / "dev" / "svc-001.yaml").rename(shared / "svc-001.yaml")
    (catalog / "dev" / "svc-001.yaml").symlink_to(shared / "svc-001.yaml")  # inside the repository: fine
    proc = cli("validate", "catalog", "--format", "json", cwd=tmp_path, timeout=30)
    assert proc.returncode == 0 and findings(proc) == []

    outside = tmp_path.parent / f"{tmp_path.name}-secret.yaml"
    outside.write_text("workloadType: OLLAMA_INFERENCE_LOAD\npassword: hunter2\n")
    try:
        (catalog / "dev" / "leak.yaml").symlink_to(outside)
        proc = cli("validate", "catalog", "--format", "json", cwd=tmp_path, timeout=30)
        assert findings(proc) == [("catalog/dev/leak.yaml", "io.symlink-escape")]
        assert "hunter2" not in proc.stdout  # nothing of the file is read, so nothing of it is shown
    finally:
        outside.unlink()


def test_a_defaults_file_that_is_a_fifo_is_a_finding(tmp_path):
    catalog = make_catalog(tmp_path, 1)
    os.mkfifo(catalog / "_defaults.yaml")
    proc = cli("validate", "catalog", "--format", "json", cwd=tmp_path, timeout=30)
    assert proc.returncode == 1
    assert findings(proc) == [("catalog/_defaults.yaml", "io.special-file")]


def test_render_check_does_not_hang_on_a_fifo_or_grow_on_a_device_in_charts(tmp_path):
    make_catalog(tmp_path, 2)
    assert cli("render", "catalog", cwd=tmp_path, timeout=60).returncode == 0
    chart = tmp_path / "charts" / "dev" / "svc-000"
    (chart / "values.yaml").unlink()
    os.mkfifo(chart / "values.yaml")
    (tmp_path / "charts" / "dev" / "svc-001" / "values.yaml").unlink()
    (tmp_path / "charts" / "dev" / "svc-001" / "values.yaml").symlink_to("/dev/zero")
    proc = cli("render", "catalog", "--check", "--diff", cwd=tmp_path, timeout=60, memory_mb=MEMORY_MB)
    assert proc.returncode == 1, proc.stderr
    assert "dev/svc-000: changed (values.yaml)" in proc.stdout and "dev/svc-001: changed (values.yaml)" in proc.stdout
    fixed = cli("render", "catalog", cwd=tmp_path, timeout=60)  # and render replaces them with the real files
    assert fixed.returncode == 0 and (chart / "values.yaml").is_file() and not (chart / "values.yaml").is_symlink()


def copy_chart(tmp_path: Path) -> Path:
    chart = tmp_path / "charts" / "good"
    shutil.copytree(LINT_GOOD, chart, symlinks=True)
    return chart


def lint_json(tmp_path: Path, *extra: str, memory_mb: int | None = None) -> tuple[int, list[tuple[str, str]], str]:
    proc = cli("lint", "charts", "--format", "json", "--crds", str(CRDS), *extra, cwd=tmp_path, timeout=60, memory_mb=memory_mb)
    return proc.returncode, sorted({(f["file"], f["code"]) for f in json.loads(proc.stdout or '{"findings": []}')["findings"]}), proc.stderr


def test_lint_refuses_a_values_file_symlinked_to_dev_zero(tmp_path):
    chart = copy_chart(tmp_path)
    (chart / "ci" / "zero-values.yaml").symlink_to("/dev/zero")
    code, found, err = lint_json(tmp_path, memory_mb=LINT_MEMORY_MB)
    assert code == 1, err
    assert found == [("charts/good/ci/zero-values.yaml", "chart-files")]


def test_lint_refuses_a_fifo_and_a_symlink_out_of_the_chart_and_follows_one_inside(tmp_path):
    chart = copy_chart(tmp_path)
    os.mkfifo(chart / "templates" / "pipe.yaml")
    (chart / "files-out").symlink_to("/etc")
    code, found, err = lint_json(tmp_path)
    assert code == 1, err
    assert found == [("charts/good/files-out", "chart-files"), ("charts/good/templates/pipe.yaml", "chart-files")]

    (chart / "templates" / "pipe.yaml").unlink()
    (chart / "files-out").unlink()
    (chart / "ci" / "same-values.yaml").symlink_to("hpa-values.yaml")  # a symlink inside the chart is fine
    code, found, err = lint_json(tmp_path)
    assert (code, found) == (0, []), err


def test_lint_refuses_a_file_over_the_size_limit(tmp_path):
    from catalog_gen.lint import chartfiles

    chart = copy_chart(tmp_path)
    with open(chart / "big.txt", "wb") as handle:
        handle.truncate(chartfiles.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    code, found, err = lint_json(tmp_path)
    assert (code, found) == (1, [("charts/good/big.txt", "chart-files")]), err


def test_smoke_refuses_an_api_key_file_that_is_a_fifo(tmp_path):
    catalog = make_catalog(tmp_path, 1)
    os.mkfifo(tmp_path / "key")
    proc = cli("smoke", str(catalog / "dev" / "svc-000.yaml"), "--url", "http://127.0.0.1:9", "--api-key-file", "key",
               cwd=tmp_path, timeout=30)
    assert proc.returncode == 2
    assert "key: cannot use the API key file: is a FIFO (named pipe)" in proc.stderr
