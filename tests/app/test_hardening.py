"""Response headers, body caps and cookie flags of the real Flask server (its test client)."""

import pytest

from dashboard.config import Auth, Limits, Settings
from dashboard.factory import create_app
from dashboard.security import upload_cap

OIDC = dict(
    mode="oidc", oidc_issuer="http://127.0.0.1:9", oidc_client_id="c", oidc_client_secret="s"
)


@pytest.fixture
def client(tmp_path):
    settings = Settings(cache_dir=tmp_path, limits=Limits(max_upload_bytes=3_000), prewarm=False)
    return create_app(settings, start_workers=False).server.test_client(), settings


def test_every_response_carries_the_security_headers(client):
    client, _ = client
    for path in ("/", "/healthz", "/_dash-layout", "/assets/style.css", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'sha256-" in script_src, path
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"


def test_a_body_over_the_upload_cap_gets_a_clear_413(client):
    client, settings = client
    body = b"x" * (upload_cap(settings) + 1)
    response = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "QKATLAS_MAX_UPLOAD_BYTES" in text and "Traceback" not in text
    small = client.post("/_dash-update-component", data=b"{}", content_type="application/json")
    assert small.status_code != 413


@pytest.mark.parametrize(
    ("public_url", "secure"), [("https://atlas.example.com", True), ("", False)]
)
def test_the_sign_in_cookie_is_httponly_lax_and_secure_over_https(tmp_path, public_url, secure):
    settings = Settings(cache_dir=tmp_path, auth=Auth(**OIDC, public_url=public_url))
    config = create_app(settings, start_workers=False).server.config
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_SECURE"] is secure


def test_without_a_session_oidc_redirects_pages_and_refuses_callbacks(tmp_path):
    settings = Settings(cache_dir=tmp_path, auth=Auth(**OIDC))
    client = create_app(settings, start_workers=False).server.test_client()
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/auth/login")
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/healthz").status_code == 200
