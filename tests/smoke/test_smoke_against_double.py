"""The smoke runner against the Ollama double: a healthy service passes, each failure mode fails the right check."""

from __future__ import annotations

import threading
import time

from smoke_helpers import EMBED, TEXT, make_double, make_leaf, not_passed, result, smoke, statuses

from catalog_gen.smoke.results import Status
from catalog_gen.testing.ollama_double import serve_double

SECURITY_SKIPPED = {"security.admin_closed": Status.SKIPPED, "security.api_keys": Status.SKIPPED}


def test_healthy_service_passes_every_check(url):
    report = smoke(make_leaf(), url)
    assert list(statuses(report)) == [
        "server.root",
        "server.version",
        f"models.listed[{TEXT}]",
        f"models.listed[{EMBED}]",
        f"models.answers[{TEXT}]",
        f"models.answers[{EMBED}]",
        f"stream.latency[{TEXT}]",
        "openai.models",
        "openai.chat",
        "openai.chat_stream",
        "concurrency",
        "security.admin_closed",
        "security.api_keys",
    ]
    assert not_passed(report) == SECURITY_SKIPPED  # no router in front of the double
    assert report.exit_code == 0
    assert report.warmup.ready and report.warmup.reached
    assert result(report, "concurrency").metrics["succeeded"] == 4
    assert {"ttft_s", "end_to_end_latency_s", "inter_token_latency_s", "output_tokens_per_s"} <= set(report.latency)


def test_missing_model_fails_its_listing_and_nothing_else(url, double):
    double.model(TEXT).on_disk = False
    report = smoke(make_leaf(), url, warmup=0.3)
    failed = {n: s for n, s in not_passed(report).items() if s is not Status.SKIPPED}
    assert failed == {f"models.listed[{TEXT}]": Status.FAILED}
    message = result(report, f"models.listed[{TEXT}]").message
    assert f"{TEXT} is not listed in GET {url}/api/tags" in message and EMBED in message
    assert result(report, f"models.answers[{TEXT}]").message == f"not run: {TEXT} failed models.listed[{TEXT}]"
    assert not report.warmup.ready and "waiting for the pull of llama3.1:8b" in report.warmup.detail
    assert report.exit_code == 1


def test_wrong_digest_fails_only_the_pinned_listing(url, double):
    pinned = double.model(TEXT).digest
    double.model(TEXT).wrong_digest = True
    leaf = make_leaf(models=[{"name": TEXT, "digest": pinned}, {"name": EMBED, "kind": "embedding"}])
    report = smoke(leaf, url)
    assert not_passed(report) == {f"models.listed[{TEXT}]": Status.FAILED, **SECURITY_SKIPPED}
    message = result(report, f"models.listed[{TEXT}]").message
    assert double.model(TEXT).digest in message and pinned in message
    assert "catalog/dev/chat.yaml pins" in message and "models[0].digest" in message


def test_empty_answer_fails_the_answer_check(url, double):
    double.model(TEXT).answer_empty = True
    report = smoke(make_leaf(), url)
    failed = {n for n, s in statuses(report).items() if s is Status.FAILED}
    assert failed == {f"models.answers[{TEXT}]"}
    assert "answered an empty reply" in result(report, f"models.answers[{TEXT}]").message
    assert f"{url}/api/chat" in result(report, f"models.answers[{TEXT}]").message
    assert statuses(report)[f"stream.latency[{TEXT}]"] is Status.SKIPPED


def test_stream_cut_mid_way_fails_the_streaming_check(url, double):
    # A reply longer than the short answer check is cut after 20 chunks, with Ollama's late error line.
    double.knobs.tokens_per_reply = 40
    double.knobs.cut_after_chunks = 20
    report = smoke(make_leaf(), url)
    failed = {n for n, s in statuses(report).items() if s is Status.FAILED}
    assert failed == {f"stream.latency[{TEXT}]"}
    message = result(report, f"stream.latency[{TEXT}]").message
    assert f"streaming POST {url}/api/generate for {TEXT}" in message and "error inside the stream" in message
    assert result(report, f"stream.latency[{TEXT}]").metrics["number_output_tokens"] == 20


def test_dropped_connection_mid_stream_fails_the_streaming_check(url, double):
    double.knobs.tokens_per_reply = 40
    double.knobs.cut_after_chunks = 20
    double.knobs.cut_mode = "drop"
    report = smoke(make_leaf(), url)
    assert {n for n, s in statuses(report).items() if s is Status.FAILED} == {f"stream.latency[{TEXT}]"}
    assert "the connection failed mid-way" in result(report, f"stream.latency[{TEXT}]").message


def test_slow_first_token_misses_the_objective(url, double):
    double.knobs.ttft_seconds = 0.25
    report = smoke(make_leaf(smoke={"objectives": {"ttftMs": 100}}), url)
    assert not_passed(report) == {f"stream.latency[{TEXT}]": Status.FAILED, **SECURITY_SKIPPED}
    message = result(report, f"stream.latency[{TEXT}]").message
    assert "time to first token" in message and "> ttftMs 100" in message and "smoke.objectives" in message
    assert result(report, f"stream.latency[{TEXT}]").metrics["ttft_s"] >= 0.25


def test_objectives_met_pass(url, double):
    double.knobs.token_interval_seconds = 0.005
    objectives = {"ttftMs": 2000, "e2eMs": 5000, "itlMs": 500, "tokensPerSecond": 5}
    report = smoke(make_leaf(smoke={"objectives": objectives}), url)
    assert statuses(report)[f"stream.latency[{TEXT}]"] is Status.PASSED


def test_503_under_load_fails_the_concurrency_check():
    # Two text models, one may be loaded at a time, one pending load allowed: Ollama answers 503.
    double = make_double(max_loaded_models=1, max_queue=1, load_seconds=0.2)
    double.models.append(type(double.models[0])("qwen2.5:7b"))
    leaf = make_leaf(models=[{"name": TEXT}, {"name": "qwen2.5:7b"}], smoke={"concurrency": 6})
    with serve_double(double) as url:
        report = smoke(leaf, url, warmup=5)
    assert not_passed(report) == {"concurrency": Status.FAILED, **SECURITY_SKIPPED}
    message = result(report, "concurrency").message
    assert "HTTP 503: server busy, please try again.  maximum pending requests exceeded" in message


def test_warm_up_waits_for_a_slow_load_and_reports_it(url, double):
    double.knobs.load_seconds = 0.4
    report = smoke(make_leaf(), url, warmup=5)
    assert report.warmup.ready and report.warmup.seconds >= 0.4
    assert report.exit_code == 0


def test_warm_up_retries_until_the_pull_lands(url, double):
    double.model(TEXT).on_disk = False
    threading.Timer(0.6, lambda: setattr(double.model(TEXT), "on_disk", True)).start()
    report = smoke(make_leaf(), url, warmup=5)
    assert report.warmup.ready and report.warmup.attempts >= 3 and report.warmup.seconds >= 0.6
    assert report.exit_code == 0


def test_unreachable_target_runs_no_check_and_exits_2():
    with serve_double(make_double()) as url:
        pass  # the port is free again
    started = time.monotonic()
    report = smoke(make_leaf(), url, warmup=0.5)
    assert time.monotonic() - started < 3
    assert report.results == [] and not report.warmup.reached
    assert "does not answer" in report.warmup.detail and url in report.warmup.detail
    assert report.exit_code == 2


def test_diagnostics_are_gathered_only_when_something_failed(url, double):
    calls = []

    def diagnose():
        calls.append(1)
        return ["pod chat-0: phase Running"]

    healthy = smoke(make_leaf(), url, diagnose=diagnose)
    assert healthy.diagnostics == [] and calls == []
    double.model(TEXT).answer_empty = True
    broken = smoke(make_leaf(), url, diagnose=diagnose)
    assert broken.diagnostics == ["pod chat-0: phase Running"] and calls == [1]


def test_request_timeout_is_an_error_not_a_hang(url, double):
    double.knobs.stall_after_chunks = 2
    double.knobs.tokens_per_reply = 40
    started = time.monotonic()
    report = smoke(make_leaf(), url, timeout=0.5)
    assert time.monotonic() - started < 10
    # the short answer check stalls first: no answer at all is a JUnit error, and the model is then skipped
    check = result(report, f"models.answers[{TEXT}]")
    assert check.status is Status.ERROR and f"no answer from {url} within 0.5 s" in check.message
    assert statuses(report)[f"stream.latency[{TEXT}]"] is Status.SKIPPED


def test_stalled_stream_is_an_error(url, double):
    double.knobs.stall_after_chunks = 20  # after the answer check's 16 tokens
    double.knobs.tokens_per_reply = 40
    report = smoke(make_leaf(), url, timeout=0.5)
    check = result(report, f"stream.latency[{TEXT}]")
    assert check.status is Status.ERROR and "no complete answer within 0.5 s" in check.message
    assert {n for n, s in statuses(report).items() if s in (Status.FAILED, Status.ERROR)} == {f"stream.latency[{TEXT}]"}


def test_a_web_server_that_is_not_ollama_fails_cleanly():
    """A misrouted ingress answering its welcome page to everything: every check says so, nothing crashes."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Welcome(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Welcome)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        report = smoke(make_leaf(), f"http://127.0.0.1:{server.server_address[1]}", warmup=0.3)
    finally:
        server.shutdown()
    assert report.warmup.reached and not report.warmup.ready
    assert statuses(report)["server.root"] is Status.PASSED  # it does answer 200 on /
    assert statuses(report)["server.version"] is Status.FAILED
    assert "did not answer {\"version\": ...}" in result(report, "server.version").message
    assert statuses(report)[f"models.listed[{TEXT}]"] is Status.FAILED
    assert not any(s is Status.ERROR for s in statuses(report).values()), report.results
    assert report.exit_code == 1
