"""The admin's search icon speaks the admin's language (Django's template says "Search")."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_search_icon_alt_text_is_translated(admin_client_for, clinic_admin):
    client = admin_client_for(clinic_admin)
    html = client.get("/admin/clinics/patient/").content.decode()
    assert 'id="searchbar"' in html
    assert 'alt="Søk"' in html
    assert 'alt="Search"' not in html
