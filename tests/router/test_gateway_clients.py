"""The official `ollama` and `openai` clients through a gateway in front of two workers."""

from __future__ import annotations

import ollama
import openai
import pytest
from gateway_helpers import run_gateway, run_workers
from router_helpers import EMBED, TEXT, wait_for


def test_official_clients_through_the_gateway(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("k1\n")
    with run_workers(2) as workers, run_gateway([h.url for _, h in workers], api_keys_file=str(keys)) as gateway:
        wait_for(lambda: all(b.polled for b in gateway.app.backends), 5, "workers polled")
        client = ollama.Client(host=gateway.url, headers={"Authorization": "Bearer k1"}, timeout=20)
        names = {m.model for m in client.list().models}
        assert TEXT in names and EMBED in names, "the listing is the union of the workers'"
        reply = client.chat(model=TEXT, messages=[{"role": "user", "content": "hi"}])
        assert reply.done and reply.message.content
        streamed = list(client.generate(model=TEXT, prompt="hi", stream=True))
        assert streamed[-1].done and any(part.response for part in streamed)
        assert len(client.embed(model=EMBED, input=["a", "b"]).embeddings) == 2
        oai = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k1", max_retries=0, timeout=20)
        completion = oai.chat.completions.create(model=TEXT, messages=[{"role": "user", "content": "hi"}])
        assert completion.choices[0].message.content
        chunks = list(oai.chat.completions.create(model=TEXT, messages=[{"role": "user", "content": "hi"}], stream=True))
        assert chunks and chunks[-1].choices[0].finish_reason == "stop"
        with pytest.raises(openai.AuthenticationError):  # a wrong key is refused at the gateway
            openai.OpenAI(base_url=gateway.url + "/v1", api_key="wrong", max_retries=0).models.list()
