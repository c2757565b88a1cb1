"""One streamed request, timed the way vLLM's benchmark_serving and llmperf time it.

- TTFT: from sending the request to the first chunk carrying a non-empty token.
- ITL: the gaps between consecutive token chunks.
- E2E: from sending to the last chunk (Ollama's final ``done`` chunk, or SSE ``[DONE]``).
- TPOT: (E2E - TTFT) / (output tokens - 1).
- Output tokens: Ollama's ``eval_count`` when the final chunk has it (or the
  OpenAI ``usage``), else the number of token chunks.
- Output tokens/s: output tokens / E2E (llmperf's ``request_output_throughput``).

A stream succeeded only if it was read to its end: an ``{"error"}`` line after
the start, a cut connection or a missing final chunk make it a failure, even
under status 200 (Ollama reports late errors that way).
"""

from __future__ import annotations

import dataclasses
import json
import time

import httpx


@dataclasses.dataclass
class Sample:
    status: int = 0
    error: str = ""  # empty when the reply was complete and well-formed
    ttft: float | None = None
    e2e: float = 0.0
    itls: list[float] = dataclasses.field(default_factory=list)
    chunks: int = 0  # chunks carrying a token
    output_tokens: int = 0
    text: str = ""
    done: bool = False  # the final chunk arrived (done: true / [DONE])
    done_reason: str = ""
    retry_after: str | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error and self.done

    @property
    def tpot(self) -> float | None:
        if self.ttft is None or self.output_tokens < 2:
            return None
        return (self.e2e - self.ttft) / (self.output_tokens - 1)

    @property
    def tokens_per_second(self) -> float | None:
        return self.output_tokens / self.e2e if self.e2e > 0 and self.output_tokens else None

    def metrics(self) -> dict[str, float | int]:
        """llmperf's per-request field names."""
        out: dict[str, float | int] = {"end_to_end_latency_s": round(self.e2e, 6), "number_output_tokens": self.output_tokens}
        if self.ttft is not None:
            out["ttft_s"] = round(self.ttft, 6)
        if self.itls:
            out["inter_token_latency_s"] = round(sum(self.itls) / len(self.itls), 6)
        if self.tpot is not None:
            out["tpot_s"] = round(self.tpot, 6)
        if self.tokens_per_second is not None:
            out["output_tokens_per_s"] = round(self.tokens_per_second, 3)
        return out


def error_text(response: httpx.Response) -> str:
    """The message of an error body in either dialect, else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or f"HTTP {response.status_code} with an empty body"
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message", err))
    if err is not None:
        return str(err)
    return json.dumps(data)[:200]


def _piece(obj: dict, sse: bool) -> str:
    if sse:
        choices = obj.get("choices") or []
        first = choices[0] if choices and isinstance(choices[0], dict) else {}
        delta = first.get("delta") if isinstance(first.get("delta"), dict) else {}
        return delta.get("content") or first.get("text") or ""
    message = obj.get("message")
    if isinstance(message, dict):
        return message.get("content") or ""
    return obj.get("response") or ""


async def stream(client: httpx.AsyncClient, path: str, body: dict, *, timeout: float, sse: bool = False) -> Sample:
    """POST ``body`` to ``path`` and read the whole stream (NDJSON, or SSE when ``sse``)."""
    sample = Sample()
    start = time.perf_counter()
    last = start
    try:
        async with client.stream("POST", path, json=body, timeout=timeout) as response:
            sample.status = response.status_code
            sample.retry_after = response.headers.get("retry-after")
            if response.status_code != 200:
                await response.aread()
                sample.error = f"HTTP {response.status_code}: {error_text(response)}"
                sample.e2e = time.perf_counter() - start
                return sample
            async for line in response.aiter_lines():
                line = line.strip()
                if not line:
                    continue
                if sse:
                    if not line.startswith("data:"):
                        continue
                    line = line[5:].strip()
                    if line == "[DONE]":
                        sample.done = True
                        sample.e2e = time.perf_counter() - start
                        break
                try:
                    obj = json.loads(line)
                except ValueError:
                    sample.error = f"the stream carried a line that is not JSON: {line[:80]!r}"
                    break
                if not isinstance(obj, dict):
                    sample.error = f"the stream carried a JSON value that is not an object: {line[:80]!r}"
                    break
                if "error" in obj:
                    err = obj["error"]
                    sample.error = "error inside the stream: " + str(err.get("message", err) if isinstance(err, dict) else err)
                    break
                now = time.perf_counter()
                piece = _piece(obj, sse)
                if piece:
                    if sample.ttft is None:
                        sample.ttft = now - start
                    else:
                        sample.itls.append(now - last)
                    last = now
                    sample.chunks += 1
                    sample.text += piece
                if sse:
                    usage = obj.get("usage")
                    if isinstance(usage, dict) and usage.get("completion_tokens"):
                        sample.output_tokens = int(usage["completion_tokens"])
                    choices = obj.get("choices") or []
                    if choices and isinstance(choices[0], dict) and choices[0].get("finish_reason"):
                        sample.done_reason = str(choices[0]["finish_reason"])
                elif obj.get("done"):
                    sample.done = True
                    sample.done_reason = str(obj.get("done_reason", ""))
                    sample.e2e = now - start
                    if isinstance(obj.get("eval_count"), int):
                        sample.output_tokens = obj["eval_count"]
    except httpx.TimeoutException:
        sample.timed_out = True
        sample.error = f"no complete answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        sample.error = f"the connection failed mid-way: {type(exc).__name__}: {exc}".rstrip(": ")
    if not sample.e2e:
        sample.e2e = time.perf_counter() - start
    if not sample.output_tokens:
        sample.output_tokens = sample.chunks
    if not sample.error and sample.status == 200 and not sample.done:
        sample.error = "the stream ended without its final chunk (done / [DONE]): the reply was cut"
    return sample
