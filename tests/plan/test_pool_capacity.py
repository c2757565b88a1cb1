"""Pool capacity arithmetic (plan/pool_capacity.py) and what sizing and the plan make of a pool leaf."""

from __future__ import annotations

import pytest

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.plan import pool_capacity as pc
from catalog_gen.plan.plan import build_plan
from catalog_gen.plan.sizing import SizingError, size_service

GiB = 2**30


def unit(name: str, gib: float, min_workers: int = 1, disk_gib: float | None = None) -> pc.Unit:
    return pc.Unit((name,), int(gib * GiB), int((disk_gib or gib) * GiB), min_workers)


def test_fits_follows_ollamas_80_percent_rule():
    # alone: anything up to the whole memory
    assert pc.fits([int(20 * GiB)], int(20 * GiB))
    assert not pc.fits([int(21 * GiB)], int(20 * GiB))
    # 10 GiB loaded, 10 free: a second model of 8 GiB is 80% of the free memory (fits), 8.5 GiB is not
    assert pc.fits([int(10 * GiB), int(8 * GiB)], int(20 * GiB))
    assert not pc.fits([int(10 * GiB), int(8.5 * GiB)], int(20 * GiB))
    # the order does not matter to the caller: largest first
    assert pc.fits([int(8 * GiB), int(10 * GiB)], int(20 * GiB))


def test_largest_that_fit_is_at_least_one():
    units = [unit("a", 10), unit("b", 8), unit("c", 1.8)]  # 2 GiB left after a and b: 1.8 is above 80% of it
    assert pc.largest_that_fit(units, int(20 * GiB)) == 2
    assert pc.largest_that_fit(units, int(5 * GiB)) == 1
    assert pc.largest_that_fit(units, int(40 * GiB)) == 3


def test_default_max_loaded_without_memory_is_ollamas_default():
    units = [unit(str(i), 1) for i in range(8)]
    assert pc.default_max_loaded(units, None, 1)[0] == 3
    assert pc.default_max_loaded(units, None, 2)[0] == 6
    assert pc.default_max_loaded(units[:2], None, 1)[0] == 2
    count, why = pc.default_max_loaded(units, int(2.5 * GiB), 1)
    assert count == 2 and "fit one worker" in why


def test_place_warm_puts_copies_on_distinct_workers_and_spreads():
    units = [unit("hot", 6, 2), unit("b", 5), unit("c", 5)]
    placement = pc.place_warm(units, workers=3, max_loaded=2, usable=int(22 * GiB))
    assert placement.feasible
    holders = [i for i, held in enumerate(placement.workers) if units[0] in held]
    assert len(holders) == 2
    assert sorted(len(h) for h in placement.workers) == [1, 1, 2]  # spread before stacking


def test_place_warm_reports_what_found_no_worker():
    units = [unit("a", 1, 3), unit("b", 1, 1)]
    placement = pc.place_warm(units, workers=2, max_loaded=2, usable=None)
    assert not placement.feasible
    assert placement.unplaced == ((units[0], 1),)
    # memory, not slots, can be the limit
    big = [unit("x", 15), unit("y", 15)]
    assert not pc.place_warm(big, workers=1, max_loaded=2, usable=int(22 * GiB)).feasible
    assert pc.place_warm(big, workers=2, max_loaded=2, usable=int(22 * GiB)).feasible


def test_capacity_issues_quiet_when_it_fits():
    units = [unit("a", 6, 2), unit("b", 5), unit("c", 9, 0)]
    assert pc.capacity_issues(units, {"a": "/models/0/name", "b": "/models/1/name", "c": "/models/2/name"},
                              4, "/pool/workers", 2, False, int(22 * GiB)) == []


def test_capacity_issue_names_the_warm_models():
    units = [unit("a", 1), unit("b", 1), unit("c", 1)]
    issues = pc.capacity_issues(units, {n: f"/models/{i}/name" for i, n in enumerate("abc")}, 1, "/pool/workers", 2,
                                False, None)
    assert [(i.pointer, i.error) for i in issues] == [("/pool/workers", True)]
    assert "a x1, b x1, c x1" in issues[0].message and "3 warm copies for 2 model slots" in issues[0].message


def test_cold_load_seconds():
    typical, slow = pc.cold_load_seconds(4 * 10**9)
    assert (typical, slow) == (4.0, 20.0)


POOL_LEAF = {
    "workloadType": "OLLAMA_INFERENCE_LOAD", "serviceName": "pool", "serviceCatalog": "ml", "namespace": "ml",
    "environment": "dev", "gpu": {"count": 1, "product": "NVIDIA-L4"},
    "models": [{"name": "llama3.1:8b", "minWorkers": 2}, {"name": "qwen2.5:7b"}, {"name": "mistral:7b"},
               {"name": "gemma2:9b", "minWorkers": 0}, {"name": "phi4:14b", "minWorkers": 0},
               {"name": "gemma3:4b", "keepWarm": False}, {"name": "llama3.2:3b", "minWorkers": 0},
               {"name": "qwen2.5:1.5b", "minWorkers": 0}],
    "pool": {"enabled": True, "workers": 4},
}


def test_pool_worker_is_sized_for_the_models_it_holds_at_once():
    pool = size_service(OllamaInferenceLoad.model_validate(POOL_LEAF))
    every = size_service(OllamaInferenceLoad.model_validate({**POOL_LEAF, "pool": {"enabled": False},
                                                             "models": [{"name": m["name"]} for m in POOL_LEAF["models"]],
                                                             "gpu": {"count": 1}}))
    assert pool.max_loaded_models == 2
    # phi4:14b (10.7 GiB) and gemma2:9b (8.2 GiB), the two largest, plus the runtime
    assert 19 * GiB < pool.memory_estimate_bytes < 20 * GiB
    assert every.memory_estimate_bytes > 45 * GiB  # without a pool one process would hold all eight
    assert pool.load_bytes == pool.models_disk_bytes  # a worker's router warms every model once at start


def test_explicit_max_loaded_models_wins():
    sizing = size_service(OllamaInferenceLoad.model_validate({**POOL_LEAF, "pool": {"enabled": True, "workers": 4,
                                                                                   "maxLoadedModels": 1}}))
    assert sizing.max_loaded_models == 1


def test_infeasible_pool_cannot_be_planned():
    data = {**POOL_LEAF, "pool": {"enabled": True, "workers": 2, "maxLoadedModels": 2}}  # 5 warm copies, 4 slots
    data["models"] = POOL_LEAF["models"][:3] + [{"name": "gemma2:9b"}]
    with pytest.raises(SizingError, match="warm set does not fit"):
        size_service(OllamaInferenceLoad.model_validate(data))


def test_plan_explains_the_pool():
    plan = build_plan(OllamaInferenceLoad.model_validate(POOL_LEAF), "catalog/dev/pool.yaml")
    pool = [(d, w) for topic, d, w in plan.decisions if topic == "pool"]
    gateway = [d for topic, d, _ in plan.decisions if topic == "gateway"]
    assert pool[0][0].startswith("4 workers, each holds at most 2 of the 8 model(s)")
    assert "OLLAMA_MAX_LOADED_MODELS=2" in pool[0][0]
    assert sum(1 for d, _ in pool if d.startswith("worker ")) == 4
    on_demand = [d for d, _ in pool if d.startswith("on demand: ")]
    assert [d.split(",")[0] for d in on_demand] == ["on demand: gemma2:9b", "on demand: phi4:14b", "on demand: gemma3:4b",
                                                    "on demand: llama3.2:3b", "on demand: qwen2.5:1.5b"]
    assert any("a cold load takes about 9s (up to 46s)" in d for d in on_demand)  # phi4:14b, 9.1 GB
    assert any("kept warm: llama3.1:8b on 2 worker(s), qwen2.5:7b on 1 worker(s), mistral:7b on 1 worker(s)" in d
               for d, _ in pool)
    assert any("2 replicas, PodDisruptionBudget maxUnavailable 1" in d for d in gateway)
    assert any("get, list, watch on endpointslices (discovery.k8s.io)" in d for d in gateway)
    values = plan.values
    assert values["ollama"]["maxLoadedModels"] == 2 and values["replicaCount"] == 4
    assert not any(m["keepWarm"] for m in values["models"])  # the workers keep nothing warm on their own
    config = values["pool"]["gateway"]["config"]
    assert config["role"] == "gateway"
    assert [m["minWorkers"] for m in config["models"]] == [2, 1, 1, 0, 0, 0, 0, 0]


def test_plan_of_a_leaf_without_pool_has_no_pool_values():
    data = {**POOL_LEAF, "pool": {"enabled": False}, "models": [{"name": "llama3.1:8b"}]}
    plan = build_plan(OllamaInferenceLoad.model_validate(data), "catalog/dev/pool.yaml")
    assert "pool" not in plan.values
    assert "pool" not in plan.values["smoke"]["leaf"]
    assert not [d for d in plan.decisions if d[0] in ("pool", "gateway")]
