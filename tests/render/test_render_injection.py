"""Leaf strings reach the chart only as data: Helm gives them back literally, and a model name cannot carry them.

A string holding Helm template syntax, quotes, newlines, shell substitutions or YAML line
breaks goes into values.yaml and comes out of real Helm exactly as written, wherever the
chart uses it: a custom model's system prompt (the Modelfile in the ConfigMap), an extra
environment variable of Ollama, the ownership and the smoke prompt (the resolved leaf the
smoke Job reads).
"""

from __future__ import annotations

import json

import helm_python
import pytest
import render_helpers as h
import yaml
from render_helpers import env_of

from catalog_gen.catalog.model import ModelSpec
from catalog_gen.errors import CatalogInvalid
from catalog_gen.plan.modelfile import render_modelfile
from catalog_gen.render.run import render_catalog

NASTY = [
    '{{ .Release.Name }}',
    '{{- fail "boom" }}{{ include "catalog-gen.fullname" . }}',
    'say "hi" and \'bye\'',
    'first line\nsecond line\n  indented\ttab',
    '$(reboot) `reboot` ${HOME} ; rm -rf / && echo pwned | tee /x',
    'back\\slash \\n not a newline',
    'line\u2028separator next\u2029paragraph \u0085next-line and \u00e9\u00e8 unicode',
    '# not a comment: [a, b] {c: d} &anchor *alias !tag %',
    'bell\x07 del\x7f c1\x80\x9f nel\x85 bom\ufeff end',
    'true',
    '',
]


def modelfile_text(text: str) -> str:
    """Ollama's Modelfile parser drops what is not printable (U+2028 among them): render refuses it there."""
    return "".join(c if c.isprintable() or c in "\n\t" else " " for c in text)


def injected_leaf(text: str) -> dict:
    prompt = modelfile_text(text)
    return h.leaf(
        serviceName="inject",
        model=None,
        models=[{"name": "llama3.2:3b"},
                {"name": "helper:1", "modelfile": {"from": "llama3.2:3b", "system": prompt, "template": prompt,
                                                  "parameters": {"stop": [prompt or "x"]}}}],
        ollama={"env": {"EXTRA_SETTING": text}},
        ownership={"owner": text or "nobody", "system": text or "none"},
        smoke={"prompt": text or "hello"},
    )


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_leaf_strings_come_out_of_helm_literally(tmp_path, text):
    data = injected_leaf(text)
    chart = h.render_leaf(tmp_path, data)

    (container,) = chart.ollama_containers()
    assert env_of(container)["EXTRA_SETTING"] == text

    spec = ModelSpec.model_validate(data["models"][1])
    modelfiles = {k: v for k, v in chart.config.items() if k.endswith(".Modelfile")}
    assert list(modelfiles.values()) == [render_modelfile(spec)]  # byte for byte what the plan wrote
    if text.strip():
        assert "helper:1" in chart.config["models.tsv"]

    smoke_leaf = yaml.safe_load(chart.config["smoke-leaf.yaml"])
    assert smoke_leaf["ownership"]["owner"] == (text or "nobody")
    assert smoke_leaf["ownership"]["system"] == (text or "none")
    assert smoke_leaf["smoke"]["prompt"] == (text or "hello")
    assert smoke_leaf["models"][1]["modelfile"]["system"] == modelfile_text(text)

    # and the release name never leaked in where the text was
    if "{{" in text:
        everything = json.dumps(chart.objects)
        assert "{{ .Release.Name }}" in everything or "{{- fail" in everything


def test_values_yaml_reads_back_as_the_leaf_strings(tmp_path):
    """values.yaml, read by a YAML parser, holds the strings exactly (JSON-style quoting, escapes for YAML line breaks)."""
    text = "\n".join(NASTY)
    data = injected_leaf("x")
    data["ollama"]["env"]["EXTRA_SETTING"] = text
    data["ownership"]["owner"] = text[-253:]  # at most 253 characters; the tail holds the YAML line breaks
    h.render_leaves(tmp_path, [data])
    values = yaml.safe_load((tmp_path / "charts" / "dev" / "inject" / "values.yaml").read_text(encoding="utf-8"))
    assert values["ollama"]["extraEnv"] == {"EXTRA_SETTING": text}
    assert values["smoke"]["leaf"]["ownership"]["owner"] == text[-253:]


def test_a_modelfile_ollama_cannot_parse_renders_nothing(tmp_path):
    catalog = tmp_path / "catalog"
    h.write_leaf(catalog, h.leaf(model=None, models=[
        {"name": "llama3.2:3b"}, {"name": "helper:1", "modelfile": {"from": "llama3.2:3b", "system": "a\u2028b"}}]))
    out = tmp_path / "charts"
    with pytest.raises(CatalogInvalid) as caught:
        render_catalog([catalog], out)
    found = [f for f in caught.value.findings if f.code == "leaf.modelfile"]
    assert [f.pointer for f in found] == ["/models/1/modelfile"] and "U+2028" in found[0].message
    assert not [p for p in out.rglob("*")] if out.exists() else True


@pytest.mark.parametrize("name", [
    "llama3{{ .Release.Name }}",
    "llama3:$(reboot)",
    "llama3`id`",
    'llama3"x',
    "llama3'x",
    "llama3\nx",
    "llama3;reboot",
    "llama3 x",
    "../../etc/passwd",
])
def test_a_model_name_cannot_carry_them(tmp_path, name):
    catalog = tmp_path / "catalog"
    h.write_leaf(catalog, h.leaf(model=name))
    out = tmp_path / "charts"
    with pytest.raises(CatalogInvalid) as caught:
        render_catalog([catalog], out)
    assert any("model" in f.pointer for f in caught.value.findings)
    assert not out.exists()  # an invalid catalog renders nothing


@pytest.mark.parametrize("name", ["x{{ .Release.Name }}", "x$(reboot)", "x\ny", "x" * 501, "x:" + "y" * 499])
def test_values_schema_refuses_such_a_model_name_from_set(zoo, name):
    """An operator's `--set models[0].name=...` is refused by values.schema.json, which Helm enforces."""
    chart = zoo["plain"]
    models = [dict(m) for m in chart.values["models"]]
    models[0]["name"] = name
    with pytest.raises(helm_python.HelmValuesError):
        helm_python.Chart.load(chart.chart).render(values={"models": models}, name="plain", namespace="ml-test")
