"""Known model families: what a tag without a size means, and the shapes that size the KV cache.

Used only when the name does not say enough by itself (`phi:latest`, `llama3.2`,
`nomic-embed-text:v1.5`) and to give a parsed size (`llama3.1:70b`) its real
layer count and KV width instead of the generic approximation.

Figures and where they come from:

* ``default`` / ``quantization`` / ``disk_bytes``: the Ollama library page of the
  family (``https://ollama.com/library/<family>/tags``): which size ``latest`` points
  at, its quantization and the download size (decimal GB/MB, as the page prints
  them). Seed 004 measured three of them and agrees (llama3.2:1b 1.23 GiB = 1.3 GB,
  qwen2.5:1.5b 0.92 GiB = 986 MB, mistral 7b 3.83 GiB = 4.1 GB).
* ``parameters_b``: the parameter count Ollama reports (``details.parameter_size``)
  or the model card.
* ``layers`` / ``kv_dim`` (number of KV heads x head dimension): the model's
  ``config.json`` on Hugging Face (``num_hidden_layers``,
  ``num_key_value_heads * head_dim``), named in ``source``.
* ``context_max``: the trained context length; Ollama does not allocate more KV
  cache than this for the model.

A family applies to any namespace for the size-to-shape lookup, but ``latest``
(or a tag without a size) resolves through ``default`` only for the official
library (``registry.ollama.ai/library``): a private ``team/phi:latest`` may be
anything and needs a size hint.
"""

from __future__ import annotations

import dataclasses

GB = 10**9
MB = 10**6


@dataclasses.dataclass(frozen=True)
class Variant:
    parameters_b: float
    layers: int
    kv_dim: int
    disk_bytes: int | None = None  # download size at the family's (or this variant's) quantization
    quantization: str | None = None  # when this size ships at another quantization than the family's
    context_max: int | None = None


@dataclasses.dataclass(frozen=True)
class Family:
    default: str  # the size token `latest` (or a tag without a size) means, e.g. "8b"
    quantization: str  # quantization of the library's default tags
    variants: dict[str, Variant]
    source: str
    context_max: int | None = None

    def variant(self, size_token: str) -> Variant | None:
        return self.variants.get(size_token.lower())


def _f(default, quantization, source, variants, context_max=None) -> Family:
    return Family(default=default, quantization=quantization, variants=variants, source=source, context_max=context_max)


V = Variant

FAMILIES: dict[str, Family] = {
    "llama3.2": _f("3b", "Q4_K_M", "ollama.com/library/llama3.2; meta-llama/Llama-3.2-1B, -3B config.json", {
        "1b": V(1.24, 16, 512, int(1.3 * GB), quantization="Q8_0"),
        "3b": V(3.21, 28, 1024, int(2.0 * GB)),
    }, context_max=131072),
    "llama3.1": _f("8b", "Q4_K_M", "ollama.com/library/llama3.1; meta-llama/Llama-3.1-8B, -70B, -405B config.json", {
        "8b": V(8.03, 32, 1024, int(4.9 * GB)),
        "70b": V(70.6, 80, 1024, 43 * GB),
        "405b": V(405.0, 126, 1024, 243 * GB),
    }, context_max=131072),
    "llama3.3": _f("70b", "Q4_K_M", "ollama.com/library/llama3.3; meta-llama/Llama-3.3-70B-Instruct config.json", {
        "70b": V(70.6, 80, 1024, 43 * GB),
    }, context_max=131072),
    "llama3": _f("8b", "Q4_0", "ollama.com/library/llama3; meta-llama/Meta-Llama-3-8B, -70B config.json", {
        "8b": V(8.03, 32, 1024, int(4.7 * GB)),
        "70b": V(70.6, 80, 1024, 40 * GB),
    }, context_max=8192),
    "llama2": _f("7b", "Q4_0", "ollama.com/library/llama2; meta-llama/Llama-2-7b, -13b, -70b config.json (7B/13B: no GQA)", {
        "7b": V(6.74, 32, 4096, int(3.8 * GB)),
        "13b": V(13.0, 40, 5120, int(7.4 * GB)),
        "70b": V(69.0, 80, 1024, 39 * GB),
    }, context_max=4096),
    "codellama": _f("7b", "Q4_0", "ollama.com/library/codellama; codellama/CodeLlama-7b, -13b, -34b, -70b config.json", {
        "7b": V(6.74, 32, 4096, int(3.8 * GB)),
        "13b": V(13.0, 40, 5120, int(7.4 * GB)),
        "34b": V(33.7, 48, 1024, 19 * GB),
        "70b": V(69.0, 80, 1024, 39 * GB),
    }, context_max=16384),
    "mistral": _f("7b", "Q4_0", "ollama.com/library/mistral; mistralai/Mistral-7B-Instruct-v0.3 config.json", {
        "7b": V(7.25, 32, 1024, int(4.1 * GB)),
    }, context_max=32768),
    "mixtral": _f("8x7b", "Q4_0", "ollama.com/library/mixtral; mistralai/Mixtral-8x7B-v0.1, -8x22B-v0.1 config.json", {
        "8x7b": V(46.7, 32, 1024, 26 * GB),
        "8x22b": V(141.0, 56, 1024, 80 * GB),
    }, context_max=32768),
    "phi": _f("2.7b", "Q4_0", "ollama.com/library/phi; microsoft/phi-2 config.json (no GQA)", {
        "2.7b": V(2.78, 32, 2560, int(1.6 * GB)),
    }, context_max=2048),
    "phi3": _f("3.8b", "Q4_0", "ollama.com/library/phi3; microsoft/Phi-3-mini-4k-instruct, Phi-3-medium-4k-instruct config.json", {
        "3.8b": V(3.82, 32, 3072, int(2.2 * GB)),
        "14b": V(14.0, 40, 1280, int(7.9 * GB)),
    }),
    "phi4": _f("14b", "Q4_K_M", "ollama.com/library/phi4; microsoft/phi-4 config.json", {
        "14b": V(14.7, 40, 1280, int(9.1 * GB)),
    }, context_max=16384),
    "gemma3": _f("4b", "Q4_K_M", "ollama.com/library/gemma3; google/gemma-3-1b-it, -4b-it, -12b-it, -27b-it config.json", {
        "1b": V(1.0, 26, 256, 815 * MB),
        "4b": V(4.3, 34, 1024, int(3.3 * GB)),
        "12b": V(12.2, 48, 2048, int(8.1 * GB)),
        "27b": V(27.4, 62, 2048, 17 * GB),
    }),
    "gemma2": _f("9b", "Q4_0", "ollama.com/library/gemma2; google/gemma-2-2b, -9b, -27b config.json", {
        "2b": V(2.61, 26, 1024, int(1.6 * GB)),
        "9b": V(9.24, 42, 2048, int(5.4 * GB)),
        "27b": V(27.2, 46, 2048, 16 * GB),
    }, context_max=8192),
    "qwen2.5": _f("7b", "Q4_K_M", "ollama.com/library/qwen2.5; Qwen/Qwen2.5-0.5B ... -72B config.json", {
        "0.5b": V(0.49, 24, 128, 398 * MB),
        "1.5b": V(1.54, 28, 256, 986 * MB),
        "3b": V(3.09, 36, 256, int(1.9 * GB)),
        "7b": V(7.62, 28, 512, int(4.7 * GB)),
        "14b": V(14.8, 48, 1024, int(9.0 * GB)),
        "32b": V(32.8, 64, 1024, 20 * GB),
        "72b": V(72.7, 80, 1024, 47 * GB),
    }, context_max=32768),
    "qwen2.5-coder": _f("7b", "Q4_K_M", "ollama.com/library/qwen2.5-coder; Qwen/Qwen2.5-Coder-0.5B ... -32B config.json", {
        "0.5b": V(0.49, 24, 128, 398 * MB),
        "1.5b": V(1.54, 28, 256, 986 * MB),
        "3b": V(3.09, 36, 256, int(1.9 * GB)),
        "7b": V(7.62, 28, 512, int(4.7 * GB)),
        "14b": V(14.8, 48, 1024, int(9.0 * GB)),
        "32b": V(32.8, 64, 1024, 20 * GB),
    }, context_max=32768),
    "qwen3": _f("8b", "Q4_K_M", "ollama.com/library/qwen3; Qwen/Qwen3-0.6B ... -32B, Qwen3-30B-A3B config.json", {
        "0.6b": V(0.75, 28, 1024, 523 * MB),
        "1.7b": V(2.03, 28, 1024, int(1.4 * GB)),
        "4b": V(4.02, 36, 1024, int(2.5 * GB)),
        "8b": V(8.19, 36, 1024, int(5.2 * GB)),
        "14b": V(14.8, 40, 1024, int(9.3 * GB)),
        "30b": V(30.5, 48, 512, 19 * GB),
        "32b": V(32.8, 64, 1024, 20 * GB),
    }, context_max=40960),
    "gpt-oss": _f("20b", "MXFP4", "ollama.com/library/gpt-oss; openai/gpt-oss-20b, -120b config.json", {
        "20b": V(20.9, 24, 512, 14 * GB),
        "120b": V(116.8, 36, 512, 65 * GB),
    }, context_max=131072),
    "tinyllama": _f("1.1b", "Q4_0", "ollama.com/library/tinyllama; TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json", {
        "1.1b": V(1.1, 22, 256, 638 * MB),
    }, context_max=2048),
    "nomic-embed-text": _f("137m", "F16", "ollama.com/library/nomic-embed-text; nomic-ai/nomic-embed-text-v1.5 config.json", {
        "137m": V(0.137, 12, 768, 274 * MB),
    }, context_max=2048),
    "mxbai-embed-large": _f("335m", "F16", "ollama.com/library/mxbai-embed-large; mixedbread-ai/mxbai-embed-large-v1 config.json", {
        "335m": V(0.335, 24, 1024, 670 * MB),
    }, context_max=512),
    "all-minilm": _f("22m", "F16", "ollama.com/library/all-minilm; sentence-transformers/all-MiniLM-L6-v2, -L12-v2 config.json", {
        "22m": V(0.023, 6, 384, 46 * MB),
        "33m": V(0.033, 12, 384, 67 * MB),
    }, context_max=512),
}
"""Family name (the model part of the name, lower case) -> figures."""
