"""Kubernetes quantities (`500m`, `4Gi`, `1e3`) to numbers and back."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from catalog_gen import patterns

_SUFFIX = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(patterns.QUANTITY)
_SPLIT = re.compile(r"^([+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)([numkMGTPE]i?)?$")


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
        return Decimal(number) * _SUFFIX[suffix]
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
