"""Item 8 of issue #16: the product is spelt "ePortal" everywhere, also where the admin
capitalises a name (breadcrumbs, titles, headings)."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from tests import factories

pytestmark = pytest.mark.django_db


def test_capfirst_keeps_eportal():
    rendered = Template("{{ a|capfirst }} {{ b|capfirst }}").render(
        Context({"a": "ePortal tjenester", "b": "time"})
    )
    assert rendered == "ePortal tjenester Time"


def test_admin_pages_never_say_eportal_with_a_capital_e(clinic, clinic_admin, admin_client_for):
    gp = factories.make_practitioner(clinic, "Dr. Berg", eportal_enabled=True)
    client = admin_client_for(clinic_admin)
    for url in (
        "/admin/",
        "/admin/clinics/",
        "/admin/clinics/eportalservice/",
        f"/admin/clinics/eportalservice/{gp.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "EPortal" not in body, url
        assert "ePortal tjenester" in body, url
