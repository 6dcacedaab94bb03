"""Streamlit's frontend files (/static/js, /static/css, /static/media), served from memory.

A browser's first visit downloads about 180 of these files (10 MB with plotly's chart). Streamlit
serves each from disk through starlette's FileResponse, in 64 KB chunks that each hop to a worker
thread and back, in the server's one Python process: 0.25–0.6 CPU-seconds per new browser, taken
from every student's page run, and at start-up from the model's loading (bench/RESULTS.md,
"Classroom load" and "Cold start"). Here each file is read once per process and then answered in
one piece, gzip-compressed when the browser accepts it (a third of the bytes on a classroom's
Wi-Fi). Their names carry a content hash, so they never change while the server runs.

Only paths that name a file in Streamlit's own static folder are answered; anything else (the page,
index.html, health, websockets, uploads, a path with "..") goes on to Streamlit unchanged. An ASGI
middleware, added with st.App(middleware=...) in streamlit_app.py.
"""
from __future__ import annotations

import asyncio
import gzip
import mimetypes
import threading
from pathlib import Path

from streamlit import config, file_util

FOLDERS = ("js", "css", "media")           # hashed names, served with "immutable"
MAX_CACHED_BYTES = 64 * 2**20              # raw and compressed together; Streamlit's folder holds 26 MB
CACHE_CONTROL = b"public, immutable, max-age=31536000"


class FrontendAssets:
    def __init__(self, app, directory: str | None = None, base_url: str | None = None) -> None:
        self.app = app
        root = Path(directory or file_util.get_static_dir()) / "static"
        # Every servable file, listed once: a request is looked up here, never joined to a path.
        self._files = {f"{folder}/{path.relative_to(root / folder).as_posix()}": path
                       for folder in FOLDERS for path in (root / folder).rglob("*") if path.is_file()}
        base = (config.get_option("server.baseUrlPath") if base_url is None else base_url).strip("/")
        self._prefix = f"/{base}/static/" if base else "/static/"
        self._cache: dict[tuple[str, bool], tuple[bytes, bytes, bool]] = {}  # (name, accepts gzip) -> answer
        self._cached_bytes = 0
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        name = path[len(self._prefix):] if path.startswith(self._prefix) else None
        if name not in self._files or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        accepts_gzip = any(b"gzip" in value for key, value in scope["headers"] if key == b"accept-encoding")
        with self._lock:
            answer = self._cache.get((name, accepts_gzip))
        if answer is None:  # the first request for it: read (and compress) off the event loop
            answer = await asyncio.to_thread(self._prepare, name, accepts_gzip)
        body, content_type, compressed = answer
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", CACHE_CONTROL), (b"vary", b"Accept-Encoding")]
        if compressed:
            headers.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    def _prepare(self, name: str, accepts_gzip: bool) -> tuple[bytes, bytes, bool]:
        """(body, content type, gzip-compressed?) of a file, kept while the cache has room."""
        raw = self._files[name].read_bytes()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        text = kind.startswith("text/") or kind.endswith(("javascript", "json"))
        answer = (raw, (f"{kind}; charset=utf-8" if text else kind).encode(), False)
        if accepts_gzip and (text or kind.endswith("svg+xml")):  # fonts and pictures are compressed already
            packed = gzip.compress(raw, compresslevel=6, mtime=0)
            if len(packed) < 0.9 * len(raw):
                answer = (packed, answer[1], True)
        with self._lock:
            if (name, accepts_gzip) not in self._cache and self._cached_bytes + len(answer[0]) <= MAX_CACHED_BYTES:
                self._cache[(name, accepts_gzip)] = answer
                self._cached_bytes += len(answer[0])
        return answer
