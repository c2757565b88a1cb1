"""`catalog-gen new`: scaffold a leaf that validates at once.

Answers come from flags; on a terminal, what is missing is asked for, each
answer checked against the leaf schema on the spot (asked again when wrong).
The leaf is written to `<catalog>/<environment>/<serviceName>.yaml`, never over
an existing file (the file is created exclusively), and validated with the
whole catalog around it (defaults cascade, duplicate names and hosts). When the
new leaf brings any error, it is removed again and the findings are returned:
nothing half-done stays behind. Settings shared by many leaves (GitOps,
monitoring, image versions) are not written: they come from `_defaults.yaml`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable

import jsonschema_rs
import yaml

from catalog_gen import patterns
from catalog_gen.catalog import schema as schema_module
from catalog_gen.catalog.model import SCHEMA_ID, WORKLOAD_TYPE
from catalog_gen.errors import Finding, Severity, UsageError

Ask = Callable[[str], str]  # prompt -> answer (input() on a terminal)


@dataclasses.dataclass
class Answers:
    service_name: str | None = None
    environment: str | None = None
    namespace: str | None = None
    service_catalog: str | None = None
    models: list[str] = dataclasses.field(default_factory=list)
    gpus: int | None = None
    gpu_product: str | None = None
    host: str | None = None
    owner: str | None = None


@dataclasses.dataclass
class Created:
    path: Path
    findings: list[Finding]  # warnings of the new leaf (errors remove it and raise instead)


# (attribute, schema path, question, default offered on a terminal, flag)
QUESTIONS = [
    ("service_name", ["serviceName"], "Service name (RFC 1123 label, at most 40 characters)", None, "--name"),
    ("environment", ["environment"], "Environment", "dev", "--environment"),
    ("namespace", ["namespace"], "Kubernetes namespace", None, "--namespace"),
    ("service_catalog", ["serviceCatalog"], "Catalog group", "ml-inference", "--service-catalog"),
    ("models", ["models", "0", "name"], "Model(s), comma-separated (e.g. llama3.1:8b)", None, "--model"),
    ("gpus", ["gpu", "count"], "GPUs per pod (0 runs on CPU)", "0", "--gpus"),
    ("host", ["ingress", "host"], "External host name (empty: no ingress)", "", "--host"),
    ("owner", ["ownership", "owner"], "Owning team for Backstage (e.g. group:ml-platform; empty: from _defaults.yaml)", "", "--owner"),
]
REQUIRED = {"service_name", "environment", "namespace", "service_catalog", "models"}


def check_value(path: list[str], value) -> str | None:
    """The schema's complaint about one value at a leaf path, or None."""
    root = schema_module.load(WORKLOAD_TYPE)
    sub = schema_module.subschema(root, root, path)
    errors = [err.message for err in jsonschema_rs.validator_for(sub).iter_errors(value)]
    if errors and sub.get("pattern") in patterns.FRIENDLY and "does not match" in errors[0]:
        what, how = patterns.FRIENDLY[sub["pattern"]]
        return f"{what} ({how})"
    return errors[0] if errors else None


def _parse(attr: str, text: str):
    text = text.strip()
    if attr == "models":
        return [part.strip() for part in text.split(",") if part.strip()]
    if attr == "gpus":
        if not text.isdigit():
            raise ValueError(f"{text!r} is not a whole number")
        return int(text)
    return text or None


def _check(attr: str, path: list[str], value) -> str | None:
    values = value if isinstance(value, list) else [value]
    if attr in REQUIRED and not values:
        return "a value is required"
    for item in values:
        if item is not None:
            problem = check_value(path, item)
            if problem:
                return f"{item!r}: {problem}"
    return None


def complete(answers: Answers, ask: Ask | None) -> Answers:
    """Fill in what is missing by asking (terminal), or refuse naming the missing flags; check every answer."""
    for attr, path, question, default, flag in QUESTIONS:
        value = getattr(answers, attr)
        missing = value in (None, [])
        if missing and ask is not None:
            while True:
                shown = f" [{default}]" if default else ""
                text = ask(f"{question}{shown}: ")
                try:
                    value = _parse(attr, text if text.strip() else (default or ""))
                except ValueError as exc:
                    print(f"  {exc}; try again")
                    continue
                problem = _check(attr, path, value)
                if problem is None:
                    break
                print(f"  {problem}; try again")
        elif not missing:
            problem = _check(attr, path, value)
            if problem:
                raise UsageError(f"{flag}: {problem}", hint=f"`catalog-gen explain {'.'.join(p for p in path if not p.isdigit())}` says what is allowed")
        setattr(answers, attr, value)
    absent = [flag for attr, _, _, _, flag in QUESTIONS if attr in REQUIRED and getattr(answers, attr) in (None, [])]
    if absent:
        raise UsageError(f"missing {', '.join(absent)}", hint="pass them as flags, or run `catalog-gen new` in a terminal to be asked")
    return answers


def leaf_document(answers: Answers) -> dict:
    doc: dict = {
        "workloadType": WORKLOAD_TYPE,
        "serviceName": answers.service_name,
        "serviceCatalog": answers.service_catalog,
        "namespace": answers.namespace,
        "environment": answers.environment,
    }
    if len(answers.models) == 1:
        doc["model"] = answers.models[0]
    else:
        doc["models"] = [{"name": name} for name in answers.models]
    gpus = answers.gpus or 0
    doc["gpu"] = {"count": gpus, **({"product": answers.gpu_product} if answers.gpu_product and gpus else {})} if gpus else \
        {"count": 0, "vendor": "none"}
    if answers.host:
        doc["ingress"] = {"enabled": True, "host": answers.host}
    if answers.owner:
        doc["ownership"] = {"owner": answers.owner}
    return doc


def _schema_ref(folder: Path) -> str:
    """The schema for editors: a relative path when the catalog sits in a repository with schemas/, else its $id."""
    name = schema_module.SCHEMA_FILES[WORKLOAD_TYPE]
    for parent in [folder.resolve(), *folder.resolve().parents]:
        if (parent / "schemas" / name).is_file():
            return os.path.relpath(parent / "schemas" / name, folder.resolve())
    return SCHEMA_ID


def leaf_text(answers: Answers, folder: Path) -> str:
    body = yaml.safe_dump(leaf_document(answers), sort_keys=False, default_flow_style=False, allow_unicode=True)
    return (f"# yaml-language-server: $schema={_schema_ref(folder)}\n"
            "# Created by `catalog-gen new`. `catalog-gen explain FIELD` documents every field; shared settings\n"
            "# (GitOps, monitoring, image versions) come from the _defaults.yaml files above this folder.\n" + body)


def _errors(catalog: Path) -> set[tuple]:
    from catalog_gen.catalog.validate import validate_paths

    if not catalog.is_dir():
        return set()
    return {(f.file, f.line, f.column, f.code, f.message) for f in validate_paths([catalog]).findings if f.severity is Severity.ERROR}


def create(answers: Answers, catalog: Path, path: Path | None = None) -> Created:
    """Write the leaf (never over a file) and validate it with the catalog; remove it again on any new error."""
    from catalog_gen.catalog.validate import validate_paths
    from catalog_gen.errors import CatalogInvalid

    target = path or catalog / answers.environment / f"{answers.service_name}.yaml"
    if target.exists():
        raise UsageError(f"{target} exists; `new` never overwrites a leaf", hint="edit it, or pick another --name or --out")
    before = _errors(catalog)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = leaf_text(answers, target.parent)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UsageError(f"{target} exists; `new` never overwrites a leaf", hint="edit it, or pick another --name") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    try:
        result = validate_paths([catalog, target] if catalog.is_dir() else [target])
        new = [f for f in result.findings if f.severity is Severity.ERROR
               and (f.file, f.line, f.column, f.code, f.message) not in before]
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if new:
        target.unlink(missing_ok=True)
        raise CatalogInvalid(new)
    display = os.path.normpath(os.path.relpath(target))
    return Created(target, [f for f in result.findings if f.severity is not Severity.ERROR and f.file == display])
