"""Regular expressions shared by the leaf schema and the semantic checks.

Each is written once, anchored, and valid both as an ECMA-262 pattern (JSON
Schema, editors) and as a Python / Rust regex (pydantic). ``FRIENDLY`` maps a
pattern to the words used when a value does not match it, so a schema error
reads "is not a Kubernetes quantity" instead of echoing the regex.
"""

from __future__ import annotations

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# RFC 1035 label: what Kubernetes requires of a Service name (it becomes a DNS name): starts with a letter.
DNS_1035_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
# A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
LABEL_KEY = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
QUANTITY = r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$"
# A quantity of bytes: no `m`, `u` or `n` suffix (`500m` of memory is half a byte).
BYTES = r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[kMGTPE]|([eE][+-]?[0-9]+))?$"
DURATION = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"
# Durations as the objects they reach check them: Gateway API (HTTPRoute timeouts), Prometheus (ServiceMonitor
# intervals; the CRD pattern also matches "", so fields add a minimum length), Flux (metav1.Duration, no ns/us).
GATEWAY_DURATION = r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"
PROMETHEUS_DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
FLUX_DURATION = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
KEEP_ALIVE = r"^-?([0-9]+|([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+)$"
DIGEST = r"^[a-f0-9]{64}$"
# [host[:port]/][namespace/]model[:tag]; every part starts with a letter, digit or `_`.
MODEL_NAME = (
    r"^([A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}/)?([A-Za-z0-9_][A-Za-z0-9_-]{0,79}/)?"
    r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,79})?$"
)
PARAMETER_COUNT = r"^([0-9]+x)?[0-9]+(\.[0-9]+)?[MBT]$"
QUANTIZATION = r"^[A-Za-z0-9_]{2,16}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
IMAGE_REPOSITORY = r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
IMAGE_TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
HTTP_PATH = r"^/[A-Za-z0-9/._~%!$&'()*+,;=:@-]*$"

FRIENDLY: dict[str, tuple[str, str]] = {
    DNS_LABEL: ("is not a valid RFC 1123 label", "use lower-case letters, digits and '-', starting and ending with a letter or digit"),
    DNS_SUBDOMAIN: ("is not a valid RFC 1123 name", "use lower-case letters, digits, '-' and '.'"),
    DNS_1035_LABEL: ("is not a valid RFC 1035 label (a Service name)",
                     "start with a lower-case letter, then lower-case letters, digits and '-', ending with a letter or digit"),
    LABEL_KEY: ("is not a valid label key", "write `name` or `prefix/name`: a DNS subdomain prefix, then at most 63 letters, "
                "digits, '-', '_' and '.', starting and ending with a letter or digit"),
    BYTES: ("is not a size in bytes", "write a number with a byte suffix, e.g. 512Mi, 4Gi, 1Ti (`m` means thousandths: "
            "`500m` would be half a byte)"),
    LABEL_VALUE: ("is not a valid label value", "use letters, digits, '-', '_' and '.', at most 63 characters"),
    QUANTITY: ("is not a Kubernetes quantity", "write a number with an optional suffix, e.g. 500m, 2, 4Gi"),
    DURATION: ("is not a duration", "write a Go duration such as 30s, 5m or 1h30m"),
    GATEWAY_DURATION: ("is not a Gateway API duration", "write whole numbers with h, m, s or ms, e.g. 600s or 1h30m "
                       "(no fractions, at most 99999 per unit)"),
    PROMETHEUS_DURATION: ("is not a Prometheus duration", "write whole numbers with y, w, d, h, m, s or ms in that order, e.g. 30s or 1m30s"),
    FLUX_DURATION: ("is not a Flux interval", "write a duration with ms, s, m or h, e.g. 5m or 1h"),
    KEEP_ALIVE: ("is not a keep-alive value", "write seconds (300), a duration (5m) or a negative value to keep forever"),
    DIGEST: ("is not a model digest", "use all 64 lower-case hex characters of the digest /api/tags reports, without `sha256:` "
             "(`ollama list` shows only the first 12)"),
    MODEL_NAME: (
        "is not a valid Ollama model name",
        "use [host[:port]/][namespace/]model[:tag] with letters, digits, '_', '-', '.'; no '@sha256:' (pin with `digest:`)",
    ),
    PARAMETER_COUNT: ("is not a parameter count", "write e.g. 8B, 0.5B, 350M or 8x7B"),
    QUANTIZATION: ("is not a quantization level", "write it as Ollama reports it, e.g. Q4_K_M, Q8_0, F16"),
    ENV_NAME: ("is not a valid environment variable name", "use letters, digits and '_', not starting with a digit"),
    SECRET_KEY: ("is not a valid Secret key", "use letters, digits, '-', '_' and '.'"),
    IMAGE_REPOSITORY: ("is not an image repository", "write e.g. ollama/ollama or registry.example.com/team/image, without a tag"),
    IMAGE_TAG: ("is not an image tag", "write a version such as 0.32.15"),
    HTTP_PATH: ("is not an HTTP path prefix", "start with '/' and use URL-safe characters"),
}
