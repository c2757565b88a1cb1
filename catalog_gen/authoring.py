"""`catalog-gen new`: scaffold a leaf that validates at once.

Answers come from flags; on a terminal, what is missing is asked for, each
answer checked on the spot against the schema and, as part of the whole leaf,
against the rules and the catalog around it (asked again when wrong).
The leaf is written to `<catalog>/<environment>/<serviceName>.yaml`, never over
an existing file (the file is created exclusively), and validated with the
whole catalog around it (defaults cascade, duplicate names and hosts). When the
new leaf brings any error, it is removed again and the findings are returned:
nothing half-done stays behind (no leaf, no folder made for it), also on
Ctrl-C; Ctrl-D at a prompt ends the run with nothing written. Every prompt
has a flag (a model's size hint: ``--model-size NAME=8B``); with
``--no-input`` a question that offers a default takes it. Settings shared by
many leaves (GitOps, monitoring, image versions) are not written: they come
from `_defaults.yaml`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Protocol

import jsonschema_rs
import yaml

from catalog_gen import patterns
from catalog_gen.catalog import schema as schema_module
from catalog_gen.catalog.model import SCHEMA_ID, WORKLOAD_TYPE
from catalog_gen.errors import CatalogGenError, Finding, Severity, UsageError, has_errors


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
    model_sizes: dict[str, str] = dataclasses.field(default_factory=dict)  # model name -> parameter count hint


@dataclasses.dataclass
class Created:
    path: Path
    findings: list[Finding]  # warnings of the new leaf (errors remove it and raise instead)


class Prompter(Protocol):
    """How `complete` talks to a person: ``ask`` returns a line (raises EOFError on Ctrl-D), ``tell`` shows a line."""

    def ask(self, prompt: str) -> str: ...

    def tell(self, line: str) -> None: ...


class InputEnded(CatalogGenError):
    """Ctrl-D (end of input) at a prompt: nothing was written (exit 2)."""


# (attribute, schema path, question, default offered on a terminal, flag)
QUESTIONS = [
    ("service_name", ["serviceName"], "Service name (RFC 1035 label: a letter first, at most 40 characters)", None, "--name"),
    ("environment", ["environment"], "Environment", "dev", "--environment"),
    ("namespace", ["namespace"], "Kubernetes namespace", None, "--namespace"),
    ("service_catalog", ["serviceCatalog"], "Catalog group", "ml-inference", "--service-catalog"),
    ("models", ["models", "0", "name"], "Model(s), comma-separated (e.g. llama3.1:8b)", None, "--model"),
    ("gpus", ["gpu", "count"], "GPUs per pod (0 runs on CPU)", "0", "--gpus"),
    ("gpu_product", ["gpu", "product"], "GPU product label value (e.g. NVIDIA-A10G; empty: any)", "", "--gpu-product"),
    ("host", ["ingress", "host"], "External host name (empty: no ingress)", "", "--host"),
    ("owner", ["ownership", "owner"], "Owning team for Backstage (e.g. group:ml-platform; empty: from _defaults.yaml)", "", "--owner"),
]
REQUIRED = {"service_name", "namespace", "models"}  # and environment, service_catalog: their defaults fill them
SIZE_PATH = ["models", "0", "size", "parameters"]
SIZE_FLAG = "--model-size"
# Where in a leaf each answer lands: findings there send the person back to that question.
POINTERS = {"service_name": ("/serviceName",), "environment": ("/environment",), "namespace": ("/namespace",),
            "service_catalog": ("/serviceCatalog",), "models": ("/model", "/models"), "gpus": ("/gpu/count", "/gpu"),
            "gpu_product": ("/gpu/product",), "host": ("/ingress",), "owner": ("/ownership",)}
_PLACEHOLDERS = {"service_name": "new-service", "environment": "dev", "namespace": "default",
                 "service_catalog": "ml-inference", "models": ["llama3.1:8b"], "gpus": 0}


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


def parse_model_sizes(texts: list[str], models: list[str]) -> dict[str, str]:
    """``--model-size`` values: ``NAME=8B``, or a bare ``8B`` for the only model; each checked against the schema."""
    sizes: dict[str, str] = {}
    for text in texts:
        name, _, size = text.rpartition("=")
        if not name:
            if len(models) != 1:
                raise UsageError(f"{SIZE_FLAG} {text}: name the model it is for (NAME=SIZE) when there are several",
                                 hint=f"e.g. {SIZE_FLAG} {models[0] if models else 'team/coder:1'}=8B")
            name = models[0]
        if name not in models:
            raise UsageError(f"{SIZE_FLAG} {text}: {name!r} is not one of the --model values", hint="name a model given with --model")
        problem = check_value(SIZE_PATH, size)
        if problem:
            raise UsageError(f"{SIZE_FLAG} {text}: {problem}", hint="`catalog-gen explain models[].size.parameters` says what is allowed")
        sizes[name] = size
    return sizes


class CatalogContext:
    """The catalog around the new leaf, read once: checks an answer as part of a whole leaf in its folder."""

    def __init__(self, catalog: Path) -> None:
        from catalog_gen.catalog.defaults import Cascade
        from catalog_gen.catalog.validate import validate_paths

        from catalog_gen.catalog import index

        self.catalog = catalog
        self.leaves = validate_paths([catalog]).leaves if catalog.is_dir() else []
        self.layers = Cascade(Path.cwd())
        self.before = {_key(f) for f in index.cross_leaf_findings(self.leaves)}  # what the catalog has already

    def findings(self, answers: Answers, target: Path | None) -> list[Finding]:
        """Errors the leaf made of ``answers`` (placeholders for what is not answered yet) would have."""
        from catalog_gen.catalog import index
        from catalog_gen.catalog.load import Document
        from catalog_gen.catalog.validate import Leaf, _Validators, validate_document

        filled = dataclasses.replace(answers, **{k: v for k, v in _PLACEHOLDERS.items() if getattr(answers, k) in (None, [])})
        path = target or self.catalog / filled.environment / f"{filled.service_name}.yaml"
        doc = self.layers.apply(Document(path, str(path), leaf_document(filled), {}, {}))
        found, workload_type = validate_document(doc, _Validators())
        if workload_type and not has_errors(found):
            # what the new leaf brings across leaves, reported at it or at the leaf it clashes with
            others = [leaf for leaf in self.leaves if os.path.abspath(leaf.doc.path) != os.path.abspath(path)]
            found += [f for f in index.cross_leaf_findings(others + [Leaf(doc, workload_type)]) if _key(f) not in self.before]
        return [f for f in found if f.severity is Severity.ERROR]

    def problems(self, answers: Answers, attr: str, target: Path | None) -> list[str]:
        """Messages of errors about one answer (a model whose size is unknown is asked about separately)."""
        return [f.message for f in self.findings(answers, target)
                if f.pointer.startswith(POINTERS[attr]) and not (attr == "models" and f.code == "leaf.model-size")]


def _key(finding: Finding) -> tuple:
    return (finding.file, finding.line, finding.column, finding.code, finding.message)


def _ask_one(prompter: Prompter, attr: str, path: list[str], question: str, default: str | None,
             context: CatalogContext | None, answers: Answers, target: Path | None):
    """Ask until the answer is valid on its own and as part of the leaf (placeholders for later answers)."""
    while True:
        shown = f" [{default}]" if default else ""
        try:
            text = prompter.ask(f"{question}{shown}: ")
        except EOFError:
            raise InputEnded(f"input ended at {question.split(' (')[0]!r}; nothing was written",
                             hint="answer every question, or pass the values as flags (see `catalog-gen new --help`)") from None
        try:
            value = _parse(attr, text if text.strip() else (default or ""))
        except ValueError as exc:
            prompter.tell(f"  {exc}; try again")
            continue
        problem = _check(attr, path, value)
        if problem is None and context is not None:
            trial = dataclasses.replace(answers, **{attr: value})
            problems = context.problems(trial, attr, target)
            problem = problems[0] if problems else None
        if problem is None:
            return value
        prompter.tell(f"  {problem}; try again")


def _unknown_sizes(answers: Answers, context: CatalogContext, target: Path | None) -> list[str]:
    """Models whose size cannot be told from the name (the leaf.model-size rule fires for them)."""
    unknown = []
    for finding in context.findings(answers, target):
        if finding.code == "leaf.model-size":
            pointer = finding.pointer.removesuffix("/name")
            index = 0 if pointer == "/model" else int(pointer.rsplit("/", 1)[1]) if pointer.rsplit("/", 1)[1].isdigit() else 0
            if index < len(answers.models):
                unknown.append(answers.models[index])
    return list(dict.fromkeys(unknown))


def _skip(attr: str, answers: Answers) -> bool:
    return attr == "gpu_product" and not answers.gpus  # a product label only means something with GPUs


def complete(answers: Answers, prompter: Prompter | None, catalog: Path | None = None, target: Path | None = None) -> Answers:
    """Fill in what is missing by asking (``prompter``, on a terminal), else from defaults, else refuse naming the flags.

    On a terminal each answer is checked at its prompt, alone (schema) and as part of the
    leaf in its catalog (rules, defaults, other leaves: a host another leaf claims is caught
    at the host prompt); a model whose size cannot be told gets a size question. Flags are
    checked against the schema; the whole leaf is checked when it is created.
    """
    context = CatalogContext(catalog) if prompter is not None and catalog is not None else None
    for attr, path, question, default, flag in QUESTIONS:
        value = getattr(answers, attr)
        missing = value in (None, [])
        if missing and prompter is not None and not _skip(attr, answers):
            value = _ask_one(prompter, attr, path, question, default, context, answers, target)
        elif missing and default:
            value = _parse(attr, default)  # --no-input, or no terminal: what a terminal would offer
        elif not missing:
            problem = _check(attr, path, value)
            if problem:
                raise UsageError(f"{flag}: {problem}", hint=f"`catalog-gen explain {'.'.join(p for p in path if not p.isdigit())}` says what is allowed")
        setattr(answers, attr, value)
    absent = [flag for attr, _, _, _, flag in QUESTIONS if attr in REQUIRED and getattr(answers, attr) in (None, [])]
    if absent:
        raise UsageError(f"missing {', '.join(absent)}", hint="pass them as flags, or run `catalog-gen new` in a terminal to be asked")
    if context is not None:
        _settle(answers, prompter, context, target)
    return answers


def _settle(answers: Answers, prompter: Prompter, context: CatalogContext, target: Path | None) -> None:
    """Ask for size hints the models need, then re-ask any answer the whole leaf still has an error about."""
    for model in _unknown_sizes(answers, context, target):
        if model not in answers.model_sizes:
            answers.model_sizes[model] = _ask_one(prompter, "size", SIZE_PATH,
                                                  f"Parameter count of {model}, which its name does not tell (e.g. 8B, 0.5B, 8x7B)",
                                                  None, None, answers, target)
    for _ in range(5):  # an answer can only be wrong because of another one a few times over
        errors = context.findings(answers, target)
        wrong = [attr for attr, _, _, _, _ in QUESTIONS if any(f.pointer.startswith(POINTERS[attr]) for f in errors)]
        if not wrong:
            return
        for attr, path, question, default, _ in QUESTIONS:
            if attr in wrong:
                problems = context.problems(answers, attr, target) or [f.message for f in errors]
                prompter.tell(f"  {problems[0]}; try again")
                setattr(answers, attr, _ask_one(prompter, attr, path, question, default, context, answers, target))


def leaf_document(answers: Answers) -> dict:
    doc: dict = {
        "workloadType": WORKLOAD_TYPE,
        "serviceName": answers.service_name,
        "serviceCatalog": answers.service_catalog,
        "namespace": answers.namespace,
        "environment": answers.environment,
    }
    sizes = answers.model_sizes or {}
    if len(answers.models) == 1 and answers.models[0] not in sizes:
        doc["model"] = answers.models[0]
    else:
        doc["models"] = [{"name": name, **({"size": {"parameters": sizes[name]}} if name in sizes else {})}
                         for name in answers.models]
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


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, deepest first (to remove them again)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir()
    return missing


def _remove(target: Path, folders: list[Path]) -> None:
    target.unlink(missing_ok=True)
    for folder in folders:  # deepest first; only the ones this run created, and only when empty
        try:
            folder.rmdir()
        except OSError:
            break


def create(answers: Answers, catalog: Path, path: Path | None = None) -> Created:
    """Write the leaf (never over a file) and validate it with the catalog; remove it again on any new error.

    Nothing stays behind when it fails or is interrupted (Ctrl-C, SIGTERM): not the leaf, not a
    folder this run created for it.
    """
    from catalog_gen.catalog.validate import validate_paths
    from catalog_gen.errors import CatalogInvalid

    target = path or catalog / answers.environment / f"{answers.service_name}.yaml"
    if os.path.lexists(target):
        raise UsageError(f"{target} exists; `new` never overwrites a leaf", hint="edit it, or pick another --name or --out")
    before = _errors(catalog)
    text = leaf_text(answers, target.parent if target.parent.exists() else Path(os.path.abspath(target.parent)))
    folders: list[Path] = []
    try:
        folders = _make_folders(target.parent)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except FileExistsError:
            raise UsageError(f"{target} exists; `new` never overwrites a leaf", hint="edit it, or pick another --name") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        result = validate_paths([catalog, target] if catalog.is_dir() else [target])
        new = [f for f in result.findings if f.severity is Severity.ERROR
               and (f.file, f.line, f.column, f.code, f.message) not in before]
        if new:
            raise CatalogInvalid(new)
    except BaseException:
        _remove(target, folders)
        raise
    display = os.path.normpath(os.path.relpath(target))
    return Created(target, [f for f in result.findings if f.severity is not Severity.ERROR and f.file == display])
