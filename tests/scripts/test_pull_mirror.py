"""pull-models.sh with a registry mirror: pods pull `<mirror>/<ns>/<model>:<tag>` from a real registry, keep the leaf's name and digest."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
from oci_registry import push_model, start_registry  # noqa: E402


@pytest.fixture
def mirror(tmp_path_factory):
    handle = start_registry(tmp_path_factory.mktemp("mirror"))
    yield handle
    handle.stop()


def test_pulls_through_the_mirror_and_keeps_the_leaf_name_and_pin(box, mirror):
    digest = push_model(mirror, "library/phi", "latest")
    box.models_file(f"phi:latest\t{digest}\t0\t-\n")

    result = box.run(PULL_REGISTRY_MIRROR=mirror.host, PULL_REGISTRY_INSECURE="1")

    assert result.returncode == 0, result.stderr + result.stdout
    source = f"{mirror.host}/library/phi:latest"
    assert ["pull", "--insecure", source] in box.calls()
    assert ["cp", source, "phi:latest"] in box.calls()
    assert ["rm", source] in box.calls()
    assert hashlib.sha256(box.manifest("phi:latest").read_bytes()).hexdigest() == digest
    assert not box.manifest(source).exists()  # only the leaf's name stays
    assert f"pulling from the mirror as {source}" in result.stdout
    assert "matches its pin" in result.stdout

    again = box.run(PULL_REGISTRY_MIRROR=mirror.host, PULL_REGISTRY_INSECURE="1")
    assert again.returncode == 0
    assert "no server started, no registry asked" in again.stdout


def test_without_a_mirror_the_name_is_pulled_as_written(box, mirror):
    name = f"{mirror.host}/team/coder:1"
    digest = push_model(mirror, "team/coder", "1")
    box.models_file(f"{name}\t{digest}\t1\t-\n")

    result = box.run()

    assert result.returncode == 0, result.stderr
    assert ["pull", "--insecure", name] in box.calls()
    assert not any(call[0] == "cp" for call in box.calls())


def test_a_moved_tag_on_the_mirror_is_refused(box, mirror):
    pinned = push_model(mirror, "library/phi", "latest")
    push_model(mirror, "library/phi", "latest", variant="b")
    box.models_file(f"phi:latest\t{pinned}\t0\t-\n")

    result = box.run(PULL_REGISTRY_MIRROR=mirror.host, PULL_REGISTRY_INSECURE="1")

    assert result.returncode == 1
    assert f"digest mismatch: expected {pinned}" in result.stderr


def test_a_plain_http_mirror_needs_insecure(box, mirror):
    push_model(mirror, "library/phi", "latest")
    box.models_file("phi:latest\t-\t0\t-\n")

    result = box.run(PULL_REGISTRY_MIRROR=mirror.host, PULL_RETRIES="0")

    assert result.returncode == 1
    assert ["pull", f"{mirror.host}/library/phi:latest"] in box.calls()
    assert "server gave HTTP response to HTTPS client" in result.stderr


@pytest.mark.parametrize("env, message", [
    ({"PULL_REGISTRY_MIRROR": "http://registry.internal:5000"}, "PULL_REGISTRY_MIRROR must be host[:port]"),
    ({"PULL_REGISTRY_MIRROR": "registry.internal", "PULL_REGISTRY_INSECURE": "yes"}, "PULL_REGISTRY_INSECURE must be 0 or 1"),
])
def test_bad_mirror_settings_are_refused_before_anything_runs(box, env, message):
    box.models_file("phi:latest\t-\t0\t-\n")

    result = box.run(**env)

    assert result.returncode == 2
    assert message in result.stderr
    assert box.calls() == []


def test_a_custom_models_base_comes_through_the_mirror_before_create(box, mirror):
    base = push_model(mirror, "library/llama3.1", "8b")
    box.models_file(f"llama3.1:8b\t{base}\t0\t-\nhelper:1\t-\t0\thelper.Modelfile\n",
                    {"helper.Modelfile": "FROM llama3.1:8b\nSYSTEM be brief\n"})

    result = box.run(PULL_REGISTRY_MIRROR=mirror.host, PULL_REGISTRY_INSECURE="1")

    assert result.returncode == 0, result.stderr
    calls = box.calls()
    pull = calls.index(["pull", "--insecure", f"{mirror.host}/library/llama3.1:8b"])
    create = next(i for i, c in enumerate(calls) if c[0] == "create")
    assert pull < create
    assert box.manifest("helper:1").exists()
    assert not any("(from create)" in line for line in box.registry_requests())  # create pulled nothing itself
