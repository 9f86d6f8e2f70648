"""QK Atlas entry point: `python app.py` serves http://127.0.0.1:8050; `gunicorn app:server`
serves a team (see README, "Deploy for a team")."""

import sys

from dashboard import background, shutdown
from dashboard.auth import check_exposure
from dashboard.config import ConfigError, Settings
from dashboard.factory import create_app

try:
    settings = Settings.from_env()
    if __name__ == "__main__":  # gunicorn checks its own addresses (gunicorn.conf.py)
        check_exposure([settings.host], settings.auth)
except ConfigError as exc:  # one line that names the variable, never a traceback
    sys.exit(f"QK Atlas: {exc}")

if __name__ == "__main__":
    shutdown.handle_signals()  # Ctrl-C and SIGTERM stop the app and its workers within seconds
    try:
        app = create_app(settings)  # with its own worker pool
        app.run(host=settings.host, port=settings.port, debug=settings.debug)
    except KeyboardInterrupt:
        pass  # the server loop ends on Ctrl-C or SIGTERM
    finally:
        shutdown.stop()
# Dask's worker processes are spawned and re-import this file as __mp_main__: no app there.
elif __name__ != "__mp_main__":
    # gunicorn's web workers (and Celery's) share one pool: none starts its own
    app = create_app(settings, start_workers=False)
    server = app.server
    # with REDIS_URL, `celery -A app.celery worker` runs the background jobs
    celery = background.celery_app(settings.redis_url) if settings.redis_url else None
