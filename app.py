"""QK Atlas entry point: `python app.py` serves http://127.0.0.1:8050 (see README)."""

from dashboard.config import Settings
from dashboard.factory import create_app

settings = Settings.from_env()
# Dask's worker processes are spawned and re-import this file as __mp_main__: no app there.
if __name__ != "__mp_main__":
    app = create_app(settings)
    server = app.server

if __name__ == "__main__":
    app.run(host=settings.host, port=settings.port, debug=settings.debug)
