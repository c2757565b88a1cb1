"""Copy a model between registries: config and layers first, the manifest last, every digest verified.

Blobs the destination already holds are skipped (HEAD), so a second run moves no data.
Blobs are spooled through a local folder: an interrupted download resumes from its
``-partial`` file (HTTP Range), and the tag appears in the destination only once every blob is
there (the manifest goes last, byte for byte, so the digest Ollama reports is the same on
both sides).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Callable

from catalog_gen.registry.client import MANIFEST_V2, Registry
from catalog_gen.registry.errors import DigestMismatch, RegistryRefused, UnknownTag
from catalog_gen.registry.names import ModelRef

# (event, model, digest or "", bytes) with event one of:
# "manifest" (size of the manifest), "skip" (blob already there), "start" (blob size), "bytes" (moved), "done" (blob size),
# "tag-skip" (the destination's tag already holds this manifest).
Event = Callable[[str, str, str, int], None]


@dataclasses.dataclass
class CopyResult:
    model: str
    source: str  # source reference
    destination: str
    digest: str  # 64 hex: the manifest's, what /api/tags reports
    blobs_copied: int = 0
    blobs_skipped: int = 0
    bytes_copied: int = 0
    manifest_pushed: bool = False


def blobs_of(manifest: bytes, ref: ModelRef, url: str) -> list[tuple[str, int]]:
    """(digest, size) of the config and every layer, in manifest order, without repeats."""
    try:
        doc = json.loads(manifest)
        entries = [doc["config"], *doc.get("layers", [])]
        out: dict[str, int] = {}
        for entry in entries:
            out.setdefault(str(entry["digest"]), int(entry.get("size", 0)))
    except (ValueError, KeyError, TypeError) as exc:
        raise RegistryRefused(ref.short, url, f"the manifest is not an image manifest ({exc})") from exc
    for d in out:
        if not (d.startswith("sha256:") and len(d) == 71):
            raise RegistryRefused(ref.short, url, f"the manifest names a blob {d!r} that is not a sha256 digest")
    return list(out.items())


def media_type(manifest: bytes) -> str:
    try:
        return json.loads(manifest).get("mediaType") or MANIFEST_V2
    except ValueError:
        return MANIFEST_V2


def copy_model(source: Registry, src: ModelRef, dest: Registry, dst: ModelRef, spool: Path,
               on_event: Event | None = None, *, expect_digest: str | None = None) -> CopyResult:
    """Copy `src` from `source` to `dst` in `dest`. `expect_digest`: refuse when the source tag moved away from a pin."""
    emit = on_event or (lambda *a: None)
    manifest_url = source.url(src, "manifests", src.tag)
    manifest = source.manifest(src)
    digest = hashlib.sha256(manifest).hexdigest()
    if expect_digest and digest != expect_digest:
        raise DigestMismatch(src.short, manifest_url, f"the tag now has digest {digest}, the leaf pins {expect_digest}",
                             hint="run `catalog-gen pin --check` to see what moved; `pin --update` to accept the new version")
    result = CopyResult(src.short, str(src), str(dst), digest)
    emit("manifest", src.short, "sha256:" + digest, len(manifest))
    spool.mkdir(parents=True, exist_ok=True)
    for blob, size in blobs_of(manifest, src, manifest_url):
        if dest.has_blob(dst, blob):
            result.blobs_skipped += 1
            emit("skip", src.short, blob, size)
            continue
        emit("start", src.short, blob, size)
        target = spool / blob.replace(":", "-")
        if not target.exists():
            source.download_blob(src, blob, target, lambda n, b=blob: emit("bytes", src.short, b, n))
        dest.upload_blob(dst, blob, target)
        target.unlink(missing_ok=True)
        result.blobs_copied += 1
        result.bytes_copied += size
        emit("done", src.short, blob, size)
    if _tag_holds(dest, dst, manifest):
        emit("tag-skip", src.short, "sha256:" + digest, len(manifest))
    else:
        dest.put_manifest(dst, manifest, media_type(manifest))
        check = dest.manifest(dst)
        if check != manifest:
            raise DigestMismatch(dst.short, dest.url(dst, "manifests", dst.tag),
                                 f"the destination serves other manifest bytes (digest {hashlib.sha256(check).hexdigest()}) than it was sent ({digest})",
                                 hint="the destination rewrites manifests; Ollama would then report another digest than the pin")
        result.manifest_pushed = True
    return result


def _tag_holds(dest: Registry, dst: ModelRef, manifest: bytes) -> bool:
    try:
        return dest.manifest(dst) == manifest
    except UnknownTag:
        return False
