"""How big one model is: parameter count, quantization, bytes on disk, KV cache shape.

Where the figures come from, in order (the first that answers wins, and the
``source`` of the result says which):

1. the leaf's size hint (``models[].size``: ``parameters`` and ``quantization``);
2. the name: a size token in the tag or the model part (``llama3.1:8b``,
   ``phi3:3.8b-mini-4k-instruct-q4_K_M``, ``hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M``)
   and a quantization token in the tag (``-q8_0``, ``-fp16``);
3. the table of known families (`catalog_gen.plan.families`) for tags that name
   no size (``phi:latest``, ``llama3.2``, ``nomic-embed-text:v1.5``).

A custom model (``modelfile.from``) is sized from its base model unless it has its
own size hint. A model none of these can size is refused (`model_size_problem`):
guessing would pick the wrong GPU.

Bytes on disk = parameters x bits per weight / 8, with the effective bits per
weight llama.cpp measured for each GGUF type (tools/quantize/README.md, Llama-3.1-8B
table; types missing there use the ggml block size). When the family table knows
the download size of exactly this variant, that figure is used instead.
"""

from __future__ import annotations

import dataclasses
import re

from catalog_gen.catalog.model import ModelSpec
from catalog_gen.errors import CatalogGenError
from catalog_gen.plan.families import FAMILIES, Family, Variant

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
DEFAULT_QUANTIZATION = "Q4_K_M"  # what Ollama's library ships for tags that name none

# Effective bits per weight. K- and I-quants: llama.cpp tools/quantize/README.md
# (Llama-3.1-8B, whole file incl. embeddings/output). Q3_K_M: same README, Llama 2 7B
# table. Legacy and float types: ggml block size (bytes per 32-weight block x 8 / 32).
BITS_PER_WEIGHT: dict[str, float] = {
    "F32": 32.0, "F16": 16.0, "BF16": 16.0,
    "Q8_0": 8.5008, "Q6_K": 6.5633,
    "Q5_K_M": 5.7036, "Q5_K_S": 5.5704, "Q5_1": 6.0, "Q5_0": 5.5,
    "Q4_K_M": 4.8944, "Q4_K_S": 4.6672, "Q4_1": 5.0, "Q4_0": 4.5,
    "MXFP4": 4.25,
    "Q3_K_L": 4.2979, "Q3_K_M": 3.91, "Q3_K_S": 3.6429,
    "Q2_K": 3.1593, "Q2_K_S": 2.9697,
    "IQ4_NL": 4.6818, "IQ4_XS": 4.4597,
    "IQ3_M": 3.7628, "IQ3_S": 3.6606, "IQ3_XS": 3.4977, "IQ3_XXS": 3.2548,
    "IQ2_M": 2.9294, "IQ2_S": 2.7403, "IQ2_XS": 2.5882, "IQ2_XXS": 2.3824,
    "IQ1_M": 2.1460, "IQ1_S": 2.0042,
}
_QUANT_ALIASES = {"FP16": "F16", "FP32": "F32"}
_SIZE_TOKEN = re.compile(r"^(?:(\d+)x)?(\d+(?:\.\d+)?)([mbt])$", re.IGNORECASE)
_QUANT_TOKEN = re.compile(r"^(?:i?q\d(?:_[a-z0-9]+)*|fp?16|bf16|fp?32|mxfp4)$", re.IGNORECASE)
# Mixture-of-experts `NxM`: experts share attention and embeddings, so the total is
# less than N x M. Mixtral: 8x7B = 46.7B (0.83), 8x22B = 141B (0.80).
MOE_SHARE = 0.83
# Sizes outside these bounds are typos (`mymodel:999999999999b`), not models: they would size astronomical pods.
MIN_PARAMETERS_B = 0.005
MAX_PARAMETERS_B = 4000.0


class ModelSizeUnknown(CatalogGenError):
    """No figure for a model's size: the leaf must give a size hint."""


@dataclasses.dataclass(frozen=True)
class ModelName:
    host: str
    namespace: str
    model: str
    tag: str

    @property
    def is_library(self) -> bool:
        return self.host.lower() == DEFAULT_HOST and self.namespace.lower() == DEFAULT_NAMESPACE


def parse_model_name(name: str) -> ModelName:
    """`[host[:port]/][namespace/]model[:tag]` with Ollama's defaults filled in."""
    parts = name.split("/")
    last = parts[-1]
    model, _, tag = last.partition(":")
    host, namespace = DEFAULT_HOST, DEFAULT_NAMESPACE
    if len(parts) == 3:
        host, namespace = parts[0], parts[1]
    elif len(parts) == 2:
        namespace = parts[0]
    return ModelName(host=host, namespace=namespace, model=model, tag=tag or DEFAULT_TAG)


def normalized_name(name: str) -> str:
    """``host/namespace/model:tag`` with Ollama's defaults, lower case (Ollama matches names case-insensitively)."""
    n = parse_model_name(name)
    return f"{n.host}/{n.namespace}/{n.model}:{n.tag}".lower()


def canonical_quantization(text: str) -> str | None:
    """`q4_K_M` -> `Q4_K_M`, `fp16` -> `F16`; None when llama.cpp has no such type."""
    upper = text.upper()
    upper = _QUANT_ALIASES.get(upper, upper)
    return upper if upper in BITS_PER_WEIGHT else None


def parse_parameters(text: str) -> tuple[float, str] | None:
    """`8B` -> 8.0, `350M` -> 0.35, `8x7B` -> 46.5 (with a note); None if not a size."""
    match = _SIZE_TOKEN.match(text)
    if not match:
        return None
    experts, number, unit = match.group(1), float(match.group(2)), match.group(3).lower()
    billions = number * {"m": 0.001, "b": 1.0, "t": 1000.0}[unit]
    if experts:
        total = int(experts) * billions
        return round(total * MOE_SHARE, 3), f"{text}: mixture of experts, {MOE_SHARE:.0%} of {int(experts)} x {number:g}"
    return billions, ""


@dataclasses.dataclass(frozen=True)
class WeightsFigure:
    """What is known about one model's weights, before any serving settings."""

    parameters_b: float
    quantization: str
    disk_bytes: int
    layers: int
    kv_dim: int
    context_max: int | None
    source: str


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[-_]", text) if t] if text else []


def _size_token(name: ModelName) -> str | None:
    for token in name.tag.split("-"):
        if _SIZE_TOKEN.match(token):
            return token.lower()
    for token in _tokens(name.model):
        if _SIZE_TOKEN.match(token):
            return token.lower()
    return None


def _tag_quantization(name: ModelName) -> str | None:
    for token in name.tag.split("-"):
        if _QUANT_TOKEN.match(token):
            return token
    return None


def generic_shape(parameters_b: float) -> tuple[int, int]:
    """(layers, KV width) of a typical grouped-query-attention model of this size.

    From the Llama 3.x / Qwen 2.5 / Mistral shapes in `families` (8 KV heads of 64-128
    dims from ~1B up). Older models without grouped-query attention (Llama 2 7B/13B,
    Phi-2) have 4-5x wider KV caches: list them in the family table.
    """
    for limit, layers, kv_dim in ((1.5, 16, 512), (4.5, 28, 1024), (9.5, 32, 1024), (16, 40, 1280),
                                  (40, 64, 1024), (80, 80, 1024)):
        if parameters_b <= limit:
            return layers, kv_dim
    return 126, 1024


def weights_figure(spec: ModelSpec) -> WeightsFigure:
    """Size one model (see the module docstring for the order). Raises `ModelSizeUnknown`."""
    sized_name = spec.modelfile.from_ if spec.modelfile is not None else spec.name
    name = parse_model_name(sized_name)
    family = FAMILIES.get(name.model.lower())
    notes: list[str] = []
    if spec.modelfile is not None:
        notes.append(f"custom model built from {sized_name}")

    # Parameters.
    variant: Variant | None = None
    token = _size_token(name)
    if spec.size is not None:
        parsed = parse_parameters(spec.size.parameters)
        assert parsed is not None  # the schema pattern guarantees it
        params, note = parsed
        source = f"size hint {spec.size.parameters}"
        if family is not None and token is not None:
            variant = family.variant(token)
    elif token is not None:
        params, note = parse_parameters(token)  # type: ignore[misc]
        source = f"size {token} in the name"
        if family is not None:
            variant = family.variant(token)
            if variant is not None:
                params, note = variant.parameters_b, ""
                source = f"size {token} in the name, family table ({family.source})"
    elif family is not None and name.is_library:
        variant = family.variant(family.default)
        assert variant is not None
        params, note = variant.parameters_b, ""
        source = f"family table: {name.model}:{name.tag} is {family.default} ({family.source})"
    else:
        raise ModelSizeUnknown(
            _unknown_message(spec.name, sized_name, name, family),
            hint="add a size hint to the model, e.g. `size: {parameters: 8B, quantization: Q4_K_M}`",
        )
    if note:
        notes.append(note)
    if not MIN_PARAMETERS_B <= params <= MAX_PARAMETERS_B:
        named = f"size hint {spec.size.parameters}" if spec.size is not None else f"the name {sized_name!r}"
        raise ModelSizeUnknown(
            f"model {spec.name!r}: {named} means {params:,.15g}B parameters, which no model has "
            f"(the largest open models have about 1T; the smallest about 10M)",
            hint="check the size in the tag (`8b`, `70b`, `0.5b`), or give a size hint such as `size: {parameters: 8B}`",
        )

    # Quantization: size hint > tag > family/variant default > Ollama's usual default.
    hint_quant = spec.size.quantization if spec.size is not None else None
    tag_quant = _tag_quantization(name)
    default_quant = (variant.quantization if variant and variant.quantization else None) or (
        family.quantization if family is not None else DEFAULT_QUANTIZATION)
    raw_quant = hint_quant or tag_quant or default_quant
    quant = canonical_quantization(raw_quant)
    if quant is None:
        where = "size hint" if hint_quant else "tag"
        raise ModelSizeUnknown(
            f"model {spec.name!r}: unknown quantization {raw_quant!r} in its {where}",
            hint="use a GGUF type such as " + ", ".join(("Q4_K_M", "Q4_0", "Q5_K_M", "Q6_K", "Q8_0", "F16")),
        )
    quant_source = "size hint" if hint_quant else "tag" if tag_quant else "family default" if family else "Ollama default"

    # Bytes: the library's own download size when it is exactly this variant, else computed.
    if variant is not None and variant.disk_bytes and quant == default_quant and spec.size is None:
        disk = variant.disk_bytes
        disk_source = "library download size"
    else:
        disk = int(params * 1e9 * BITS_PER_WEIGHT[quant] / 8)
        disk_source = f"{params:g}B x {BITS_PER_WEIGHT[quant]:g} bits/weight"

    if variant is not None and (spec.size is None or abs(variant.parameters_b - params) / params < 0.2):
        layers, kv_dim = variant.layers, variant.kv_dim
        shape_source = "family shape"
    else:
        layers, kv_dim = generic_shape(params)
        shape_source = "generic shape"
    context_max = (variant.context_max if variant and variant.context_max else None) or (
        family.context_max if family is not None else None)

    details = [source, f"{quant} from {quant_source}", disk_source, shape_source, *notes]
    return WeightsFigure(
        parameters_b=params, quantization=quant, disk_bytes=disk, layers=layers, kv_dim=kv_dim,
        context_max=context_max, source="; ".join(details),
    )


def _unknown_message(leaf_name: str, sized_name: str, name: ModelName, family: Family | None) -> str:
    subject = f"model {leaf_name!r}" + (f" (built from {sized_name!r})" if sized_name != leaf_name else "")
    if family is not None and not name.is_library:
        why = f"its tag {name.tag!r} names no size and {name.host}/{name.namespace} is not Ollama's library"
    else:
        why = f"its tag {name.tag!r} names no parameter count (like `8b`) and {name.model!r} is not a known family"
    return f"cannot tell the size of {subject}: {why}"


def model_size_problem(spec: ModelSpec) -> str | None:
    """Why this model cannot be sized, or None. For the validator, which adds the leaf's line."""
    try:
        weights_figure(spec)
    except ModelSizeUnknown as exc:
        return f"{exc.message}; {exc.hint}"
    return None
