"""Service sizing: memory estimates against the seeds' figures, preset choice, resources, caches."""

from __future__ import annotations

import dataclasses

import pytest

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.errors import CatalogGenError, Severity
from catalog_gen.plan import sizing as sizing_module
from catalog_gen.plan.presets import PRESETS
from catalog_gen.plan.sizing import SizingError, service_problems, size_service
from catalog_gen.quantity import parse_quantity

GB = 10**9
GiB = 2**30
SEED_LEAF = {  # seed 003, unchanged
    "workloadType": "OLLAMA_INFERENCE_LOAD", "serviceName": "ollama-phi", "serviceCatalog": "ml-inference",
    "namespace": "ml-workloads", "environment": "dev", "model": "phi:latest", "gpu": {"count": 1},
    "ingress": {"enabled": True, "host": "text.hypermedia.au"},
    "container": {"replicas": 1, "resources": {"requests": {"cpu": "500m", "memory": "2Gi"},
                                                "limits": {"cpu": "2", "memory": "4Gi"}}},
}


def leaf(models, **fields) -> OllamaInferenceLoad:
    base = {"workloadType": "OLLAMA_INFERENCE_LOAD", "serviceName": "svc", "serviceCatalog": "ml", "namespace": "ml",
            "environment": "dev"}
    if isinstance(models, str):
        base["model"] = models
    else:
        base["models"] = [m if isinstance(m, dict) else {"name": m} for m in models]
    return OllamaInferenceLoad.model_validate({**base, **fields})


def gpu(count=1, **more):
    return {"gpu": {"count": count, **more}}


def warnings(service) -> list[str]:
    return [p.message for p in service_problems(service) if p.severity is Severity.WARNING]


def errors(service) -> list[str]:
    return [p.message for p in service_problems(service) if p.severity is Severity.ERROR]


# --- seeds 000 / 002: 7B about 8 GB, 13B about 16 GB, 70B about 40 GB of VRAM -------------------

@pytest.mark.parametrize("name", ["mistral:7b", "qwen2.5:7b", "llama2:7b", "codellama:7b", "newmodel:7b"])
def test_a_7b_model_needs_about_8_gb(name):
    sizing = size_service(leaf(name, **gpu()))
    assert 5 * GB <= sizing.memory_estimate_bytes <= 10 * GB


@pytest.mark.parametrize("name", ["mistral:7b", "newmodel:7b"])
def test_a_7b_model_with_grouped_query_attention_fits_an_entry_gpu(name):
    assert size_service(leaf(name, **gpu())).preset == "gpu-small"


@pytest.mark.parametrize("name", ["llama2:13b", "codellama:13b", "newmodel:13b"])
def test_a_13b_model_needs_up_to_about_16_gb_and_a_mid_range_gpu(name):
    sizing = size_service(leaf(name, **gpu()))
    assert 9 * GB <= sizing.memory_estimate_bytes <= 17 * GB
    assert sizing.preset == "gpu-medium"


def test_llama2_13b_without_grouped_query_attention_is_the_seeds_16_gb():
    assert size_service(leaf("llama2:13b", **gpu())).memory_estimate_bytes == pytest.approx(16 * GB, rel=0.1)


@pytest.mark.parametrize("name", ["llama3.1:70b", "llama3:70b", "llama2:70b", "llama3.3"])
def test_a_70b_model_needs_about_40_gb_and_fits_the_seeds_48_gb_gpu(name):
    service = leaf(name, **gpu(vram="48Gi"))
    sizing = size_service(service)
    assert 40 * GB <= sizing.memory_estimate_bytes <= 50 * GB
    assert sizing.preset == "gpu-large"
    assert warnings(service) == []


def test_on_a_24_gb_a10_a_7b_and_a_13b_fit_together_but_not_a_third_model():
    two = leaf(["newmodel:7b", "other:13b"], **gpu(product="NVIDIA-A10G"))
    three = leaf(["newmodel:7b", "other:13b", "third:13b"], **gpu(product="NVIDIA-A10G"))
    assert service_problems(two) == []
    assert any("per GPU" in e and "but one GPU has 22.5 GiB (NVIDIA-A10G" in e for e in errors(three))


# --- seed 004: hardware tiers ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["llama3.2:1b", "gemma3:1b"])
def test_a_1b_model_runs_on_the_cpu_only_tier_of_4_to_8_gb(name):
    sizing = size_service(leaf(name))
    assert sizing.preset == "cpu-small"
    assert sizing.gpu_resource is None and sizing.gpu_count == 0 and sizing.tolerations == []
    assert sizing.memory_estimate_bytes <= 4 * GiB
    assert 4 * GiB <= parse_quantity(sizing.limits["memory"]) <= 8 * GiB


@pytest.mark.parametrize("preset, low, high", [("gpu-small", 8, 12), ("gpu-medium", 16, 24), ("gpu-large", 24, 81)])
def test_gpu_preset_budgets_sit_in_the_seed_tiers(preset, low, high):
    assert low * GiB <= PRESETS[preset].budget_bytes <= high * GiB


@pytest.mark.parametrize("parameters, preset", [("1B", "gpu-small"), ("8B", "gpu-small"), ("14B", "gpu-medium"),
                                                ("24B", "gpu-large"), ("70B", "gpu-large")])
def test_auto_picks_the_smallest_gpu_preset_that_holds_the_model(parameters, preset):
    service = leaf([{"name": "team/m:1", "size": {"parameters": parameters}}], **gpu())
    assert size_service(service).preset == preset


# --- seed 003: the proof-of-concept leaf -------------------------------------------------------

def test_the_seed_leaf_phi_with_one_gpu():
    sizing = size_service(OllamaInferenceLoad.model_validate(SEED_LEAF))
    assert sizing.preset == "gpu-small"
    assert sizing.gpu_resource == "nvidia.com/gpu" and sizing.gpu_count == 1 and sizing.gpus_per_process == 1
    assert sizing.limits["nvidia.com/gpu"] == sizing.requests["nvidia.com/gpu"] == "1"
    assert (sizing.requests["cpu"], sizing.requests["memory"]) == ("500m", "2Gi")  # the leaf's values win
    assert (sizing.limits["cpu"], sizing.limits["memory"]) == ("2", "4Gi")
    assert sizing.tolerations == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert sizing.node_selector == {}
    assert sizing.models[0].quantization == "Q4_0" and sizing.models[0].disk_bytes == int(1.6 * GB)
    assert any("preset gpu-small (auto)" in r for r in sizing.reasons)


# --- leaf settings ----------------------------------------------------------------------------

def test_num_parallel_and_context_length_from_the_leaf_win_and_grow_the_kv_cache():
    default = size_service(leaf("llama3.1:8b", **gpu()))
    wide = size_service(leaf("llama3.1:8b", ollama={"numParallel": 4, "contextLength": 8192}, **gpu()))
    assert (default.num_parallel, default.context_length) == (2, 4096)
    assert (wide.num_parallel, wide.context_length) == (4, 8192)
    assert wide.models[0].kv_cache_bytes == 4 * default.models[0].kv_cache_bytes
    assert default.models[0].kv_cache_bytes == 2 * 32 * 1024 * 2 * 4096 * 2  # K and V, 32 layers, 8 heads x 128, f16


def test_a_quantized_kv_cache_needs_flash_attention():
    f16 = size_service(leaf("llama3.1:8b", **gpu()))
    q8 = size_service(leaf("llama3.1:8b", ollama={"env": {"OLLAMA_KV_CACHE_TYPE": "q8_0"}}, **gpu()))
    no_fa = size_service(leaf("llama3.1:8b", ollama={"flashAttention": False, "env": {"OLLAMA_KV_CACHE_TYPE": "q8_0"}}, **gpu()))
    assert q8.kv_cache_type == "q8_0" and q8.models[0].kv_cache_bytes == pytest.approx(f16.models[0].kv_cache_bytes * 17 / 32)
    assert no_fa.kv_cache_type == "f16" and no_fa.models[0].kv_cache_bytes == f16.models[0].kv_cache_bytes


def test_context_is_capped_at_what_the_model_was_trained_for():
    sizing = size_service(leaf("phi:latest", ollama={"contextLength": 8192}, **gpu()))
    assert sizing.models[0].context_length == 2048
    assert any("context capped at its trained 2048 tokens" in r for r in sizing.reasons)


def test_explicit_resources_win_key_by_key_and_keep_requests_within_limits():
    sizing = size_service(leaf("llama3.1:8b", container={"resources": {"limits": {"memory": "6Gi"}, "requests": {"cpu": 3}}}, **gpu()))
    assert sizing.limits["memory"] == "6Gi" and sizing.requests["memory"] == "6Gi"  # preset request 8Gi lowered to the limit
    assert sizing.requests["cpu"] == "3" and sizing.limits["cpu"] == PRESETS["gpu-small"].limits["cpu"]
    assert any("memory request lowered to the explicit limit 6Gi" in r for r in sizing.reasons)


def test_a_named_preset_is_used_as_is_and_a_too_small_one_is_warned_about():
    big = leaf("llama3.1:8b", container={"preset": "gpu-large"}, **gpu())
    small = leaf("llama3.1:70b", container={"preset": "gpu-small"}, **gpu())
    assert size_service(big).preset == "gpu-large" and warnings(big) == []
    assert size_service(small).preset == "gpu-small"
    assert any("preset gpu-small is meant for up to 8.0 GiB per GPU" in w for w in warnings(small))


def test_a_named_gpu_preset_brings_its_gpu_when_the_leaf_has_none():
    sizing = size_service(leaf("llama3.1:8b", container={"preset": "gpu-medium"}))
    assert sizing.gpu_count == 1 and sizing.limits["nvidia.com/gpu"] == "1"


def test_a_cpu_preset_with_gpus_is_an_error():
    service = leaf("llama3.1:8b", container={"preset": "cpu-large"}, **gpu())
    [problem] = [p for p in service_problems(service) if p.severity is Severity.ERROR]
    assert problem.pointer == "/container/preset" and "preset cpu-large is CPU only but `gpu.count` is 1" in problem.message
    with pytest.raises(SizingError) as err:
        size_service(service)
    assert isinstance(err.value, CatalogGenError) and "svc: /container/preset" in str(err.value)


def test_one_process_per_gpu_or_one_process_over_several():
    split = size_service(leaf("llama3.2:3b", ollama={"processes": 2}, **gpu(2)))
    spread = size_service(leaf("llama3.1:70b", **gpu(2, product="NVIDIA-L40S")))
    assert (split.preset, split.gpu_count, split.gpus_per_process, split.limits["nvidia.com/gpu"]) == ("gpu-small", 2, 1, "1")
    assert (spread.preset, spread.gpu_count, spread.gpus_per_process, spread.limits["nvidia.com/gpu"]) == ("multi-gpu", 2, 2, "2")
    assert spread.vram_per_gpu_bytes < spread.memory_estimate_bytes / 2 + GiB
    assert spread.node_selector == {"nvidia.com/gpu.product": "NVIDIA-L40S"}


def test_amd_gpus_use_amds_resource_label_and_taint():
    sizing = size_service(leaf("llama3.1:8b", **gpu(vendor="amd", product="AMD-Instinct-MI300X")))
    assert sizing.gpu_resource == "amd.com/gpu" and sizing.limits["amd.com/gpu"] == "1"
    assert sizing.node_selector == {"amd.com/gpu.product-name": "AMD-Instinct-MI300X"}
    assert sizing.tolerations[0]["key"] == "amd.com/gpu"


def test_extra_node_selector_labels_are_kept():
    sizing = size_service(leaf("llama3.1:8b", container={"nodeSelector": {"pool": "gpu"}}, **gpu(product="NVIDIA-L4")))
    assert sizing.node_selector == {"nvidia.com/gpu.product": "NVIDIA-L4", "pool": "gpu"}


def test_vendor_none_runs_on_cpu():
    sizing = size_service(leaf("qwen2.5:0.5b", gpu={"count": 0, "vendor": "none"}))
    assert sizing.preset == "cpu-small" and sizing.gpu_resource is None and "nvidia.com/gpu" not in sizing.limits


def test_a_big_model_on_cpu_raises_memory_to_the_estimate():
    sizing = size_service(leaf("llama3.1:70b"))
    assert sizing.preset == "cpu-large"
    assert parse_quantity(sizing.limits["memory"]) >= sizing.memory_estimate_bytes
    assert parse_quantity(sizing.requests["memory"]) >= sizing.memory_estimate_bytes


def test_an_explicit_cpu_memory_limit_below_the_weights_is_an_error_and_below_the_estimate_a_warning():
    tiny = leaf("llama3.1:70b", gpu={"vendor": "none"}, container={"resources": {"limits": {"memory": "2Gi"}}})
    short = leaf("llama3.1:8b", gpu={"vendor": "none"}, container={"resources": {"limits": {"memory": "5.5Gi"}}})
    [error] = [p for p in service_problems(tiny) if p.severity is Severity.ERROR]
    assert (error.code, error.pointer, error.fallback) == ("leaf.memory-limit", "/container/resources/limits/memory", "/model")
    assert "memory limit 2Gi cannot hold the models on CPU: their weights alone take 40.5 GiB" in error.message
    assert dict(error.figures)["limit"] == 2 * GiB and dict(error.figures)["need"] > 40 * GiB
    assert any("memory limit 5.5Gi is below the 6.0 GiB" in w and "OOM-killed" in w for w in warnings(short))


def test_plan_never_says_raised_to_the_estimate_when_an_explicit_limit_wins():
    """Issue 11: `plan` said "limit raised to 45Gi" and then "limit 2Gi (explicit)"."""
    _, problems = sizing_module._compute(*_with_figures(leaf("llama3.1:70b", gpu={"vendor": "none"},
                                                         container={"resources": {"limits": {"memory": "2Gi"}}})))
    sizing, _ = sizing_module._compute(*_with_figures(leaf("llama3.1:70b", gpu={"vendor": "none"},
                                                      container={"resources": {"limits": {"memory": "2Gi"}}})))
    assert sizing.limits["memory"] == "2Gi"
    assert not any("raised to the estimate" in r for r in sizing.reasons)
    assert any(p.code == "leaf.memory-limit" for p in problems)
    raised = size_service(leaf("llama3.1:70b", gpu={"vendor": "none"}))
    assert any("memory limit raised to the estimate, 45Gi" in r for r in raised.reasons)


def _with_figures(service):
    figures, problems = sizing_module._figures(service)
    assert problems == []
    return service, figures


# --- public GPU memory sizes: L4 24 GB, A10G 24 GB, A100 40/80 GB, H100 80 GB, RTX 4090 24 GB, RTX 5070 Ti 16 GB ---

GPUS_24_GB_OR_LESS = ["NVIDIA-L4", "NVIDIA-A10G", "NVIDIA-GeForce-RTX-4090", "NVIDIA-GeForce-RTX-5070-Ti", "NVIDIA-A100-SXM4-40GB"]
GPUS_80_GB = ["NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3"]


@pytest.mark.parametrize("product, gb", [("NVIDIA-L4", 24), ("NVIDIA-A10G", 24), ("NVIDIA-A100-SXM4-40GB", 40),
                                         ("NVIDIA-A100-SXM4-80GB", 80), ("NVIDIA-H100-80GB-HBM3", 80),
                                         ("NVIDIA-GeForce-RTX-4090", 24), ("NVIDIA-GeForce-RTX-5070-Ti", 16)])
def test_the_gpu_table_holds_the_public_memory_sizes(product, gb):
    from catalog_gen.plan.presets import GPU_VRAM

    assert 0.93 * gb * GB <= GPU_VRAM[product] <= 1.1 * gb * GB  # marketing GB vs the MiB nvidia-smi reports


@pytest.mark.parametrize("product", GPUS_24_GB_OR_LESS)
def test_a_70b_model_on_one_gpu_of_40_gb_or_less_is_an_error_at_the_gpu_with_the_numbers(product):
    service = leaf("llama3.1:70b", **gpu(product=product))
    [problem] = service_problems(service)
    assert (problem.code, problem.severity, problem.pointer, problem.fallback) == (
        "leaf.gpu-memory", Severity.ERROR, "/gpu/product", "/model")
    assert "the models need 45.3 GiB per GPU" in problem.message and product in problem.message
    figures = dict(problem.figures)
    assert figures["need"] > figures["gpu"] and 40 * GB <= figures["need"] <= 50 * GB
    assert "a GPU with at least 45.3 GiB" in problem.hint and "gpu.count:" in problem.hint
    with pytest.raises(SizingError, match="/gpu/product"):
        size_service(service)


@pytest.mark.parametrize("product", GPUS_80_GB)
def test_a_70b_model_fits_one_80_gb_gpu_and_plan_says_so_with_the_same_numbers(product):
    sizing = size_service(leaf("llama3.1:70b", **gpu(product=product)))
    assert service_problems(leaf("llama3.1:70b", **gpu(product=product))) == []
    assert any(r.startswith("fits: 45.3 GiB per GPU of the") and product in r for r in sizing.reasons)
    assert not any("fits its" in r for r in sizing.reasons)  # the preset is a tier, never "a fit" against another GPU


@pytest.mark.parametrize("product", GPUS_24_GB_OR_LESS + GPUS_80_GB)
@pytest.mark.parametrize("name", ["mistral:7b", "llama3.1:8b", "llama2:13b", "qwen2.5-coder:14b"])
def test_7b_to_14b_models_fit_every_gpu_of_16_gb_or_more(product, name):
    assert service_problems(leaf(name, **gpu(product=product))) == []


def test_a_32b_model_fits_24_gb_but_not_the_16_gb_rtx_5070_ti():
    assert service_problems(leaf("qwen2.5:32b", **gpu(product="NVIDIA-L4"))) == []
    assert errors(leaf("qwen2.5:32b", **gpu(product="NVIDIA-GeForce-RTX-5070-Ti")))


def test_two_l40s_hold_a_70b_model_split_over_both():
    assert service_problems(leaf("llama3.1:70b", **gpu(2, product="NVIDIA-L40S"))) == []


def test_gpu_vram_names_the_memory_of_an_unlisted_gpu():
    [problem] = service_problems(leaf("llama3.1:70b", **gpu(vram="24Gi")))
    assert problem.pointer == "/gpu/vram" and "one GPU has 24.0 GiB (gpu.vram 24Gi)" in problem.message
    assert service_problems(leaf("llama3.1:70b", **gpu(vram="48Gi"))) == []


def test_no_gpu_named_a_big_model_warns_and_one_beyond_every_gpu_is_an_error():
    [warning] = service_problems(leaf("llama3.1:70b", **gpu()))
    [error] = service_problems(leaf("llama3.1:405b", **gpu()))
    assert (warning.severity, warning.pointer) == (Severity.WARNING, "/gpu/count")
    assert (error.severity, error.pointer) == (Severity.ERROR, "/gpu/count")
    assert "more than the largest GPU known" in error.message and "gpu.count:" in error.hint
    assert service_problems(leaf("llama3.1:8b", **gpu())) == []


def test_a_q8_model_that_does_not_fit_is_told_the_q4_k_m_size():
    [problem] = service_problems(leaf("llama3.1:70b-instruct-q8_0", **gpu(product="NVIDIA-L40S")))
    assert "a Q4_K_M tag of llama3.1:70b-instruct-q8_0" in problem.hint


def test_every_problem_code_has_a_validate_rule():
    from catalog_gen.catalog import rules

    assert set(sizing_module.PROBLEM_CODES) <= set(rules.RULES)


# --- caches and startup -----------------------------------------------------------------------

def test_emptydir_cache_is_models_plus_headroom_and_counts_as_ephemeral_storage():
    sizing = size_service(leaf("llama3.1:8b", **gpu()))
    assert sizing.models_disk_bytes == int(4.9 * GB)
    assert sizing.cache_size == "7Gi"  # 4.56 GiB + 2 GiB (25% is less), rounded up
    assert sizing.requests["ephemeral-storage"] == "8Gi" and sizing.limits["ephemeral-storage"] == "9Gi"


def test_pvc_cache_leaves_room_for_a_new_version_of_the_largest_model():
    sizing = size_service(leaf(["llama3.1:8b", "nomic-embed-text"], cache={"mode": "pvc"}, **gpu()))
    assert sizing.models_disk_bytes == int(4.9 * GB) + 274 * 10**6
    assert sizing.cache_size == "10Gi"  # 4.82 GiB + 4.56 GiB
    assert sizing.requests["ephemeral-storage"] == "1Gi"


def test_an_explicit_cache_size_is_used_and_one_too_small_is_an_error():
    ok = size_service(leaf("llama3.1:8b", cache={"mode": "pvc", "size": "40Gi"}, **gpu()))
    small = leaf("llama3.1:8b", cache={"mode": "pvc", "size": "2Gi"}, **gpu())
    assert ok.cache_size == "40Gi"
    [problem] = service_problems(small)
    assert problem.pointer == "/cache/size" and problem.severity is Severity.ERROR
    assert "cache.size 2Gi is smaller than the models (4.6 GiB on disk)" in problem.message


def test_a_custom_model_shares_its_bases_weights_on_disk_and_in_memory():
    base = size_service(leaf(["llama3.2:3b"], **gpu()))
    both = leaf(["llama3.2:3b", {"name": "bot:1", "modelfile": {"from": "llama3.2:3b", "system": "Be brief."}}], **gpu())
    sizing = size_service(both)
    assert sizing.models_disk_bytes == base.models_disk_bytes
    assert sizing.memory_estimate_bytes == base.memory_estimate_bytes
    assert sizing.models[1].shares_weights_with == "llama3.2:3b"
    assert warnings(both) == []


def test_a_custom_model_with_another_context_length_than_its_base_is_warned_about():
    service = leaf(["llama3.2:3b", {"name": "bot:1", "modelfile": {"from": "llama3.2:3b", "parameters": {"num_ctx": 8192}}}], **gpu())
    [warning] = warnings(service)
    assert "llama3.2:3b, bot:1 share one set of weights but ask for different context lengths (4096, 8192)" in warning


def test_load_bytes_count_only_models_kept_warm():
    sizing = size_service(leaf(["llama3.1:8b", {"name": "qwen2.5:7b", "keepWarm": False}], **gpu()))
    assert sizing.load_bytes == int(4.9 * GB)
    assert sizing.models_disk_bytes == int(4.9 * GB) + int(4.7 * GB)


def test_an_unsizable_model_is_an_error_at_its_entry():
    service = leaf(["llama3.1:8b", "team/coder:1.2"], **gpu())
    [problem] = service_problems(service)
    assert problem.pointer == "/models/1" and problem.severity is Severity.ERROR
    assert "cannot tell the size of model 'team/coder:1.2'" in problem.message and "size:" in problem.hint
    with pytest.raises(SizingError, match="team/coder:1.2"):
        size_service(service)


def test_sizing_is_deterministic_plain_frozen_data():
    service = leaf(["llama3.1:8b", "nomic-embed-text"], **gpu(product="NVIDIA-A10G"))
    first, second = size_service(service), size_service(service)
    assert first == second
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.preset = "gpu-large"  # type: ignore[misc]
    assert all(isinstance(v, str) for v in {**first.requests, **first.limits}.values())


def test_plan_shows_the_sizing_warnings_in_validates_words():
    service = leaf("llama3.1:70b", **gpu())
    [warning] = service_problems(service)
    assert f"warning (leaf.gpu-memory): {warning.message}; {warning.hint}" in size_service(service).reasons
    assert not any(r.startswith("warning") for r in size_service(leaf("llama3.1:8b", **gpu())).reasons)
