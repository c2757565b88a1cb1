"""The incremental lint cache: unchanged charts are not linted again, and results never change because of it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import catalog_gen
from catalog_gen.cli import main
from catalog_gen.errors import Finding, Severity
from catalog_gen.lint import cache, lint_charts, parallel, policies
from lint_cases import CASES, GOOD, SHARED_CRDS, build_chart

BIN = Path(sys.executable).parent


def _case(name):
    return next(c for c in CASES if c.name == name)


@pytest.fixture
def linted(monkeypatch):
    """Charts actually linted (not answered from the cache), by path, in order."""
    calls: list[Path] = []
    real = parallel.lint_one

    def counting(job, index, chart):
        calls.append(Path(chart))
        return real(job, index, chart)

    monkeypatch.setattr(parallel, "lint_one", counting)
    return calls


@pytest.fixture
def charts(tmp_path):
    """A few charts with findings of every kind of origin: Helm, schemas, a ci/ scenario, a suppression, none."""
    root = tmp_path / "charts"
    names = ["unknown container field", "required value missing", "empty reason"]
    for i, name in enumerate(names):
        build_chart(_case(name), root / f"c{i}")
    shutil.copytree(GOOD, root / "good" / "ollama-phi")
    return root


def _entries(folder: Path) -> list[Path]:
    """Findings entries (not the stat index's)."""
    return sorted(p for p in folder.rglob("*.json") if not p.name.endswith((".stat.json", ".crd.json")))


def test_cached_findings_equal_uncached_ones(charts, lint_cache_dir, linted):
    uncached = lint_charts([charts], crd_dirs=[SHARED_CRDS], cache=False)
    assert len(linted) == 4 and not lint_cache_dir.exists()
    assert {f.code for f in uncached.findings} >= {"kube-schema", "helm-render", "ignore-reason-missing"}
    cold = lint_charts([charts], crd_dirs=[SHARED_CRDS])
    assert len(linted) == 8 and len(_entries(lint_cache_dir)) == 4
    warm = lint_charts([charts], crd_dirs=[SHARED_CRDS])
    assert len(linted) == 8  # nothing linted again
    assert warm == cold == uncached  # every field: file, line, column, pointer, code, severity, message, hint, ...
    assert all(isinstance(f.severity, Severity) for f in warm.findings)


def test_cli_output_is_identical_with_and_without_the_cache(charts, tmp_path, capsys):
    outputs = []
    for extra in (["--no-cache"], [], []):
        for fmt in ("text", "json", "sarif"):
            assert main(["lint", str(charts), "--crds", str(SHARED_CRDS), "--format", fmt, *extra]) == 1
            outputs.append((fmt, capsys.readouterr().out))
    assert outputs[0:3] == outputs[3:6] == outputs[6:9]


def test_a_defect_edited_into_a_cached_chart_is_found(tmp_path, linted):
    defective = build_chart(_case("unknown container field"), tmp_path / "defective")
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    assert lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings == []
    assert lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings == [] and len(linted) == 1
    deployment = chart / "templates/deployment.yaml"
    deployment.write_text((defective / "templates/deployment.yaml").read_text())  # the planted defect
    found = lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings
    assert len(linted) == 2
    assert [f.code for f in found] == ["kube-schema"] and found[0].message.startswith("unknown field 'bogus'")
    assert found == lint_charts([chart], crd_dirs=[SHARED_CRDS], cache=False).findings
    deployment.write_text((GOOD / "templates/deployment.yaml").read_text())  # fixed again: the clean entry is still there
    assert lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings == [] and len(linted) == 3


@pytest.mark.parametrize("where, text", [
    ("ci/bogus-values.yaml", "replicas: lots\n"),  # a new ci/ scenario
    ("values.yaml", None),  # a changed default value
])
def test_values_and_scenarios_are_part_of_the_key(tmp_path, linted, where, text):
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    assert lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings == []
    path = chart / where
    if text is None:
        path.write_text(path.read_text().replace("replicas: 1", "replicas: lots", 1))
    else:
        path.write_text(text)
    found = lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings
    assert len(linted) == 2 and found, "the changed chart was linted again and its defect found"
    assert found == lint_charts([chart], crd_dirs=[SHARED_CRDS], cache=False).findings


def test_a_suppression_added_to_a_cached_chart_takes_effect(tmp_path, linted):
    chart = build_chart(_case("unknown container field"), tmp_path)
    pvc = chart / "templates/pvc.yaml"
    pvc.write_text(pvc.read_text().replace("helm.sh/resource-policy: keep", "team: models"))
    before = lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings
    assert "pvc-not-kept" in {f.code for f in before}
    pvc.write_text(pvc.read_text().replace(
        "  annotations:\n", "  annotations:\n    catalog-gen.io/ignore-pvc-not-kept: \"a scratch volume\"\n", 1))
    after = lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings
    assert len(linted) == 2 and "pvc-not-kept" not in {f.code for f in after}
    assert after == [f for f in before if f.code != "pvc-not-kept"]


def test_kube_version_and_require_schemas_are_part_of_the_key(tmp_path, linted):
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    lint_charts([chart], crd_dirs=[SHARED_CRDS])
    lint_charts([chart], crd_dirs=[SHARED_CRDS], kube_version="1.31")
    assert len(linted) == 1
    lint_charts([chart], crd_dirs=[SHARED_CRDS], kube_version="1.25")
    assert len(linted) == 2
    without_crds = lint_charts([chart])  # no CRDs: schema-missing warnings, not the cached clean result
    assert len(linted) == 3 and {f.code for f in without_crds.findings} == {"schema-missing"}
    strict = lint_charts([chart], require_schemas=True)
    assert len(linted) == 4 and {f.severity for f in strict.findings} == {Severity.ERROR}


def test_crds_count_by_content_not_mtime(tmp_path, linted):
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    crds = tmp_path / "crds"
    shutil.copytree(SHARED_CRDS, crds)
    lint_charts([chart], crd_dirs=[crds])
    some_crd = sorted(crds.glob("*.yaml"))[0]
    os.utime(some_crd, (time.time() + 100, time.time() + 100))  # touched, same bytes: still a hit
    lint_charts([chart], crd_dirs=[crds])
    assert len(linted) == 1
    some_crd.write_text(some_crd.read_text() + "\n# edited\n")
    lint_charts([chart], crd_dirs=[crds])
    assert len(linted) == 2
    fewer = tmp_path / "fewer-crds"  # a new folder: CrdStore.load keeps one store per folder for the process
    shutil.copytree(crds, fewer, ignore=shutil.ignore_patterns("*servicemonitors*"))
    found = lint_charts([chart], crd_dirs=[fewer]).findings  # the ServiceMonitor loses its schema
    assert len(linted) == 3 and "schema-missing" in {f.code for f in found}


def test_registry_and_code_are_part_of_the_key(monkeypatch):
    run = cache.run_digest("1.31", [], False)
    changed = tuple(policies.Check(**{**c.__dict__, "params": {**c.params, "x": 1}}) if i == 0 else c
                    for i, c in enumerate(policies.CHECKS))
    monkeypatch.setattr(policies, "CHECKS", changed)
    assert cache.run_digest("1.31", [], False) != run
    monkeypatch.undo()
    assert cache.run_digest("1.31", [], False) == run
    cache.code_digest.cache_clear()
    monkeypatch.setattr(catalog_gen, "__version__", "99.0")
    try:
        assert cache.run_digest("1.31", [], False) != run
    finally:
        monkeypatch.undo()
        cache.code_digest.cache_clear()
    assert cache.run_digest("1.31", [], False) == run


def test_lint_sources_are_hashed(monkeypatch):
    engine = Path(catalog_gen.__file__).resolve().parent / "lint" / "engine.py"
    before = cache.code_digest()
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: real(self) + (b"# edited" if self == engine else b""))
    cache.code_digest.cache_clear()
    try:
        assert cache.code_digest() != before
    finally:
        monkeypatch.undo()
        cache.code_digest.cache_clear()
    assert cache.code_digest() == before


def test_working_directory_changes_the_key_and_paths_stay_right(tmp_path, monkeypatch, linted):
    chart = build_chart(_case("unknown container field"), tmp_path / "repo" / "charts")
    monkeypatch.chdir(tmp_path / "repo")
    first = lint_charts([Path("charts")], crd_dirs=[SHARED_CRDS]).findings
    assert first[0].file.startswith("charts/ollama-phi/")
    monkeypatch.chdir(tmp_path)
    second = lint_charts([Path("repo/charts")], crd_dirs=[SHARED_CRDS]).findings
    assert len(linted) == 2 and second[0].file.startswith("repo/charts/ollama-phi/")
    assert chart.is_dir()


@pytest.mark.parametrize("garbage", [b"", b"{not json", b'{"key": "other", "findings": []}', b"[]",
                                     "line-as-text", "unknown-severity", "extra-field", "directory"])
def test_a_corrupt_entry_is_a_miss_and_is_repaired(tmp_path, lint_cache_dir, linted, garbage):
    chart = build_chart(_case("unknown container field"), tmp_path)
    expected = lint_charts([chart], crd_dirs=[SHARED_CRDS], cache=False).findings
    lint_charts([chart], crd_dirs=[SHARED_CRDS])
    [entry] = _entries(lint_cache_dir)
    data = json.loads(entry.read_text())
    if garbage == "line-as-text":
        data["findings"][0]["line"] = "12"
        entry.write_text(json.dumps(data))
    elif garbage == "unknown-severity":
        data["findings"][0]["severity"] = "fatal"
        entry.write_text(json.dumps(data))
    elif garbage == "extra-field":
        data["findings"][0]["extra"] = 1
        entry.write_text(json.dumps(data))
    elif garbage == "directory":
        entry.unlink()
        entry.mkdir()
    else:
        entry.write_bytes(garbage)
    again = lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings
    assert again == expected and len(linted) == 3
    if garbage != "directory":  # rewritten with the findings: a hit again
        assert json.loads(entry.read_text())["findings"][0]["line"] == expected[0].line
        assert lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings == expected and len(linted) == 3


def test_an_unusable_cache_folder_is_ignored(tmp_path, linted):
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    for _ in range(2):
        assert lint_charts([chart], crd_dirs=[SHARED_CRDS], cache_dir=blocker / "lint").findings == []
    assert len(linted) == 2 and blocker.read_text().startswith("a file")


def test_the_cache_can_be_turned_off(tmp_path, lint_cache_dir, linted, capsys):
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    for _ in range(2):
        lint_charts([chart], crd_dirs=[SHARED_CRDS], cache=False)
        assert main(["lint", str(chart), "--crds", str(SHARED_CRDS), "--no-cache"]) == 0
    assert len(linted) == 4 and not lint_cache_dir.exists()
    elsewhere = tmp_path / "ci-cache"
    assert main(["lint", str(chart), "--crds", str(SHARED_CRDS), "--cache-dir", str(elsewhere)]) == 0
    assert main(["lint", str(chart), "--crds", str(SHARED_CRDS), "--cache-dir", str(elsewhere)]) == 0
    assert len(linted) == 5 and len(_entries(elsewhere)) == 1 and not lint_cache_dir.exists()
    capsys.readouterr()


def test_ci_takes_the_cache_flags():
    from catalog_gen.cli import build_parser

    args = build_parser().parse_args(["ci", "--no-cache", "--cache-dir", "/tmp/x"])
    assert args.no_cache is True and args.cache_dir == Path("/tmp/x")
    args = build_parser().parse_args(["ci"])
    assert args.no_cache is False and args.cache_dir is None


def test_where_the_cache_lives(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "named"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_dir() == tmp_path / "named"
    monkeypatch.delenv(cache.ENV_DIR)
    assert cache.default_dir() == tmp_path / "xdg" / "catalog-gen" / "lint"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: relative paths are invalid
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.default_dir() == tmp_path / "home" / ".cache" / "catalog-gen" / "lint"


def test_charts_with_symlinks_are_linted_every_time(tmp_path, lint_cache_dir, linted):
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    (chart / "templates" / "extra.txt").symlink_to(chart / "values.yaml")
    for _ in range(2):
        lint_charts([chart], crd_dirs=[SHARED_CRDS])
    assert len(linted) == 2 and _entries(lint_cache_dir) == []


def test_a_chart_changed_while_it_was_linted_is_not_stored(tmp_path, lint_cache_dir, monkeypatch):
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    real = parallel.lint_one

    def edit_meanwhile(job, index, chart_dir):
        result = real(job, index, chart_dir)
        (chart_dir / "values.yaml").write_text((chart_dir / "values.yaml").read_text() + "# edited during lint\n")
        return result

    monkeypatch.setattr(parallel, "lint_one", edit_meanwhile)
    lint_charts([chart], crd_dirs=[SHARED_CRDS])
    assert _entries(lint_cache_dir) == []


def test_concurrent_writers_and_readers_never_see_half_an_entry(tmp_path):
    store = cache.LintCache(tmp_path / "c", "run")
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    key = store.key(chart)
    findings = [Finding(f"x/{i}", i, 1, "/a", "kube-schema", Severity.ERROR, "m" * 2000, "h") for i in range(50)]
    seen, stop = [], threading.Event()

    def write():
        while not stop.is_set():
            store.put(key, chart, findings)

    def read():
        while not stop.is_set():
            seen.append(store.get(key))

    threads = [threading.Thread(target=write) for _ in range(3)] + [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    hits = [s for s in seen if s is not None]
    assert hits and all(s == findings for s in hits)
    assert [p.name for p in (tmp_path / "c").rglob("*") if p.name.startswith(cache.TMP_PREFIX)] == []


def test_two_concurrent_lint_runs_share_a_cache(charts, tmp_path):
    folder = tmp_path / "shared-cache"
    command = [str(BIN / "catalog-gen"), "lint", str(charts), "--crds", str(SHARED_CRDS), "--cache-dir", str(folder),
               "--format", "json", "--jobs", "1"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [1, 1], outputs
    third = subprocess.run(command, capture_output=True, text=True, timeout=300)
    uncached = subprocess.run([*command, "--no-cache"], capture_output=True, text=True, timeout=300)
    assert outputs[0][0] == outputs[1][0] == third.stdout == uncached.stdout
    entries = _entries(folder)
    assert len(entries) == 4 and all(json.loads(p.read_text())["key"] == p.stem for p in entries)
    assert [p for p in folder.rglob(cache.TMP_PREFIX + "*")] == []


def test_pruning_removes_unused_entries_once_a_day(tmp_path):
    store = cache.LintCache(tmp_path / "c", "run")
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    key = store.key(chart)
    store.put(key, chart, [])
    old = store.root / "ab" / ("ab" + "0" * 62 + ".json")
    old.parent.mkdir(parents=True)
    old.write_text("{}")
    leftover = old.parent / (cache.TMP_PREFIX + "x")
    leftover.write_text("half")
    now = time.time()
    long_ago = now - (cache.MAX_AGE_DAYS + 1) * 86400
    os.utime(old, (long_ago, long_ago))
    os.utime(leftover, (now - 7200, now - 7200))
    assert store.prune(now) == 2
    assert not old.exists() and not leftover.exists() and store.get(key) == []
    old.write_text("{}")
    os.utime(old, (long_ago, long_ago))
    assert store.prune(now + 60) == 0 and old.exists()  # pruned less than a day ago
    assert store.prune(now + cache.PRUNE_EVERY_S + 1) == 1


def test_the_stat_index_is_used_only_for_settled_files_and_sees_a_rewrite(tmp_path, lint_cache_dir, linted, monkeypatch):
    chart = tmp_path / "ollama-phi"
    shutil.copytree(GOOD, chart)
    lint_charts([chart], crd_dirs=[SHARED_CRDS])
    assert list(lint_cache_dir.rglob("*.stat.json")) == []  # files just written: not trusted by their stat
    monkeypatch.setattr(cache, "SETTLED_S", 0.3)
    time.sleep(0.4)
    lint_charts([chart], crd_dirs=[SHARED_CRDS])
    assert len(list(lint_cache_dir.rglob("*.stat.json"))) == 1 and len(linted) == 1
    reads = []
    real = cache.content_digest
    monkeypatch.setattr(cache, "content_digest", lambda *a: reads.append(a) or real(*a))
    assert lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings == [] and reads == []  # answered from the stat index
    values = chart / "values.yaml"
    before = values.stat()
    text = values.read_text()
    values.write_text(text.replace("replicas: 1", "replicas: x", 1))  # same size, same mtime: only the ctime tells
    os.utime(values, ns=(before.st_atime_ns, before.st_mtime_ns))
    found = lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings
    assert len(reads) == 1 and len(linted) == 2 and "kube-schema" in {f.code for f in found}


def test_limits_match_what_lint_refuses():
    from catalog_gen.lint import chartfiles

    assert (cache.MAX_FILE_BYTES, cache.MAX_CHART_BYTES) == (chartfiles.MAX_FILE_BYTES, chartfiles.MAX_CHART_BYTES)


def test_the_example_workflow_caches_the_folder_lint_uses(monkeypatch, tmp_path):
    import yaml

    workflow = yaml.safe_load((Path(catalog_gen.__file__).resolve().parents[1] / "docs/examples/github-actions.yaml").read_text())
    steps = workflow["jobs"]["catalog"]["steps"]
    [restore] = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("actions/cache/restore@")]
    [save] = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("actions/cache/save@")]
    runs_ci = [i for i, s in enumerate(steps) if "catalog-gen ci" in str(s.get("run", ""))]
    assert restore < min(runs_ci) and save > max(runs_ci) and steps[save]["if"] == "always()"
    monkeypatch.delenv(cache.ENV_DIR)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for step in (steps[restore], steps[save]):
        assert Path(step["with"]["path"].replace("~", str(tmp_path), 1)) == cache.default_dir()
        assert step["with"]["key"] == steps[restore]["with"]["key"] and "github.run_id" in step["with"]["key"]
    assert steps[restore]["with"]["key"].startswith(steps[restore]["with"]["restore-keys"])
