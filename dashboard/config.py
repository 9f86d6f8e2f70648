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
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


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
    n_workers: int = 2
    warm_umap: bool = True
    prewarm: bool = True  # compute the default matrix when the app starts
    corpus_sentences: int = 80
    corpus_tokens: int = 5_000
    seed: int = 0
    limits: Limits = Limits()

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
            n_workers=_int(env, "QKATLAS_WORKERS", 2),
            warm_umap=_bool(env, "QKATLAS_WARM_UMAP", True),
            prewarm=_bool(env, "QKATLAS_PREWARM", True),
            corpus_sentences=_int(env, "QKATLAS_CORPUS_SENTENCES", 80),
            corpus_tokens=_int(env, "QKATLAS_CORPUS_TOKENS", 5_000),
            seed=_int(env, "QKATLAS_SEED", 0),
            limits=Limits(
                max_sentences=_int(env, "QKATLAS_MAX_SENTENCES", 5_000),
                max_tokens=_int(env, "QKATLAS_MAX_TOKENS", 20_000),
                max_upload_bytes=_int(env, "QKATLAS_MAX_UPLOAD_BYTES", 5_000_000),
                max_images=_int(env, "QKATLAS_MAX_IMAGES", 200),
                max_megapixels=_int(env, "QKATLAS_MAX_MEGAPIXELS", 16),
            ),
        )
