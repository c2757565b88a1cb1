"""Progress: a bar on a terminal, a line every few seconds in a log, nothing with --quiet or for short work."""

from __future__ import annotations

import io
import shutil

import pytest
from cli_helpers import CRDS, LINT_GOOD, cli, make_catalog, run_on_terminal

from catalog_gen.progress import Tick
from catalog_gen.progress_display import Display


TERMINAL = {"CATALOG_GEN_PROGRESS_INTERVAL": "0", "TERM": "xterm", "COLUMNS": "120"}


@pytest.fixture
def charts(tmp_path):
    for i in range(3):
        shutil.copytree(LINT_GOOD, tmp_path / "charts" / f"c{i}")
    return tmp_path


def test_lint_shows_a_bar_on_a_terminal(charts):
    code, screen = run_on_terminal(["lint", "charts", "--crds", str(CRDS)], charts, env=TERMINAL)
    assert code == 0, screen
    assert "linting charts:" in screen and "3/3" in screen and "chart/s" in screen  # tqdm's bar with its rate
    assert "lint: 3 charts checked" in screen


def test_lint_shows_nothing_on_a_terminal_with_quiet(charts):
    code, screen = run_on_terminal(["lint", "charts", "--crds", str(CRDS), "--quiet"], charts, env=TERMINAL)
    assert code == 0, screen
    assert "linting charts" not in screen and "lint: 3 charts checked" in screen
    assert "chart/s" not in screen


def test_short_work_in_a_log_prints_no_progress(charts):
    proc = cli("lint", "charts", "--crds", str(CRDS), cwd=charts)  # default interval: 5 s, more than this takes
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == "lint: 3 charts checked, 0 error(s), 0 warning(s)\n"


def test_long_work_in_a_log_prints_a_line_per_interval(charts):
    proc = cli("lint", "charts", "--crds", str(CRDS), cwd=charts, env={"CATALOG_GEN_PROGRESS_INTERVAL": "0"})
    assert proc.returncode == 0
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith("catalog-gen lint: linting charts: ") for line in lines), proc.stderr
    assert lines[-1].startswith("catalog-gen lint: linting charts: 3/3 charts (")
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr  # no bar, no terminal codes in a log
    quiet = cli("lint", "charts", "--crds", str(CRDS), "--quiet", cwd=charts, env={"CATALOG_GEN_PROGRESS_INTERVAL": "0"})
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_render_and_ci_tell_their_progress_in_a_log(tmp_path):
    make_catalog(tmp_path, 3)
    proc = cli("render", "catalog", cwd=tmp_path, env={"CATALOG_GEN_PROGRESS_INTERVAL": "0"})
    assert proc.returncode == 0
    assert "catalog-gen render: rendering charts: 3/3 leafs" in proc.stderr
    ci = cli("ci", "catalog", "--crds", str(CRDS), cwd=tmp_path, env={"CATALOG_GEN_PROGRESS_INTERVAL": "0"}, timeout=120)
    assert ci.returncode == 0, ci.stdout + ci.stderr
    assert "catalog-gen ci: checking charts: 3/3" in ci.stderr and "catalog-gen ci: linting charts: 3/3 charts" in ci.stderr


def test_smoke_says_what_it_waits_for_during_warm_up(tmp_path):
    catalog = make_catalog(tmp_path, 1)
    proc = cli("smoke", str(catalog / "dev" / "svc-000.yaml"), "--url", "http://127.0.0.1:9", "--warmup", "1.5",
               cwd=tmp_path, env={"CATALOG_GEN_PROGRESS_INTERVAL": "0.5"})
    assert proc.returncode == 2  # never answered
    lines = [line for line in proc.stderr.splitlines() if "waiting for" in line]
    assert lines, proc.stderr
    assert lines[-1].startswith("catalog-gen smoke: waiting for http://127.0.0.1:9 to be ready: ")
    assert "s of 2 s; http://127.0.0.1:9 does not answer: ConnectError" in lines[-1]


def test_the_log_display_waits_for_the_interval_then_prints_once_per_interval(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("catalog_gen.progress_display.time.monotonic", lambda: clock[0])
    monkeypatch.setenv("CATALOG_GEN_PROGRESS_INTERVAL", "5")
    stream = io.StringIO()
    display = Display("lint", stream=stream)
    assert display.mode == "log"
    for second in range(12):
        clock[0] = 100.0 + second
        display(Tick("linting charts", second * 10, 120))
    assert stream.getvalue().splitlines() == ["catalog-gen lint: linting charts: 50/120 charts (5 s)",
                                              "catalog-gen lint: linting charts: 100/120 charts (10 s)"]


def test_quiet_or_a_dumb_terminal_get_no_bar(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Display("lint", stream=Terminal()).mode == "bar"
    assert Display("lint", stream=Terminal(), quiet=True).mode == "off"
    monkeypatch.setenv("TERM", "dumb")
    assert Display("lint", stream=Terminal()).mode == "log"
