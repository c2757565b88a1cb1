"""Model names map to registry references the way Ollama's types/model/name.go maps them."""

from __future__ import annotations

import pytest

from catalog_gen.registry.names import BadName, ModelRef, check_host, parse


@pytest.mark.parametrize("name, ref", [
    ("phi", ModelRef("registry.ollama.ai", "library", "phi", "latest")),
    ("llama3.1:8b", ModelRef("registry.ollama.ai", "library", "llama3.1", "8b")),
    ("team/coder:1.2", ModelRef("registry.ollama.ai", "team", "coder", "1.2")),
    ("registry.internal:5000/team/coder:1.2", ModelRef("registry.internal:5000", "team", "coder", "1.2")),
])
def test_defaults_fill_host_namespace_and_tag(name, ref):
    assert parse(name) == ref
    assert parse(ref.short) == ref


def test_a_mirror_replaces_the_host_and_keeps_the_path():
    ref = parse("llama3.1:8b").with_host("127.0.0.1:5000")
    assert ref.short == "127.0.0.1:5000/library/llama3.1:8b" and ref.repository == "library/llama3.1"


@pytest.mark.parametrize("bad", ["", "a b", "model@sha256:" + "a" * 64, "-x"])
def test_invalid_names_are_refused(bad):
    with pytest.raises(BadName):
        parse(bad)


@pytest.mark.parametrize("host, ok", [("registry.internal:5000", True), ("10.0.0.1", True),
                                      ("http://registry.internal", False), ("host/path", False)])
def test_mirror_hosts_are_host_and_port_only(host, ok):
    if ok:
        assert check_host(host) == host
    else:
        with pytest.raises(BadName):
            check_host(host)
