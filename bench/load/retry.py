"""Which failed requests a browser would send again (and the load users do, counted apart)."""

from __future__ import annotations

from http.client import RemoteDisconnected

import requests
from urllib3.exceptions import ProtocolError


def closed_unanswered(error: BaseException | None) -> bool:
    """The server closed the connection without a byte of answer: a kept-alive connection it
    closed (idle past gunicorn's keepalive) just as this request went out on it; a client that
    runs late (a starved load generator) widens that window. Browsers send such a request
    again. A refused connection or a timeout is not this."""
    if not isinstance(error, requests.ConnectionError) or not error.args:
        return False
    reason = error.args[0]
    cause = reason.args[-1] if isinstance(reason, ProtocolError) and reason.args else None
    return isinstance(cause, RemoteDisconnected | ConnectionResetError)
