"""Settings, read once from environment variables (see the README's table)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Limits:
    """Caps on user data; each message that enforces one names its variable."""

    max_sentences: int = 5_000
    max_tokens: int = 20_000
    max_upload_bytes: int = 5_000_000
    max_images: int = 200
    max_megapixels: int = 16


def _list(env: dict[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


class ConfigError(ValueError):
    """A setting that cannot work; the message names the variable and what to set."""


AUTH_MODES = ("none", "proxy", "oidc")


@dataclass(frozen=True)
class Auth:
    """Who is asking: nobody in particular (loopback only), a trusted SSO proxy, or in-app OIDC."""

    mode: str = "none"
    allow_anonymous: bool = False  # QKATLAS_ALLOW_ANONYMOUS: `none` on a non-loopback address
    user_header: str = "X-Forwarded-Email"
    groups_header: str = "X-Forwarded-Groups"
    proxy_secret: str = field(default="", repr=False)
    trusted_proxies: tuple[str, ...] = ()  # CIDRs
    allowed_groups: tuple[str, ...] = ()  # empty: everyone the SSO lets in
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    public_url: str = ""  # https://… → the session cookie is Secure

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Auth:
        auth = cls(
            mode=env.get("QKATLAS_AUTH", "none").strip().lower() or "none",
            allow_anonymous=_bool(env, "QKATLAS_ALLOW_ANONYMOUS", False),
            user_header=env.get("QKATLAS_USER_HEADER") or "X-Forwarded-Email",
            groups_header=env.get("QKATLAS_GROUPS_HEADER") or "X-Forwarded-Groups",
            proxy_secret=env.get("QKATLAS_PROXY_SECRET", ""),
            trusted_proxies=_list(env, "QKATLAS_TRUSTED_PROXIES"),
            allowed_groups=_list(env, "QKATLAS_ALLOWED_GROUPS"),
            oidc_issuer=env.get("QKATLAS_OIDC_ISSUER", "").rstrip("/"),
            oidc_client_id=env.get("QKATLAS_OIDC_CLIENT_ID", ""),
            oidc_client_secret=env.get("QKATLAS_OIDC_CLIENT_SECRET", ""),
            public_url=env.get("QKATLAS_PUBLIC_URL", "").rstrip("/"),
        )
        auth.validate()
        return auth

    def validate(self) -> None:
        if self.mode not in AUTH_MODES:
            raise ConfigError(
                f"QKATLAS_AUTH must be one of {', '.join(AUTH_MODES)}: got {self.mode!r}"
            )
        if self.mode == "proxy" and not (self.proxy_secret or self.trusted_proxies):
            raise ConfigError(
                "QKATLAS_AUTH=proxy needs QKATLAS_PROXY_SECRET (a header the proxy adds) or "
                "QKATLAS_TRUSTED_PROXIES (the proxy's addresses, as CIDRs)"
            )
        if self.mode == "proxy":
            import ipaddress

            for cidr in self.trusted_proxies:
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except ValueError as exc:
                    raise ConfigError(f"QKATLAS_TRUSTED_PROXIES: {cidr!r} is no CIDR") from exc
        missing = [
            name
            for name, value in (
                ("QKATLAS_OIDC_ISSUER", self.oidc_issuer),
                ("QKATLAS_OIDC_CLIENT_ID", self.oidc_client_id),
                ("QKATLAS_OIDC_CLIENT_SECRET", self.oidc_client_secret),
            )
            if not value
        ]
        if self.mode == "oidc" and missing:
            raise ConfigError(f"QKATLAS_AUTH=oidc needs {', '.join(missing)}")


@dataclass(frozen=True)
class Settings:
    cache_dir: Path = ROOT / "cache"
    model_dirs: tuple[Path, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8050
    debug: bool = False
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    # None: start a LocalCluster with the app; an address: use that existing Dask cluster.
    scheduler_address: str | None = None
    # None: Dash's background jobs on a local diskcache; a Redis URL: on Celery workers
    redis_url: str | None = None
    n_workers: int = 2
    warm_umap: bool = True
    prewarm: bool = True  # compute the default matrix when the app starts
    corpus_sentences: int = 80
    corpus_tokens: int = 5_000
    seed: int = 0
    max_jobs_per_user: int = 2  # matrix jobs of one signed-in user at once; others wait in line
    limits: Limits = Limits()
    # origins that may show the app in a frame (CSP frame-ancestors); none by default, a
    # notebook's (dashboard/notebook.py) when show() displays it inline
    frame_ancestors: tuple[str, ...] = ()
    auth: Auth = Auth()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        dirs = tuple(Path(p).expanduser() for p in env.get("MODEL_DIRS", "").split(os.pathsep) if p)
        return cls(
            cache_dir=Path(env.get("QKATLAS_CACHE_DIR", str(ROOT / "cache"))).expanduser(),
            model_dirs=dirs,
            host=env.get("QKATLAS_HOST", "127.0.0.1"),
            port=_int(env, "QKATLAS_PORT", 8050),
            debug=_bool(env, "QKATLAS_DEBUG", False),
            secret_key=env.get("QKATLAS_SECRET_KEY") or secrets.token_hex(16),
            scheduler_address=env.get("DASK_SCHEDULER_ADDRESS") or None,
            redis_url=env.get("REDIS_URL") or None,
            n_workers=_int(env, "QKATLAS_WORKERS", 2),
            warm_umap=_bool(env, "QKATLAS_WARM_UMAP", True),
            prewarm=_bool(env, "QKATLAS_PREWARM", True),
            corpus_sentences=_int(env, "QKATLAS_CORPUS_SENTENCES", 80),
            corpus_tokens=_int(env, "QKATLAS_CORPUS_TOKENS", 5_000),
            seed=_int(env, "QKATLAS_SEED", 0),
            max_jobs_per_user=_int(env, "QKATLAS_MAX_JOBS_PER_USER", 2),
            limits=Limits(
                max_sentences=_int(env, "QKATLAS_MAX_SENTENCES", 5_000),
                max_tokens=_int(env, "QKATLAS_MAX_TOKENS", 20_000),
                max_upload_bytes=_int(env, "QKATLAS_MAX_UPLOAD_BYTES", 5_000_000),
                max_images=_int(env, "QKATLAS_MAX_IMAGES", 200),
                max_megapixels=_int(env, "QKATLAS_MAX_MEGAPIXELS", 16),
            ),
            auth=Auth.from_env(env),
        ).validated()

    def validated(self) -> Settings:
        if self.debug and self.auth.mode != "none":
            raise ConfigError(
                "QKATLAS_DEBUG=1 shows tracebacks to the browser: never with QKATLAS_AUTH set"
            )
        return self
