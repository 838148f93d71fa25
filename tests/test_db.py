"""eportal.db: the PostgreSQL backend's health check needs no round trip, and still finds a
connection the server has ended."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinics.models import Clinic

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _terminate(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_live_connection_is_usable_without_a_query(monkeypatch):
    connection.ensure_connection()

    def no_round_trip(*args, **kwargs):
        raise AssertionError("the health check sent a query")

    # Django's own check runs SELECT 1 on a psycopg cursor of its own.
    monkeypatch.setattr(connection.connection, "cursor", no_round_trip)
    monkeypatch.setattr(connection.connection, "execute", no_round_trip)
    with CaptureQueriesContext(connection) as ctx:
        assert connection.is_usable()
    assert ctx.captured_queries == []


def test_a_connection_the_server_ended_is_found_and_replaced(clinic):
    connection.ensure_connection()
    old_pid = connection.connection.info.backend_pid
    _terminate(old_pid)
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.is_usable()
    # What Django does before the first query of a request with CONN_HEALTH_CHECKS on.
    connection.health_check_done = False
    assert Clinic.objects.filter(pk=clinic.pk).exists()
    assert connection.connection.info.backend_pid != old_pid
