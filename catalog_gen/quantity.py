"""Kubernetes quantities (`500m`, `4Gi`, `1e3`) to numbers and back."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal, InvalidOperation

from catalog_gen import patterns

_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(patterns.QUANTITY)
MAX_EXPONENT = 30  # decimal digits before the suffix: beyond any resource, and far from Decimal's overflow
_SPLIT = re.compile(r"^([+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")


def is_quantity(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value >= 0
    return isinstance(value, str) and bool(_QUANTITY.match(value))


def parse_quantity(value) -> Decimal:
    """The value in base units (cores, bytes). Raises ValueError for anything that is not a quantity."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = _SPLIT.match(value) if isinstance(value, str) and _QUANTITY.match(value) else None
    if not match:
        raise ValueError(f"{value!r} is not a quantity")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        amount = Decimal(number)
        if amount and amount.adjusted() > MAX_EXPONENT:  # `.9E+891613094296`: no resource is that large
            raise ValueError(f"{value!r} is too large to be a quantity")
        return amount * _SUFFIX[suffix]
    except (InvalidOperation, KeyError) as exc:
        raise ValueError(f"{value!r} is not a quantity") from exc


def format_bytes(n: int | Decimal) -> str:
    """Bytes as the largest binary suffix that divides evenly after rounding up to a whole Mi or Gi."""
    n = int(n)
    gi = 2 ** 30
    mi = 2 ** 20
    if n >= gi:
        return f"{-(-n // gi)}Gi"
    return f"{max(1, -(-n // mi))}Mi"


GiB = 2**30
MiB = 2**20


@dataclasses.dataclass(frozen=True)
class QuantityRange:
    """The unit and the sensible range of one quantity field of a leaf."""

    path: tuple[str, ...]  # YAML path; `*` matches any key
    unit: str  # "cores" or "bytes"
    low: Decimal
    high: Decimal
    why: str  # what the range protects against

    def words(self, value: Decimal) -> str:
        return format_cores(value) if self.unit == "cores" else format_size(value)


# Every quantity field of the leaf: the schema checks the form (a CPU quantity, or bytes without `m`), these the range.
RANGES: tuple[QuantityRange, ...] = (
    QuantityRange(("container", "resources", "*", "cpu"), "cores", Decimal("0.001"), Decimal(1024),
                  "Kubernetes counts CPU in cores; less than 1m rounds up, nodes have at most a few hundred"),
    QuantityRange(("container", "resources", "*", "memory"), "bytes", Decimal(16 * MiB), Decimal(4 * 2**40),
                  "an Ollama container needs hundreds of MiB at least; a bare number is bytes"),
    QuantityRange(("container", "resources", "*", "ephemeral-storage"), "bytes", Decimal(16 * MiB), Decimal(64 * 2**40),
                  "scratch storage of a pod; a bare number is bytes"),
    QuantityRange(("gpu", "vram"), "bytes", Decimal(GiB), Decimal(2**40), "the memory of one GPU: from 1Gi to 1Ti"),
    QuantityRange(("cache", "size"), "bytes", Decimal(256 * MiB), Decimal(2**50), "a model cache; a bare number is bytes"),
    QuantityRange(("router", "maxBodySize"), "bytes", Decimal(2**10), Decimal(256 * MiB),
                  "the router reads each request body into memory (its limit is 256Mi); 0 would refuse every request"),
)


def format_cores(value: Decimal) -> str:
    return f"{value.normalize():f} core(s)"


def format_size(value: Decimal) -> str:
    """A byte count as people read it: `0.5 bytes`, `4 bytes`, `512 MiB`."""
    if value < 2**10:
        return f"{value.normalize():f} byte(s)"
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", GiB), ("MiB", MiB), ("KiB", 2**10)):
        if value >= size:
            return f"{float(value / size):.4g} {unit}"
    return f"{value} bytes"  # pragma: no cover - the loop always returns
