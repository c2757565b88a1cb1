"""Data flows one way (DESIGN.md): the layering is enforced here, not hoped for.

- no stage imports the CLI;
- the router and the smoke runner do not import each other;
- the render path (catalog, plan, render) imports neither the router, smoke nor lint;
- lint does not import the render path (it lints charts, whoever made them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "catalog_gen"

FORBIDDEN = {
    "catalog": {"cli", "router", "smoke", "lint", "render"},
    "plan": {"cli", "router", "smoke", "lint", "render"},
    "render": {"cli", "router", "smoke", "lint"},
    "lint": {"cli", "router", "smoke", "render", "plan"},
    "router": {"cli", "smoke", "lint", "render", "plan"},
    "smoke": {"cli", "router", "lint", "render"},
    "testing": {"cli", "router", "smoke", "lint", "render", "plan", "catalog"},
    "registry": {"cli", "router", "smoke", "lint", "render", "plan"},
}


def imported_subpackages(path: Path) -> set[str]:
    """The catalog_gen.<name> modules a file imports (at any depth in the file, lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names if node.module == "catalog_gen"]
        for name in names:
            parts = name.split(".")
            if parts[0] == "catalog_gen" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_stage_imports_stay_in_their_lane(stage):
    files = sorted((PACKAGE / stage).rglob("*.py"))
    assert files, f"no modules under catalog_gen/{stage}"
    broken = {f"{path.relative_to(PACKAGE)} imports catalog_gen.{name}"
              for path in files for name in imported_subpackages(path) & FORBIDDEN[stage]}
    assert not broken, sorted(broken)


def test_the_checker_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from catalog_gen.router import app\n    import catalog_gen.cli\n")
    assert imported_subpackages(module) == {"router", "cli"}
