"""pull-models.sh under bash with the stand-in ollama: pulls, skips, retries, pins, failures."""

from __future__ import annotations

import hashlib
import http.server
import re
import signal
import threading
import time

from script_helpers import PULL, WAIT, alive, registry_digest

from catalog_gen.catalog.model import ModelSpec
from catalog_gen.plan.modelfile import models_data_files

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")
LLAMA = {"size": 6000}
EMBED = {"size": 3000}


def test_cold_cache_pulls_each_model_into_ollamas_layout_and_verifies_the_pin(box):
    box.publish({"llama3.2:1b": LLAMA, "nomic-embed-text": EMBED})
    pin = registry_digest("llama3.2:1b", LLAMA)
    box.models_file(f"# name\tdigest\tinsecure\tmodelfile\nllama3.2:1b\t{pin}\t0\t-\n\nnomic-embed-text\t-\t0\t-\n")

    result = box.run()

    assert result.returncode == 0, result.stderr
    manifest = box.manifest("llama3.2:1b")
    assert manifest == box.models / "manifests/registry.ollama.ai/library/llama3.2/1b"
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == pin
    assert box.manifest("nomic-embed-text:latest").is_file()
    assert box.registry_requests() == ["pull llama3.2:1b", "pull nomic-embed-text:latest"]
    assert all(STAMP.match(line) for line in result.stdout.splitlines())
    assert f"model llama3.2:1b: verified, digest {pin} (matches its pin)" in result.stdout
    assert re.search(r"model llama3\.2:1b: verified.*, \d+ bytes", result.stdout)
    assert "stopped the temporary ollama server" in result.stdout
    assert not any(alive(pid) for pid in box.serve_pids())
    assert not box.listening()


def test_warm_restart_starts_no_server_and_asks_no_registry(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file(f"llama3.2:1b\t{registry_digest('llama3.2:1b', LLAMA)}\t0\t-\n")
    assert box.run().returncode == 0
    calls_before = len(box.calls())

    again = box.run()

    assert again.returncode == 0, again.stderr
    assert len(box.calls()) == calls_before  # not even `ollama serve`
    assert box.server_starts() == 1
    assert box.registry_requests() == ["pull llama3.2:1b"]
    assert "no server started, no registry asked" in again.stdout


def test_moved_tag_is_refused_naming_model_expected_and_actual_digest(box):
    box.publish({"llama3.2:1b": LLAMA, "qwen2.5:0.5b": EMBED})
    pin = registry_digest("llama3.2:1b", LLAMA)
    served = registry_digest("llama3.2:1b", LLAMA, moved=True)
    box.models_file(f"llama3.2:1b\t{pin}\t0\t-\nqwen2.5:0.5b\t-\t0\t-\n")

    result = box.run(FAKE_OLLAMA_WRONG_DIGEST="1")

    assert result.returncode == 1
    assert f"model llama3.2:1b: after the pull: digest mismatch: expected {pin}, found {served}" in result.stderr
    assert "pull qwen2.5:0.5b" not in box.registry_requests()  # refuses to continue
    assert not any(alive(pid) for pid in box.serve_pids())


def test_pin_changed_in_the_leaf_pulls_again_and_verifies(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")
    assert box.run(FAKE_OLLAMA_WRONG_DIGEST="1").returncode == 0  # an older version is on disk
    box.models_file(f"llama3.2:1b\t{registry_digest('llama3.2:1b', LLAMA)}\t0\t-\n")

    result = box.run()

    assert result.returncode == 0, result.stderr
    assert "needs work: digest mismatch" in result.stdout
    assert box.registry_requests() == ["pull llama3.2:1b", "pull llama3.2:1b"]


def test_failed_attempts_are_retried_with_backoff_until_one_succeeds(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    started = time.monotonic()
    result = box.run(FAKE_OLLAMA_PULL_FAIL="2", PULL_RETRIES="2", PULL_BACKOFF_SECONDS="1")

    assert result.returncode == 0, result.stderr
    assert box.registry_requests() == ["pull llama3.2:1b"] * 3
    assert "attempt 1 failed: ollama pull exited with 1: Error: max retries exceeded" in result.stdout
    assert "retrying in 1s" in result.stdout and "retrying in 2s" in result.stdout  # doubling
    assert time.monotonic() - started >= 3
    assert box.manifest("llama3.2:1b").is_file()


def test_retries_are_bounded_and_the_failure_names_model_and_reason(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    result = box.run(FAKE_OLLAMA_PULL_FAIL="9", PULL_RETRIES="1")

    assert result.returncode == 1
    assert len(box.registry_requests()) == 2
    assert "model llama3.2:1b: pull failed after 2 attempt(s); last: ollama pull exited with 1" in result.stderr
    assert "TLS handshake timeout" in result.stderr
    assert not box.manifest("llama3.2:1b").exists()
    assert not any(alive(pid) for pid in box.serve_pids())


def test_a_stalled_pull_is_cut_by_the_attempt_timeout_and_retried(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    result = box.run(FAKE_OLLAMA_PULL_STALL="1", PULL_ATTEMPT_TIMEOUT_SECONDS="1", PULL_RETRIES="1")

    assert result.returncode == 0, result.stderr
    assert "attempt 1 failed: timed out after 1s" in result.stdout
    assert box.manifest("llama3.2:1b").is_file()


def test_a_pull_that_always_stalls_fails_in_bounded_time(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    started = time.monotonic()
    result = box.run(FAKE_OLLAMA_PULL_STALL="99", PULL_ATTEMPT_TIMEOUT_SECONDS="1", PULL_RETRIES="1", timeout=30)

    assert result.returncode == 1
    assert "model llama3.2:1b: pull failed after 2 attempt(s); last: timed out after 1s" in result.stderr
    assert time.monotonic() - started < 15
    assert not any(alive(pid) for pid in box.serve_pids())


def test_a_slow_pull_logs_its_progress(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    result = box.run(FAKE_OLLAMA_PULL_DELAY="0.4", PULL_PROGRESS_SECONDS="1")

    assert result.returncode == 0, result.stderr
    assert re.search(r"model llama3\.2:1b: pull in progress: pulling [0-9a-f]{12} \d+%", result.stdout)


def test_unknown_model_fails_with_the_registrys_message(box):
    box.models_file("no-such-model:1b\t-\t0\t-\n")

    result = box.run(PULL_RETRIES="0")

    assert result.returncode == 1
    assert "model no-such-model:1b: pull failed after 1 attempt(s); last: ollama pull exited with 1: " \
           "Error: pull model manifest: file does not exist" in result.stderr


def test_server_slow_to_start_is_waited_for(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    result = box.run(FAKE_OLLAMA_SERVE_DELAY="1.5", PULL_SERVER_DEADLINE_SECONDS="10")

    assert result.returncode == 0, result.stderr
    assert re.search(r"the temporary ollama server answers after (1\.[5-9]|[2-9]\.\d)s", result.stdout)


def test_server_that_never_answers_fails_at_the_deadline(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    started = time.monotonic()
    result = box.run(FAKE_OLLAMA_SERVE_NEVER="1", PULL_SERVER_DEADLINE_SECONDS="2")

    assert result.returncode == 1
    assert f"the temporary ollama server did not answer on 127.0.0.1:{box.port} within 2s" in result.stderr
    assert 2 <= time.monotonic() - started < 10
    assert box.registry_requests() == []
    assert not any(alive(pid) for pid in box.serve_pids())


def test_server_that_exits_at_start_is_reported_with_its_log(box):
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    result = box.run(FAKE_OLLAMA_SERVE_CRASH="1")

    assert result.returncode == 1
    assert "the temporary ollama server exited while starting" in result.stderr
    assert "address already in use" in result.stderr  # the server's own log, shown


def test_a_busy_port_is_refused_before_starting(box):
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    other = http.server.HTTPServer(("127.0.0.1", box.port), Ok)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        result = box.run()
    finally:
        other.shutdown()
        other.server_close()
    assert result.returncode == 1
    assert f"port {box.port} on 127.0.0.1 is already in use; set PULL_PORT" in result.stderr
    assert box.server_starts() == 0


def test_insecure_flag_reaches_the_pull(box):
    name = f"127.0.0.1:{box.port + 1}/team/coder:1.2"
    box.publish({name: {"size": 2000, "insecure_only": True}})

    box.models_file(f"{name}\t-\t0\t-\n")
    refused = box.run(PULL_RETRIES="0")
    box.models_file(f"{name}\t-\t1\t-\n")
    allowed = box.run()

    assert refused.returncode == 1 and "server gave HTTP response to HTTPS client" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert ["pull", "--insecure", name] in box.calls()
    assert box.manifest(name) == box.models / f"manifests/127.0.0.1:{box.port + 1}/team/coder/1.2"


def test_names_reach_ollama_verbatim_as_one_argument(box):
    names = [f"registry.example.com:5000/ml_team/my.model-x:v1.2_rc-3", "_private/Model.Name:Tag-1", "qwen2.5:0.5b"]
    box.publish({n: {"size": 1000} for n in names})
    box.models_file("".join(f"{n}\t-\t0\t-\n" for n in names))

    result = box.run()

    assert result.returncode == 0, result.stderr
    assert [c for c in box.calls() if c[0] == "pull"] == [["pull", n] for n in names]


def test_a_warm_model_whose_blob_went_missing_is_pulled_again(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")
    assert box.run().returncode == 0
    biggest = max((box.models / "blobs").iterdir(), key=lambda p: p.stat().st_size)
    biggest.unlink()

    result = box.run()

    assert result.returncode == 0, result.stderr
    assert f"needs work: blob {biggest.name} is missing" in result.stdout
    assert biggest.exists()
    assert len(box.registry_requests()) == 2


def _custom(system: str) -> ModelSpec:
    return ModelSpec.model_validate({"name": "support-bot:1", "modelfile": {
        "from": "llama3.2:1b", "system": system, "parameters": {"temperature": 0.2, "stop": ["<|eot|>", '"']}}})


def test_custom_model_is_created_from_its_modelfile_and_not_recreated_when_warm(box):
    box.publish({"llama3.2:1b": LLAMA})
    system = 'You are "Bot".\nAnswer briefly; never run $(reboot) or `id`.'
    files = models_data_files([ModelSpec(name="llama3.2:1b"), _custom(system)])
    box.models_file(files.pop("models.tsv"), files)

    created = box.run()
    warm = box.run()

    assert created.returncode == 0, created.stderr
    assert [c[:2] for c in box.calls() if c[0] in ("pull", "create")] == [["pull", "llama3.2:1b"], ["create", "support-bot:1"]]
    layers = [p.read_text() for p in (box.models / "blobs").iterdir() if p.stat().st_size < 500]
    assert system in layers  # the system prompt went through Ollama's parser unchanged
    assert '{"stop": ["<|eot|>", "\\""], "temperature": 0.2}' in layers
    assert warm.returncode == 0 and "no server started" in warm.stdout


def test_custom_model_is_recreated_when_its_modelfile_changes_without_pulling_the_base(box):
    box.publish({"llama3.2:1b": LLAMA})
    files = models_data_files([ModelSpec(name="llama3.2:1b"), _custom("one")])
    box.models_file(files.pop("models.tsv"), files)
    assert box.run().returncode == 0
    files = models_data_files([ModelSpec(name="llama3.2:1b"), _custom("two")])
    box.models_file(files.pop("models.tsv"), files)

    result = box.run()

    assert result.returncode == 0, result.stderr
    assert "model support-bot:1: needs work: its Modelfile or its base model changed" in result.stdout
    assert box.registry_requests() == ["pull llama3.2:1b"]
    assert [c[0] for c in box.calls()].count("create") == 2


def test_interrupting_the_script_stops_its_server(box):
    box.publish({"llama3.2:1b": LLAMA})
    box.models_file("llama3.2:1b\t-\t0\t-\n")
    proc = box.popen(FAKE_OLLAMA_PULL_STALL="99")
    deadline = time.monotonic() + 15
    while not box.registry_requests() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert box.registry_requests(), "the pull never started"

    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)

    assert proc.returncode == 143
    assert "stopped the temporary ollama server" in out
    assert not any(alive(pid) for pid in box.serve_pids())


def test_tunables_must_be_numbers(box):
    box.models_file("llama3.2:1b\t-\t0\t-\n")

    result = box.run(PULL_RETRIES="4; reboot")

    assert result.returncode == 2
    assert "PULL_RETRIES must be a number, got '4; reboot'" in result.stderr
    assert box.calls() == []


def test_a_missing_models_file_is_a_usage_error(box):
    result = box.run(MODELS_FILE=str(box.data / "nope.tsv"))

    assert result.returncode == 2
    assert "cannot read the models file" in result.stderr and "nope.tsv" in result.stderr


def test_model_lines_holding_shell_syntax_are_rejected_as_data_and_never_run(box):
    marker = box.root / "pwned"
    hostile = [
        f"llama3.2:1b$(touch {marker})",
        f"`touch {marker}`",
        f'llama3.2:1b"; touch {marker}; "',
        "it's:1b",
        f"llama3.2:1b$(touch",  # a name cut by a newline: each half is its own line
        f"{marker})",
        "llama3.2 1b",
    ]
    lines = [f"{name}\t-\t0\t-" for name in hostile] + [f"llama3.2:1b\t$(touch {marker})\t0\t-",
                                                         f"llama3.2:1b\t-\t0\t../../etc/passwd"]
    box.models_file("\n".join(lines) + "\n")

    result = box.run()

    assert result.returncode == 2
    assert not marker.exists()
    assert box.calls() == []  # ollama was never run, not even `serve`
    for n in range(1, 8):
        assert f"line {n}: invalid model name" in result.stderr
    assert "line 8: model llama3.2:1b: digest must be 64 lower-case hex characters or -" in result.stderr
    assert "line 9: model llama3.2:1b: modelfile must be - or a file name, got '../../etc/passwd'" in result.stderr
    assert "9 bad line(s); nothing was done" in result.stderr


def test_a_line_with_the_wrong_number_of_fields_is_rejected(box):
    box.models_file("llama3.2:1b\t-\t0\n")

    result = box.run()

    assert result.returncode == 2
    assert "line 1: expected 4 tab-separated fields (name, digest, insecure, modelfile), found 3" in result.stderr


LIBRARY_LINE = 'source "$(dirname "${BASH_SOURCE[0]}")/models-lib.sh"\n'


def test_the_scripts_never_turn_data_into_code():
    library = PULL.parent / "models-lib.sh"
    for script in (PULL, WAIT, library):
        text = script.read_text()
        if script is not library:  # the one fixed file they source: their sibling library
            assert text.count(LIBRARY_LINE) == 1, script.name
            text = text.replace(LIBRARY_LINE, "")
        assert not re.search(r"\beval\b|\bsource\b|^\s*\. |\bbash -c\b|\bsh -c\b", text, re.MULTILINE), script.name
