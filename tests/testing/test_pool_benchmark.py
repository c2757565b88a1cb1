"""benchmarks/pool.py: the trace it replays, and one quick run end to end (2 workers, 3 models, 4 s)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx

from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble, serve_double

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "pool.py"


def _pool_module():
    spec = importlib.util.spec_from_file_location("_pool_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


pool = _pool_module()


def test_the_trace_is_seeded_poisson_with_zipf_like_popularity():
    setup = pool.Setup(seconds=600.0)
    trace = pool.make_trace(setup)
    assert pool.trace_digest(trace) == pool.trace_digest(pool.make_trace(setup)), "same seed, same trace"
    assert pool.trace_digest(trace) != pool.trace_digest(pool.make_trace(pool.Setup(seconds=600.0, seed=17)))
    assert abs(len(trace) / 600 - setup.arrival_rate) < 0.05 * setup.arrival_rate
    assert 6.0 < setup.arrival_rate < 6.2  # 65% of 4 workers x 2 slots at 0.85 s a reply
    counts = Counter(a.model for a in trace)
    ranked = [counts[m] for m in pool.model_names(12)]
    assert ranked[0] > 1.7 * ranked[1] > ranked[11]  # weight 1/rank: the first twice the second
    assert 10 < ranked[0] / ranked[11] < 14
    assert all(b.at > a.at for a, b in zip(trace, trace[1:]))


def test_health_path_is_a_benchmark_knob_not_ollama():
    """Ollama has no /health (ollama-api.md, General); the pool benchmark turns one on for vllm-router's probe."""
    plain = OllamaDouble([DoubleModel("pool-m01:1b")])
    probed = OllamaDouble([DoubleModel("pool-m01:1b")], Knobs(health_path="/health"))
    with serve_double(plain) as a, serve_double(probed) as b:
        assert httpx.get(f"{a}/health").status_code == 404
        assert httpx.get(f"{b}/health").status_code == 200


def test_quick_run_end_to_end(tmp_path):
    out = tmp_path / "pool.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--policies", "router,gateway", "--json", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    trace = pool.make_trace(pool.Setup(**pool.QUICK))
    assert data["trace"] == pool.trace_digest(trace)
    assert sorted(data["results"]) == ["gateway", "router"] and data["skipped"] == {}
    for name, result in data["results"].items():  # the gateway runs in front of one worker router per double
        assert result["requests"] == len(trace) and result["failures"] == 0, (name, result["errors"])
        assert len(result["workers"]) == 2
        assert sum(w["served"] for w in result["workers"]) == len(trace)
        assert result["loads"] >= len({a.model for a in trace})  # every model asked for was loaded somewhere
        assert all(w["peak_loaded"] <= 2 for w in result["workers"])
        assert 0 < result["p50"] <= result["p95"] <= result["p99"] < 10
        assert any(0 < w["occupancy"] <= 1 for w in result["workers"])
        row = next(line for line in done.stdout.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {name} | {len(trace)} | 0 |" in row
        assert row.count("|") == 12  # every column filled


def test_a_policy_that_cannot_run_is_reported_as_skipped():
    setup = pool.Setup(**pool.QUICK)
    text = pool.report({}, {"gateway": "no gateway role yet"}, setup, pool.make_trace(setup))
    assert "| gateway | skipped: no gateway role yet |" in text
