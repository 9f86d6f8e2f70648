"""Who is asking, from a trusted source only: nobody (loopback), an SSO proxy, or in-app OIDC.

- `none`: one person on their own machine; refused on any non-loopback address unless
  QKATLAS_ALLOW_ANONYMOUS=1 (then a warning at every start).
- `proxy`: the company's SSO proxy (oauth2-proxy, Pomerium, nginx auth_request…) signs users in
  and passes the user in a header. The header is believed only from the proxy: the request must
  carry the proxy's shared secret (constant-time comparison), or come from a trusted address,
  or both when both are set. Anything else gets 401 on every route but /healthz.
- `oidc`: no proxy; OpenID Connect sign-in in the app (Authlib), the user kept in Flask's signed
  session cookie (HttpOnly, SameSite=Lax, Secure over https).

QKATLAS_ALLOWED_GROUPS, when set, turns away (403) anyone outside those groups.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, g, redirect, request, session, url_for

from dashboard.config import Auth, ConfigError, Settings

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Proxy-Secret"
OPEN_PATHS = ("/healthz",)
OIDC_PATHS = ("/auth/login", "/auth/callback", "/auth/logout", "/auth/signed-out")
USER_ENVIRON = "qkatlas.user"  # gunicorn's access log prints it (gunicorn.conf.py)


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refusal:
    status: int  # 401: not signed in / not from the proxy; 403: signed in, not allowed
    message: str

    def response(self) -> Response:
        return Response(self.message + "\n", self.status, mimetype="text/plain")


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(hosts: list[str], auth: Auth) -> None:
    """Refuses to serve anonymously anywhere but loopback (ConfigError names QKATLAS_AUTH)."""
    exposed = [h for h in hosts if not is_loopback(h)]
    if auth.mode != "none" or not exposed:
        return
    if not auth.allow_anonymous:
        raise ConfigError(
            f"refusing to serve {', '.join(exposed)} without sign-in: set QKATLAS_AUTH=proxy or "
            "oidc (README, Deploy for a team), or listen on 127.0.0.1"
        )
    log.warning(
        "QKATLAS_ALLOW_ANONYMOUS=1: serving %s with no sign-in; anyone who reaches it can use it",
        ", ".join(exposed),
    )


def allowed(identity: Identity, auth: Auth) -> Identity | Refusal:
    if auth.allowed_groups and not set(identity.groups) & set(auth.allowed_groups):
        return Refusal(
            403,
            f"{identity.user} is signed in but not in a group allowed to use QK Atlas "
            f"({', '.join(auth.allowed_groups)}). Ask the team that runs it for access.",
        )
    return identity


def proxy_identity(headers, remote_addr: str | None, auth: Auth) -> Identity | Refusal:
    """The user the SSO proxy vouches for, or why the request is refused. Pure: testable alone."""
    not_from_proxy = Refusal(401, "Sign in through the company's single sign-on to use QK Atlas.")
    if auth.proxy_secret:
        given = headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), auth.proxy_secret.encode()):
            return not_from_proxy
    if auth.trusted_proxies:
        try:
            address = ipaddress.ip_address(remote_addr or "")
        except ValueError:
            return not_from_proxy
        networks = [ipaddress.ip_network(c, strict=False) for c in auth.trusted_proxies]
        if not any(address in network for network in networks):
            return not_from_proxy
    user = headers.get(auth.user_header, "").strip()
    if not user:
        return not_from_proxy
    groups = tuple(g.strip() for g in headers.get(auth.groups_header, "").split(",") if g.strip())
    return allowed(Identity(user, groups), auth)


def sign(text: str, key: str) -> str:
    return hmac.new(key.encode(), text.encode(), "sha256").hexdigest()


def vouch(request: dict, user: str | None, key: str) -> dict:
    """The request with its user, signed: jobs run without the web request, and the REQUEST
    store they get passes through the browser, so the user is believed only with its signature."""
    if user is None:
        return request
    return {**request, "user": user, "user_sig": sign(f"{user}\n{request['corpus']}", key)}


def vouched_user(request: dict, key: str) -> str | None:
    """The request's user if its signature holds; None (anonymous) otherwise."""
    user, signature = request.get("user"), request.get("user_sig", "")
    if not user or not hmac.compare_digest(sign(f"{user}\n{request['corpus']}", key), signature):
        return None
    return user


def current_user() -> str | None:
    """The signed-in user of this request (None when anonymous, or outside a request)."""
    try:
        return g.get("user")
    except RuntimeError:
        return None


def _remember(identity: Identity) -> None:
    g.user = identity.user
    request.environ[USER_ENVIRON] = identity.user


def install(server: Flask, settings: Settings) -> None:
    auth = settings.auth
    if auth.mode == "proxy":
        _install_proxy(server, auth)
    elif auth.mode == "oidc":
        _install_oidc(server, auth, settings.cache_dir)


def _install_proxy(server: Flask, auth: Auth) -> None:
    @server.before_request
    def from_the_proxy():
        if request.path in OPEN_PATHS:
            return None
        found = proxy_identity(request.headers, request.remote_addr, auth)
        if isinstance(found, Refusal):
            return found.response()
        _remember(found)
        return None


SESSION_HOURS = 12


def _install_oidc(server: Flask, auth: Auth, cache_dir: Path) -> None:
    from authlib.integrations.flask_client import OAuth

    from dashboard.background import json_cache

    # Flask's session cookie is signed, not revocable: it carries only a session id, and the
    # live sessions are kept here (shared by every web host), so signing out ends one for good.
    live = json_cache(cache_dir / "sessions")

    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=urlsplit(auth.public_url).scheme == "https",
        SESSION_COOKIE_NAME="qkatlas_session",
    )
    oauth = OAuth(server)
    sso = oauth.register(
        "sso",
        server_metadata_url=f"{auth.oidc_issuer}/.well-known/openid-configuration",
        client_id=auth.oidc_client_id,
        client_secret=auth.oidc_client_secret,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )

    def external(endpoint: str) -> str:
        if auth.public_url:
            return auth.public_url + url_for(endpoint)
        return url_for(endpoint, _external=True)

    @server.before_request
    def signed_in():
        if request.path in OPEN_PATHS or request.path in OIDC_PATHS:
            return None
        record = live.get(session.get("sid", ""))
        user = record and record.get("user")
        if not user:
            if request.method == "GET" and request.path == "/":
                session["next"] = request.full_path if request.query_string else "/"
                return redirect(url_for("oidc_login"))
            return Refusal(401, "Signed out: reload the page to sign in again.").response()
        found = allowed(Identity(user, tuple(record.get("groups", ()))), auth)
        if isinstance(found, Refusal):
            return found.response()
        _remember(found)
        return None

    @server.get("/auth/login", endpoint="oidc_login")
    def login():
        return sso.authorize_redirect(external("oidc_callback"))

    @server.get("/auth/callback", endpoint="oidc_callback")
    def callback():
        try:
            token = sso.authorize_access_token()
        except Exception:  # an expired or forged answer: start again, never a traceback
            log.warning("OIDC sign-in failed", exc_info=True)
            return Refusal(401, "Sign-in failed: reload the page to try again.").response()
        claims = dict(token.get("userinfo") or {})  # the ID token's claims
        if "email" not in claims:  # many providers keep profile claims for the userinfo endpoint
            claims.update(sso.userinfo(token=token))
        user = claims.get("email") or claims.get("preferred_username") or claims.get("sub")
        if not user:
            return Refusal(401, "The sign-in service sent no user name.").response()
        target = session.pop("next", "/")
        session.clear()
        groups = claims.get("groups")
        groups = [str(x) for x in groups] if isinstance(groups, list) else []
        sid = secrets.token_urlsafe(32)
        record = {"user": str(user), "groups": groups}
        live.set(sid, record, expire=SESSION_HOURS * 3600)
        session["sid"] = sid
        log.info("signed in: %s", user)
        return redirect(target if target.startswith("/") and not target.startswith("//") else "/")

    @server.get("/auth/logout", endpoint="oidc_logout")
    def logout():
        sid = session.pop("sid", "")
        log.info("signed out: %s", (live.get(sid) or {}).get("user"))
        live.delete(sid)
        session.clear()
        return redirect(url_for("oidc_signed_out"))

    @server.get("/auth/signed-out", endpoint="oidc_signed_out")
    def signed_out():
        return Response(
            "<!doctype html><title>QK Atlas</title><p>You are signed out of QK Atlas. "
            '<a href="/">Sign in again</a></p>',
            200,
            mimetype="text/html",
        )
