"""The one Jinja2 environment factory.

Templates of chart files live in `templates/<workload-type>/`. Our own
delimiters are `[[ ]]`, `[% %]` and `[# #]`, so Helm's `{{ }}` passes through
untouched. The environment is sandboxed with strict undefined: a missing
variable is an error naming the template and the variable, never an empty
string. Leaf data never goes through these templates into Go templates; it goes
into values.yaml only (see render/values.py).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from catalog_gen.errors import ToolError

# catalog_gen/templates is a symlink to the repository's templates/ (and a real folder in a wheel).
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=None)
def environment(root: Path = TEMPLATES_DIR) -> SandboxedEnvironment:
    if not root.is_dir():
        raise ToolError(f"the chart templates folder {root} is missing", hint="reinstall catalog-gen from its repository")
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, **context) -> str:
    try:
        return environment().get_template(name).render(**context)
    except jinja2.UndefinedError as exc:
        raise ToolError(f"template {name}: {exc.message}", hint="this is a bug in catalog-gen's templates; please report it") from exc
    except jinja2.TemplateError as exc:
        raise ToolError(f"template {name}: {exc}", hint="this is a bug in catalog-gen's templates; please report it") from exc
