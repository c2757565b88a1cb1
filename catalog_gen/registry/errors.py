"""Registry failures, as part of the project's one hierarchy (catalog_gen/errors.py)::

    ToolError                  exit 2
    └── RegistryError          exit 2  names the model, the registry URL and the status
        ├── Unreachable        exit 2  no answer (DNS, connection refused, TLS, timeout)
        ├── Unauthorized       exit 2  401/403 after the token dance
        ├── UnknownTag         exit 2  404 on the manifest: the tag (or repository) is not there
        ├── DigestMismatch     exit 2  a blob or manifest does not hash to its digest
        └── RegistryRefused    exit 2  any other status (the body's message included)

``kind`` is the status word reports use (``unreachable``, ``unauthorized``,
``unknown-tag``, ``digest-mismatch``, ``refused``).
"""

from __future__ import annotations

from catalog_gen.errors import ToolError


class RegistryError(ToolError):
    kind = "refused"

    def __init__(self, model: str, url: str, status: str, *, hint: str = "") -> None:
        self.model, self.url, self.status = model, url, status
        super().__init__(f"model {model}: {url}: {status}", hint=hint)


class Unreachable(RegistryError):
    kind = "unreachable"


class Unauthorized(RegistryError):
    kind = "unauthorized"


class UnknownTag(RegistryError):
    kind = "unknown-tag"


class DigestMismatch(RegistryError):
    kind = "digest-mismatch"


class RegistryRefused(RegistryError):
    kind = "refused"
