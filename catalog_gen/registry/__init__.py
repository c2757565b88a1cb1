"""OCI registries the way Ollama uses them: tag -> manifest -> digest, pins written into leaves, mirrors.

Modules: `names` (model name -> registry reference), `client` (the OCI distribution API),
`auth` (Docker config credentials, token challenges), `errors`, `targets` (the models of
leaves and where they are written), `pin`, `mirror` (copy one model) and `plan_mirror`
(copy the models of leaves). See docs/registry.md.
"""

from catalog_gen.registry.client import Registry
from catalog_gen.registry.errors import (
    DigestMismatch,
    RegistryError,
    RegistryRefused,
    Unauthorized,
    Unreachable,
    UnknownTag,
)
from catalog_gen.registry.names import ModelRef, parse

__all__ = [
    "DigestMismatch",
    "ModelRef",
    "Registry",
    "RegistryError",
    "RegistryRefused",
    "Unauthorized",
    "UnknownTag",
    "Unreachable",
    "parse",
]
