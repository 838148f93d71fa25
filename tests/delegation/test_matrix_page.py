"""The "ePortal delegerer" admin page, as the clinic's administrator, another clinic's
administrator and a superuser."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from clinics.models import AuditEvent, Practitioner
from delegation.models import MatrixCell, Service, ServiceMatrix
from delegation.selectors import matrix_state, practitioners_for
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    """Row and role names are checked in the source language (English)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


URL = "/admin/delegation/delegation/"


def page(service: str = "booking", clinic=None) -> str:
    return f"{URL}{service}/" + (f"?clinic={clinic.pk}" if clinic is not None else "")


def cell(row, practitioner) -> str:
    return f"{row.pk if row is not None else 'none'}:{practitioner.pk}"


def stored(clinic, service) -> frozenset:
    return matrix_state(clinic, service).stored


def matrix_table(body: str) -> str:
    match = re.search(r'<table class="matrix".*?</table>', body, re.S)
    assert match, "no matrix table on the page"
    return match.group(0)


def staff_events():
    """Audit events of the page (the fixtures' own saves are system actions)."""
    return AuditEvent.objects.filter(action__startswith="delegation.", staff__isnull=False)


def flagged(body: str) -> list[str]:
    """The row headers of the rows flagged as "cannot use this service"."""
    rows = re.findall(
        r'<tr class="([^"]*)">\s*<th scope="row">\s*<span class="list-name">([^<]*)', body
    )
    return [name for classes, name in rows if "unserved" in classes.split()]


def message(body: str) -> str:
    """The level of the message shown after a redirect ("success", "info")."""
    match = re.search(r'<ul class="messagelist">\s*<li class="([^"]*)"', body)
    return match.group(1) if match else ""


def error_note(body: str) -> str:
    match = re.search(r'<div class="errornote"[^>]*>(.*?)</div>', body, re.S)
    return match.group(1) if match else ""


def checkbox(body: str, row, practitioner) -> str:
    match = re.search(
        rf'<input type="checkbox" name="cells" value="{cell(row, practitioner)}"[^>]*>', body
    )
    assert match, f"no checkbox for {cell(row, practitioner)}"
    return match.group(0)


# The clinic's own administrator


def test_the_page_is_in_the_admin_index_for_clinic_staff(admin_client_for, clinic_admin):
    body = admin_client_for(clinic_admin).get("/admin/").content.decode()
    assert f'href="{URL}"' in body


def test_the_page_opens_on_booking(admin_client_for, clinic_admin, leaflet):
    response = admin_client_for(clinic_admin).get(URL)
    assert response.status_code == 302
    assert response["Location"] == page("booking")


def test_clinic_admin_sees_the_matrix_as_a_table(admin_client_for, clinic_admin, leaflet):
    response = admin_client_for(clinic_admin).get(page("booking"))
    assert response.status_code == 200
    body = matrix_table(response.content.decode())
    assert "<caption>" in body
    # Columns: practitioners with their role; rows: lists, then patients without a GP here.
    headers = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', body, re.S)
    names = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", h)).strip() for h in headers]
    assert names[1].startswith("Kari Nordmann")
    assert "Vera Vikar Locum" in names
    assert "Tore Turnus Junior doctor" in names
    rows = re.findall(r'<th scope="row">\s*<span class="list-name">([^<]*)</span>', body)
    assert rows == [
        "Liste Kari Nordmann",
        "Liste Per Hansen",
        "Patients without a GP at this clinic",
    ]
    # Every checkbox has a label naming its row and column.
    assert (
        f'<label for="cell-{leaflet.list_nordmann.pk}-{leaflet.vikar.pk}" class="visually-hidden">'
        "Liste Kari Nordmann – Vera Vikar</label>" in body
    )
    assert body.count('type="checkbox" name="cells"') == 3 * 5
    assert body.count('class="visually-hidden">') >= 3 * 5
    # The ticks of the leaflet's example.
    assert " checked" in checkbox(body, leaflet.list_nordmann, leaflet.vikar)
    assert " checked" in checkbox(body, leaflet.list_hansen, leaflet.hansen)
    assert " checked" not in checkbox(body, leaflet.list_hansen, leaflet.nordmann)
    # The nurse has no "Aktiver ePortal": greyed out, cannot be ticked.
    assert " disabled" in checkbox(body, None, leaflet.nurse)
    assert " disabled" not in checkbox(body, None, leaflet.vikar)
    # Every row is served for booking in the leaflet's example: nothing is flagged.
    assert flagged(body) == []


def test_other_clinics_are_not_on_the_page(admin_client_for, clinic_admin, leaflet, other_clinic):
    factories.make_practitioner(other_clinic, "Per Utenfor", eportal_enabled=True)
    factories.make_list(other_clinic, name="Liste Utenfor")
    body = admin_client_for(clinic_admin).get(page("urgent")).content.decode()
    assert "Per Utenfor" not in body
    assert "Liste Utenfor" not in body
    assert 'name="clinic"' not in body  # no clinic picker for a clinic administrator


def test_a_row_with_nobody_ticked_is_flagged(admin_client_for, clinic_admin, leaflet):
    client = admin_client_for(clinic_admin)
    client.post(page("econsult"), {"cells": [cell(leaflet.list_hansen, leaflet.hansen)]})
    body = client.get(page("econsult")).content.decode()
    assert flagged(body) == ["Liste Kari Nordmann", "Patients without a GP at this clinic"]


def test_a_row_ticked_only_for_a_switched_off_practitioner_is_flagged(
    admin_client_for, clinic_admin, leaflet
):
    Practitioner.objects.filter(pk=leaflet.turnus.pk).update(eportal_enabled=False)
    body = admin_client_for(clinic_admin).get(page("urgent")).content.decode()
    assert flagged(body) == [
        "Liste Kari Nordmann",
        "Liste Per Hansen",
        "Patients without a GP at this clinic",
    ]
    assert " checked" in checkbox(body, None, leaflet.turnus)
    assert " disabled" in checkbox(body, None, leaflet.turnus)


def test_an_unconfigured_service_shows_the_standard_package(
    admin_client_for, clinic_admin, unconfigured
):
    body = admin_client_for(clinic_admin).get(page("urgent")).content.decode()
    assert 'class="matrix-status matrix-standard"' in body
    assert " checked" in checkbox(body, unconfigured.list_nordmann, unconfigured.nordmann)
    assert " checked" not in checkbox(body, unconfigured.list_nordmann, unconfigured.vikar)
    assert f'action="{URL}urgent/reset/"' not in body


def test_clinic_admin_ticks_and_saves(admin_client_for, clinic_admin, leaflet):
    client = admin_client_for(clinic_admin)
    cells = [
        cell(leaflet.list_nordmann, leaflet.nordmann),
        cell(leaflet.list_hansen, leaflet.hansen),
        cell(leaflet.list_hansen, leaflet.vikar),
        cell(None, leaflet.vikar),
    ]
    response = client.post(page("booking"), {"cells": cells})
    assert response.status_code == 302
    assert response["Location"] == page("booking")

    assert stored(leaflet.clinic, Service.BOOKING) == {
        (leaflet.list_nordmann.pk, leaflet.nordmann.pk),
        (leaflet.list_hansen.pk, leaflet.hansen.pk),
        (leaflet.list_hansen.pk, leaflet.vikar.pk),
        (None, leaflet.vikar.pk),
    }
    assert [p.name for p in practitioners_for(leaflet.kari, Service.BOOKING)] == ["Kari Nordmann"]
    assert [p.name for p in practitioners_for(leaflet.per, Service.BOOKING)] == ["Vera Vikar"]
    # Only the saved service changed.
    assert [p.name for p in practitioners_for(leaflet.per, Service.URGENT)] == ["Tore Turnus"]
    assert message(client.get(page("booking")).content.decode()) == "success"


def test_saving_an_unconfigured_service_configures_it(admin_client_for, clinic_admin, unconfigured):
    client = admin_client_for(clinic_admin)
    assert not ServiceMatrix.objects.filter(clinic=unconfigured.clinic).exists()
    client.post(page("econsult"), {"cells": []})
    assert ServiceMatrix.objects.filter(clinic=unconfigured.clinic, service="econsult").exists()
    assert practitioners_for(unconfigured.kari, Service.ECONSULT) == []


def test_save_writes_an_audit_event_naming_the_changed_cells(
    admin_client_for, clinic_admin, leaflet
):
    client = admin_client_for(clinic_admin)
    client.post(
        page("booking"),
        {
            "cells": [
                cell(leaflet.list_nordmann, leaflet.nordmann),
                cell(leaflet.list_nordmann, leaflet.vikar),
                cell(leaflet.list_hansen, leaflet.hansen),
                cell(leaflet.list_hansen, leaflet.turnus),
            ]
        },
    )
    event = staff_events().get(action="delegation.matrix_save")
    assert event.staff == clinic_admin
    assert event.clinic == leaflet.clinic
    assert event.actor_type == AuditEvent.ActorType.STAFF
    assert event.details["service"] == "booking"
    assert event.details["added"] == [
        {
            "patient_list": "list-hansen",
            "patient_list_id": leaflet.list_hansen.pk,
            "practitioner": "p-turnus",
            "practitioner_id": leaflet.turnus.pk,
        }
    ]
    assert event.details["removed"] == [
        {
            "patient_list": "list-hansen",
            "patient_list_id": leaflet.list_hansen.pk,
            "practitioner": "p-vikar",
            "practitioner_id": leaflet.vikar.pk,
        },
        {
            "patient_list": None,
            "patient_list_id": None,
            "practitioner": "p-turnus",
            "practitioner_id": leaflet.turnus.pk,
        },
    ]


def test_every_save_is_audited_even_without_changes(admin_client_for, clinic_admin, leaflet):
    client = admin_client_for(clinic_admin)
    cells = [
        cell(r, p)
        for r, p in [
            (leaflet.list_nordmann, leaflet.turnus),
            (leaflet.list_hansen, leaflet.turnus),
            (None, leaflet.turnus),
        ]
    ]
    client.post(page("urgent"), {"cells": cells})
    event = staff_events().get(action="delegation.matrix_save")
    assert event.details["added"] == event.details["removed"] == []
    assert message(client.get(page("urgent")).content.decode()) == "info"


def test_the_whole_matrix_saves_in_one_transaction(
    admin_client_for, clinic_admin, leaflet, monkeypatch
):
    """If anything fails after the cells are written, none of them stay written."""
    before = stored(leaflet.clinic, Service.BOOKING)

    def fail(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("clinics.audit.record", fail)
    client = admin_client_for(clinic_admin)
    client.raise_request_exception = False
    response = client.post(page("booking"), {"cells": [cell(None, leaflet.vikar)]})
    assert response.status_code == 500
    assert stored(leaflet.clinic, Service.BOOKING) == before


def test_ticking_a_practitioner_without_aktiver_eportal_is_refused(
    admin_client_for, clinic_admin, leaflet
):
    before = stored(leaflet.clinic, Service.BOOKING)
    response = admin_client_for(clinic_admin).post(
        page("booking"),
        {"cells": [cell(leaflet.list_nordmann, leaflet.nordmann), cell(None, leaflet.nurse)]},
    )
    assert response.status_code == 400
    assert "Siv Sykepleier" in error_note(response.content.decode())
    assert stored(leaflet.clinic, Service.BOOKING) == before
    assert not staff_events().exists()


def test_a_switched_off_practitioners_ticks_are_kept_on_save(
    admin_client_for, clinic_admin, leaflet
):
    """Browsers do not send disabled checkboxes: a save must not untick a switched-off column."""
    Practitioner.objects.filter(pk=leaflet.vikar.pk).update(eportal_enabled=False)
    admin_client_for(clinic_admin).post(
        page("booking"),
        {"cells": [cell(leaflet.list_nordmann, leaflet.nordmann), cell(None, leaflet.turnus)]},
    )
    assert stored(leaflet.clinic, Service.BOOKING) == {
        (leaflet.list_nordmann.pk, leaflet.nordmann.pk),
        (None, leaflet.turnus.pk),
        (leaflet.list_nordmann.pk, leaflet.vikar.pk),
        (leaflet.list_hansen.pk, leaflet.vikar.pk),
    }


@pytest.mark.parametrize("what", ["practitioner", "list", "garbage"])
def test_cells_of_another_clinic_are_refused_and_nothing_is_saved(
    admin_client_for, clinic_admin, leaflet, other_clinic, what
):
    stranger = factories.make_practitioner(other_clinic, "Per Utenfor", eportal_enabled=True)
    foreign_list = factories.make_list(other_clinic, stranger)
    bad = {
        "practitioner": cell(leaflet.list_nordmann, stranger),
        "list": cell(foreign_list, leaflet.vikar),
        "garbage": "'; drop table x; --",
    }[what]
    before = {s: stored(leaflet.clinic, s) for s in Service}
    response = admin_client_for(clinic_admin).post(
        page("booking"), {"cells": [cell(None, leaflet.vikar), bad]}
    )
    assert response.status_code == 400
    assert error_note(response.content.decode())
    assert {s: stored(leaflet.clinic, s) for s in Service} == before
    assert not MatrixCell.objects.filter(practitioner=stranger).exists()
    assert not staff_events().exists()


def test_reset_returns_to_the_standard_package(admin_client_for, clinic_admin, leaflet):
    client = admin_client_for(clinic_admin)
    assert f'action="{URL}urgent/reset/"' in client.get(page("urgent")).content.decode()
    assert client.get(f"{URL}urgent/reset/").status_code == 405
    # The button asks first (issue #16, item 6): nothing changes until the admin confirms.
    client.cookies["eportal_language"] = "en"
    asked = client.post(f"{URL}urgent/reset/")
    assert asked.status_code == 200
    body = asked.content.decode()
    assert 'name="confirm" value="yes"' in body and f'action="{URL}urgent/reset/' in body
    assert "No, keep the clinic" in body
    assert ServiceMatrix.objects.filter(clinic=leaflet.clinic, service="urgent").exists()
    assert not staff_events().filter(action="delegation.matrix_reset").exists()
    response = client.post(f"{URL}urgent/reset/", {"confirm": "yes"})
    assert response.status_code == 302
    assert not ServiceMatrix.objects.filter(clinic=leaflet.clinic, service="urgent").exists()
    assert [p.name for p in practitioners_for(leaflet.kari, Service.URGENT)] == ["Kari Nordmann"]
    event = staff_events().get(action="delegation.matrix_reset")
    assert len(event.details["removed"]) == 3


def test_an_unknown_service_is_not_found(admin_client_for, clinic_admin):
    client = admin_client_for(clinic_admin)
    assert client.get(f"{URL}dentist/").status_code == 404
    assert client.post(f"{URL}dentist/reset/").status_code == 404


def test_a_clinic_with_no_patient_lists_has_only_the_last_row(
    admin_client_for, clinic_admin, clinic
):
    junior = factories.make_practitioner(clinic, "Tore Turnus", eportal_enabled=True)
    body = matrix_table(admin_client_for(clinic_admin).get(page("urgent")).content.decode())
    assert body.count('scope="row"') == 1
    assert f'value="none:{junior.pk}"' in body


# Another clinic's administrator


def test_another_clinics_admin_cannot_open_this_clinics_matrix(
    admin_client_for, other_admin, leaflet
):
    client = admin_client_for(other_admin)
    for service in ("booking", "urgent"):
        assert client.get(page(service, leaflet.clinic)).status_code == 404
    assert client.get(f"{URL}?clinic={leaflet.clinic.pk}").status_code == 404
    # Without ?clinic they see their own clinic's (empty) matrix, never this one's.
    body = client.get(page("booking")).content.decode()
    assert "Kari Nordmann" not in body
    assert "Liste Per Hansen" not in body


def test_another_clinics_admin_cannot_change_this_clinics_matrix(
    admin_client_for, other_admin, leaflet
):
    before = {s: stored(leaflet.clinic, s) for s in Service}
    client = admin_client_for(other_admin)
    response = client.post(page("booking", leaflet.clinic), {"cells": [cell(None, leaflet.vikar)]})
    assert response.status_code == 404
    assert client.post(f"{URL}urgent/reset/?clinic={leaflet.clinic.pk}").status_code == 404
    # Posting this clinic's cells to their own page is refused as well.
    response = client.post(page("booking"), {"cells": [cell(None, leaflet.vikar)]})
    assert response.status_code == 400
    assert {s: stored(leaflet.clinic, s) for s in Service} == before
    assert not ServiceMatrix.objects.filter(clinic=other_admin.clinic).exists()


def test_staff_without_a_clinic_are_refused(admin_client_for, db):
    staff = factories.make_staff(None)
    assert admin_client_for(staff).get(page("booking")).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(page("booking"))
    assert response.status_code == 302
    assert "login" in response["Location"]


# A superuser


def test_superuser_chooses_the_clinic(admin_client_for, superuser, leaflet, other_clinic):
    client = admin_client_for(superuser)
    body = client.get(page("booking")).content.decode()
    assert '<select name="clinic"' in body
    assert leaflet.clinic.name in body and other_clinic.name in body
    assert 'name="cells"' not in body

    body = client.get(page("booking", leaflet.clinic)).content.decode()
    assert " checked" in checkbox(body, leaflet.list_nordmann, leaflet.vikar)
    assert f'href="{URL}urgent/?clinic={leaflet.clinic.pk}"' in body


def test_superuser_saves_the_chosen_clinics_matrix(
    admin_client_for, superuser, leaflet, other_clinic
):
    client = admin_client_for(superuser)
    response = client.post(page("booking", leaflet.clinic), {"cells": [cell(None, leaflet.vikar)]})
    assert response.status_code == 302
    assert response["Location"] == page("booking", leaflet.clinic)
    assert stored(leaflet.clinic, Service.BOOKING) == {(None, leaflet.vikar.pk)}
    assert staff_events().get(action="delegation.matrix_save").staff == superuser
    # The chosen clinic decides which cells are valid.
    response = client.post(page("booking", other_clinic), {"cells": [cell(None, leaflet.vikar)]})
    assert response.status_code == 400
    assert not ServiceMatrix.objects.filter(clinic=other_clinic).exists()


@pytest.mark.parametrize("value", ["999999", "abc", "-1"])
def test_superuser_with_an_unknown_clinic_gets_404(admin_client_for, superuser, value):
    assert admin_client_for(superuser).get(f"{page('booking')}?clinic={value}").status_code == 404


def test_the_page_keeps_queries_few(
    admin_client_for, clinic_admin, leaflet, django_assert_max_num_queries
):
    client = admin_client_for(clinic_admin)
    client.get(page("booking"))
    with django_assert_max_num_queries(12):
        client.get(page("booking"))
