"""Booking fixtures: a clinic with an ePortal appointment type, a GP with a weekday
template, and a patient on the GP's list. Time is frozen by the tests that need it."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from booking.models import AppointmentType, BookingSettings, ScheduleRule, ScheduleTemplate, Slot
from identification.session import log_in_patient
from tests import factories

OSLO = ZoneInfo("Europe/Oslo")


def oslo(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=OSLO)


def make_template(
    practitioner,
    appointment_type,
    *,
    weekdays=(1, 2, 3, 4, 5),
    start="08:00",
    end="11:00",
    slot_minutes=20,
    valid_from=datetime.date(2026, 1, 5),
    valid_to=None,
):
    template = ScheduleTemplate.objects.create(
        practitioner=practitioner, valid_from=valid_from, valid_to=valid_to
    )
    for weekday in weekdays:
        ScheduleRule.objects.create(
            template=template,
            weekday=weekday,
            start=datetime.time.fromisoformat(start),
            end=datetime.time.fromisoformat(end),
            slot_minutes=slot_minutes,
            appointment_type=appointment_type,
        )
    return template


def make_slot(practitioner, appointment_type, start, minutes=20, **fields):
    return Slot.objects.create(
        practitioner=practitioner,
        appointment_type=appointment_type,
        start=start,
        end=start + datetime.timedelta(minutes=minutes),
        **fields,
    )


def build_world(clinic) -> SimpleNamespace:
    w = SimpleNamespace(clinic=clinic)
    w.settings = BookingSettings.objects.create(clinic=clinic)
    w.ep = AppointmentType.objects.create(
        clinic=clinic, key="ep", name="ePortal", minutes=20, online=True
    )
    w.internal = AppointmentType.objects.create(
        clinic=clinic, key="int", name="Intern", minutes=30, online=False
    )
    w.gp = factories.make_practitioner(clinic, "Kari Nordmann", key="p1", eportal_enabled=True)
    w.gp_list = factories.make_list(clinic, w.gp, key="l1", name="Liste Nordmann")
    w.patient = factories.make_patient(
        clinic, name="Ola Testesen", mobile="+4741234567", patient_list=w.gp_list
    )
    return w


@pytest.fixture
def world(clinic):
    return build_world(clinic)


@pytest.fixture
def patient_client(client):
    """Log a patient in (the session API, as the login views do); returns the client."""

    def login(patient):
        from django.contrib.sessions.backends.db import SessionStore
        from django.test import RequestFactory

        request = RequestFactory().get("/")
        request.session = SessionStore()
        log_in_patient(request, patient, method="sms")
        request.session.save()
        client.cookies["sessionid"] = request.session.session_key
        return client

    return login
