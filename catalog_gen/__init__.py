"""catalog-gen: catalog leaves to Helm charts, lint, router and smoke tests for Ollama on Kubernetes."""

__version__ = "0.1.0"
__all__ = ["__version__"]
