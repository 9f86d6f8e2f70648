"""Response headers, body caps and sign-in cookie flags of the real Flask server (test client)."""

import pytest
from flask import Flask

from dashboard import auth
from dashboard.config import Auth, Settings
from dashboard.security import upload_cap

OIDC = dict(
    mode="oidc", oidc_issuer="http://127.0.0.1:9", oidc_client_id="c", oidc_client_secret="s"
)


def test_every_response_carries_the_security_headers(web_app):
    client = web_app.server.test_client()
    for path in ("/", "/healthz", "/_dash-layout", "/assets/style.css", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'sha256-" in script_src, path
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"


def test_a_body_over_the_upload_cap_gets_a_clear_413(web_app):
    client = web_app.server.test_client()
    cap = web_app.server.config["MAX_CONTENT_LENGTH"]
    assert cap == upload_cap(Settings()), "the cap follows QKATLAS_MAX_UPLOAD_BYTES"
    body = b"x" * (cap + 1)
    response = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "QKATLAS_MAX_UPLOAD_BYTES" in text and "Traceback" not in text
    small = client.post("/_dash-update-component", data=b"{}", content_type="application/json")
    assert small.status_code != 413


def _oidc_server(tmp_path, **kw) -> Flask:
    """A bare Flask server with the app's OIDC sign-in installed (the Dash app is web_app)."""
    server = Flask(__name__)
    server.secret_key = "test"
    auth.install(server, Settings(cache_dir=tmp_path, auth=Auth(**OIDC, **kw)))

    @server.get("/_dash-layout")
    def layout():
        return {"user": auth.current_user()}

    return server


@pytest.mark.parametrize(
    ("public_url", "secure"), [("https://atlas.example.com", True), ("", False)]
)
def test_the_sign_in_cookie_is_httponly_lax_and_secure_over_https(tmp_path, public_url, secure):
    config = _oidc_server(tmp_path, public_url=public_url).config
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_SECURE"] is secure


def test_without_a_session_oidc_redirects_pages_and_refuses_callbacks(tmp_path):
    client = _oidc_server(tmp_path).test_client()
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/auth/login")
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/healthz").status_code == 404, "open, and not part of this bare server"
