"""The smoke checks a leaf asks for, each a named test case.

``plan(leaf)`` lists them in run order; a check is an async function of the
``Context`` that returns its figures or raises ``Failed`` (the service answered
wrongly) or ``Skip``. Any other exception is an ``error`` (no usable answer).
Names are stable (CI history is keyed on them): ``server.*``, ``router.*``,
``models.*[<model>]``, ``stream.*[<model>]``, ``openai.*``, ``concurrency``,
``security.*``.

Root causes, not cascades: when a model is missing or does not answer, the
checks that need it afterwards are skipped with a pointer to the failed check
(``ctx.unavailable``), so one broken model reads as one failure. A missed
latency objective does not make a model unavailable.
"""

from __future__ import annotations

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.smoke import model_checks, service_checks
from catalog_gen.smoke.context import Check


def plan(leaf: OllamaInferenceLoad) -> list[Check]:
    """The checks the leaf asks for, in run order (concurrency after the single-request checks)."""
    checks = [Check("server.root", service_checks.server_root), Check("server.version", service_checks.server_version)]
    if leaf.router.enabled:
        checks.append(Check("router.readyz", service_checks.router_ready))
    specs = leaf.model_specs
    checks += [model_checks.listed(spec, i) for i, spec in enumerate(specs)]
    checks += [model_checks.answers(spec) for spec in specs]
    checks += [model_checks.streaming(spec) for spec in specs if spec.kind == "text"]
    checks += [
        Check("openai.models", service_checks.openai_models),
        Check("openai.chat", service_checks.openai_chat),
        Check("openai.chat_stream", service_checks.openai_chat_stream),
        Check("concurrency", service_checks.concurrency),
        Check("security.admin_closed", service_checks.admin_closed),
        Check("security.api_keys", service_checks.api_keys),
    ]
    return checks
