from __future__ import annotations

import pytest
from django.core.cache import cache

from tests import factories


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
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
