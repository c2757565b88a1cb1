"""`catalog-gen mirror` between two real registries: bytes identical, a second run moves nothing, resumable, pins honoured."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from oci_registry import blob_uploads, push_model

from catalog_gen.cli import main
from catalog_gen.registry import DigestMismatch, Registry, parse
from catalog_gen.registry.mirror import copy_model


def write_catalog(tmp_path, source_host: str, pin: str | None = None) -> None:
    (tmp_path / ".git").mkdir(exist_ok=True)
    digest = f"\n    digest: {pin}" if pin else ""
    (tmp_path / "leaf.yaml").write_text(
        "workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: s\nserviceCatalog: c\nnamespace: n\nenvironment: dev\nmodels:\n"
        f"  - name: {source_host}/library/llama3.1:8b\n    insecure: true{digest}\n"
        f"  - name: helper:1\n    insecure: true\n    modelfile:\n      from: {source_host}/team/base:7b\n"
    )


def test_mirror_copies_every_blob_and_the_manifest_byte_for_byte_then_nothing(tmp_path, monkeypatch, registry, second_registry, capsys):
    llama = push_model(registry, "library/llama3.1", "8b", size=300_000)
    base = push_model(registry, "team/base", "7b")
    write_catalog(tmp_path, registry.host)
    monkeypatch.chdir(tmp_path)

    assert main(["mirror", "leaf.yaml", "--to", second_registry.host, "--insecure", "--spool", str(tmp_path / "spool")]) == 0

    with Registry(second_registry.host, insecure=True) as dest:
        assert hashlib.sha256(dest.manifest(parse(f"{second_registry.host}/library/llama3.1:8b"))).hexdigest() == llama
        assert hashlib.sha256(dest.manifest(parse(f"{second_registry.host}/team/base:7b"))).hexdigest() == base
    out = capsys.readouterr()
    assert "2 of 2 model(s)" in out.out and "8 blob(s) copied" in out.out
    assert "copying" in out.err  # progress
    held = blob_uploads(second_registry)

    assert main(["mirror", "leaf.yaml", "--to", second_registry.host, "--insecure", "--spool", str(tmp_path / "spool")]) == 0

    again = capsys.readouterr()
    assert "0 blob(s) copied, 8 skipped" in again.out and "up to date" in again.out
    assert blob_uploads(second_registry) == held
    assert not any((tmp_path / "spool").iterdir())  # nothing left in transit


def test_an_interrupted_download_resumes_from_its_partial_file(tmp_path, registry, second_registry):
    push_model(registry, "library/llama3.1", "8b", size=200_000)
    src, dst = parse(f"{registry.host}/library/llama3.1:8b"), parse(f"{second_registry.host}/library/llama3.1:8b")
    with Registry(registry.host, insecure=True) as source, Registry(second_registry.host, insecure=True) as dest:
        manifest = source.manifest(src)
        import json
        weights = json.loads(manifest)["layers"][0]["digest"]
        data = httpx.get(source.url(src, "blobs", weights)).content
        spool = tmp_path / "spool"
        spool.mkdir()
        (spool / (weights.replace(":", "-") + "-partial")).write_bytes(data[:150_000])
        moved = []

        copy_model(source, src, dest, dst, spool, lambda e, m, d, n: moved.append(n) if e == "bytes" and d == weights else None)

        assert moved[0] == 150_000 and sum(moved) == 200_000  # the partial counted first, then the rest
        assert dest.has_blob(dst, weights)


def test_a_corrupt_partial_file_is_a_digest_mismatch_and_the_rerun_succeeds(tmp_path, registry, second_registry):
    push_model(registry, "library/phi", "latest")
    src, dst = parse(f"{registry.host}/library/phi"), parse(f"{second_registry.host}/library/phi")
    with Registry(registry.host, insecure=True) as source, Registry(second_registry.host, insecure=True) as dest:
        import json
        weights = json.loads(source.manifest(src))["layers"][0]["digest"]
        spool = tmp_path / "spool"
        spool.mkdir()
        (spool / (weights.replace(":", "-") + "-partial")).write_bytes(b"garbage")

        with pytest.raises(DigestMismatch, match="digest mismatch"):
            copy_model(source, src, dest, dst, spool)
        assert copy_model(source, src, dest, dst, spool).manifest_pushed


def test_a_pinned_model_whose_tag_moved_is_not_mirrored(tmp_path, monkeypatch, registry, second_registry, capsys):
    old = push_model(registry, "library/llama3.1", "8b")
    push_model(registry, "team/base", "7b")
    push_model(registry, "library/llama3.1", "8b", variant="b")
    write_catalog(tmp_path, registry.host, pin=old)
    monkeypatch.chdir(tmp_path)

    assert main(["mirror", "leaf.yaml", "--to", second_registry.host, "--insecure", "--spool", str(tmp_path / "s")]) == 2

    err = capsys.readouterr().err
    assert f"the leaf pins {old}" in err and f"http://{registry.host}/v2/library/llama3.1/manifests/8b" in err


def test_an_unreachable_destination_is_named_with_exit_2(tmp_path, monkeypatch, registry, second_registry, capsys):
    push_model(registry, "library/llama3.1", "8b")
    push_model(registry, "team/base", "7b")
    write_catalog(tmp_path, registry.host)
    monkeypatch.chdir(tmp_path)
    second_registry.stop()

    assert main(["mirror", "leaf.yaml", "--to", second_registry.host, "--insecure", "-q", "--spool", str(tmp_path / "s")]) == 2

    assert f"http://{second_registry.host}/v2/" in capsys.readouterr().err


def test_a_mirror_with_a_scheme_is_a_usage_error(capsys):
    assert main(["mirror", "catalog", "--to", "http://registry.internal:5000"]) == 2
    assert "without a scheme" in capsys.readouterr().err
