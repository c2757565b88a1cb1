"""The resource presets and the GPU memory table.

One preset describes one Ollama container (one process). Its ``budget_bytes`` is
the largest memory need it is meant for: RAM of the process on CPU, memory of one
GPU on GPU. The GPU budgets are the smallest card of each hardware tier of seed
004, so a model sized into a preset fits on any card of that tier:

* ``cpu-small``  tier 1, CPU only, 4-8 GB RAM (1B models such as llama3.2:1b, gemma3:1b);
* ``gpu-small``  tier 2, entry GPU, 8-12 GB (RTX 3060, RX 6600): 8 GiB;
* ``gpu-medium`` tier 3, mid-range GPU, 16-24 GB (RTX 4070 Ti, A10G, L4): 16 GiB;
* ``gpu-large``  tier 4, high-end GPU, 24 GB+ (RTX 4090, L40S, A100, H100): up to 80 GiB;
  the model needs more than the smallest card of this tier, so name the product
  (`gpu.product`) or its memory (`gpu.vram`) and the fit is checked;
* ``multi-gpu``  one process spread over several GPUs (llama.cpp splits the layers).

Concurrency defaults: Ollama's own default of 4096 tokens of context; one request at
a time on CPU (parallel requests only slow each other there), two per GPU process.
A leaf's ``ollama.numParallel`` / ``ollama.contextLength`` win.
"""

from __future__ import annotations

import dataclasses

GiB = 2**30
MiB = 2**20


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    gpu: bool
    budget_bytes: int
    gpus_per_process: int  # when the leaf does not say
    requests: dict[str, str]
    limits: dict[str, str]
    num_parallel: int
    context_length: int
    tier: str


def _preset(name, gpu, budget_gib, gpus, cpu, memory, tier, parallel) -> Preset:
    return Preset(
        name=name, gpu=gpu, budget_bytes=int(budget_gib * GiB), gpus_per_process=gpus,
        requests={"cpu": cpu[0], "memory": memory[0], "ephemeral-storage": "1Gi"},
        limits={"cpu": cpu[1], "memory": memory[1], "ephemeral-storage": "2Gi"},
        num_parallel=parallel, context_length=4096, tier=tier,
    )


PRESETS: dict[str, Preset] = {p.name: p for p in (
    _preset("cpu-small", False, 8, 0, ("2", "4"), ("4Gi", "8Gi"), "seed 004 tier 1: CPU only, 4-8 GB RAM", 1),
    _preset("cpu-large", False, 32, 0, ("4", "8"), ("16Gi", "32Gi"), "CPU only, up to 32 GiB RAM", 1),
    _preset("gpu-small", True, 8, 1, ("2", "4"), ("8Gi", "16Gi"), "seed 004 tier 2: entry GPU, 8-12 GB", 2),
    _preset("gpu-medium", True, 16, 1, ("4", "8"), ("16Gi", "32Gi"), "seed 004 tier 3: mid-range GPU, 16-24 GB", 2),
    _preset("gpu-large", True, 80, 1, ("8", "16"), ("32Gi", "64Gi"), "seed 004 tier 4: high-end GPU, 24 GB+", 2),
    _preset("multi-gpu", True, 80, 2, ("8", "16"), ("32Gi", "64Gi"), "several GPUs per Ollama process", 2),
)}
CPU_ORDER = ("cpu-small", "cpu-large")
GPU_ORDER = ("gpu-small", "gpu-medium", "gpu-large")

GPU_RESOURCE = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu"}
PRODUCT_LABEL = {"nvidia": "nvidia.com/gpu.product", "amd": "amd.com/gpu.product-name"}

# Memory of one GPU as `nvidia-smi --query-gpu=memory.total` reports it, keyed by the
# `nvidia.com/gpu.product` label value GPU Feature Discovery sets.
GPU_VRAM: dict[str, int] = {
    "NVIDIA-GeForce-RTX-3060": 12288 * MiB,
    "NVIDIA-GeForce-RTX-4090": 24564 * MiB,
    "NVIDIA-GeForce-RTX-5070-Ti": 16303 * MiB,
    "Tesla-T4": 15360 * MiB,
    "NVIDIA-A10G": 23028 * MiB,
    "NVIDIA-L4": 23034 * MiB,
    "NVIDIA-L40S": 46068 * MiB,
    "NVIDIA-RTX-A6000": 49140 * MiB,
    "NVIDIA-A100-SXM4-40GB": 40960 * MiB,
    "NVIDIA-A100-PCIE-40GB": 40960 * MiB,
    "NVIDIA-A100-SXM4-80GB": 81920 * MiB,
    "NVIDIA-A100-80GB-PCIe": 81920 * MiB,
    "NVIDIA-H100-80GB-HBM3": 81559 * MiB,
    "NVIDIA-H100-PCIe": 81559 * MiB,
}
