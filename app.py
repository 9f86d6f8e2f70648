"""QK Atlas entry point: `python app.py` serves http://127.0.0.1:8050; `gunicorn app:server`
serves a team (see README, "Deploy for a team")."""

import sys

from dashboard import background
from dashboard.auth import check_exposure
from dashboard.config import ConfigError, Settings
from dashboard.factory import create_app

try:
    settings = Settings.from_env()
    if __name__ == "__main__":  # gunicorn checks its own addresses (gunicorn.conf.py)
        check_exposure([settings.host], settings.auth)
except ConfigError as exc:  # one line that names the variable, never a traceback
    sys.exit(f"QK Atlas: {exc}")

# Dask's worker processes are spawned and re-import this file as __mp_main__: no app there.
if __name__ != "__mp_main__":
    # Only `python app.py` starts its own worker pool; gunicorn's web workers share one.
    app = create_app(settings, start_workers=__name__ == "__main__")
    server = app.server
    # with REDIS_URL, `celery -A app.celery worker` runs the background jobs
    celery = background.celery_app(settings.redis_url) if settings.redis_url else None

if __name__ == "__main__":
    app.run(host=settings.host, port=settings.port, debug=settings.debug)
