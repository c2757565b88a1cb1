"""A small client of the OCI distribution API, speaking to a registry the way Ollama does.

Manifests are fetched with the one Accept header Ollama sends
(``application/vnd.docker.distribution.manifest.v2+json``) and kept as the exact bytes the
registry returned: their SHA-256 is the digest ``/api/tags`` reports after a pull.
Every failure is a `RegistryError` naming the model, the URL and the status.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Iterator

import httpx

from catalog_gen import __version__
from catalog_gen.registry import auth
from catalog_gen.registry.errors import (
    DigestMismatch,
    RegistryError,
    RegistryRefused,
    Unauthorized,
    Unreachable,
    UnknownTag,
)
from catalog_gen.registry.names import ModelRef, base_url

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CHUNK = 1 << 20
Progress = Callable[[int], None]  # bytes moved since the last call


class Registry:
    """One registry host, reached over HTTPS (or plain HTTP when ``insecure``)."""

    def __init__(self, host: str, *, insecure: bool = False, credentials: tuple[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0) -> None:
        self.host = host
        self.insecure = insecure
        self.base = base_url(host, insecure)
        self.credentials = credentials if credentials is not None else auth.credentials_for(host)
        self._client = httpx.Client(transport=transport, follow_redirects=True, timeout=httpx.Timeout(timeout, connect=10.0),
                                    headers={"User-Agent": f"catalog-gen/{__version__}"})
        self._tokens: dict[str, str] = {}  # scope -> bearer token

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- requests ---------------------------------------------------------------------------

    def url(self, ref: ModelRef, kind: str, reference: str) -> str:
        return f"{self.base}/v2/{ref.repository}/{kind}/{reference}"

    def _send(self, method: str, url: str, ref: ModelRef, *, push: bool = False, stream: bool = False,
              headers: dict | None = None, content=None, rewind: Callable[[], object] | None = None) -> httpx.Response:
        scope = f"repository:{ref.repository}:{'pull,push' if push else 'pull'}"
        for attempt in (1, 2):
            hdrs = dict(headers or {})
            if scope in self._tokens:
                hdrs["Authorization"] = self._tokens[scope]
            try:
                request = self._client.build_request(method, url, headers=hdrs, content=content)
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                raise Unreachable(ref.short, url, f"unreachable ({type(exc).__name__}: {exc or 'no answer'})",
                                  hint=self._reach_hint(exc)) from exc
            if response.status_code != 401 or attempt == 2:
                break
            challenge = response.headers.get("WWW-Authenticate", "")
            response.close()
            self._tokens[scope] = self._authorize(challenge, scope, ref, url)
            if rewind is not None:
                content = rewind()
        if response.status_code in (401, 403):
            response.read()
            response.close()
            raise Unauthorized(ref.short, url, f"{response.status_code} unauthorized{_detail(response)}",
                               hint="log in with `docker login " + self.host + "` (catalog-gen reads the Docker config) "
                               "or check the account's access to " + ref.repository)
        return response

    def _authorize(self, challenge: str, scope: str, ref: ModelRef, url: str) -> str:
        scheme, params = auth.parse_challenge(challenge)
        if scheme == "basic":
            if not self.credentials:
                raise Unauthorized(ref.short, url, "401 unauthorized (the registry asks for a user and password)",
                                   hint=f"run `docker login {self.host}`: catalog-gen reads the Docker client's config")
            return auth.basic_header(*self.credentials)
        if scheme != "bearer" or "realm" not in params:
            raise Unauthorized(ref.short, url, f"401 unauthorized (challenge {challenge!r} is not one catalog-gen can answer)")
        query = {"scope": params.get("scope") or scope}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {"Authorization": auth.basic_header(*self.credentials)} if self.credentials else {}
        try:
            response = self._client.get(params["realm"], params=query, headers=headers)
        except httpx.TransportError as exc:
            raise Unreachable(ref.short, params["realm"], f"token service unreachable ({type(exc).__name__}: {exc})") from exc
        if response.status_code >= 400:
            raise Unauthorized(ref.short, params["realm"], f"{response.status_code} from the token service{_detail(response)}",
                               hint=f"check the credentials for {self.host} in the Docker config (`docker login {self.host}`)")
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except ValueError:
            token = None
        if not token:
            raise Unauthorized(ref.short, params["realm"], "the token service answered without a token")
        return f"Bearer {token}"

    def _reach_hint(self, exc: Exception) -> str:
        text = str(exc)
        if not self.insecure and ("SSL" in text or "TLS" in text or "wrong version number" in text):
            return "a registry that speaks plain HTTP needs `insecure: true` (or --insecure)"
        return f"check that {self.host} resolves and listens, and any proxy settings (HTTPS_PROXY)"

    def _fail(self, response: httpx.Response, ref: ModelRef, url: str, what: str) -> RegistryError:
        response.read()
        response.close()
        if response.status_code == 404:
            return UnknownTag(ref.short, url, f"404 {what} not found{_detail(response)}",
                              hint=f"check the name and tag; is {ref.short} in this registry (mirror it with `catalog-gen mirror`)?")
        return RegistryRefused(ref.short, url, f"{response.status_code} {response.reason_phrase}{_detail(response)}")

    # --- manifests --------------------------------------------------------------------------

    def manifest(self, ref: ModelRef) -> bytes:
        """The manifest bytes of a tag, exactly as Ollama would receive and store them."""
        url = self.url(ref, "manifests", ref.tag)
        response = self._send("GET", url, ref, headers={"Accept": MANIFEST_V2})
        if response.status_code != 200:
            raise self._fail(response, ref, url, "manifest (unknown tag)")
        return response.content

    def put_manifest(self, ref: ModelRef, data: bytes, media_type: str) -> None:
        url = self.url(ref, "manifests", ref.tag)
        response = self._send("PUT", url, ref, push=True, headers={"Content-Type": media_type}, content=data)
        if response.status_code not in (200, 201, 202):
            raise self._fail(response, ref, url, "repository")
        expected = "sha256:" + hashlib.sha256(data).hexdigest()
        reported = response.headers.get("Docker-Content-Digest")
        if reported and reported != expected:
            raise DigestMismatch(ref.short, url, f"the registry stored the manifest as {reported}, expected {expected}")

    # --- blobs ------------------------------------------------------------------------------

    def has_blob(self, ref: ModelRef, digest: str) -> bool:
        url = self.url(ref, "blobs", digest)
        response = self._send("HEAD", url, ref)
        response.close()
        if response.status_code in (200, 404):
            return response.status_code == 200
        raise self._fail(response, ref, url, "blob")

    def download_blob(self, ref: ModelRef, digest: str, target: Path, progress: Progress | None = None) -> None:
        """Download a blob into `target`, resuming `target`-partial, and verify its digest."""
        url = self.url(ref, "blobs", digest)
        partial = target.with_name(target.name + "-partial")
        have = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        response = self._send("GET", url, ref, stream=True, headers=headers)
        try:
            # 416: asked past the end, so the partial file is complete (or bogus: the digest check says which)
            if response.status_code not in (200, 206, 416):
                raise self._fail(response, ref, url, "blob")
            if response.status_code == 200:
                have = 0  # the registry ignored the range: start over
            if response.status_code in (200, 206):
                if progress and have:
                    progress(have)
                with open(partial, "ab" if have else "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        if progress:
                            progress(len(chunk))
        except httpx.TransportError as exc:
            raise Unreachable(ref.short, url, f"connection lost during the download ({exc}); rerun to resume") from exc
        finally:
            response.close()
        actual = file_digest(partial)
        if actual != digest:
            partial.unlink(missing_ok=True)
            raise DigestMismatch(ref.short, url, f"digest mismatch: the blob hashes to {actual}", hint="rerun; if it repeats, the source registry serves corrupt data")
        os.replace(partial, target)

    def upload_blob(self, ref: ModelRef, digest: str, source: Path, progress: Progress | None = None) -> None:
        """Upload a blob (monolithic: POST an upload, PUT the bytes with ?digest=)."""
        url = f"{self.base}/v2/{ref.repository}/blobs/uploads/"
        response = self._send("POST", url, ref, push=True)
        if response.status_code != 202 or "Location" not in response.headers:
            raise self._fail(response, ref, url, "repository")
        response.close()
        location = str(httpx.URL(url).join(response.headers["Location"]))
        size = source.stat().st_size

        def body() -> Iterator[bytes]:
            with open(source, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    if progress:
                        progress(len(chunk))
                    yield chunk

        put_url = httpx.URL(location).copy_merge_params({"digest": digest})
        response = self._send("PUT", str(put_url), ref, push=True, content=body(), rewind=body,
                              headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})
        if response.status_code == 400 and b"DIGEST_INVALID" in response.read():
            raise DigestMismatch(ref.short, str(put_url), "the registry computed another digest for the uploaded blob")
        if response.status_code not in (201, 204):
            raise self._fail(response, ref, str(put_url), "upload")
        response.close()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _detail(response: httpx.Response) -> str:
    """The registry's own error message (OCI `errors[0].message`), when there is one."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (ValueError, AttributeError, IndexError, TypeError, httpx.ResponseNotRead):
        return ""
