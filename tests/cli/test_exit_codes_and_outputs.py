"""Exit codes of signals and output paths: 130 for SIGINT, 143 for SIGTERM, a message and 2 for a bad -o."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time

import pytest
from cli_helpers import CLI, CRDS, LINT_GOOD, REPO, cli, make_catalog


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "Ctrl-C (SIGINT)"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_gives_its_shell_exit_code(tmp_path, sig, code, name):
    """smoke waiting for a service that never answers is a long, interruptible wait."""
    catalog = make_catalog(tmp_path, 1)
    proc = subprocess.Popen([*CLI, "smoke", str(catalog / "dev" / "svc-000.yaml"), "--url", "http://127.0.0.1:9",
                             "--warmup", "60"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "CATALOG_GEN_PROGRESS_INTERVAL": "0"})
    deadline = time.monotonic() + 30
    line = ""
    while "waiting for" not in line and time.monotonic() < deadline:  # the progress line says the wait has begun
        line = proc.stderr.readline()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert f"interrupted by {name}" in err and "Traceback" not in err


def test_output_to_a_folder_is_a_usage_error(tmp_path):
    make_catalog(tmp_path, 1)
    proc = cli("validate", "catalog", "-o", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"--output {tmp_path}: is a folder, not a file" in proc.stderr and "internal error" not in proc.stderr


def test_output_in_a_missing_folder_is_a_usage_error_and_creates_nothing(tmp_path):
    make_catalog(tmp_path, 1)
    proc = cli("validate", "catalog", "-o", str(tmp_path / "missing" / "dir" / "x.txt"), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"the folder {tmp_path / 'missing' / 'dir'} does not exist" in proc.stderr
    assert not (tmp_path / "missing").exists()


def test_output_paths_are_checked_before_the_work(tmp_path):
    """lint would take its time first; a bad -o is known before anything runs."""
    proc = cli("lint", str(LINT_GOOD), "-o", str(tmp_path / "nope" / "x.sarif"), "--format", "sarif", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == "" and "does not exist" in proc.stderr


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_report_files_get_the_mode_of_a_normal_file_and_end_with_a_newline(tmp_path, umask, mode):
    make_catalog(tmp_path, 1)
    report = tmp_path / "report.txt"
    proc = subprocess.run([*CLI, "validate", "catalog", "-o", str(report)], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, preexec_fn=lambda: os.umask(umask), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(report.stat().st_mode) == mode
    assert report.read_text() == "validate: 1 file checked, 0 error(s), 0 warning(s)\n"


def test_every_report_format_ends_with_a_newline(tmp_path):
    make_catalog(tmp_path, 1)
    for fmt in ("text", "json", "github", "junit", "sarif"):
        out = tmp_path / f"r.{fmt}"
        assert cli("validate", "catalog", "--format", fmt, "-o", str(out), cwd=tmp_path).returncode == 0
        assert out.read_bytes().endswith(b"\n"), fmt


def test_a_report_to_a_pipe_is_written_through_not_replaced(tmp_path):
    """`-o /dev/stdout` (a symlink to a pipe or terminal) must never be replaced by a file; tried on a FIFO of our own."""
    make_catalog(tmp_path, 1)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "stdout"
    link.symlink_to(pipe)
    reader = os.open(pipe, os.O_RDWR | os.O_NONBLOCK)  # a reader that is there already, so the writer never waits
    try:
        proc = cli("validate", "catalog", "-o", str(link), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert os.read(reader, 65536) == b"validate: 1 file checked, 0 error(s), 0 warning(s)\n"
    finally:
        os.close(reader)
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(link).st_mode)


@pytest.mark.parametrize("command", ["lint", "ci"])
def test_a_missing_crds_folder_is_an_error(tmp_path, command):
    make_catalog(tmp_path, 1)
    args = [str(LINT_GOOD)] if command == "lint" else ["catalog"]
    proc = cli(command, *args, "--crds", "/nonexistent", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--crds /nonexistent: not a directory" in proc.stderr
    ok = cli("lint", str(LINT_GOOD), "--crds", str(CRDS), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_render_out_that_is_a_file_is_a_usage_error(tmp_path):
    make_catalog(tmp_path, 1)
    (tmp_path / "charts").write_text("not a folder\n")
    proc = cli("render", "catalog", cwd=tmp_path)
    assert proc.returncode == 2 and "--out charts: is a file, not a folder" in proc.stderr
