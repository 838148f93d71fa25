"""Builders for test data, the worlds the tests play in, and the patient login.

Plain functions, so that a test may call them anywhere, also in its own threads; the
fixtures in the conftest files are thin wrappers. Identity numbers are synthetic
(month + 80).
"""

from __future__ import annotations

import datetime
import itertools
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory

from booking.models import AppointmentType, BookingSettings, ScheduleRule, ScheduleTemplate, Slot
from clinics.models import Clinic, Patient, PatientList, Practitioner, User
from clinics.national_id import make as make_national_id
from delegation.models import Service
from delegation.services import service_matrix_save
from identification import session as patient_session

_counter = itertools.count(1)

OSLO = ZoneInfo("Europe/Oslo")


def national_id(kind: str = "fnr", year: int = 1985) -> str:
    """A fresh, valid synthetic identity number."""
    n = next(_counter)
    birth = datetime.date(year, (n % 12) + 1, (n % 28) + 1)
    return make_national_id(birth, individual=100 + (n * 7) % 390, kind=kind, synthetic=True)


def make_clinic(ep_ident: str | None = None, **fields: object) -> Clinic:
    n = next(_counter)
    return Clinic.objects.create(
        ep_ident=ep_ident or f"CLINIC{n}",
        name=fields.pop("name", f"Legekontor {n}"),
        phone=fields.pop("phone", "+4722000000"),
        **fields,
    )


def make_practitioner(clinic: Clinic, name: str | None = None, **fields: object) -> Practitioner:
    n = next(_counter)
    return Practitioner.objects.create(clinic=clinic, name=name or f"Lege {n}", **fields)


def make_list(clinic: Clinic, gp: Practitioner | None = None, **fields: object) -> PatientList:
    n = next(_counter)
    return PatientList.objects.create(
        clinic=clinic, gp=gp, name=fields.pop("name", f"Liste {n}"), **fields
    )


def make_patient(clinic: Clinic, **fields: object) -> Patient:
    n = next(_counter)
    fields.setdefault("national_id", national_id())
    fields.setdefault("name", f"Pasient {n}")
    fields.setdefault("mobile", f"+47400{n:05d}")
    return Patient.objects.create(clinic=clinic, **fields)


def make_staff(clinic: Clinic | None, email: str | None = None, **fields: object) -> User:
    n = next(_counter)
    return User.objects.create_user(
        email=email or f"admin{n}@example.org",
        password=fields.pop("password", "correct-horse-battery"),
        clinic=clinic,
        is_staff=True,
        **fields,
    )


# Logging a patient in


def log_in_patient(
    patient: Patient, *, method: str = "sms", client: Client | None = None
) -> Client:
    """``client`` (a new one by default) logged in as ``patient``, as after a login with
    ``method`` ("sms": password + SMS code; "bankid"): the patient session's own API makes
    the session, records the login and the session is saved to the database (not to the
    session cache, so a request's first read fills it, as the query counts expect).

    No fixture, no shared state: threads call it for their own clients, and clients that
    share one session copy its cookie. The tests import the patient session module here
    only.
    """
    request = RequestFactory().get("/")
    request.session = SessionStore()
    patient_session.log_in_patient(request, patient, method=method)
    request.session.save()
    client = client or Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = request.session.session_key
    return client


# Worlds


def oslo(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=OSLO)


def make_template(
    practitioner: Practitioner,
    appointment_type: AppointmentType,
    *,
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5),
    start: str = "08:00",
    end: str = "11:00",
    slot_minutes: int = 20,
    valid_from: datetime.date = datetime.date(2026, 1, 5),
    valid_to: datetime.date | None = None,
) -> ScheduleTemplate:
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


def make_slot(
    practitioner: Practitioner,
    appointment_type: AppointmentType,
    start: datetime.datetime,
    minutes: int = 20,
    **fields: object,
) -> Slot:
    return Slot.objects.create(
        practitioner=practitioner,
        appointment_type=appointment_type,
        start=start,
        end=start + datetime.timedelta(minutes=minutes),
        **fields,
    )


def build_booking_world(clinic: Clinic) -> SimpleNamespace:
    """A clinic with booking settings, an ePortal and an internal appointment type, a GP with
    "Aktiver ePortal" and a list, and a patient with a mobile on that list (no template yet:
    :func:`make_template`)."""
    w = SimpleNamespace(clinic=clinic)
    w.settings = BookingSettings.objects.create(clinic=clinic)
    w.ep = AppointmentType.objects.create(
        clinic=clinic, key="ep", name="ePortal", minutes=20, online=True
    )
    w.internal = AppointmentType.objects.create(
        clinic=clinic, key="int", name="Intern", minutes=30, online=False
    )
    w.gp = make_practitioner(clinic, "Kari Nordmann", key="p1", eportal_enabled=True)
    w.gp_list = make_list(clinic, w.gp, key="l1", name="Liste Nordmann")
    w.patient = make_patient(
        clinic, name="Ola Testesen", mobile="+4741234567", patient_list=w.gp_list
    )
    return w


def build_leaflet_clinic(clinic: Clinic, *, configure: bool = True) -> SimpleNamespace:
    """The leaflet's clinic: two GPs with a list each, a locum, a junior doctor and a nurse
    without "Aktiver ePortal"; configured as in the leaflet's example when ``configure``."""
    Role = Practitioner.Role
    w = SimpleNamespace(clinic=clinic)
    w.nordmann = make_practitioner(clinic, "Kari Nordmann", key="p-nordmann", eportal_enabled=True)
    w.hansen = make_practitioner(clinic, "Per Hansen", key="p-hansen", eportal_enabled=True)
    w.vikar = make_practitioner(
        clinic, "Vera Vikar", key="p-vikar", role=Role.LOCUM, eportal_enabled=True
    )
    w.turnus = make_practitioner(
        clinic, "Tore Turnus", key="p-turnus", role=Role.JUNIOR, eportal_enabled=True
    )
    w.nurse = make_practitioner(clinic, "Siv Sykepleier", key="p-sykepleier", role=Role.NURSE)
    w.list_nordmann = make_list(clinic, w.nordmann, key="list-nordmann", name="Liste Kari Nordmann")
    w.list_hansen = make_list(clinic, w.hansen, key="list-hansen", name="Liste Per Hansen")
    w.kari = make_patient(clinic, name="Kari Testesen", patient_list=w.list_nordmann)
    w.ingrid = make_patient(clinic, name="Ingrid Eksempel", patient_list=w.list_hansen)
    w.per = make_patient(clinic, name="Per Uten Fastlege", patient_list=None)
    if configure:
        lists = (w.list_nordmann, w.list_hansen)
        service_matrix_save(
            clinic=clinic,
            service=Service.BOOKING,
            cells=[(pl.pk, pl.gp_id) for pl in lists]
            + [(pl.pk, w.vikar.pk) for pl in lists]
            + [(None, w.turnus.pk)],
        )
        service_matrix_save(
            clinic=clinic,
            service=Service.URGENT,
            cells=[(row, w.turnus.pk) for row in (w.list_nordmann.pk, w.list_hansen.pk, None)],
        )
        service_matrix_save(
            clinic=clinic,
            service=Service.ECONSULT,
            cells=[(pl.pk, pl.gp_id) for pl in lists] + [(None, w.turnus.pk)],
        )
    return w
