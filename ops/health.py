"""The checks that /readyz and the daily cycle share: is the database there, is the broker?

Each check returns a short description and raises when the part cannot be used.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from kombu import Connection


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_broker(*, timeout: float = 2.0) -> str:
    """Connect to the broker (``CELERY_BROKER_URL``, read now) and let it answer."""
    url = settings.CELERY_BROKER_URL
    with Connection(url, connect_timeout=timeout) as broker:
        # kombu compares the timeout as seconds and takes a float; the stubs say int.
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)  # type: ignore[arg-type]
        if broker.transport_cls in {"redis", "rediss"}:
            # A redis transport's channel has the client; the stubs know only StdChannel.
            broker.default_channel.client.ping()  # type: ignore[attr-defined]
    return "ok"
