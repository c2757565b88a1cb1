"""One model's size: from the size hint, the name, or the family table."""

from __future__ import annotations

import pytest

from catalog_gen.catalog.model import ModelSpec
from catalog_gen.plan.model_size import (
    BITS_PER_WEIGHT,
    ModelSizeUnknown,
    model_size_problem,
    normalized_name,
    parse_model_name,
    weights_figure,
)

GiB = 2**30
GB = 10**9


def spec(name: str, **fields) -> ModelSpec:
    return ModelSpec.model_validate({"name": name, **fields})


@pytest.mark.parametrize("name, parameters, quantization, source", [
    ("llama3.1:8b", 8.03, "Q4_K_M", "size 8b in the name, family table"),
    ("qwen2.5:0.5b", 0.49, "Q4_K_M", "size 0.5b in the name"),
    ("mixtral:8x7b", 46.7, "Q4_0", "size 8x7b in the name, family table"),
    ("llama3.1:70b-instruct-q8_0", 70.6, "Q8_0", "Q8_0 from tag"),
    ("llama3.1:8b-instruct-fp16", 8.03, "F16", "F16 from tag"),
    ("phi3:3.8b-mini-4k-instruct-q4_K_M", 3.82, "Q4_K_M", "Q4_K_M from tag"),
    ("phi:latest", 2.78, "Q4_0", "family table: phi:latest is 2.7b"),
    ("llama3.2", 3.21, "Q4_K_M", "family table: llama3.2:latest is 3b"),
    ("mistral:latest", 7.25, "Q4_0", "family table: mistral:latest is 7b"),
    ("nomic-embed-text", 0.137, "F16", "family table: nomic-embed-text:latest is 137m"),
    ("nomic-embed-text:v1.5", 0.137, "F16", "family table"),
    ("gemma3:1b", 1.0, "Q4_K_M", "size 1b in the name, family table"),
    ("someone/llama3.1:8b", 8.03, "Q4_K_M", "family table"),
    ("registry.internal:5000/team/coder:7b", 7.0, "Q4_K_M", "Ollama default"),
    ("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", 1.0, "Q4_K_M", "size 1b in the name"),
    ("something-new:13b", 13.0, "Q4_K_M", "generic shape"),
])
def test_size_and_quantization_from_the_name(name, parameters, quantization, source):
    fig = weights_figure(spec(name))
    assert fig.parameters_b == pytest.approx(parameters)
    assert fig.quantization == quantization
    assert source in fig.source


def test_mixture_of_experts_without_a_family_counts_shared_weights_once():
    fig = weights_figure(spec("newmoe:8x22b"))
    assert fig.parameters_b == pytest.approx(8 * 22 * 0.83)  # Mixtral 8x22B is 141B, not 176B
    assert "mixture of experts" in fig.source


def test_the_size_hint_wins_over_the_tag_and_its_quantization_too():
    fig = weights_figure(spec("team/coder:7b-q4_0", size={"parameters": "350M", "quantization": "Q8_0"}))
    assert fig.parameters_b == pytest.approx(0.35)
    assert fig.quantization == "Q8_0"
    assert fig.disk_bytes == int(0.35e9 * BITS_PER_WEIGHT["Q8_0"] / 8)
    assert "size hint 350M" in fig.source


def test_a_custom_model_is_sized_from_its_base():
    fig = weights_figure(spec("support-bot:1", modelfile={"from": "llama3.2:3b"}))
    assert fig.parameters_b == pytest.approx(3.21)
    assert "custom model built from llama3.2:3b" in fig.source


# llama.cpp tools/quantize/README.md, Llama-3.1-8B: the file sizes its bits-per-weight column gives.
@pytest.mark.parametrize("tag, readme_gib", [("q4_K_M", 4.58), ("q8_0", 7.95), ("fp16", 14.96), ("q6_K", 6.14)])
def test_bits_per_weight_reproduce_llama_cpps_measured_sizes(tag, readme_gib):
    fig = weights_figure(spec(f"llama3.1:8b-instruct-{tag}"))
    assert fig.disk_bytes / GiB == pytest.approx(readme_gib, rel=0.01)


# Seed 004's table of model sizes (GiB printed as "GB") against the library sizes in the table.
@pytest.mark.parametrize("name, seed_gib", [("llama3.2:1b", 1.23), ("qwen2.5:1.5b", 0.92), ("mistral:7b", 3.83)])
def test_family_download_sizes_agree_with_seed_004(name, seed_gib):
    assert weights_figure(spec(name)).disk_bytes / GiB == pytest.approx(seed_gib, rel=0.05)


def test_library_sizes_are_used_only_for_the_default_quantization():
    default = weights_figure(spec("llama3.1:70b"))
    q8 = weights_figure(spec("llama3.1:70b-instruct-q8_0"))
    assert default.disk_bytes == 43 * GB  # ollama.com/library/llama3.1
    assert q8.disk_bytes == int(70.6e9 * 8.5008 / 8)


@pytest.mark.parametrize("name, fields, expected", [
    ("team/coder:1.2", {}, "cannot tell the size of model 'team/coder:1.2': its tag '1.2' names no parameter count"),
    ("team/phi:latest", {}, "its tag 'latest' names no size and registry.ollama.ai/team is not Ollama's library"),
    ("bot:1", {"modelfile": {"from": "team/coder:1.2"}}, "model 'bot:1' (built from 'team/coder:1.2')"),
])
def test_an_unsizable_model_is_reported_with_a_fix(name, fields, expected):
    problem = model_size_problem(spec(name, **fields))
    assert problem is not None and expected in problem
    assert "size: {parameters: 8B" in problem
    with pytest.raises(ModelSizeUnknown):
        weights_figure(spec(name, **fields))


def test_an_unknown_quantization_is_reported():
    problem = model_size_problem(spec("team/coder:1.2", size={"parameters": "7B", "quantization": "Q9_ZZ"}))
    assert problem is not None and "unknown quantization 'Q9_ZZ' in its size hint" in problem


def test_sizable_models_have_no_problem():
    assert model_size_problem(spec("phi:latest")) is None
    assert model_size_problem(spec("team/coder:1.2", size={"parameters": "7B"})) is None


def test_names_get_ollamas_defaults():
    assert parse_model_name("phi") == parse_model_name("registry.ollama.ai/library/phi:latest")
    assert parse_model_name("team/coder:1.2").namespace == "team"
    host = parse_model_name("registry.internal:5000/team/coder:1.2")
    assert (host.host, host.namespace, host.model, host.tag) == ("registry.internal:5000", "team", "coder", "1.2")
    assert normalized_name("Phi") == normalized_name("registry.ollama.ai/library/phi:latest")
