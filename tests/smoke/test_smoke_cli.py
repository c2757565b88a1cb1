"""`catalog-gen smoke` on the command line: exit codes, formats, usage errors."""

from __future__ import annotations

import json

import pytest
import yaml
from smoke_helpers import TEXT, leaf_data

from catalog_gen.cli import main


def write_leaf(tmp_path, name="chat.yaml", **overrides):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(leaf_data(**overrides)), encoding="utf-8")
    return path


def test_healthy_service_exits_0_and_writes_json(tmp_path, url):
    out = tmp_path / "report.json"
    code = main(["smoke", str(write_leaf(tmp_path)), "--url", url, "--format", "json", "--output", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["summary"]["failed"] == 0 and doc["reports"][0]["target"] == url


def test_failed_check_exits_1(tmp_path, url, double, capsys):
    double.model(TEXT).answer_empty = True
    assert main(["smoke", str(write_leaf(tmp_path)), "--url", url]) == 1
    out = capsys.readouterr().out
    assert f"FAIL    models.answers[{TEXT}]" in out


def test_unreachable_target_exits_2(tmp_path, capsys):
    code = main(["smoke", str(write_leaf(tmp_path)), "--url", "http://127.0.0.1:9", "--warmup", "0.2", "--format", "junit"])
    assert code == 2
    assert 'name="target reachable"' in capsys.readouterr().out


def test_url_with_several_leaves_is_a_usage_error(tmp_path, capsys):
    a, b = write_leaf(tmp_path, "a.yaml"), write_leaf(tmp_path, "b.yaml")
    assert main(["smoke", str(a), str(b), "--url", "http://127.0.0.1:9"]) == 2
    assert "--url names one service" in capsys.readouterr().err


def test_leaf_without_ingress_and_no_target_is_a_usage_error(tmp_path, capsys):
    assert main(["smoke", str(write_leaf(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "no ingress host" in err and "--url" in err and "chat.yaml" in err


def test_leaf_with_api_keys_needs_a_key(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CATALOG_GEN_API_KEY", raising=False)
    leaf = write_leaf(tmp_path, router={"enabled": True, "apiKeySecret": {"name": "chat-keys"}})
    assert main(["smoke", str(leaf), "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "router.apiKeySecret" in err and "--api-key-file" in err and "chat-keys" in err


def test_api_key_file_without_a_key_is_refused(tmp_path, capsys):
    keys = tmp_path / "keys"
    keys.write_text("# only a comment\n\n")
    assert main(["smoke", str(write_leaf(tmp_path)), "--url", "http://127.0.0.1:9", "--api-key-file", str(keys)]) == 2
    assert "holds no key" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [("models: [", "YAML syntax error"), ("workloadType: OLLAMA_INFERENCE_LOAD\n", "missing required key")])
def test_bad_leaf_is_an_input_error_without_traceback(tmp_path, capsys, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert main(["smoke", str(path), "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_negative_timeout_is_a_usage_error(tmp_path, capsys):
    assert main(["smoke", str(write_leaf(tmp_path)), "--url", "http://127.0.0.1:9", "--timeout", "-1"]) == 2
    assert "--timeout" in capsys.readouterr().err
