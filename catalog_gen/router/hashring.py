"""Consistent hashing with bounded loads (CHWBL) for conversation/prefix affinity.

Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded Loads"
(2017), as KubeAI's PrefixHash strategy uses it for LLM replicas
(https://kubeai.org/concepts/load-balancing): a request's key (the model and
the start of its conversation) is hashed onto a ring of virtual nodes; it goes
to the first member clockwise whose load stays within ``factor`` x the average
load (counting the request itself), so the same conversation returns to the
worker that holds its KV cache until that worker is busier than its share.

The ring holds ``VNODES`` points per member (a stable hash of the member's
name), so adding or removing one member moves only about 1/N of the keys.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math

VNODES = 64  # points per member: 100 workers make a ring of 6,400 points (bisect: ~13 steps)
PREFIX_CHARS = 512  # characters of the conversation start that form the key


def _point(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class HashRing:
    def __init__(self, factor: float = 1.25) -> None:
        self.factor = factor
        self._members: set[str] = set()
        self._points: list[int] = []
        self._owners: list[str] = []

    def __len__(self) -> int:
        return len(self._members)

    def add(self, member: str) -> None:
        if member not in self._members:
            self._members.add(member)
            self._rebuild()

    def remove(self, member: str) -> None:
        if member in self._members:
            self._members.discard(member)
            self._rebuild()

    def _rebuild(self) -> None:
        pairs = sorted((_point(f"{m}#{i}"), m) for m in self._members for i in range(VNODES))
        self._points = [p for p, _ in pairs]
        self._owners = [m for _, m in pairs]

    def walk(self, key: str):
        """Members in ring order starting at ``key``'s point, each once."""
        if not self._points:
            return
        start = bisect.bisect(self._points, _point(key))
        seen: set[str] = set()
        n = len(self._points)
        for i in range(n):
            owner = self._owners[(start + i) % n]
            if owner not in seen:
                seen.add(owner)
                yield owner
                if len(seen) == len(self._members):
                    return

    def choose(self, key: str, loads: dict[str, float], total: float | None = None, members: int | None = None) -> str | None:
        """The first member of ``loads`` (the candidates) on ``key``'s walk whose load + 1 is within the bound.

        The bound is ceil(factor x (total + 1) / members), total and members over the whole pool (default: the
        candidates). When every candidate is above it, the least loaded candidate (None when ``loads`` is empty).
        """
        if not loads:
            return None
        total = sum(loads.values()) if total is None else total
        members = members or len(loads)
        bound = math.ceil(self.factor * (total + 1) / members)
        for member in self.walk(key):
            load = loads.get(member)
            if load is not None and load + 1 <= bound:
                return member
        return min(loads, key=lambda m: (loads[m], m))


def prefix_key(model: str, body: bytes) -> str | None:
    """The conversation key of an inference request: its model and the start of its conversation.

    Chat requests: the system prompt and the first user message (every turn of one conversation resends them);
    completions: the start of the prompt. None when the body has no text to key on (embeddings, bad JSON).
    """
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    text = ""
    messages = data.get("messages")
    if isinstance(messages, list):
        parts = []
        for message in messages:
            if isinstance(message, dict):
                content = message.get("content")
                parts.append(f"{message.get('role')}:{content if isinstance(content, str) else json.dumps(content, sort_keys=True)}")
                if message.get("role") == "user":
                    break
        text = "\n".join(parts)
    else:
        system = data.get("system") if isinstance(data.get("system"), str) else ""
        prompt = data.get("prompt")
        if isinstance(prompt, str):
            text = system + "\n" + prompt
        elif isinstance(data.get("input"), str):  # /v1/responses
            text = data["input"]
    if not text.strip():
        return None
    return f"{model}\n{text[:PREFIX_CHARS]}"
