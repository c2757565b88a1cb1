"""A port of Ollama's Modelfile parser (parser/parser.go ``ParseFile``) and of
``api.FormatParams``, rune by rune, for the stand-in `ollama create` and for checking
catalog-gen's renderer against the parser Ollama really runs.

Written from the Go source, independently of ``catalog_gen.plan.modelfile`` (which
checks values with its own smaller port): two ports agreeing is the point.
"""

from __future__ import annotations

import re

NIL, NAME, VALUE, PARAMETER, MESSAGE, COMMENT = range(6)
COMMANDS = {"from", "license", "template", "system", "adapter", "draft", "renderer", "parser", "parameter", "message", "requires"}
INT_OPTIONS = {"num_ctx", "num_batch", "num_gpu", "main_gpu", "num_thread", "num_keep", "seed", "num_predict", "top_k", "repeat_last_n"}
FLOAT_OPTIONS = {"top_p", "min_p", "typical_p", "temperature", "repeat_penalty", "presence_penalty", "frequency_penalty"}
BOOL_OPTIONS = {"use_mmap"}
LIST_OPTIONS = {"stop"}
DEPRECATED = {"penalize_newline", "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mlock", "mirostat", "mirostat_tau", "mirostat_eta"}
GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
           "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


class ModelfileParseError(Exception):
    pass


def _is_space(r: str) -> bool:
    return r in (" ", "\t")


def _is_newline(r: str) -> bool:
    return r in ("\r", "\n")


def _is_alpha(r: str) -> bool:
    return ("a" <= r <= "z") or ("A" <= r <= "Z")


def _go_trim_space(s: str) -> str:
    import unicodedata

    def space(c):
        return c in "\t\n\v\f\r \x85\xa0" if ord(c) <= 0xFF else unicodedata.category(c) in ("Zs", "Zl", "Zp")

    i, j = 0, len(s)
    while i < j and space(s[i]):
        i += 1
    while j > i and space(s[j - 1]):
        j -= 1
    return s[i:j]


def _unquote(s: str) -> tuple[str, bool]:
    if len(s) >= 3 and s[:3] == '"""':
        if len(s) >= 6 and s[-3:] == '"""':
            return s[3:-3], True
        return "", False
    if len(s) >= 1 and s[0] == '"':
        if len(s) >= 2 and s[-1] == '"':
            return s[1:-1], True
        return "", False
    return s, True


def _parse_rune(r: str, state: int) -> tuple[int, str, str | None]:
    """(next state, rune (\"\" for Go's 0), error: None | "eof" | message)."""
    if state == NIL:
        if r == "#":
            return COMMENT, "", None
        if _is_space(r) or _is_newline(r):
            return NIL, "", None
        return NAME, r, None
    if state == NAME:
        if _is_alpha(r):
            return NAME, r, None
        if _is_space(r):
            return VALUE, "", None
        return NIL, "", "invalid command"
    if state == VALUE:
        if _is_newline(r) or _is_space(r):
            return NIL, r, None
        return VALUE, r, None
    if state == PARAMETER:
        if _is_alpha(r) or r.isdigit() and r.isascii() or r == "_":
            return PARAMETER, r, None
        if _is_space(r):
            return VALUE, "", None
        return NIL, "", "eof"
    if state == MESSAGE:
        if _is_alpha(r):
            return MESSAGE, r, None
        if _is_space(r):
            return VALUE, "", None
        return NIL, "", "eof"
    if _is_newline(r):  # COMMENT
        return NIL, "", None
    return COMMENT, "", None


def parse_modelfile(text: str) -> list[tuple[str, str]]:
    """Commands (name, args) as ParseFile returns them; raises ModelfileParseError."""
    if text.startswith("\ufeff"):
        text = text[1:]
    commands: list[tuple[str, str]] = []
    name = ""
    role = ""
    curr = NIL
    line = 1
    buf: list[str] = []
    for r in text:
        if _is_newline(r):
            line += 1
        nxt, r, err = _parse_rune(r, curr)
        if err == "eof":
            raise ModelfileParseError(f"unexpected EOF: {''.join(buf)}")
        if err:
            raise ModelfileParseError(f"(line {line}): command must be one of \"from\", \"license\", ...")
        if nxt != curr:
            if curr == NAME:
                word = "".join(buf)
                if word.lower() not in COMMANDS:
                    raise ModelfileParseError(f"(line {line}): command must be one of \"from\", \"license\", ...")
                low = word.lower()
                if low == "from":
                    name = "model"
                elif low == "parameter":
                    nxt = PARAMETER
                elif low == "message":
                    nxt = MESSAGE
                    name = low
                else:
                    name = low
            elif curr == PARAMETER:
                name = "".join(buf)
            elif curr == MESSAGE:
                if "".join(buf) not in ("system", "user", "assistant"):
                    raise ModelfileParseError(f"(line {line}): message role must be one of \"system\", \"user\", or \"assistant\"")
                role = "".join(buf)
            elif curr == VALUE:
                value, ok = _unquote(_go_trim_space("".join(buf)))
                if not ok or _is_space(r):
                    buf.append(r)
                    continue
                if role:
                    value, role = f"{role}: {value}", ""
                commands.append((name, value))
            buf = []
            curr = nxt
        if r and r.isprintable():
            buf.append(r)
    if curr == VALUE:
        value, ok = _unquote(_go_trim_space("".join(buf)))
        if not ok:
            raise ModelfileParseError("unexpected EOF")
        if role:
            value = f"{role}: {value}"
        commands.append((name, value))
    elif curr not in (NIL, COMMENT):
        raise ModelfileParseError("unexpected EOF")
    if not any(c == "model" for c, _ in commands):
        raise ModelfileParseError("no FROM line")
    return commands


def format_params(commands: list[tuple[str, str]]) -> dict:
    """The /api/create body the CLI builds: from, system, template, parameters (typed)."""
    body: dict = {}
    params: dict = {}
    for name, args in commands:
        if name == "model":
            body["from"] = args
        elif name in ("system", "template"):
            body[name] = args
        elif name in ("license", "message", "adapter", "draft", "renderer", "parser", "requires"):
            continue
        elif name in DEPRECATED:
            continue
        elif name in INT_OPTIONS:
            if not re.fullmatch(r"[+-]?[0-9]+", args):
                raise ModelfileParseError(f"invalid int value [{args}]")
            params[name] = int(args)
        elif name in FLOAT_OPTIONS:
            if not re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|infinity|nan)", args, re.I):
                raise ModelfileParseError(f"invalid float value [{args}]")
            params[name] = float(args)
        elif name in BOOL_OPTIONS:
            if args not in GO_BOOL:
                raise ModelfileParseError(f"invalid bool value [{args}]")
            params[name] = GO_BOOL[args]
        elif name in LIST_OPTIONS:
            params.setdefault(name, []).append(args)
        else:
            raise ModelfileParseError(f"unknown parameter '{name}'")
    if params:
        body["parameters"] = params
    return body
