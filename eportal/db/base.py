"""The PostgreSQL backend with a health check that costs no round trip.

Django's health check (``CONN_HEALTH_CHECKS``) runs ``SELECT 1`` before the first query of
every request: a round trip in which a sync worker serves nobody. A connection the server
has ended (a restart, ``pg_terminate_backend``, an idle timeout) has already received the
server's goodbye and end-of-file on its socket; reading what is waiting there, without
blocking, finds it. So the check here is ``PQconsumeInput`` and a look at the connection's
state, and only a connection that looks alive is kept. ``ENGINE = "eportal.db"``.
"""

from __future__ import annotations

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        pgconn = connection.pgconn
        try:
            pgconn.consume_input()  # non-blocking: reads a pending error or end-of-file
        except psycopg.OperationalError:
            return False
        return (
            pgconn.status == pq.ConnStatus.OK
            and pgconn.transaction_status != pq.TransactionStatus.UNKNOWN
        )
