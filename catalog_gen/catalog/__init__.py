"""Catalog leaves: load (YAML with positions), defaults cascade, validation, the leaf model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog_gen.catalog.model import OllamaInferenceLoad

__all__ = ["load_leaf"]


def load_leaf(path: Path) -> "OllamaInferenceLoad":
    """One leaf, validated (with its `_defaults.yaml` cascade) and typed.

    Raises CatalogInvalid (exit 1, with every finding) when it does not validate,
    UsageError when the path is not a file.
    """
    from catalog_gen.catalog.model import OllamaInferenceLoad
    from catalog_gen.catalog.validate import validate_paths
    from catalog_gen.errors import CatalogInvalid, UsageError, has_errors

    if not Path(path).is_file():
        raise UsageError(f"{path}: no such leaf file", hint="pass the path of one catalog leaf (a .yaml file)")
    result = validate_paths([Path(path)])
    if has_errors(result.findings) or not result.leaves:
        raise CatalogInvalid(result.findings)
    return OllamaInferenceLoad.model_validate(result.leaves[0].data)
