"""QK Atlas entry point: `python app.py` serves http://127.0.0.1:8050 (see README)."""

from dashboard import shutdown
from dashboard.config import Settings
from dashboard.factory import create_app

settings = Settings.from_env()

if __name__ == "__main__":
    shutdown.handle_signals()  # Ctrl-C and SIGTERM stop the app and its workers within seconds
    try:
        app = create_app(settings)
        app.run(host=settings.host, port=settings.port, debug=settings.debug)
    except KeyboardInterrupt:
        pass  # the server loop ends on Ctrl-C or SIGTERM
    finally:
        shutdown.stop()
# Dask's worker processes are spawned and re-import this file as __mp_main__: no app there.
elif __name__ != "__mp_main__":
    app = create_app(settings)
    server = app.server
