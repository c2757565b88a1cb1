"""Command line entry point: subcommands, arguments, output and exit codes; nothing else.

Heavy modules are imported inside the command that needs them, so
`catalog-gen validate` starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from catalog_gen import __version__
from catalog_gen.errors import (EXIT_FINDINGS, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE, CatalogGenError, Terminated,
                               committed, forget_committed, has_errors)

FORMATS = ("text", "json", "github", "junit", "sarif")


def _write_output(text: str, output: str | None) -> None:
    """A report to stdout or to a file (mode 0666 less the umask, written atomically); always ends with a newline."""
    if text and not text.endswith("\n"):
        text += "\n"
    if output:
        from catalog_gen.fsutil import write_report

        write_report(output, text)
    else:
        sys.stdout.write(text)


def _progress(args: argparse.Namespace):
    """The progress display of a long command (a bar on a terminal, a line every few seconds in logs, nothing with --quiet)."""
    from catalog_gen.progress_display import Display

    return Display(args.command, quiet=getattr(args, "quiet", False))


def _add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", "-q", action="store_true", help="show no progress (a bar on a terminal, a line every few seconds in logs)")


def _add_lock_timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lock-timeout", type=float, default=0.0, metavar="S",
                   help="seconds to wait when another run holds the output folder's lock (default: 0, exit 2 at once)")


def _report(findings, fmt: str, tool: str, files: int, output: str | None, checked: str = "file") -> int:
    from catalog_gen import report

    color = fmt == "text" and output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    ctx = report.ReportContext(tool=tool, files_checked=files, color=color, sarif_hint=os.environ.get("CATALOG_GEN_SARIF", ""),
                               checked=checked)
    _write_output(report.render(findings, fmt, ctx), output)
    return EXIT_FINDINGS if has_errors(findings) else EXIT_OK


# --- validate / schema -------------------------------------------------------------------------


def _add_validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", default=["catalog"], help="leaf files or catalog folders (default: catalog/)")
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    p.add_argument("--output", "-o", help="write the report to this file instead of stdout")


def _run_validate(args: argparse.Namespace) -> int:
    from catalog_gen.catalog.validate import validate_paths

    result = validate_paths([Path(p) for p in args.paths])
    return _report(result.findings, args.format, "validate", result.files_checked, args.output)


def _add_schema_args(p: argparse.ArgumentParser) -> None:
    from catalog_gen.catalog import workloads

    p.add_argument("--workload-type", default=workloads.DEFAULT.name, help="workloadType whose schema to print")
    p.add_argument("--write", action="store_true", help="regenerate schemas/ from the model (maintainers)")


def _run_schema(args: argparse.Namespace) -> int:
    from catalog_gen.catalog import schema

    if args.write:
        for path in schema.write_schemas():
            print(f"wrote {path}")
        return EXIT_OK
    sys.stdout.write(schema.schema_text(args.workload_type))
    return EXIT_OK


# --- render / plan -----------------------------------------------------------------------------


def _add_render_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", default=["catalog"], help="leaf files or catalog folders (default: catalog/)")
    p.add_argument("--out", default="charts", help="output folder (default: charts/)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each chart that differs")
    p.add_argument("--diff", action="store_true", help="with --check: show a unified diff")
    p.add_argument("--prune", action="store_true", help="remove generated charts whose leaf is gone")
    _add_lock_timeout(p)
    _add_quiet(p)


def _run_render(args: argparse.Namespace) -> int:
    from catalog_gen.errors import CatalogInvalid
    from catalog_gen.render.run import render_catalog

    if args.diff and not args.check:
        raise CatalogGenError("--diff goes with --check", hint="run `catalog-gen render --check --diff`")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CatalogGenError(f"--out {out}: is a file, not a folder", hint="name the folder the charts go to (default: charts/)")
    if args.lock_timeout < 0:
        raise CatalogGenError(f"--lock-timeout must be a number of seconds >= 0, not {args.lock_timeout:g}")
    try:
        with _progress(args) as progress:
            result = render_catalog([Path(p) for p in args.paths], out, check=args.check, diff=args.diff, prune=args.prune,
                                    lock_timeout=args.lock_timeout, progress=progress)
    except CatalogInvalid as invalid:
        _report(invalid.findings, "text", "validate", 0, None)
        print(f"catalog-gen render: {invalid}", file=sys.stderr)
        return EXIT_FINDINGS
    if args.check:
        for drift in result.drift:
            detail = f" ({', '.join(drift.files[:5])}{', ...' if len(drift.files) > 5 else ''})" if drift.files else ""
            hint = {"stale": "leaf is gone; run `catalog-gen render --prune`",
                    "interrupted": "a render was killed here; run `catalog-gen render` to repair the folder"}.get(
                drift.status, "run `catalog-gen render`")
            print(f"{out / drift.chart}: {drift.status}{detail}; {hint}")
            if drift.diff:
                sys.stdout.write(drift.diff)
        print(f"render --check: {len(result.charts)} chart(s), {len(result.drift)} differ")
        return EXIT_FINDINGS if result.drift else EXIT_OK
    for rel in result.written:
        print(f"wrote {out / rel}")
    for rel in result.pruned:
        print(f"pruned {out / rel}")
    print(f"render: {len(result.charts)} chart(s), {len(result.written)} written, {len(result.pruned)} pruned")
    return EXIT_OK


def _add_plan_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("leaf", help="a leaf file")
    p.add_argument("--format", choices=("text", "json"), default="text")


def _run_plan(args: argparse.Namespace) -> int:
    import json

    from catalog_gen.errors import CatalogInvalid
    from catalog_gen.render.chart import chart_files
    from catalog_gen.render.run import plan_leaves

    leaf = Path(args.leaf)
    if not leaf.is_file():
        raise CatalogGenError(f"{leaf}: no such leaf file", hint="pass one leaf, e.g. catalog/dev/ollama-phi.yaml")
    try:
        plans, _ = plan_leaves([leaf])
    except CatalogInvalid as invalid:
        _report(invalid.findings, "text", "validate", 1, None)
        return EXIT_FINDINGS
    plan = plans[0]
    files = sorted(chart_files(plan))
    if args.format == "json":
        doc = {"chart": plan.chart_dir, "decisions": [{"topic": t, "decision": d, "why": w} for t, d, w in plan.decisions],
               "values": plan.values, "files": files}
        print(json.dumps(doc, indent=2, sort_keys=True))
        return EXIT_OK
    print(f"{plan.source} -> charts/{plan.chart_dir}")
    for topic, decision, why in plan.decisions:
        print(f"  {topic:8} {decision}\n           because {why}")
    print("  files:")
    for name in files:
        print(f"    {name}")
    return EXIT_OK


# --- ci ------------------------------------------------------------------------------------------


def _add_ci_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("catalog", nargs="?", default="catalog", help="catalog folder (default: catalog/)")
    p.add_argument("--charts", default="charts", help="committed charts folder (default: charts/)")
    p.add_argument("--kube-version", default="1.31", help="Kubernetes version to validate against (default: 1.31)")
    p.add_argument("--crds", action="append", default=[], metavar="DIR", help="CRD folder for custom resources (repeatable)")
    p.add_argument("--require-schemas", action="store_true", help="a kind with no schema is an error")
    _add_lint_cache_args(p)
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    p.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    _add_lock_timeout(p)
    _add_quiet(p)


def _run_ci(args: argparse.Namespace) -> int:
    """validate, render --check (with stale charts), lint: one report, one exit code."""
    from catalog_gen.catalog.validate import validate_paths
    from catalog_gen.errors import Finding, Severity
    from catalog_gen.lint import lint_charts
    from catalog_gen.render.run import render_catalog

    catalog, charts = Path(args.catalog), Path(args.charts)
    failed = EXIT_OK  # a stage that fails (exit 2) still gets its report written, with the failure in it
    try:
        validation = validate_paths([catalog], charts=charts)
        findings, files = list(validation.findings), validation.files_checked
    except CatalogGenError as err:  # e.g. no leaves under the path: CI must go red, with its report
        findings, files, failed = [Finding(str(catalog), 0, 0, "", "ci.validate", Severity.ERROR, err.message, err.hint)], 0, err.exit_code
    with _progress(args) as progress:
        if not has_errors(findings):
            try:
                rendered = render_catalog([catalog], charts, check=True, prune=True, lock_timeout=args.lock_timeout, progress=progress,
                                          validated=validation)
            except CatalogGenError as err:
                findings.append(Finding(str(charts), 0, 0, "", "ci.render", Severity.ERROR, err.message, err.hint))
                failed = err.exit_code
                rendered = None
            for drift in rendered.drift if rendered else []:
                chart = charts / drift.chart
                what = {"missing": "is missing", "changed": f"differs from its leaf ({', '.join(drift.files[:5])})",
                        "stale": "has no leaf any more",
                        "interrupted": "is the staging folder of a render that was killed (charts may be missing)"}[drift.status]
                fix = {"stale": "run `catalog-gen render --prune` and commit charts/",
                       "interrupted": "run `catalog-gen render` to repair the folder, then commit charts/"}.get(
                    drift.status, "run `catalog-gen render` and commit charts/")
                where = str(chart) if drift.status == "interrupted" else str(chart / "Chart.yaml")
                findings.append(Finding(where, 0, 0, "", "render.drift", Severity.ERROR, f"chart {chart} {what}"
                                        if drift.status != "interrupted" else f"{chart} {what}", fix))
        if charts.is_dir():
            try:
                linted = lint_charts([charts], kube_version=args.kube_version, crd_dirs=[Path(d) for d in args.crds],
                                     require_schemas=args.require_schemas, progress=progress,
                                     cache=not args.no_cache, cache_dir=args.cache_dir)
                findings.extend(linted.findings)
                files += linted.charts_checked
            except CatalogGenError as err:
                findings.append(Finding(str(charts), 0, 0, "", "ci.lint", Severity.ERROR, err.message, err.hint))
                failed = max(failed, err.exit_code)
    return max(_report(findings, args.format, "ci", files, args.output), failed)


# --- lint / checks (lint helper owns these two sections) ---------------------------------------


def _add_lint_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "charts",
        nargs="*",
        default=["charts"],
        metavar="CHART_DIR",
        help="a chart, or a folder holding charts at any depth (default: charts/)",
    )
    p.add_argument("--kube-version", default="1.31", help="Kubernetes version to validate against (default: 1.31)")
    p.add_argument(
        "--crds",
        action="append",
        default=[],
        metavar="DIR",
        help="folder of CustomResourceDefinition YAML to validate custom resources with (repeatable)",
    )
    p.add_argument(
        "--require-schemas",
        action="store_true",
        help="an object whose kind has no schema (CRD not given) is an error, not a warning",
    )
    p.add_argument("--jobs", "-j", type=int, metavar="N", help="processes to lint with (default: CPU count, at most 4)")
    _add_lint_cache_args(p)
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    p.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    _add_quiet(p)


def _add_lint_cache_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true",
                   help="lint every chart, even those unchanged since a run stored their findings")
    p.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="lint cache folder (default: $CATALOG_GEN_CACHE_DIR, else $XDG_CACHE_HOME/catalog-gen/lint, "
                        "else ~/.cache/catalog-gen/lint)")


def _run_lint(args: argparse.Namespace) -> int:
    from catalog_gen.lint import lint_charts

    with _progress(args) as progress:
        result = lint_charts(
            [Path(c) for c in args.charts],
            kube_version=args.kube_version,
            crd_dirs=[Path(d) for d in args.crds],
            require_schemas=args.require_schemas,
            jobs=args.jobs,
            progress=progress,
            cache=not args.no_cache,
            cache_dir=args.cache_dir,
        )
    return _report(result.findings, args.format, "lint", result.charts_checked, args.output, checked="chart")


def _add_checks_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="list format (default: text)")
    p.add_argument(
        "--update-readme",
        metavar="README",
        help="rewrite the table between <!-- checks:start --> and <!-- checks:end --> in this file (maintainers)",
    )


def _run_checks(args: argparse.Namespace) -> int:
    from catalog_gen.lint import docs

    if args.update_readme:
        changed = docs.update_readme(Path(args.update_readme))
        print(f"{'updated' if changed else 'unchanged'}: {args.update_readme}")
        return EXIT_OK
    writers = {"text": docs.text_list, "markdown": docs.markdown_table, "json": docs.json_list}
    sys.stdout.write(writers[args.format]())
    return EXIT_OK


# --- router (router helper owns this section) --------------------------------------------------


def _add_router_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="router config (JSON or YAML, as the chart renders it); flags override it")
    p.add_argument("--host", help="address to listen on (default: listen.host, else 0.0.0.0)")
    p.add_argument("--port", type=int, help="port to listen on (default: listen.port, else 8080)")
    p.add_argument("--backend", action="append", metavar="URL", help="Ollama process http://HOST:PORT (repeatable)")
    p.add_argument("--model", action="append", metavar="SPEC",
                   help="required model NAME[@DIGEST][,kind=text|embedding][,keepWarm=true|false] (repeatable)")
    p.add_argument("--slots", type=int, metavar="N", help="requests in flight per backend (its OLLAMA_NUM_PARALLEL)")
    p.add_argument("--max-queue", type=int, metavar="N", help="requests that may wait for a slot; more get 429")
    p.add_argument("--queue-timeout", type=float, metavar="S", help="longest wait for a slot in seconds; then 503")
    p.add_argument("--idle-unload", type=float, metavar="S", help="unload models that are not kept warm after S idle seconds")
    p.add_argument("--api-keys", metavar="FILE", help="file with one API key per line; requests then need Authorization: Bearer")
    p.add_argument("--request-timeout", type=float, metavar="S", help="total limit of one exchange with Ollama in seconds")
    p.add_argument("--idle-timeout", type=float, metavar="S", help="longest silence between two chunks of a reply in seconds")
    p.add_argument("--cors-origin", action="append", metavar="ORIGIN",
                   help="origin browsers may call from, Ollama's OLLAMA_ORIGINS syntax (repeatable; default: same-origin only)")
    p.add_argument("--admin-socket", metavar="PATH", help="unix socket serving model management inside the pod (default: none)")
    p.add_argument("--keep-alive-min", type=float, metavar="S", help="lower bound of a caller's keep_alive in seconds")
    p.add_argument("--keep-alive-max", type=float, metavar="S", help="upper bound of a caller's keep_alive in seconds")
    p.add_argument("--max-models-per-backend", type=int, metavar="N", help="models one backend may hold (its OLLAMA_MAX_LOADED_MODELS)")
    p.add_argument("--backend-memory-bytes", type=int, metavar="N", help="memory of one backend for models, for spreading")
    p.add_argument("--connect-timeout", type=float, metavar="S", help="longest TCP connect to Ollama in seconds")
    p.add_argument("--max-body-bytes", type=int, metavar="N", help="largest request body; larger gets 413")
    p.add_argument("--shutdown-grace", type=float, metavar="S", help="seconds requests in flight get to finish after SIGTERM")
    p.add_argument("--poll-interval", type=float, metavar="S", help="seconds between health/model polls of each backend")
    p.add_argument("--breaker-failures", type=int, metavar="N", help="failures in a row that open a backend's circuit")
    p.add_argument("--breaker-cooldown", type=float, metavar="S", help="seconds an open circuit waits before its probe")
    p.add_argument("--role", choices=("sidecar", "gateway"), help="sidecar (default): in front of the pod's Ollama processes; "
                   "gateway: in front of a pool's worker routers")
    p.add_argument("--worker", action="append", metavar="URL", help="gateway: a worker router http://HOST:PORT (repeatable)")
    p.add_argument("--worker-service", metavar="NAME", help="gateway: discover workers from this Service's EndpointSlices")
    p.add_argument("--worker-namespace", metavar="NS", help="gateway: the namespace of --worker-service")
    p.add_argument("--worker-port-name", metavar="NAME", help="gateway: the EndpointSlice port of the worker routers (default router)")
    p.add_argument("--worker-slots", type=int, metavar="N", help="gateway: slots per model on a worker (default: what it reports)")
    p.add_argument("--prefix-affinity", action=argparse.BooleanOptionalAction, default=None,
                   help="gateway: keep a conversation on one worker, within --hash-load-factor (default on)")
    p.add_argument("--hash-load-factor", type=float, metavar="F", help="gateway: a worker takes at most F x the average load (default 1.25)")
    p.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=None,
                   help="warm every model once before readiness (default on; pool workers: off, the gateway places models)")


def _run_router(args: argparse.Namespace) -> int:
    from catalog_gen.router.config import load_config
    from catalog_gen.router.server import serve

    config = load_config(
        Path(args.config) if args.config else None,
        host=args.host, port=args.port, backends=args.backend, models=args.model,
        slots_per_backend=args.slots, max_queue=args.max_queue, queue_timeout=args.queue_timeout,
        idle_unload=args.idle_unload, api_keys_file=args.api_keys, request_timeout=args.request_timeout,
        connect_timeout=args.connect_timeout, max_body_bytes=args.max_body_bytes, shutdown_grace=args.shutdown_grace,
        poll_interval=args.poll_interval, breaker_failures=args.breaker_failures, breaker_cooldown=args.breaker_cooldown,
        idle_timeout=args.idle_timeout, cors_allowed_origins=args.cors_origin, admin_socket=args.admin_socket,
        keep_alive_min=args.keep_alive_min, keep_alive_max=args.keep_alive_max,
        max_models_per_backend=args.max_models_per_backend, backend_memory_bytes=args.backend_memory_bytes,
        role=args.role, workers=args.worker, worker_service=args.worker_service, worker_namespace=args.worker_namespace,
        worker_port_name=args.worker_port_name, worker_slots=args.worker_slots, prefix_affinity=args.prefix_affinity,
        hash_load_factor=args.hash_load_factor, warm_up=args.warm_up,
    )
    return serve(config)


# --- smoke (smoke helper owns this section) ----------------------------------------------------


def _add_smoke_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("leaves", nargs="+", metavar="LEAF", help="catalog leaf file(s) whose service to test")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--url", help="base URL of the service (default: the leaf's ingress host)")
    where.add_argument("--kube", action="store_true", help="find the service with your kubeconfig and port-forward to it")
    where.add_argument("--in-cluster", action="store_true", help="use the Service's cluster DNS name (for a Job in the cluster)")
    p.add_argument("--context", help="kubeconfig context for --kube (default: the current one)")
    p.add_argument("--port", type=int, help="Service port for --kube / --in-cluster (default: the chart's service port)")
    p.add_argument("--format", choices=("text", "json", "junit"), default="text", help="report format (default: text)")
    p.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    p.add_argument("--timeout", type=float, help="seconds for one request (default: the leaf's smoke.timeoutSeconds)")
    p.add_argument("--warmup", type=float, help="seconds to wait for the service to become ready (default: smoke.warmupSeconds)")
    p.add_argument("--api-key-file", help="file holding the API key to send (default: $CATALOG_GEN_API_KEY)")
    _add_quiet(p)


def _run_smoke(args: argparse.Namespace) -> int:
    from catalog_gen.errors import UsageError
    from catalog_gen.smoke import report
    from catalog_gen.smoke.session import Request, run_request

    if args.timeout is not None and not args.timeout > 0:
        raise UsageError(f"--timeout must be a number of seconds > 0, not {args.timeout}")
    if args.warmup is not None and not args.warmup >= 0:
        raise UsageError(f"--warmup must be a number of seconds >= 0, not {args.warmup}")
    mode = "url" if args.url else "kube" if args.kube else "in-cluster" if args.in_cluster else "ingress"
    request = Request(
        leaves=[Path(p) for p in args.leaves],
        url=args.url,
        mode=mode,
        context=args.context,
        port=args.port,
        timeout=args.timeout,
        warmup=args.warmup,
        api_key_file=Path(args.api_key_file) if args.api_key_file else None,
    )
    with _progress(args) as progress:
        reports = run_request(request, progress=progress)
    _write_output(report.render(reports, args.format), args.output)
    return max(r.exit_code for r in reports)


# --- new / explain (authoring; GitOps helper owns this section) -------------------------------


def _add_new_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", default="catalog", help="catalog folder (default: catalog/); the leaf goes to CATALOG/ENV/NAME.yaml")
    p.add_argument("--name", dest="service_name", help="serviceName (RFC 1123 label, at most 40 characters)")
    p.add_argument("--environment", help="environment, e.g. dev")
    p.add_argument("--namespace", help="Kubernetes namespace")
    p.add_argument("--service-catalog", help="catalog group, e.g. ml-inference")
    p.add_argument("--model", action="append", default=[], metavar="NAME", help="Ollama model, e.g. llama3.1:8b (repeatable)")
    p.add_argument("--model-size", action="append", default=[], metavar="[NAME=]PARAMS",
                   help="size hint of a model whose tag does not say it, e.g. team/coder:1=8B (repeatable; NAME may be left out with one model)")
    p.add_argument("--gpus", type=int, help="GPUs per pod (default 0: CPU)")
    p.add_argument("--gpu-product", help="GPU product label value, e.g. NVIDIA-A10G")
    p.add_argument("--host", help="external host name (enables ingress)")
    p.add_argument("--owner", help="owning team for Backstage, e.g. group:ml-platform (default: from _defaults.yaml)")
    p.add_argument("--out", help="write the leaf here instead of CATALOG/ENV/NAME.yaml")
    p.add_argument("--no-input", action="store_true",
                   help="never ask, even on a terminal: values come from flags, or the default a prompt would offer")


def _run_new(args: argparse.Namespace) -> int:
    from catalog_gen import authoring
    from catalog_gen.errors import CatalogInvalid

    models = [name.strip() for text in args.model for name in text.split(",") if name.strip()]
    answers = authoring.Answers(
        service_name=args.service_name, environment=args.environment, namespace=args.namespace,
        service_catalog=args.service_catalog, models=models, gpus=args.gpus, gpu_product=args.gpu_product,
        host=args.host, owner=args.owner, model_sizes=authoring.parse_model_sizes(args.model_size, models),
    )
    interactive = not args.no_input and sys.stdin.isatty() and sys.stdout.isatty()
    catalog, out = Path(args.catalog), Path(args.out) if args.out else None
    answers = authoring.complete(answers, _TerminalPrompter() if interactive else None, catalog, out)
    try:
        created = authoring.create(answers, catalog, out)
    except CatalogInvalid as invalid:
        _report(invalid.findings, "text", "new", 1, None)
        print("catalog-gen new: the new leaf does not validate, so it was not kept; fix the values above and rerun",
              file=sys.stderr)
        return EXIT_FINDINGS
    if created.findings:
        _report(created.findings, "text", "new", 1, None)
    print(f"created {created.path} (validates with the catalog)")
    for line in _next_steps(created.path, catalog):
        print(line)
    return EXIT_OK


class _TerminalPrompter:
    """`new`'s questions on a terminal: input() to ask, stderr for the complaints."""

    def ask(self, prompt: str) -> str:
        return input(prompt)

    def tell(self, line: str) -> None:
        print(line, file=sys.stderr)


def _next_steps(leaf: Path, catalog: Path) -> list[str]:
    """What to run next, with the paths this run used (a catalog elsewhere than catalog/ included)."""
    import shlex

    inside = os.path.abspath(leaf).startswith(os.path.abspath(catalog) + os.sep)
    where = shlex.quote(str(catalog)) if inside else f"{shlex.quote(str(catalog))} {shlex.quote(str(leaf))}"
    render = f"catalog-gen render {where} --prune" if str(catalog) != "catalog" or not inside else "catalog-gen render --prune"
    return [f"next: catalog-gen plan {shlex.quote(str(leaf))}   # what the chart will be, and why",
            f"      {render} && catalog-gen lint --crds <your CRDs>   # then commit the leaf and charts/"]


def _add_explain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("field", nargs="?", help="a leaf field by its YAML path, e.g. autoscaling.targetQueueDepth or models[].digest")
    p.add_argument("--list", action="store_true", help="list every field path")
    p.add_argument("--reference", action="store_true", help="print the Markdown field reference (docs/leaf-reference.md)")
    p.add_argument("--write", metavar="FILE", help="with --reference: write it to FILE (maintainers)")


def _run_explain(args: argparse.Namespace) -> int:
    from catalog_gen.catalog import explain

    if args.write and not args.reference:
        raise CatalogGenError("--write goes with --reference", hint="run `catalog-gen explain --reference --write docs/leaf-reference.md`")
    if args.reference:
        text = explain.reference_markdown()
        if args.write:
            _write_output(text, args.write)
            print(f"wrote {args.write}")
        else:
            sys.stdout.write(text)
        return EXIT_OK
    if args.list:
        sys.stdout.write("".join(f"{path}\n" for path in explain.field_index()))
        return EXIT_OK
    if not args.field:
        raise CatalogGenError("name a field, e.g. `catalog-gen explain autoscaling.targetQueueDepth`",
                              hint="`catalog-gen explain --list` lists every field")
    sys.stdout.write(explain.explain_text(args.field))
    return EXIT_OK


# --- pin / mirror (registry helper owns this section) -----------------------------------------


def _add_pin_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", default=["catalog"], help="leaf files or catalog folders (default: catalog/)")
    p.add_argument("--update", action="store_true", help="re-resolve every model, pinned or not, and write the new digests")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 naming every pinned tag that moved, 2 when a registry cannot be reached")
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    p.add_argument("--output", "-o", help="write the report to this file instead of stdout")


def _registry_leaves(paths: list[str], tool: str):
    """Targets of the valid leaves under `paths`; None (after reporting) when the catalog has errors."""
    from catalog_gen.catalog.validate import validate_paths
    from catalog_gen.registry.targets import collect

    result = validate_paths([Path(p) for p in paths])
    if has_errors(result.findings):
        _report(result.findings, "text", "validate", result.files_checked, None)
        print(f"catalog-gen {tool}: the catalog has errors; fix them first (nothing was changed)", file=sys.stderr)
        return None, result.files_checked
    return collect(result.leaves), result.files_checked


def _run_pin(args: argparse.Namespace) -> int:
    from catalog_gen.registry.pin import run_pin

    if args.check and args.update:
        raise CatalogGenError("--check and --update do not go together", hint="`pin --check` compares, `pin --update` writes")
    targets, files = _registry_leaves(args.paths, "pin")
    if targets is None:
        return EXIT_FINDINGS
    outcome = run_pin(targets, update=args.update, check=args.check)
    _report(outcome.findings, args.format, "pin --check" if args.check else "pin", files, args.output)
    if args.format == "text" and not args.output:
        for path in outcome.files_written:
            print(f"wrote {path}")
    return outcome.exit_code


def _add_mirror_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="leaf files or catalog folders whose models to copy")
    p.add_argument("--to", required=True, metavar="REGISTRY", help="internal registry host[:port] (no scheme), e.g. registry.internal:5000")
    p.add_argument("--insecure", action="store_true", help="talk to --to over plain HTTP")
    p.add_argument("--spool", metavar="DIR", help="folder for blobs in transit; an interrupted copy resumes from it "
                   "(default: $XDG_CACHE_HOME/catalog-gen/blobs)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def _run_mirror(args: argparse.Namespace) -> int:
    import time

    from catalog_gen.errors import UsageError
    from catalog_gen.registry.names import BadName, check_host
    from catalog_gen.registry.plan_mirror import jobs_for, run_mirror

    try:
        to = check_host(args.to)
    except BadName as exc:
        raise UsageError(f"--to {args.to}: {exc}", hint="e.g. --to registry.internal:5000 (add --insecure for plain HTTP)") from exc
    spool = Path(args.spool) if args.spool else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "catalog-gen" / "blobs"
    targets, _ = _registry_leaves(args.paths, "mirror")
    if targets is None:
        return EXIT_FINDINGS
    jobs = jobs_for(targets, to)
    last = [0.0]

    def progress(event: str, model: str, digest: str, size: int) -> None:
        if args.quiet:
            return
        short = digest[7:19]
        if event == "manifest":
            print(f"{model}: manifest {short}", file=sys.stderr)
        elif event == "skip":
            print(f"{model}: blob {short} ({size} bytes) already in {to}", file=sys.stderr)
        elif event == "start":
            print(f"{model}: blob {short} ({size} bytes) copying", file=sys.stderr)
        elif event == "bytes" and time.monotonic() - last[0] > 2:
            last[0] = time.monotonic()
            print(f"{model}: blob {short} downloading ...", file=sys.stderr)
        elif event == "done":
            print(f"{model}: blob {short} copied", file=sys.stderr)
        elif event == "tag-skip":
            print(f"{model}: {to} already has this manifest under the tag", file=sys.stderr)

    outcome = run_mirror(jobs, to, insecure=args.insecure, spool=spool, on_event=progress)
    for r in outcome.results:
        state = "manifest written" if r.manifest_pushed else "up to date"
        print(f"{r.model} -> {r.destination}: digest {r.digest}, {r.blobs_copied} blob(s) copied ({r.bytes_copied} bytes), "
              f"{r.blobs_skipped} already there, {state}")
    for err in outcome.errors:
        print(f"catalog-gen mirror: {err}", file=sys.stderr)
    copied = sum(r.blobs_copied for r in outcome.results)
    print(f"mirror: {len(outcome.results)} of {len(jobs)} model(s) in {to}, {copied} blob(s) copied, "
          f"{sum(r.blobs_skipped for r in outcome.results)} skipped, {len(outcome.errors)} failed")
    return EXIT_USAGE if outcome.errors else EXIT_OK


# --- table of subcommands ---------------------------------------------------------------------

COMMANDS = {
    "validate": ("check catalog leaves against the schema and the catalog rules", _add_validate_args, _run_validate),
    "schema": ("print the JSON Schema of a workloadType", _add_schema_args, _run_schema),
    "render": ("render each leaf into a Helm chart (atomic, deterministic)", _add_render_args, _run_render),
    "plan": ("print every decision derived from a leaf, and why", _add_plan_args, _run_plan),
    "ci": ("validate, render --check and lint in one pass: the command for CI pipelines", _add_ci_args, _run_ci),
    "lint": ("lint rendered charts: real Helm, strict Kubernetes and CRD schemas, policies", _add_lint_args, _run_lint),
    "checks": ("list the lint checks", _add_checks_args, _run_checks),
    "router": ("run the model-aware router in front of Ollama processes", _add_router_args, _run_router),
    "smoke": ("run post-deploy smoke checks derived from a leaf against a live service", _add_smoke_args, _run_smoke),
    "new": ("scaffold a new leaf that validates at once (asks on a terminal, flags otherwise)", _add_new_args, _run_new),
    "explain": ("explain a leaf field: meaning, type, default and an example", _add_explain_args, _run_explain),
    "pin": ("resolve model tags to the digests Ollama will report and write them into the leaves", _add_pin_args, _run_pin),
    "mirror": ("copy the leaves' models into an internal registry (resumable, digests verified)", _add_mirror_args, _run_mirror),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalog-gen",
        description="Catalog leaves to Helm charts for Ollama inference services. "
        "Exit codes: 0 clean, 1 findings/failed checks, 2 usage or internal error.",
    )
    parser.add_argument("--version", action="version", version=f"catalog-gen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own message; usage errors are exit 2
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    forget_committed()
    previous = _terminate_raises() if args.command != "router" else None  # the router drains on SIGTERM itself
    try:
        _check_paths(args)
        return args.run(args)
    except CatalogGenError as err:
        print(f"catalog-gen {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as stop:
        signal_name = "SIGTERM" if isinstance(stop, Terminated) else "Ctrl-C (SIGINT)"
        done = committed()
        outcome = (f"{' and '.join(done)} had already been written whole; only clean-up was skipped" if done
                   else "unfinished work was undone")
        print(f"catalog-gen {args.command}: interrupted by {signal_name}; {outcome}", file=sys.stderr)
        return EXIT_SIGTERM if isinstance(stop, Terminated) else EXIT_SIGINT
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug of ours: say so plainly, no traceback unless asked
        if os.environ.get("CATALOG_GEN_DEBUG"):
            raise
        print(
            f"catalog-gen {args.command}: internal error: {type(exc).__name__}: {exc}\n"
            "  hint: this is a bug in catalog-gen; rerun with CATALOG_GEN_DEBUG=1 for the traceback and report it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)


def _terminate_raises():
    """SIGTERM (CI cancelling a job) raises Terminated, so cleanup runs as for Ctrl-C; the previous handler, or None."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def terminate(signum, frame):
        raise Terminated

    return signal.signal(signal.SIGTERM, terminate)


def _check_paths(args: argparse.Namespace) -> None:
    """Output and --crds paths, checked before any work: a wrong one is a message and exit 2, not a late crash."""
    from catalog_gen.fsutil import check_output_file

    if getattr(args, "output", None):
        check_output_file(args.output)
    for folder in getattr(args, "crds", None) or []:
        if not Path(folder).is_dir():
            raise CatalogGenError(f"--crds {folder}: not a directory", hint="name a folder that holds CRD YAML files")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
