"""Speed (docs/benchmarks.md): the inbox, "Mine meldinger" and "Ny eKonsultasjon" run a fixed
number of queries, whatever the number of threads and practitioners."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from delegation.services import service_matrix_save
from econsult.models import Consultation, Message
from tests import factories

pytestmark = pytest.mark.django_db


def grow(world, threads: int, practitioners: int = 0) -> None:
    others = [
        factories.make_practitioner(world.clinic, f"Lege {i:02d}", eportal_enabled=True)
        for i in range(practitioners)
    ]
    if others:
        service_matrix_save(
            clinic=world.clinic,
            service="econsult",
            cells=[(world.gp_list.pk, p.pk) for p in [world.gp, *others]],
        )
    for n in range(threads):
        consultation = Consultation.objects.create(
            clinic=world.clinic,
            patient=world.patient,
            practitioner=[world.gp, *others][n % (len(others) + 1)],
            subject=f"Tråd {n}",
            intake_day="2026-12-01",
            answer_by="2026-12-04",
            last_patient_message_at="2026-12-01T08:00:00Z",
            unread_by_staff=bool(n % 2),
        )
        Message.objects.create(consultation=consultation, author="patient", body="x")


def count(client, url) -> int:
    client.get(url)  # warm the session cache and the compiled queries
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["mine", "new"])
def test_patient_pages_do_not_grow(world, patient_client_for, page):
    url = reverse(f"econsult:{page}", kwargs={"ep_ident": world.clinic.ep_ident})
    client = patient_client_for(world.patient)
    grow(world, threads=1)
    small = count(client, url)
    grow(world, threads=40, practitioners=15)
    assert count(client, url) == small


def test_inbox_does_not_grow(world, admin_client_for):
    client = admin_client_for(factories.make_staff(world.clinic, practitioner=world.gp))
    url = "/admin/econsult/inbox/?practitioner=all"
    grow(world, threads=1)
    small = count(client, url)
    grow(world, threads=60, practitioners=10)
    assert count(client, url) == small


def test_a_thread_does_not_grow_with_its_messages(world, patient_client_for):
    grow(world, threads=1)
    consultation = Consultation.objects.get()
    url = reverse(
        "econsult:thread",
        kwargs={"ep_ident": world.clinic.ep_ident, "consultation_id": consultation.pk},
    )
    client = patient_client_for(world.patient, method="bankid")
    small = count(client, url)
    for n in range(20):
        Message.objects.create(consultation=consultation, author="clinic", body=f"svar {n}")
    assert count(client, url) == small
