"""Rules against the committed charts: what a change of the leaf does to objects already deployed.

Kubernetes lets a PersistentVolumeClaim grow, never shrink (`spec.resources.requests.storage: Forbidden: field
can not be less than previous value`). A leaf whose cache is sized from its models shrinks the claim when the
models get smaller (a 14B model replaced by a 3B one: 17Gi -> 4Gi), and the sync fails. The committed chart's
`values.yaml` holds the size deployed today, so validate compares the two.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from catalog_gen.catalog.index import chart_path
from catalog_gen.errors import Finding, Severity
from catalog_gen.quantity import parse_quantity

if TYPE_CHECKING:
    from catalog_gen.catalog.validate import Leaf

CLAIM_MODES = ("pvc", "shared")  # emptyDir is created anew with each pod: it may shrink


def committed_cache(values_file: Path) -> tuple[str, str] | None:
    """(mode, size) of the cache in a committed chart's values.yaml, or None when it cannot be read."""
    try:
        values = yaml.safe_load(values_file.read_text(encoding="utf-8"))
        cache = values["cache"]
        mode, size = cache["mode"], cache["size"]
        parse_quantity(size)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return None
    return (mode, size) if isinstance(mode, str) else None


def cache_shrink_findings(leaves: list["Leaf"], charts: Path) -> list[Finding]:
    if not charts.is_dir():
        return []
    from catalog_gen.catalog.model import OllamaInferenceLoad
    from catalog_gen.errors import CatalogGenError
    from catalog_gen.plan.sizing import size_service

    findings = []
    for leaf in leaves:
        values_file = charts / chart_path(leaf.data) / "values.yaml"
        committed = committed_cache(values_file) if values_file.is_file() else None
        if committed is None or committed[0] not in CLAIM_MODES:
            continue
        model = OllamaInferenceLoad.model_validate(leaf.data)
        if model.cache.mode not in CLAIM_MODES or model.cache.existing_claim:
            continue
        try:
            new = size_service(model).cache_size
        except CatalogGenError:
            continue  # validate reports why the leaf cannot be sized
        old = committed[1]
        if parse_quantity(new) >= parse_quantity(old):
            continue
        pointer = "/cache/size" if model.cache.size is not None else ("/model" if model.models is None else "/models")
        pos = leaf.doc.where(pointer)
        findings.append(Finding(
            pos.file, pos.line, pos.column, pointer, "catalog.cache-shrink", Severity.ERROR,
            f"the model cache claim would shrink from {old} ({values_file}) to {new}: Kubernetes never shrinks a "
            "PersistentVolumeClaim, so the sync fails",
            f"keep the size: set `cache.size: {old}` in the leaf (a claim can grow, not shrink), "
            "or delete the claim before the sync and let the models download again"))
    return findings
