"""Post-deploy smoke checks derived from a leaf (`catalog-gen smoke`).

session.py turns a command line into runs; runner.py runs one leaf against one
URL (warm-up, checks, latency summary, diagnostics); checks.py lists the checks
a leaf asks for (model_checks.py, service_checks.py, over context.py); measure.py
times one streamed request; kube.py finds the service, diagnostics.py explains
a broken workload; report.py writes text, json and junit. Nothing here imports
the router or the CLI.
"""
