"""Response hardening: a Content-Security-Policy with Dash's inline scripts allowed by hash
only, no sniffing, no framing, no referrer across sites; request bodies capped from the upload
limit with a clear 413 message."""

from __future__ import annotations

from dash import Dash
from flask import Response

from dashboard.config import Settings

# Plotly's WebGL traces (scattergl, scatter3d) compile their shaders with regl, which builds
# functions at run time: measured in Chromium (tests/deploy/test_hardening.py), without
# 'unsafe-eval' the matrix and the 3D head stay blank. Scripts are otherwise same-origin only.
SCRIPT_EVAL = "'unsafe-eval'"


def policy(script_hashes: list[str], frame_ancestors: tuple[str, ...] = ()) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes, SCRIPT_EVAL]),
        "style-src": "'self' 'unsafe-inline'",  # Dash and Plotly set inline styles
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": " ".join(frame_ancestors) or "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def upload_cap(settings: Settings) -> int:
    """Bytes of one request: the largest upload, base64-encoded (4/3) inside a JSON body."""
    return settings.limits.max_upload_bytes * 4 // 3 + 1_000_000


def install(app: Dash, settings: Settings) -> None:
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = upload_cap(settings)
    csp: list[str] = []  # computed at the first response: every callback is registered by then

    @server.after_request
    def harden(response: Response) -> Response:
        if not csp:
            csp.append(policy(list(app.csp_hashes()), settings.frame_ancestors))
        response.headers["Content-Security-Policy"] = csp[0]
        response.headers["X-Content-Type-Options"] = "nosniff"
        if not settings.frame_ancestors:  # a notebook shows the app in an iframe
            response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @server.errorhandler(413)
    def too_large(_error) -> Response:
        limit = settings.limits.max_upload_bytes / 1e6
        return Response(
            f"The upload is too large: the limit is {limit:.1f} MB per file "
            "(set QKATLAS_MAX_UPLOAD_BYTES to change it).\n",
            413,
            mimetype="text/plain",
        )
