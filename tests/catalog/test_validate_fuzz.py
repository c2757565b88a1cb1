"""`catalog-gen validate` on mangled leaves: exit 0 or 1 and findings, never a traceback or an internal error."""

from __future__ import annotations

import contextlib
import io
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from catalog_fixtures import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_gen import cli

BASES = [p.read_text(encoding="utf-8") for p in sorted((REPO / "catalog").rglob("*.yaml")) if not p.name.startswith("_")]
TRICKY = ["yes", "no", "~", "null", "-1", "0", "1e999", ".nan", "-.inf", "0x10", "0o7", "[]", "{}", "[1, 2]", "{a: b}",
          '"', "'", "&a", "*a", "!!binary aGk=", "!!int x", "!custom 1", "|", ">-", "@x", "`x`", "%TAG", "<<: {}",
          "'$(reboot)'", '"{{ .Release.Name }}"', "phi@sha256:abc", "a" * 300, "é", "\u2028", "-", "? a", "- - -"]
YAML_ALPHABET = st.sampled_from(list(":-[]{},&*!|>'\"%@`#?\t\n ") + ["\x00", "\x07", "é", "\ufeff", "a", "1", "."])
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def run_cli(data: bytes, fmt: str) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leaf.yaml"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["validate", str(path), "--format", fmt])
    return code, out.getvalue(), err.getvalue()


def check(data: bytes) -> None:
    code, out, err = run_cli(data, "json")
    assert code in (0, 1), err
    assert err == ""
    report = json.loads(out)
    for finding in report["findings"]:
        assert finding["message"] and finding["code"]
        assert isinstance(finding["line"], int) and isinstance(finding["column"], int)
    assert (code == 1) == (report["summary"]["errors"] > 0)


@st.composite
def mangled_text(draw) -> bytes:
    text = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["insert", "delete", "value", "duplicate", "indent", "dedent", "truncate"]))
        if how == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.text(YAML_ALPHABET, min_size=1, max_size=8)) + text[at:]
        elif how == "delete":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif how == "value" and ":" in lines[i]:
            lines[i] = lines[i].split(":", 1)[0] + ": " + draw(st.sampled_from(TRICKY))
            text = "\n".join(lines)
        elif how == "duplicate":
            lines.insert(i, lines[i])
            text = "\n".join(lines)
        elif how == "indent":
            lines[i] = "  " + lines[i]
            text = "\n".join(lines)
        elif how == "dedent":
            lines[i] = lines[i].lstrip()
            text = "\n".join(lines)
        else:
            text = text[: draw(st.integers(0, len(text)))]
    data = text.encode("utf-8")
    if draw(st.booleans()) and draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return data


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def wrong_values(draw) -> bytes:
    """A valid leaf with one value anywhere replaced by any JSON-like value: exercises the schema error sentences."""
    data = yaml.safe_load(draw(st.sampled_from(BASES)))
    node = data
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        if isinstance(node[key], (dict, list)) and node[key] and draw(st.booleans()):
            node = node[key]
            continue
        node[key] = draw(JSONISH)
        break
    if draw(st.booleans()):
        node = data if not isinstance(node, dict) else node
        if isinstance(node, dict):
            node[draw(st.text(min_size=1, max_size=12))] = draw(JSONISH)
    return json.dumps(data).encode("utf-8")  # JSON is YAML; yaml.safe_dump would write YAML 1.1 forms


@SETTINGS
@given(mangled_text())
def test_mangled_text_gets_findings_not_tracebacks(data):
    check(data)


@SETTINGS
@given(wrong_values())
def test_wrong_values_get_findings_not_tracebacks(data):
    check(data)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(mangled_text(), st.sampled_from(["text", "github", "junit", "sarif"]))
def test_every_format_survives_mangled_input(data, fmt):
    code, out, err = run_cli(data, fmt)
    assert code in (0, 1) and err == ""
    assert out.endswith("\n")


def test_the_real_process_on_many_mangled_leaves(tmp_path):
    """One real `catalog-gen validate` over two hundred mangled leaves: findings, exit 1, nothing on stderr."""
    rng = random.Random(7)
    for n in range(200):
        text = rng.choice(BASES)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + "".join(rng.choice(":-[]{},&*!|>'\"%\t\n #a1") for _ in range(rng.randint(1, 5))) + text[at + rng.randint(0, 5):]
        (tmp_path / f"leaf-{n:03d}.yaml").write_text(text, encoding="utf-8")
    catalog_gen = Path(sys.executable).parent / "catalog-gen"
    done = subprocess.run([str(catalog_gen), "validate", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == ""
    assert "Traceback" not in done.stdout
    assert "200 files checked" in done.stdout


QUANTITIES = ["1", "500m", "0", "0.5", "2Gi", "4G", "1e3", "100Mi", "80Gi", "1Ti", "1.5", 2, 0, 0.25, 10**12]


@st.composite
def valid_shaped_leaves(draw) -> bytes:
    """Leaves the schema accepts, with settings combined at random: exercises the rules (and sizing) on odd mixes."""
    data = yaml.safe_load(draw(st.sampled_from(BASES)))
    data["gpu"] = {"count": draw(st.integers(0, 16)), "vendor": draw(st.sampled_from(["nvidia", "amd", "none"]))}
    if draw(st.booleans()):
        data["gpu"]["product"] = draw(st.sampled_from(["NVIDIA-A10G", "NVIDIA-L4", "X"]))
    data["ollama"] = {"processes": draw(st.integers(1, 16))}
    if draw(st.booleans()):
        data["ollama"]["numParallel"] = draw(st.integers(1, 64))
        data["ollama"]["contextLength"] = draw(st.integers(256, 1048576))
    data["container"] = {"preset": draw(st.sampled_from(["auto", "cpu-small", "cpu-large", "gpu-small", "gpu-medium", "gpu-large", "multi-gpu"]))}
    if draw(st.booleans()):
        data["container"]["resources"] = {
            side: {k: draw(st.sampled_from(QUANTITIES)) for k in draw(st.sets(st.sampled_from(["cpu", "memory", "ephemeral-storage"])))}
            for side in draw(st.sets(st.sampled_from(["requests", "limits"])))
        }
    data["cache"] = {"mode": draw(st.sampled_from(["emptyDir", "pvc", "shared"]))}
    if draw(st.booleans()):
        data["cache"]["size"] = draw(st.sampled_from(QUANTITIES))
    data["router"] = {"enabled": draw(st.booleans())}
    data["autoscaling"] = {"enabled": draw(st.booleans()), "minReplicas": draw(st.integers(0, 5)), "maxReplicas": draw(st.integers(1, 5)),
                           "scaleToZero": draw(st.booleans())}
    return json.dumps(data).encode("utf-8")


@SETTINGS
@given(valid_shaped_leaves())
def test_odd_but_valid_combinations_get_findings_not_tracebacks(data):
    check(data)
