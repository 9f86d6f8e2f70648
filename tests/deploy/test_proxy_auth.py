"""Identity from the company's SSO proxy: a real nginx in front of gunicorn plays the proxy.

nginx stands in for oauth2-proxy & co: it knows a user by an SSO session cookie and passes the
user, the groups and the shared secret to gunicorn, overwriting whatever the client sent. Requests
that go straight to gunicorn with made-up headers get 401 everywhere but /healthz."""

from __future__ import annotations

import re
import urllib.request

import pytest

from tests.deploy.browser import chromium
from tests.deploy.servers import http_get, start_gunicorn, start_nginx, wait_until

pytestmark = pytest.mark.browser
SECRET = "proxy-secret-only-nginx-knows"
ALICE = {"Cookie": "sso=token-alice"}  # signed in, group ml-team
BOB = {"Cookie": "sso=token-bob"}  # signed in, group sales: not allowed
SPOOF = {"X-Forwarded-Email": "alice@example.com", "X-Forwarded-Groups": "ml-team"}


@pytest.fixture(scope="module")
def deployment(services, base_env, dask_pool):
    env = {
        **base_env,
        "DASK_SCHEDULER_ADDRESS": dask_pool,
        "QKATLAS_AUTH": "proxy",
        "QKATLAS_PROXY_SECRET": SECRET,
        "QKATLAS_ALLOWED_GROUPS": "ml-team",
    }
    web, web_url = start_gunicorn(services, env, "web-proxied", 2)
    proxy = f"""
  map $cookie_sso $sso_user {{ "token-alice" "alice@example.com"; "token-bob" "bob@example.com"; default ""; }}
  map $cookie_sso $sso_groups {{ "token-alice" "ml-team,infra"; "token-bob" "sales"; default ""; }}
  server {{
    listen LISTEN;
    location / {{
      if ($sso_user = "") {{ return 401; }}
      # overwrite, never append: what the client sent under these names never reaches the app
      proxy_set_header X-Forwarded-Email $sso_user;
      proxy_set_header X-Forwarded-Groups $sso_groups;
      proxy_set_header X-Proxy-Secret "{SECRET}";
      proxy_set_header Host $host;
      proxy_pass {web_url};
    }}
  }}"""
    _, url = start_nginx(services, "nginx-sso", proxy)
    return web, web_url, url


def _asset_paths(web_url: str) -> list[str]:
    """Scripts and stylesheets the page links to (read through the proxy's identity)."""
    _, _, page = http_get(web_url + "/", {**SPOOF, "X-Proxy-Secret": SECRET})
    paths = re.findall(r'(?:src|href)="(/[^"]+\.(?:js|css)[^"]*)"', page)
    assert any("_dash-component-suites" in p for p in paths), page[:500]
    return paths


def test_signed_in_users_reach_the_app_through_the_proxy(deployment):
    web, _, url = deployment
    status, _, page = http_get(url + "/", ALICE)
    assert status == 200 and "<title>QK Atlas</title>" in page
    status, _, layout = http_get(url + "/_dash-layout", ALICE)
    assert status == 200 and "alice@example.com" in layout, "the navbar names the user"
    wait_until(lambda: "alice@example.com" in web.log_text(), "the user in the access log", 10)


def test_a_user_outside_the_allowed_groups_is_told_why(deployment):
    _, _, url = deployment
    status, _, body = http_get(url + "/", BOB)
    assert status == 403 and "bob@example.com" in body and "ml-team" in body
    # a client's own identity header does not survive the proxy
    status, _, body = http_get(url + "/", {**BOB, **SPOOF})
    assert status == 403 and "bob@example.com" in body
    assert http_get(url + "/", {})[0] == 401, "no SSO session: the proxy refuses"


@pytest.mark.parametrize(
    "extra", [{}, {"X-Proxy-Secret": "wrong"}, {"X-Proxy-Secret": SECRET[:-1]}], ids=str
)
def test_spoofed_headers_straight_to_gunicorn_get_401_on_every_route(deployment, extra):
    _, web_url, _ = deployment
    paths = ["/", "/_dash-layout", "/_dash-dependencies", *_asset_paths(web_url)]
    for path in paths:
        status, _, body = http_get(web_url + path, {**SPOOF, **extra})
        assert status == 401, f"{path}: {status}"
        assert "alice" not in body and "Traceback" not in body
    post = urllib.request.Request(
        web_url + "/_dash-update-component",
        data=b"{}",
        headers={**SPOOF, **extra, "Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(post, timeout=10)
    assert refused.value.code == 401
    assert http_get(web_url + "/healthz", extra)[0] == 200, "health checks need no identity"


def test_the_page_works_in_chromium_behind_the_proxy_with_its_security_headers(
    deployment, services
):
    web, _, url = deployment
    _, headers, _ = http_get(url + "/", ALICE)
    csp = headers["Content-Security-Policy"]
    assert (
        "script-src 'self' 'sha256-" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "same-origin"

    driver = chromium()
    try:
        driver.get(
            url + "/favicon-not-here"
        )  # a page of this origin (nginx: 401) to set the cookie
        driver.add_cookie({"name": "sso", "value": "token-alice", "path": "/"})
        driver.get(url + "/")
        user = wait_until(
            lambda: driver.execute_script(
                "const e = document.getElementById('app-user'); return e && e.textContent;"
            ),
            "the signed-in user in the navbar",
            60,
        )
        assert "alice@example.com" in user
        drawn = wait_until(
            lambda: driver.execute_script(
                "const g = document.querySelector('#matrix-graph .js-plotly-plot');"
                "return g && g.data && g.data.length && g.querySelector('canvas') "
                "&& !document.body.innerText.includes('WebGL is not supported') && g.data.length;"
            ),
            "the matrix drawn in WebGL under the Content-Security-Policy",
            300,
            lambda: (
                driver.save_screenshot(str(services.folder / "proxied-page.png"))
                and f"screenshot: {services.folder / 'proxied-page.png'}\n" + web.log_text()[-4000:]
            ),
        )
        assert drawn >= 1
        violations = [
            e["message"]
            for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"]
        ]
        assert not violations, violations
    finally:
        driver.quit()
