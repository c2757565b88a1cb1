"""wait-models.sh: serving pods on a shared cache wait for the loader's models; they never pull."""

from __future__ import annotations

import re
import time

from script_helpers import PULL, WAIT, registry_digest

from catalog_gen.catalog.model import ModelSpec
from catalog_gen.plan.modelfile import models_data_files

LLAMA = {"size": 6000}


def test_models_already_loaded_are_accepted_from_the_files_alone(box):
    box.publish({"llama3.2:1b": LLAMA})
    pin = registry_digest("llama3.2:1b", LLAMA)
    box.models_file(f"llama3.2:1b\t{pin}\t0\t-\n")
    assert box.run(PULL, OLLAMA_NOPRUNE="1").returncode == 0
    calls = len(box.calls())
    (box.bin / "ollama").unlink()  # no server, no CLI needed

    result = box.run(WAIT)

    assert result.returncode == 0, result.stderr
    assert f"model llama3.2:1b: ready, digest {pin}" in result.stdout
    assert len(box.calls()) == calls


def test_missing_models_fail_at_the_deadline_naming_each(box):
    box.models_file("llama3.2:1b\t-\t0\t-\nqwen2.5:0.5b\t-\t0\t-\n")

    started = time.monotonic()
    result = box.run(WAIT, WAIT_DEADLINE_SECONDS="1")

    assert result.returncode == 1
    assert 1 <= time.monotonic() - started < 5
    assert "after 1s (WAIT_DEADLINE_SECONDS) 2 model(s) are not ready" in result.stderr
    assert "llama3.2:1b (no manifest at " in result.stderr and "qwen2.5:0.5b (no manifest at " in result.stderr
    assert box.calls() == []


def test_models_the_loader_writes_later_are_picked_up(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")
    waiter = box.popen(WAIT, WAIT_DEADLINE_SECONDS="20")
    time.sleep(0.5)
    assert waiter.poll() is None  # still waiting

    assert box.run(PULL, OLLAMA_NOPRUNE="1").returncode == 0
    out, err = waiter.communicate(timeout=20)

    assert waiter.returncode == 0, err
    assert "waiting for 1 model(s): llama3.2:1b (no manifest at" in out
    assert "all 1 model(s) ready" in out


def test_a_pin_mismatch_is_waited_out_then_reported(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")
    assert box.run(PULL, FAKE_OLLAMA_WRONG_DIGEST="1").returncode == 0
    pin = registry_digest("llama3.2:1b", LLAMA)
    box.models_file(f"llama3.2:1b\t{pin}\t0\t-\n")

    result = box.run(WAIT, WAIT_DEADLINE_SECONDS="1")

    assert result.returncode == 1
    found = registry_digest("llama3.2:1b", LLAMA, moved=True)
    assert f"llama3.2:1b (digest mismatch: expected {pin}, found {found})" in result.stderr


def test_a_manifest_without_its_blobs_is_not_ready(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")
    assert box.run(PULL).returncode == 0
    blob = max((box.models / "blobs").iterdir(), key=lambda p: p.stat().st_size)
    blob.write_bytes(blob.read_bytes()[:100])  # truncated, as by an interrupted copy

    result = box.run(WAIT, WAIT_DEADLINE_SECONDS="1")

    assert result.returncode == 1
    assert re.search(rf"blob {blob.name} has 100 bytes, its manifest says \d+", result.stderr)


def test_a_custom_model_counts_only_once_created_from_this_modelfile(box):
    box.publish({"llama3.2:1b": LLAMA})
    custom = ModelSpec.model_validate({"name": "support-bot:1", "modelfile": {"from": "llama3.2:1b", "system": "v1"}})
    files = models_data_files([ModelSpec(name="llama3.2:1b"), custom])
    box.models_file(files.pop("models.tsv"), files)
    assert box.run(PULL).returncode == 0
    assert box.run(WAIT).returncode == 0
    newer = ModelSpec.model_validate({"name": "support-bot:1", "modelfile": {"from": "llama3.2:1b", "system": "v2"}})
    files = models_data_files([ModelSpec(name="llama3.2:1b"), newer])
    box.models_file(files.pop("models.tsv"), files)  # the ConfigMap changed; the loader has not run yet

    result = box.run(WAIT, WAIT_DEADLINE_SECONDS="1")

    assert result.returncode == 1
    assert "support-bot:1 (its Modelfile or its base model changed)" in result.stderr


def test_bad_lines_are_rejected_before_waiting(box):
    box.models_file("llama3.2:1b$(reboot)\t-\t0\t-\n")

    result = box.run(WAIT)

    assert result.returncode == 2
    assert "line 1: invalid model name 'llama3.2:1b$(reboot)'" in result.stderr
