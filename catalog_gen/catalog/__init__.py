"""Catalog leaves: load (YAML with positions), defaults cascade, validation, the leaf model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog_gen.catalog.model import OllamaInferenceLoad

__all__ = ["load_leaf"]


def load_leaf(path: Path) -> "OllamaInferenceLoad":
    """One leaf, validated (with its `_defaults.yaml` cascade) and typed.

    A leaf that does not validate is an input error (exit 2) naming its first error
    with file:line:column; `catalog-gen validate` lists them all.
    """
    from catalog_gen.catalog.model import OllamaInferenceLoad
    from catalog_gen.catalog.validate import validate_paths
    from catalog_gen.errors import InputError, Severity, UsageError, has_errors

    if not Path(path).is_file():
        raise UsageError(f"{path}: no such leaf file", hint="pass the path of one catalog leaf (a .yaml file)")
    result = validate_paths([Path(path)])
    if has_errors(result.findings) or not result.leaves:
        errors = [f for f in result.findings if f.severity is Severity.ERROR]
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(
            f"{first.file}:{first.line}:{first.column}: {first.message}{more}",
            hint=first.hint or f"run `catalog-gen validate {path}` for every finding",
        )
    return OllamaInferenceLoad.model_validate(result.leaves[0].data)
