"""Rules against the committed charts: what a change of the leaf does to objects already deployed.

Kubernetes lets a PersistentVolumeClaim grow, never shrink (`spec.resources.requests.storage: Forbidden: field
can not be less than previous value`), and a StatefulSet's `volumeClaimTemplates` cannot change at all (only
replicas, template, updateStrategy, ordinals, minReadySeconds and the claim retention policy may). A leaf whose
cache is sized from its models changes the claim when the models change (a 14B model replaced by a 3B one:
17Gi -> 4Gi), and the sync fails. The committed chart's `values.yaml` holds what is deployed today; the plan
(the same code `render` runs) says what the leaf would deploy, so validate compares the two.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from catalog_gen.catalog.index import chart_path
from catalog_gen.errors import Finding, Severity
from catalog_gen.fsutil import read_plain
from catalog_gen.quantity import parse_quantity

if TYPE_CHECKING:
    from catalog_gen.catalog.validate import Leaf

MAX_VALUES_BYTES = 16 << 20
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CLAIM_MODES = ("pvc", "shared")  # emptyDir is created anew with each pod: it may shrink


def committed_cache(values_file: Path) -> tuple[str, str, str] | None:
    """(mode, size, workload kind) of the cache in a committed chart's values.yaml, or None when it cannot be read."""
    raw = read_plain(str(values_file), MAX_VALUES_BYTES)  # a regular file, not a symlink, bounded: charts come from PRs
    if raw is None:
        return None
    try:
        values = yaml.load(_blocks(raw.decode("utf-8"), ("cache:", "workload:")), Loader=_Loader)
        cache = values["cache"]
        mode, size = cache["mode"], cache["size"]
        parse_quantity(size)
        kind = (values.get("workload") or {}).get("kind", "Deployment")
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError):
        return None
    return (mode, size, kind) if isinstance(mode, str) else None


def _blocks(text: str, keys: tuple[str, ...]) -> str:
    """Only the top-level blocks `keys` of a values.yaml (a few lines of hundreds): parsing all of it cost ~5 ms a chart.

    A block runs from its key at column 0 to the next line at column 0; anything else (or a file that is not
    laid out so) is returned whole, and parsed whole.
    """
    lines, keep, found = text.splitlines(keepends=True), [], 0
    inside = False
    for line in lines:
        if line[:1] not in (" ", "\t", "\n", "\r", ""):
            inside = line.startswith(keys)
            found += inside
        if inside:
            keep.append(line)
    return "".join(keep) if found else text


def cache_shrink_findings(leaves: list["Leaf"], charts: Path) -> list[Finding]:
    if not charts.is_dir():
        return []
    from catalog_gen.catalog.model import Cache, OllamaInferenceLoad
    from catalog_gen.errors import CatalogGenError
    from catalog_gen.plan.plan import build_plan

    default_mode = Cache.model_fields["mode"].default
    findings = []
    for leaf in leaves:
        cache = leaf.data.get("cache")
        if (cache.get("mode", default_mode) if isinstance(cache, dict) else default_mode) not in CLAIM_MODES:
            continue  # the model's cache.mode (checked below too): no claim, nothing can shrink; the chart is not read
        values_file = charts / chart_path(leaf.data) / "values.yaml"
        committed = committed_cache(values_file) if values_file.is_file() else None
        if committed is None or committed[0] not in CLAIM_MODES:
            continue
        model = OllamaInferenceLoad.model_validate(leaf.data)
        if model.cache.mode not in CLAIM_MODES or model.cache.existing_claim:
            continue
        try:
            values = build_plan(model, leaf.doc.display).values
        except CatalogGenError:
            continue  # validate reports why the leaf cannot be planned
        old, new = committed[1], values["cache"]["size"]
        template = committed[2] == "StatefulSet" and (values.get("workload") or {}).get("kind") == "StatefulSet"
        if parse_quantity(new) == parse_quantity(old) or (parse_quantity(new) > parse_quantity(old) and not template):
            continue
        pointer = "/cache/size" if model.cache.size is not None else ("/model" if model.models is None else "/models")
        pos = leaf.doc.where(pointer)
        why = ("a StatefulSet's claim template cannot change, so the sync fails" if template else
               "Kubernetes never shrinks a PersistentVolumeClaim, so the sync fails")
        findings.append(Finding(
            pos.file, pos.line, pos.column, pointer, "catalog.cache-shrink", Severity.ERROR,
            f"the model cache claim would {'shrink' if parse_quantity(new) < parse_quantity(old) else 'change'} from "
            f"{old} ({values_file}) to {new}: {why}",
            f"keep the size: set `cache.size: {old}` in the leaf"
            + (", or delete the StatefulSet with `--cascade=orphan` before the sync (its claims stay)" if template else
               " (a claim can grow, not shrink), or delete the claim before the sync and let the models download again")))
    return findings
