"""Modelfile rendering and the pull script's data file.

That the rendered text reads back unchanged through Ollama's parser is tested in
tests/scripts/test_modelfile_roundtrip.py (with a port of that parser)."""

from __future__ import annotations

import pytest

from catalog_gen.catalog.model import ModelSpec
from catalog_gen.plan.modelfile import (
    HEADER,
    ModelfileError,
    modelfile_key,
    modelfile_problems,
    models_data_files,
    quote_value,
    render_modelfile,
)


def custom(name="support-bot:1", **modelfile) -> ModelSpec:
    return ModelSpec.model_validate({"name": name, "modelfile": {"from": "llama3.2:3b", **modelfile}})


def test_a_modelfile_has_from_system_template_and_sorted_parameters():
    spec = custom(system="You are the support assistant.\nAnswer briefly.\n", template="{{ .Prompt }}",
                  parameters={"temperature": 0.2, "num_ctx": 8192, "stop": ["<|eot_id|>", "User:"], "use_mmap": True})
    assert render_modelfile(spec) == HEADER + (
        "FROM llama3.2:3b\n"
        'SYSTEM "You are the support assistant.\nAnswer briefly.\n"\n'
        "TEMPLATE {{ .Prompt }}\n"
        "PARAMETER num_ctx 8192\n"
        "PARAMETER stop <|eot_id|>\n"
        "PARAMETER stop User:\n"
        "PARAMETER temperature 0.2\n"
        "PARAMETER use_mmap true\n"
    )


@pytest.mark.parametrize("value, expected", [
    ("plain words", "plain words"),
    ("two\nlines", '"two\nlines"'),
    (" padded", '" padded"'),
    ('"quoted start', '""quoted start"'),
    ('a line ending in a quote"\nnext', '"""a line ending in a quote"\nnext"""'),
    ("", '""'),
])
def test_values_take_the_simplest_form_the_parser_reads_back(value, expected):
    assert quote_value(value) == expected


def test_rendering_is_deterministic_whatever_the_parameter_order():
    a = custom(parameters={"temperature": 0.2, "top_k": 40})
    b = custom(parameters={"top_k": 40, "temperature": 0.2})
    assert render_modelfile(a) == render_modelfile(b)


@pytest.mark.parametrize("parameters, problem", [
    ({"temprature": 0.2}, "unknown parameter 'temprature': `ollama create` refuses it"),
    ({"mirostat": 1}, "parameter 'mirostat' is deprecated: Ollama ignores it"),
    ({"num_ctx": 8192.5}, "parameter 'num_ctx' must be an integer, got 8192.5"),
    ({"num_ctx": "lots"}, "parameter 'num_ctx' must be an integer, got 'lots'"),
    ({"temperature": "hot"}, "parameter 'temperature' must be a number, got 'hot'"),
    ({"use_mmap": "maybe"}, "parameter 'use_mmap' must be true or false, got 'maybe'"),
    ({"temperature": ["0.1"]}, "parameter 'temperature' takes one number, not a list"),
])
def test_parameters_ollama_would_refuse_are_problems(parameters, problem):
    spec = custom(parameters=parameters)
    [found] = modelfile_problems(spec)
    assert found.startswith(problem)
    with pytest.raises(ModelfileError, match="support-bot:1"):
        render_modelfile(spec)


def test_numbers_written_as_strings_are_accepted_when_they_parse():
    assert modelfile_problems(custom(parameters={"num_ctx": "8192", "temperature": "0.5"})) == []


def test_a_model_without_modelfile_settings_has_no_modelfile():
    assert modelfile_problems(ModelSpec(name="phi")) == []
    with pytest.raises(ModelfileError, match="has no `modelfile` settings"):
        render_modelfile(ModelSpec(name="phi"))


def test_data_file_lists_bases_before_custom_models_with_pins_and_flags():
    pin = "a" * 64
    specs = [custom(system="Hi"), ModelSpec(name="llama3.2:3b", digest=pin),
             ModelSpec(name="registry.internal:5000/team/coder:1.2", insecure=True)]
    files = models_data_files(specs)
    key = modelfile_key("support-bot:1")
    assert list(files) == ["models.tsv", key]
    assert files["models.tsv"].splitlines()[1:] == [
        f"llama3.2:3b\t{pin}\t0\t-",
        "registry.internal:5000/team/coder:1.2\t-\t1\t-",
        f"support-bot:1\t-\t0\t{key}",
    ]
    assert files[key] == render_modelfile(specs[0])


def test_data_file_adds_an_unlisted_base_so_it_is_pulled_first():
    lines = models_data_files([custom(name="Bot:1")])["models.tsv"].splitlines()[1:]
    assert [line.split("\t")[0] for line in lines] == ["llama3.2:3b", "Bot:1"]


def test_custom_model_built_on_another_custom_model_comes_after_it():
    first = ModelSpec.model_validate({"name": "b:1", "modelfile": {"from": "a:1", "system": "x"}})
    second = ModelSpec.model_validate({"name": "a:1", "modelfile": {"from": "llama3.2:3b", "system": "y"}})
    lines = models_data_files([first, second])["models.tsv"].splitlines()[1:]
    assert [line.split("\t")[0] for line in lines] == ["llama3.2:3b", "a:1", "b:1"]


def test_modelfile_keys_are_valid_configmap_keys_and_distinct():
    keys = {modelfile_key(n) for n in ("bot:1", "bot_1", "registry.internal:5000/team/bot:1", "Bot:1")}
    assert len(keys) == 4
    assert all(k.replace(".", "").replace("-", "").replace("_", "").isalnum() for k in keys)
