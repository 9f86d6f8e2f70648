"""Identity rules as pure functions: who the proxy vouches for, and when the app refuses to start."""

import pytest

from dashboard.auth import Identity, Refusal, allowed, check_exposure, is_loopback, proxy_identity
from dashboard.config import Auth, ConfigError, Settings

SECRET = "s3cret-from-the-proxy"
USER = {"X-Forwarded-Email": "alice@example.com", "X-Forwarded-Groups": "ml-team, infra"}


def proxy(**kw) -> Auth:
    return Auth(mode="proxy", **kw)


@pytest.mark.parametrize(
    ("auth", "headers", "remote", "expected"),
    [
        # the shared secret: required from every address, loopback included
        (
            proxy(proxy_secret=SECRET),
            {**USER, "X-Proxy-Secret": SECRET},
            "10.0.0.9",
            "alice@example.com",
        ),
        (proxy(proxy_secret=SECRET), USER, "127.0.0.1", 401),
        (proxy(proxy_secret=SECRET), {**USER, "X-Proxy-Secret": SECRET[:-1]}, "127.0.0.1", 401),
        (proxy(proxy_secret=SECRET), {**USER, "X-Proxy-Secret": SECRET + "x"}, "127.0.0.1", 401),
        # trusted addresses
        (proxy(trusted_proxies=("10.1.0.0/16",)), USER, "10.1.2.3", "alice@example.com"),
        (proxy(trusted_proxies=("10.1.0.0/16",)), USER, "10.2.0.1", 401),
        (proxy(trusted_proxies=("10.1.0.0/16",)), USER, None, 401),
        # both set: both required
        (proxy(proxy_secret=SECRET, trusted_proxies=("10.1.0.0/16",)), USER, "10.1.2.3", 401),
        # no user header from a trusted proxy: nobody signed in
        (proxy(proxy_secret=SECRET), {"X-Proxy-Secret": SECRET}, "127.0.0.1", 401),
        (
            proxy(proxy_secret=SECRET),
            {"X-Proxy-Secret": SECRET, "X-Forwarded-Email": " "},
            "127.0.0.1",
            401,
        ),
        # groups
        (
            proxy(proxy_secret=SECRET, allowed_groups=("infra",)),
            {**USER, "X-Proxy-Secret": SECRET},
            "::1",
            "alice@example.com",
        ),
        (
            proxy(proxy_secret=SECRET, allowed_groups=("sales",)),
            {**USER, "X-Proxy-Secret": SECRET},
            "::1",
            403,
        ),
        # other header names
        (
            proxy(proxy_secret=SECRET, user_header="X-Auth-Request-User"),
            {"X-Auth-Request-User": "bob", "X-Proxy-Secret": SECRET, **USER},
            "127.0.0.1",
            "bob",
        ),
    ],
)
def test_the_proxy_is_believed_only_with_its_secret_or_address(auth, headers, remote, expected):
    found = proxy_identity(headers, remote, auth)
    if isinstance(expected, int):
        assert isinstance(found, Refusal) and found.status == expected
        assert "alice" not in found.message or expected == 403
    else:
        assert found == Identity(expected, found.groups) and found.user == expected


def test_a_refused_group_is_told_why():
    found = allowed(Identity("bob@example.com", ("sales",)), Auth(allowed_groups=("ml-team",)))
    assert isinstance(found, Refusal) and found.status == 403
    assert "bob@example.com" in found.message and "ml-team" in found.message


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("::", False),
        ("example.com", False),
    ],
)
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_anonymous_serving_off_loopback_is_refused_unless_asked_for(caplog):
    with pytest.raises(ConfigError, match="QKATLAS_AUTH"):
        check_exposure(["0.0.0.0"], Auth())
    check_exposure(["127.0.0.1"], Auth())  # one person on their own machine: fine
    check_exposure(["0.0.0.0"], Auth(mode="proxy", proxy_secret=SECRET))
    check_exposure(["0.0.0.0"], Auth(allow_anonymous=True))
    assert "QKATLAS_ALLOW_ANONYMOUS" in caplog.text


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"QKATLAS_AUTH": "ldap"}, "QKATLAS_AUTH must be one of"),
        ({"QKATLAS_AUTH": "proxy"}, "QKATLAS_PROXY_SECRET"),
        ({"QKATLAS_AUTH": "proxy", "QKATLAS_TRUSTED_PROXIES": "10.0.0.0/33"}, "no CIDR"),
        ({"QKATLAS_AUTH": "oidc", "QKATLAS_OIDC_ISSUER": "http://x"}, "QKATLAS_OIDC_CLIENT_ID"),
        (
            {"QKATLAS_AUTH": "proxy", "QKATLAS_PROXY_SECRET": "x", "QKATLAS_DEBUG": "1"},
            "QKATLAS_DEBUG",
        ),
        ({"QKATLAS_PORT": "eighty"}, "QKATLAS_PORT"),
    ],
)
def test_settings_that_cannot_work_name_their_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_proxy_settings_are_read():
    auth = Settings.from_env(
        {
            "QKATLAS_AUTH": "Proxy",
            "QKATLAS_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7/32",
            "QKATLAS_ALLOWED_GROUPS": "ml-team,infra",
        }
    ).auth
    assert auth.mode == "proxy" and auth.trusted_proxies == ("10.0.0.0/8", "192.168.1.7/32")
    assert auth.allowed_groups == ("ml-team", "infra")
    assert SECRET not in repr(Auth(proxy_secret=SECRET)), "secrets stay out of logs"
