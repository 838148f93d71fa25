"""/healthz (the process answers) and /readyz (database and broker), outside the HTTPS redirect."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops import health


def test_healthz_answers_without_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_checks_database_and_broker(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_readyz_names_the_broker_when_it_is_down(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "failing": ["broker"],
        "database": "ok",
        "broker": "unavailable",
    }


def test_readyz_names_the_database_when_it_is_down(client, db, monkeypatch):
    def down() -> str:
        raise ConnectionError("no database")

    monkeypatch.setattr(health, "check_database", down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_are_not_redirected_to_https(client, db, settings, path):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(path).status_code == 200
    assert client.get("/").status_code == 301


def test_compose_health_checks_use_the_endpoints():
    compose = (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text()
    assert "http://127.0.0.1:8000/healthz" in compose
    assert "manage.py ops_watch" in compose
