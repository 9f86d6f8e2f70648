"""gzip for the JSON the callbacks send: figures are most of a page's bytes, and their base64
typed arrays and repeated hover text shrink two- to tenfold. Level 1: measured on the default
matrix (bench/figures.py), it keeps ~95 % of level 6's saving at ~60 % of its time.

Only JSON bodies (Dash's callback responses) of a useful size, for a client that accepts gzip;
static files (plotly.js) are sent as files and left to the browser's cache or the proxy."""

from __future__ import annotations

import gzip
import hashlib

from flask import Flask, Response, request

from dashboard.lru import LockedLRU

LEVEL = 1
MIN_BYTES = 1_400  # about one packet: smaller bodies gain nothing worth the work


REUSE_BYTES = 256_000  # bodies this big (figures) are kept compressed, by their digest
# the same matrix goes to every user who opens it: hashing it costs a tenth of compressing it
_RECENT: LockedLRU[bytes] = LockedLRU(8)


def compressed(body: bytes) -> bytes:
    """The body as sent to a client that accepts gzip."""
    if len(body) < REUSE_BYTES:
        return gzip.compress(body, compresslevel=LEVEL)
    digest = hashlib.blake2b(body, digest_size=20).digest()
    return _RECENT.get(digest, lambda: gzip.compress(body, compresslevel=LEVEL))


def wanted(response: Response, accept_encoding: str) -> bool:
    return (
        "gzip" in accept_encoding.lower()
        and response.status_code == 200
        and response.mimetype == "application/json"
        and not response.direct_passthrough
        and "Content-Encoding" not in response.headers
        and (response.content_length or 0) >= MIN_BYTES
    )


def install(server: Flask) -> None:
    @server.after_request
    def compress(response: Response) -> Response:
        response.vary.add("Accept-Encoding")
        if wanted(response, request.headers.get("Accept-Encoding", "")):
            response.set_data(compressed(response.get_data()))
            response.headers["Content-Encoding"] = "gzip"
        return response
