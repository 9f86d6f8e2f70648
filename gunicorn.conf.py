"""gunicorn settings for a team deployment: `gunicorn app:server` (README, "Deploy for a team").

The web workers only serve pages and callbacks; every model and projection runs on one shared
Dask pool, found through DASK_SCHEDULER_ADDRESS (never a LocalCluster per web worker).
"""

import os

bind = f"{os.environ.get('QKATLAS_HOST', '127.0.0.1')}:{os.environ.get('QKATLAS_PORT', '8050')}"
workers = int(os.environ.get("QKATLAS_WEB_WORKERS", "2"))
threads = 4  # callbacks mostly wait on the store and the pool, not on the CPU
# The slowest callback (a whole-model mean in the sentence view, a cold figure) takes seconds;
# a worker silent for this long is stuck and is replaced.
timeout = 120
graceful_timeout = 10  # SIGTERM: in-flight requests get this long, then the workers go
keepalive = 5
control_socket_disable = True  # no admin socket in $HOME: deployments and tests share machines
accesslog = "-"
# who asked (set by dashboard/auth.py from the trusted identity; "-" when anonymous) and which
# web worker answered, when (to match a client's log)
access_log_format = '%(h)s %({qkatlas.user}e)s "%(r)s" %(s)s %(b)s %(M)sms pid=%(p)s %(t)s'


def on_starting(server) -> None:
    from dashboard.auth import check_exposure
    from dashboard.config import ConfigError, Settings

    try:
        settings = Settings.from_env()
        hosts = [address.rsplit(":", 1)[0] for address in server.cfg.bind]
        check_exposure([h for h in hosts if not h.startswith("unix")], settings.auth)
    except ConfigError as exc:
        raise SystemExit(f"QK Atlas: {exc}") from None
    if not settings.scheduler_address:
        raise SystemExit(
            "gunicorn serves QK Atlas with several web workers that share one worker pool: "
            "start it (`dask scheduler` and `dask worker … --preload dashboard.worker_preload`) "
            "and set DASK_SCHEDULER_ADDRESS; for one person, `python app.py` starts its own."
        )
