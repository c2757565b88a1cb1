"""Rendered Modelfiles read back unchanged by a port of Ollama's own parser (fake_modelfile)."""

from __future__ import annotations

import pytest
from fake_modelfile import ModelfileParseError, format_params, parse_modelfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_gen.catalog.model import ModelSpec
from catalog_gen.plan.modelfile import ModelfileError, quote_value, render_modelfile

# Text a system prompt or template plausibly holds, weighted towards what breaks quoting.
ALPHABET = st.sampled_from(list('ab "\n\t\r#\'`$(){}.:') + ['"""', "\u00e9", "\u4e2d", "\u00a0", "\x07", "\u2028"])
TEXT = st.lists(ALPHABET, max_size=40).map("".join)


def _spec(**modelfile) -> ModelSpec:
    return ModelSpec.model_validate({"name": "bot:1", "modelfile": {"from": "llama3.2:1b", **modelfile}})


def _forms(value: str) -> list[str]:
    return ([value] if value else []) + [f'"{value}"', f'"""{value}"""']


def _reads_back(value: str, form: str) -> bool:
    try:
        return parse_modelfile(f"FROM x\nSYSTEM {form}\n") == [("model", "x"), ("system", value)]
    except ModelfileParseError:
        return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(system=TEXT, template=TEXT)
def test_system_and_template_survive_ollamas_parser_or_are_refused_for_a_reason(system, template):
    spec = _spec(system=system, template=template)
    try:
        text = render_modelfile(spec)
    except ModelfileError:
        refused = system if quote_value(system) is None else template
        assert not any(_reads_back(refused, form) for form in _forms(refused))  # no form Ollama reads back exists
        return
    assert format_params(parse_modelfile(text)) == {"from": "llama3.2:1b", "system": system, "template": template}


@settings(max_examples=200, deadline=None)
@given(stops=st.lists(TEXT.filter(lambda s: quote_value(s) is not None and s != ""), min_size=1, max_size=4),
       temperature=st.floats(min_value=0, max_value=2, allow_nan=False), num_ctx=st.integers(256, 131072))
def test_parameters_come_back_typed_as_the_cli_sends_them(stops, temperature, num_ctx):
    spec = _spec(parameters={"stop": stops, "temperature": temperature, "num_ctx": num_ctx, "use_mmap": False})

    body = format_params(parse_modelfile(render_modelfile(spec)))

    assert body["parameters"] == {"stop": stops, "temperature": temperature, "num_ctx": num_ctx, "use_mmap": False}


@pytest.mark.parametrize("value", [
    'He said "hi"',
    'line one\nline two ends with a quote"\nthree',
    '"starts with a quote',
    '  padded  ',
    "",
    "{{ if .System }}<|system|>\n{{ .System }}{{ end }}<|user|>\n{{ .Prompt }}",
])
def test_awkward_values_round_trip(value):
    text = render_modelfile(_spec(system=value))
    assert dict(parse_modelfile(text))["system"] == value


def test_a_value_no_quoting_can_carry_is_refused_naming_the_field():
    value = 'ends in a quote"\nthen ends in three"""\nmore'
    with pytest.raises(ModelfileError, match=r"model 'bot:1': system cannot be quoted"):
        render_modelfile(_spec(system=value))
    assert not any(_reads_back(value, form) for form in _forms(value))


def test_a_control_character_the_parser_drops_is_refused():
    with pytest.raises(ModelfileError, match=r"system holds a control character \(U\+0007\), which Ollama's Modelfile parser drops"):
        render_modelfile(_spec(system="ding\x07"))
    assert dict(parse_modelfile('FROM x\nSYSTEM "ding\x07"\n'))["system"] == "ding"  # what would have happened
