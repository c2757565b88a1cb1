"""The committed charts/ are what `catalog-gen render` makes of catalog/ (CI fails on drift)."""

from __future__ import annotations

import render_helpers as h

from catalog_gen.cli import main


def test_committed_charts_match_the_catalog(monkeypatch, capsys):
    monkeypatch.chdir(h.REPO)
    before = h.tree(h.CHARTS)
    code = main(["render", "--check", "--prune"])
    printed = capsys.readouterr().out
    assert code == 0, f"charts/ drifted from catalog/; run `catalog-gen render --prune` and commit charts/:\n{printed}"
    assert h.tree(h.CHARTS) == before  # --check wrote nothing


def test_diff_needs_check(monkeypatch, capsys):
    monkeypatch.chdir(h.REPO)
    assert main(["render", "--diff"]) == 2
    assert "--diff goes with --check" in capsys.readouterr().err
