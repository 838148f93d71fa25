"""The booking confirmation SMS links to "Mine timer" (docs/booking.md, "Reschedule"): opened
logged out, the link goes through the login and comes back to it."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

import sms
from delegation.models import Service
from delegation.services import service_matrix_save
from identification.models import PatientCredential
from sms.models import OutboxMessage
from tests import factories
from tests.factories import make_slot

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "blåbærsyltetøy-på-hytta"


@pytest.fixture
def w(world):
    service_matrix_save(
        clinic=world.clinic, service=Service.BOOKING, cells=[(world.gp_list.pk, world.gp.pk)]
    )
    start = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    world.slot = make_slot(world.gp, world.ep, start + datetime.timedelta(days=3))
    PatientCredential.objects.create(patient=world.patient, password=make_password(PASSWORD))
    return world


def confirmation() -> str:
    return OutboxMessage.objects.get(purpose="booking_confirmation").text


def test_the_confirmation_links_to_mine_timer_on_the_public_address(w, settings):
    settings.EPORTAL_PUBLIC_BASE_URL = "https://portal.example/"
    client = factories.log_in_patient(w.patient)
    client.post(f"/c/DEMO1/timer/{w.slot.pk}/", {"reason": "Vondt i kneet"})
    text = confirmation()
    assert "https://portal.example/c/DEMO1/mine-timer/" in text
    assert "kneet" not in text


def test_the_link_goes_through_the_login_and_comes_back(w, settings):
    settings.EPORTAL_PUBLIC_BASE_URL = ""  # the request's own address
    factories.log_in_patient(w.patient).post(f"/c/DEMO1/timer/{w.slot.pk}/", {"reason": "x"})
    link = re.search(r"https?://\S+", confirmation()).group(0)
    assert link == "http://testserver/c/DEMO1/mine-timer/"

    phone = Client()  # the patient's phone: not logged in
    path = link.removeprefix("http://testserver")
    assert phone.get(path)["Location"] == "/c/DEMO1/login/"
    phone.post("/c/DEMO1/login/", {"national_id": w.patient.national_id, "password": PASSWORD})
    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1)
    response = phone.post("/c/DEMO1/login/code/", {"code": code})
    assert response["Location"] == path
    assert phone.get(path).status_code == 200
