"""Per-object suppression: ``catalog-gen.io/ignore-<check-id>: "<reason>"`` in metadata.annotations.

A reason is required: an empty one does not suppress anything and is itself
an error (``ignore-reason-missing``), so every exception in a chart says why
it is there. Only checks marked ``suppressible`` in the registry can be
ignored; an annotation naming any other id is ``ignore-unknown-check``.
"""

from __future__ import annotations

from catalog_gen.lint.objects import Issue, K8sObject, pointer
from catalog_gen.lint.policies import CHECK_BY_ID, IGNORE_PREFIX


def suppressions(obj: K8sObject) -> tuple[set[str], list[Issue]]:
    """Check ids this object suppresses, and the issues its annotations themselves have."""
    ignored: set[str] = set()
    issues: list[Issue] = []
    for key, value in obj.annotations.items():
        if not key.startswith(IGNORE_PREFIX):
            continue
        check_id = key[len(IGNORE_PREFIX) :]
        at = pointer("metadata", "annotations", key)
        check = CHECK_BY_ID.get(check_id)
        if check is None or not check.suppressible:
            why = "is not a check" if check is None else "cannot be suppressed"
            issues.append(Issue("ignore-unknown-check", f"annotation {key!r}: {check_id!r} {why}", obj=obj, pointer=at))
        elif not isinstance(value, str) or not value.strip():
            issues.append(Issue("ignore-reason-missing", f"annotation {key!r} gives no reason, so {check_id} is not suppressed", obj=obj, pointer=at))
        else:
            ignored.add(check_id)
    return ignored, issues


def apply(objects: list[K8sObject], issues: list[Issue]) -> list[Issue]:
    """Drop issues suppressed by their object's annotations; add the annotations' own issues."""
    by_object: dict[int, set[str]] = {}
    extra: list[Issue] = []
    for obj in objects:
        ignored, problems = suppressions(obj)
        by_object[id(obj)] = ignored
        extra += problems
    kept = [i for i in issues if i.obj is None or i.check not in by_object.get(id(i.obj), ())]
    return kept + extra
