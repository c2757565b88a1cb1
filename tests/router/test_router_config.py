"""The config file contract with the chart, flags over the file, and errors that name the file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog_gen.cli import main
from catalog_gen.errors import InputError
from catalog_gen.router.config import ModelPin, RouterConfig, load_config

DIGEST = "a" * 64
CHART = {
    "listen": {"host": "0.0.0.0", "port": 8080},
    "backends": ["http://127.0.0.1:11434", "http://127.0.0.1:11435"],
    "models": [{"name": "llama3.1:8b", "digest": DIGEST, "keepWarm": True, "kind": "text"},
               {"name": "nomic-embed-text", "digest": None, "keepWarm": False, "kind": "embedding"}],
    "slotsPerBackend": 2,
    "maxQueue": 32,
    "queueTimeoutSeconds": 30,
    "idleUnloadSeconds": 900,
    "apiKeysFile": None,
    "requestTimeoutSeconds": 600,
    "connectTimeoutSeconds": 5,
    "maxBodyBytes": 16777216,
    "shutdownGraceSeconds": 30,
}


def write(tmp_path: Path, data, name="router.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if name.endswith(".json") else data)
    return path


def test_the_chart_file_loads_as_json_and_as_yaml(tmp_path):
    from_json = load_config(write(tmp_path, CHART))
    import yaml

    from_yaml = load_config(write(tmp_path, yaml.safe_dump(CHART), "router.yaml"))
    assert from_json == from_yaml
    assert from_json.backends == ("http://127.0.0.1:11434", "http://127.0.0.1:11435")
    assert from_json.models == (ModelPin("llama3.1:8b", DIGEST, True, "text"), ModelPin("nomic-embed-text", None, False, "embedding"))
    assert (from_json.host, from_json.port, from_json.slots_per_backend, from_json.queue_timeout) == ("0.0.0.0", 8080, 2, 30.0)


def test_flags_override_the_file_and_replace_lists(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("k\n")
    config = load_config(write(tmp_path, CHART), port=9000, backends=["http://localhost:1"], slots_per_backend=4,
                         models=["m:1@" + "b" * 64 + ",kind=embedding,keepWarm=false"], api_keys_file=str(keys), max_queue=0)
    assert config.port == 9000 and config.host == "0.0.0.0"
    assert config.backends == ("http://localhost:1",)
    assert config.models == (ModelPin("m:1", "b" * 64, False, "embedding"),)
    assert config.slots_per_backend == 4 and config.max_queue == 0 and config.api_keys_file == keys


def test_flags_alone_are_enough():
    config = load_config(None, backends=["http://127.0.0.1:11434/"], models=["llama3.1:8b"])
    assert config.backends == ("http://127.0.0.1:11434",) and config.models == (ModelPin("llama3.1:8b"),)
    assert config == RouterConfig(backends=config.backends, models=config.models)


@pytest.mark.parametrize(("change", "words"), [
    ({"slotsPerBackend": 0}, ['key "slotsPerBackend"', "integer >= 1"]),
    ({"slotsPerBackend": True}, ['key "slotsPerBackend"']),
    ({"queueTimeoutSeconds": "30s"}, ['key "queueTimeoutSeconds"', "seconds"]),
    ({"maxQueu": 3}, ['key "maxQueu" is not a router setting', 'did you mean "maxQueue"']),
    ({"backends": "http://x:1"}, ['key "backends"', "list of URLs"]),
    ({"backends": ["https://x:1"]}, ['key "backends"', "http://HOST:PORT"]),
    ({"backends": ["http://x:1/api"]}, ['key "backends"']),
    ({"backends": []}, ["no Ollama backend"]),
    ({"models": [{"name": "llama3.1:8b@sha256:" + DIGEST}]}, ['key "models[0]"', "not a valid Ollama model name"]),
    ({"models": [{"name": "x", "digest": "abc"}]}, ['key "models[0]"', "not a model digest"]),
    ({"models": [{"name": "x", "kind": "vision"}]}, ['key "models[0]"', "kind"]),
    ({"models": [{"name": "x", "keepwarm": True}]}, ['key "models[0]"', 'unknown key "keepwarm"']),
    ({"apiKeysFile": "/nonexistent/keys"}, ['key "apiKeysFile"', "does not exist"]),
    ({"listen": {"port": 70000}}, ['key "listen.port"', "0-65535"]),
])
def test_bad_values_name_the_file_and_the_key(tmp_path, change, words):
    path = write(tmp_path, {**CHART, **change})
    with pytest.raises(InputError) as caught:
        load_config(path)
    text = str(caught.value)
    assert str(path) in text
    for word in words:
        assert word in text


def test_unparseable_files_say_where(tmp_path):
    bad_json = write(tmp_path, "x", "r.json")
    bad_json.write_text('{"backends": [}')
    with pytest.raises(InputError, match=r"r\.json:1:\d+: not valid JSON"):
        load_config(bad_json)
    bad_yaml = write(tmp_path, "backends: [\n  - a\n", "r.yaml")
    with pytest.raises(InputError, match=r"r\.yaml:\d+:\d+: not valid YAML"):
        load_config(bad_yaml)
    with pytest.raises(InputError, match="cannot read"):
        load_config(tmp_path / "missing.json")
    with pytest.raises(InputError, match="must be a mapping"):
        load_config(write(tmp_path, "- a\n", "list.yaml"))


def test_bad_flag_names_the_flag():
    with pytest.raises(InputError, match="--slots"):
        load_config(None, backends=["http://a:1"], slots_per_backend=0)
    with pytest.raises(InputError, match="--model 'x,color=red'"):
        load_config(None, backends=["http://a:1"], models=["x,color=red"])


def test_cli_exits_2_with_the_message_and_no_traceback(tmp_path, capsys):
    path = write(tmp_path, {**CHART, "maxQueue": -1})
    assert main(["router", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert 'key "maxQueue" must be an integer >= 0' in err and "Traceback" not in err
    assert main(["router"]) == 2
    assert "no Ollama backend" in capsys.readouterr().err
    assert main(["router", "--backend", "http://a:1", "--slots", "two"]) == 2


def test_cli_refuses_a_taken_port(tmp_path, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["router", "--backend", "http://127.0.0.1:9", "--host", "127.0.0.1", "--port", str(port)]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err
