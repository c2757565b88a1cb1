"""`catalog-gen pin` against a real registry: right digests, nothing else changed, --check, exit codes, formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from oci_registry import push_model
from pin_fixtures import LEAF

from catalog_gen.cli import main


def push_all(registry) -> dict[str, str]:
    return {
        "llama": push_model(registry, "library/llama3.1", "8b"),
        "qwen": push_model(registry, "library/qwen2.5", "0.5b"),
        "nomic": push_model(registry, "library/nomic-embed-text", "v1.5"),
    }


def test_pin_writes_the_digests_and_nothing_else(catalog, registry, capsys):
    d = push_all(registry)
    leaf = catalog / "dev" / "chat.yaml"

    assert main(["pin", "catalog"]) == 0

    expected = (LEAF
                .replace('  - name: "llama3.1:8b"      # quoted on purpose\n',
                         f'  - name: "llama3.1:8b"      # quoted on purpose\n    digest: {d["llama"]}\n')
                .replace("  - {name: nomic-embed-text:v1.5, kind: embedding}",
                         f"  - {{name: nomic-embed-text:v1.5, digest: {d['nomic']}, kind: embedding}}")
                .replace("        from: llama3.1:8b\n", f"        from: llama3.1:8b\n        fromDigest: {d['llama']}\n"))
    assert leaf.read_bytes() == expected.encode()  # the stale qwen pin is kept: only bare tags without --update
    out = capsys.readouterr().out
    assert f"pinned to {d['llama']}" in out and f"http://{registry.host}/v2/library/llama3.1/manifests/8b" in out
    assert "wrote catalog/dev/chat.yaml" in out
    assert (catalog / "_defaults.yaml").read_text().startswith("# catalog defaults")  # untouched


def test_update_replaces_a_pin_in_place_keeping_quotes_and_comment(catalog, registry):
    d = push_all(registry)
    leaf = catalog / "dev" / "chat.yaml"
    main(["pin", "catalog"])
    before = leaf.read_text()

    assert main(["pin", "--update", "catalog/dev/chat.yaml"]) == 0

    after = leaf.read_text()
    assert after == before.replace('digest: "' + "0" * 64 + '"  # stale pin', f'digest: "{d["qwen"]}"  # stale pin')
    assert main(["pin", "--update", "catalog"]) == 0
    assert leaf.read_text() == after  # idempotent


def test_check_passes_after_pin_and_changes_nothing(catalog, registry, capsys):
    push_all(registry)
    main(["pin", "--update", "catalog"])
    leaf = catalog / "dev" / "chat.yaml"
    before = leaf.read_bytes()
    capsys.readouterr()

    assert main(["pin", "--check", "catalog"]) == 0

    assert leaf.read_bytes() == before
    assert "0 error(s)" in capsys.readouterr().out


def test_check_names_a_tag_re_pushed_with_new_content(catalog, registry, capsys):
    d = push_all(registry)
    main(["pin", "--update", "catalog"])
    leaf = catalog / "dev" / "chat.yaml"
    before = leaf.read_bytes()
    moved = push_model(registry, "library/qwen2.5", "0.5b", variant="b")
    capsys.readouterr()

    assert main(["pin", "--check", "catalog"]) == 1

    out = capsys.readouterr().out
    assert leaf.read_bytes() == before
    assert out.count("(pin.moved)") == 1
    assert f"pinned {d['qwen']}, now {moved}" in out
    assert f"http://{registry.host}/v2/library/qwen2.5/manifests/0.5b" in out
    assert "catalog/dev/chat.yaml:16:5:" in out  # the line and column of the pin


def test_check_reports_unpinned_models_as_warnings(catalog, registry, capsys):
    push_all(registry)

    assert main(["pin", "--check", "catalog"]) == 1  # the stale all-zero pin moved

    out = capsys.readouterr().out
    assert out.count("(pin.unpinned)") == 3 and out.count("(pin.moved)") == 1


def test_check_exits_2_when_the_registry_cannot_be_reached(catalog, registry, capsys):
    push_all(registry)
    main(["pin", "--update", "catalog"])
    registry.stop()
    capsys.readouterr()

    assert main(["pin", "--check", "catalog"]) == 2

    out = capsys.readouterr().out
    assert "(pin.unreachable)" in out and f"http://{registry.host}/v2/library/llama3.1/manifests/8b" in out


def test_an_unknown_tag_is_named_and_nothing_is_written_for_it(catalog, registry, capsys):
    push_model(registry, "library/llama3.1", "8b")  # qwen and nomic are missing
    leaf = catalog / "dev" / "chat.yaml"

    assert main(["pin", "catalog"]) == 1

    out = capsys.readouterr().out
    assert "(pin.unknown-tag)" in out and "404" in out and "nomic-embed-text:v1.5" in out
    assert "nomic-embed-text:v1.5, kind: embedding}" in leaf.read_text()  # not pinned
    assert "    digest: " in leaf.read_text()  # llama was


@pytest.mark.parametrize("fmt", ["json", "github", "junit", "sarif"])
def test_check_speaks_every_report_format(catalog, registry, capsys, fmt, tmp_path):
    push_all(registry)
    main(["pin", "--update", "catalog"])
    push_model(registry, "library/qwen2.5", "0.5b", variant="b")
    report = tmp_path / f"report.{fmt}"

    assert main(["pin", "--check", "catalog", "--format", fmt, "-o", str(report)]) == 1

    text = report.read_text()
    assert "pin.moved" in text and "qwen2.5:0.5b" in text
    if fmt in ("json", "sarif"):
        json.loads(text)
    if fmt == "junit":
        ET.fromstring(text)


def test_a_model_inherited_from_defaults_is_pinned_in_the_defaults_file(tmp_path, registry, monkeypatch):
    root = tmp_path / "catalog"
    (root / "dev").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    defaults = f"registry: {{mirror: '{registry.host}', insecure: true}}\n# shared model\nmodels:\n- name: llama3.1:8b # shared\n"
    (root / "_defaults.yaml").write_text(defaults)
    leaf_text = "workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: a\nserviceCatalog: c\nnamespace: n\nenvironment: dev\n"
    (root / "dev" / "a.yaml").write_text(leaf_text)
    (root / "dev" / "b.yaml").write_text(leaf_text.replace("serviceName: a", "serviceName: b"))
    monkeypatch.chdir(tmp_path)
    digest = push_model(registry, "library/llama3.1", "8b")

    assert main(["pin", "catalog"]) == 0

    assert (root / "_defaults.yaml").read_text() == defaults.replace("# shared\n", f"# shared\n  digest: {digest}\n")
    assert (root / "dev" / "a.yaml").read_text() == leaf_text


def test_the_model_shorthand_becomes_a_models_list_with_its_pin(tmp_path, registry, monkeypatch, capsys):
    (tmp_path / ".git").mkdir()
    leaf = tmp_path / "phi.yaml"
    text = ("workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: phi\nserviceCatalog: c\nnamespace: n\nenvironment: dev\n"
            f"registry: {{mirror: '{registry.host}'}}\n"
            "model: \"phi:latest\"  # the seed's model\ngpu:\n  count: 0\n")
    leaf.write_text(text)
    monkeypatch.chdir(tmp_path)
    digest = push_model(registry, "library/phi", "latest")

    # without `insecure` the mirror is asked over HTTPS, which a plain-HTTP registry cannot answer
    assert main(["pin", "phi.yaml"]) == 2
    assert leaf.read_text() == text
    assert "needs `insecure: true`" in capsys.readouterr().out

    leaf.write_text(text.replace("'}", "', insecure: true}"))
    assert main(["pin", "phi.yaml"]) == 0
    assert leaf.read_text() == text.replace("'}", "', insecure: true}").replace(
        'model: "phi:latest"  # the seed\'s model\n', f'models:  # the seed\'s model\n  - name: "phi:latest"\n    digest: {digest}\n')
    assert main(["pin", "--check", "phi.yaml"]) == 0


def test_an_invalid_catalog_is_refused_before_any_registry_is_asked(tmp_path, monkeypatch, capsys):
    (tmp_path / ".git").mkdir()
    (tmp_path / "bad.yaml").write_text("workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: Bad Name\n")
    monkeypatch.chdir(tmp_path)

    assert main(["pin", "bad.yaml"]) == 1

    assert "fix them first" in capsys.readouterr().err


def test_check_and_update_do_not_go_together(capsys):
    assert main(["pin", "--check", "--update"]) == 2
    assert "--check and --update" in capsys.readouterr().err


def test_a_shared_model_that_two_mirrors_disagree_on_is_not_pinned(tmp_path, registry, second_registry, monkeypatch, capsys):
    (tmp_path / ".git").mkdir()
    root = tmp_path / "catalog"
    defaults = "models:\n  - name: llama3.1:8b\n"
    leaf = "workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: s\nserviceCatalog: c\nnamespace: n\nenvironment: dev\n"
    for env, reg in (("a", registry), ("b", second_registry)):
        (root / env).mkdir(parents=True)
        (root / env / "_defaults.yaml").write_text(f"registry: {{mirror: '{reg.host}', insecure: true}}\n")
        (root / env / "s.yaml").write_text(leaf.replace("environment: dev", f"environment: {env}").replace("serviceName: s", f"serviceName: s{env}").replace("namespace: n", f"namespace: n{env}"))
    (root / "_defaults.yaml").write_text(defaults)
    monkeypatch.chdir(tmp_path)
    push_model(registry, "library/llama3.1", "8b")
    push_model(second_registry, "library/llama3.1", "8b", variant="other")

    assert main(["pin", "catalog"]) == 1

    assert "(pin.conflict)" in capsys.readouterr().out
    assert (root / "_defaults.yaml").read_text() == defaults

    push_model(second_registry, "library/llama3.1", "8b")  # the mirrors agree again
    assert main(["pin", "catalog"]) == 0
    assert "    digest: " in (root / "_defaults.yaml").read_text()


def test_a_layout_pin_will_not_guess_at_is_reported_and_left_alone(tmp_path, registry, monkeypatch, capsys):
    (tmp_path / ".git").mkdir()
    text = ("workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: s\nserviceCatalog: c\nnamespace: n\nenvironment: dev\n"
            f"registry: {{mirror: '{registry.host}', insecure: true}}\nmodels:\n  - name:\n      llama3.1:8b\n")
    (tmp_path / "s.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    push_model(registry, "library/llama3.1", "8b")

    assert main(["pin", "s.yaml"]) == 1

    out = capsys.readouterr().out
    assert "(pin.edit)" in out and "does not fit on its line" in out and "(pin.pinned)" not in out
    assert (tmp_path / "s.yaml").read_text() == text
