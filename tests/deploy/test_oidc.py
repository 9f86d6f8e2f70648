"""In-app OpenID Connect sign-in, end to end in Chromium, against a real OIDC provider
(panva/oidc-provider on node, started here; its development login and consent pages)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deploy.browser import chromium
from tests.deploy.servers import free_port, http_get, require, start_gunicorn, wait_until

pytestmark = pytest.mark.browser
PROVIDER = Path(__file__).parent / "oidc"


@pytest.fixture(scope="module")
def oidc_app(services, base_env, dask_pool):
    node = shutil.which("node") or "/usr/bin/node"
    require(node)
    require(str(PROVIDER / "node_modules" / "oidc-provider"))
    app_port, provider_port = free_port(), free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    issuer = f"http://127.0.0.1:{provider_port}"
    provider = services(
        "oidc-provider",
        [node, str(PROVIDER / "provider.mjs"), str(provider_port), app_url],
        base_env,
    )

    def answering() -> bool:
        if not provider.alive():
            pytest.fail(f"the OIDC provider exited:\n{provider.log_text()}", pytrace=False)
        try:
            return http_get(f"{issuer}/.well-known/openid-configuration")[0] == 200
        except OSError:
            return False

    wait_until(answering, "the OIDC provider to answer", 30, provider.log_text)
    env = {
        **base_env,
        "DASK_SCHEDULER_ADDRESS": dask_pool,
        "QKATLAS_AUTH": "oidc",
        "QKATLAS_OIDC_ISSUER": issuer,
        "QKATLAS_OIDC_CLIENT_ID": "qkatlas",
        "QKATLAS_OIDC_CLIENT_SECRET": "qkatlas-test-client-secret",
        "QKATLAS_ALLOWED_GROUPS": "ml-team",
    }
    web, url = start_gunicorn(services, env, "web-oidc", 2, app_port)
    return web, url


def _sign_in(driver, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/")
    login = wait_until(
        lambda: driver.find_elements(By.NAME, "login"), "the provider's sign-in page", 30
    )
    login[0].send_keys(name)
    driver.find_element(By.NAME, "password").send_keys("any password")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    consent = wait_until(
        lambda: (
            driver.find_elements(By.CSS_SELECTOR, "button[type=submit]")
            if "/interaction/" in driver.current_url
            else None
        ),
        "the provider's consent page",
        30,
    )
    consent[0].click()


def test_sign_in_shows_the_user_and_sign_out_ends_the_session(oidc_app):
    web, url = oidc_app
    assert http_get(url + "/_dash-layout")[0] == 401, "no session: no app"
    assert http_get(url + "/healthz")[0] == 200
    driver = chromium()
    try:
        _sign_in(driver, url, "alice")
        user = wait_until(
            lambda: driver.execute_script(
                "const e = document.getElementById('app-user'); return e && e.textContent;"
            ),
            "the signed-in user in the navbar",
            60,
        )
        assert "alice@example.com" in user and "Sign out" in user
        (cookie,) = [c for c in driver.get_cookies() if c["name"] == "qkatlas_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert not cookie["secure"], "plain http here; Secure is set when served over https"
        session = {"Cookie": f"qkatlas_session={cookie['value']}"}
        assert http_get(url + "/_dash-layout", session)[0] == 200

        driver.find_element("css selector", "#app-user a").click()
        wait_until(lambda: "signed out" in driver.page_source, "the signed-out page", 20)
        assert http_get(url + "/_dash-layout", session)[0] == 401, "the old cookie is dead"
        assert "alice@example.com" in web.log_text()
    finally:
        driver.quit()


def test_a_user_outside_the_allowed_groups_is_told_why(oidc_app):
    _, url = oidc_app
    driver = chromium()
    try:
        _sign_in(driver, url, "outsider")
        wait_until(lambda: "not in a group" in driver.page_source, "a 403 that says why", 30)
        assert "ml-team" in driver.page_source and "Traceback" not in driver.page_source
    finally:
        driver.quit()
