"""What every planning step shares: the leaf, its sizing, the values tree being built and the decisions.

A plan is built by small steps (workload, serving, exposure, observability), each
adding its values with their documentation and recording its decisions with the
reason. Steps run in a fixed order, so values.yaml comes out in the same order
every time.
"""

from __future__ import annotations

import dataclasses
import math

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.plan.sizing import Sizing


class Values:
    """Builds the values tree and its documentation side by side, in insertion order."""

    def __init__(self) -> None:
        self.tree: dict = {}
        self.docs: dict[str, str] = {}

    def put(self, path: str, value, doc: str) -> None:
        node = self.tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        self.docs[path] = doc

    def section(self, path: str, doc: str) -> None:
        self.put(path, {}, doc)

    def get(self, path: str):
        node = self.tree
        for part in path.split("."):
            node = node[part]
        return node


@dataclasses.dataclass
class PlanContext:
    leaf: OllamaInferenceLoad
    sizing: Sizing
    values: Values = dataclasses.field(default_factory=Values)
    decisions: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    @property
    def router(self) -> bool:
        return self.leaf.router.enabled

    def decide(self, topic: str, decision: str, why: str) -> None:
        self.decisions.append((topic, decision, why))


def seconds(duration: str) -> int:
    """A Go duration (`90s`, `1h30m`, `250ms`) in whole seconds, rounded up."""
    units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    total, number = 0.0, ""
    i = 0
    while i < len(duration):
        ch = duration[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = duration[i : i + 2] if duration[i : i + 2] in units else ch
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    return int(math.ceil(total))


def byte_count(quantity) -> int:
    from catalog_gen.quantity import parse_quantity

    return int(parse_quantity(quantity))
