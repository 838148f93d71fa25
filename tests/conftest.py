from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from django.db import connections

from tests import factories
from tests.e2e.harness import browser, page  # noqa: F401 - one browser for every folder
from tests.live import live_redis  # noqa: F401 - a Redis server of the test's own


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``postgres`` skip on SQLite locally, and fail in CI where they must run."""
    if item.get_closest_marker("postgres") and connections["default"].vendor != "postgresql":
        reason = "needs PostgreSQL: set DATABASE_URL=postgres://..."
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI=true but the database is not PostgreSQL; {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _clean_cache():
    import sms

    sms.outbox = []
    cache.clear()
    yield
    sms.outbox = []
    cache.clear()


@pytest.fixture
def clinic(db):
    return factories.make_clinic(
        "DEMO1", name="Bakkehuset legekontor", address="Bakken 1, 0123 Oslo"
    )


@pytest.fixture
def other_clinic(db):
    return factories.make_clinic("OTHER", name="Fjellet legesenter")


@pytest.fixture
def clinic_admin(clinic):
    return factories.make_staff(clinic, email="admin@bakkehuset.example")


@pytest.fixture
def other_admin(other_clinic):
    return factories.make_staff(other_clinic, email="admin@fjellet.example")


@pytest.fixture
def superuser(db):
    from clinics.models import User

    return User.objects.create_superuser("root@example.org", "correct-horse-battery")


@pytest.fixture
def admin_client_for(client):
    """Log a staff user in to the admin site; returns the client."""

    def login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return login


@pytest.fixture
def patient_client_for(client):
    """Log a patient in (as after a password + SMS code login, or ``method="bankid"``);
    returns the client. The one patient login of the tests (factories.log_in_patient)."""

    def login(patient, method="sms"):
        return factories.log_in_patient(patient, method=method, client=client)

    return login


@pytest.fixture
def sms_dir(settings, tmp_path):
    """SMS go through the file backend into a fresh folder (one text file per message)."""
    settings.SMS_BACKEND = "sms.backends.file.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    return tmp_path
