"""The benchmark's clinic: 30 practitioners, 20,000 patients, slots, sessions.

Everything is synthetic (identity numbers with month + 80) and made with bulk inserts, except
the slots, which come from schedule templates through :func:`booking.services.slots_generate`
as in production. Needs Django set up (the runner does it).
"""

from __future__ import annotations

import datetime
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone
from django.utils.crypto import get_random_string

from booking.models import (
    Appointment,
    AppointmentType,
    BookingSettings,
    ScheduleRule,
    ScheduleTemplate,
    Slot,
)
from booking.selectors import booking_window, free_slots, local_midnight, local_today
from booking.services import slots_generate
from clinics.models import Clinic, Patient, PatientList, Practitioner
from clinics.national_id import make as make_national_id
from delegation.models import Service
from delegation.services import service_matrix_save
from identification import session as ps

EP_IDENT = "BENCH"
CSRF_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
WEEKDAYS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class World:
    clinic: Clinic
    measured: Practitioner
    others: list[int]
    week: datetime.date
    week_free: int
    patients: int


def _time(value: str) -> datetime.time:
    return datetime.time.fromisoformat(value)


def _template(
    practitioner: Practitioner,
    valid_from: datetime.date,
    rules: list[tuple[str, str, int, AppointmentType]],
) -> None:
    template = ScheduleTemplate.objects.create(practitioner=practitioner, valid_from=valid_from)
    ScheduleRule.objects.bulk_create(
        ScheduleRule(
            template=template,
            weekday=weekday,
            start=_time(start),
            end=_time(end),
            slot_minutes=minutes,
            appointment_type=kind,
        )
        for weekday in WEEKDAYS
        for start, end, minutes, kind in rules
    )


def _measured_week(now: datetime.datetime) -> datetime.date:
    """The Monday of next week: a whole week inside the horizon, past the notice."""
    today = local_today(now)
    return today - datetime.timedelta(days=today.weekday()) + datetime.timedelta(weeks=1)


def build_clinic(*, practitioners: int, patients: int, booked: int, seed: int) -> World:
    """The clinic, its practitioners (all with "Aktiver ePortal"), lists, patients, templates
    and slots, a service matrix offering every practitioner to every list, and ``booked``
    appointments already taken by random patients (so the queries see a realistic table)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    now = timezone.now()
    clinic = Clinic.objects.create(
        ep_ident=EP_IDENT,
        name="Benkeby legesenter",
        address="Benkeveien 1, 0150 Oslo",
        phone="+4722000000",
    )
    # A high per-patient limit: a few thousand simulated patients make tens of thousands of
    # bookings in a run; the limit itself is still checked on every POST.
    # A 12-week horizon: supply for seven rounds of booking POSTs at ~700/s.
    BookingSettings.objects.create(clinic=clinic, max_future_online=10_000, horizon_weeks=12)
    ep = AppointmentType.objects.create(
        clinic=clinic, key="ep", name="ePortal", minutes=20, online=True
    )
    internal = AppointmentType.objects.create(
        clinic=clinic, key="int", name="Kontroll", minutes=20, online=False
    )
    staff = Practitioner.objects.bulk_create(
        Practitioner(
            clinic=clinic,
            key=f"p{i:02d}",
            name=f"Lege {i:02d} Benkesen",
            eportal_enabled=True,
        )
        for i in range(1, practitioners + 1)
    )
    lists = PatientList.objects.bulk_create(
        PatientList(clinic=clinic, key=f"l{i:02d}", name=f"Liste {p.name}", gp=p)
        for i, p in enumerate(staff, start=1)
    )

    first_birth = datetime.date(1950, 1, 1)
    Patient.objects.bulk_create(
        (
            Patient(
                clinic=clinic,
                # One birth date per patient keeps the numbers unique.
                national_id=make_national_id(
                    first_birth + datetime.timedelta(days=n), 100 + n % 300, synthetic=True
                ),
                name=f"Pasient {n:05d}",
                mobile=f"+474{n:07d}",
                patient_list=lists[n % len(lists)],
            )
            for n in range(patients)
        ),
        batch_size=2000,
    )
    service_matrix_save(
        clinic=clinic,
        service=Service.BOOKING,
        cells=[(lst.pk, p.pk) for lst in lists for p in staff],
    )

    # The measured practitioner: 20 ePortal slots a weekday (08:00-14:40, 100 a week) and an
    # internal hour after them that must not be offered. The others: 10-minute ePortal slots
    # 08:00-16:00, the supply for the booking POSTs.
    valid_from = local_today(now) - datetime.timedelta(weeks=1)
    measured, others = staff[0], staff[1:]
    _template(measured, valid_from, [("08:00", "14:40", 20, ep), ("14:40", "15:40", 20, internal)])
    for p in others:
        _template(p, valid_from, [("08:00", "16:00", 10, ep)])
    for p in staff:
        slots_generate(practitioner_id=p.pk, now=now)

    week = _measured_week(now)
    week_start, week_end = local_midnight(week), local_midnight(week + datetime.timedelta(7))
    # Appointments already in the book: some of the measured practitioner's slots outside the
    # measured week and some of everyone else's.
    candidates = list(
        Slot.objects.filter(practitioner__clinic=clinic, start__gte=now, appointment_type=ep)
        .exclude(practitioner=measured, start__gte=week_start, start__lt=week_end)
        .values_list("pk", "practitioner_id", "start", "end")
    )
    patient_ids = list(Patient.objects.filter(clinic=clinic).values_list("pk", flat=True))
    Appointment.objects.bulk_create(
        (
            Appointment(
                slot_id=pk,
                patient_id=rng.choice(patient_ids),
                practitioner_id=practitioner_id,
                start=start,
                end=end,
                reason="Kontroll",
            )
            for pk, practitioner_id, start, end in rng.sample(
                candidates, min(booked, len(candidates))
            )
        ),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    week_free = free_slots(
        practitioner_ids=[measured.pk], start=max(week_start, now), end=week_end
    ).count()
    return World(clinic, measured, [p.pk for p in others], week, week_free, patients)


def existing_world() -> World:
    """The clinic :func:`build_clinic` made earlier (a database kept for profiling)."""
    clinic = Clinic.objects.get(ep_ident=EP_IDENT)
    staff = list(Practitioner.objects.filter(clinic=clinic).order_by("key"))
    week = _measured_week(timezone.now())
    week_start, week_end = local_midnight(week), local_midnight(week + datetime.timedelta(7))
    week_free = free_slots(
        practitioner_ids=[staff[0].pk], start=max(week_start, timezone.now()), end=week_end
    ).count()
    patients = Patient.objects.filter(clinic=clinic).count()
    return World(clinic, staff[0], [p.pk for p in staff[1:]], week, week_free, patients)


def create_sessions(world: World, *, count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` logged-in patient sessions, written straight into the session store with
    the keys :func:`identification.session.log_in_patient` sets (as after a password + SMS
    code login). Returns (session key, CSRF secret) pairs: the client sends the secret as its
    ``csrftoken`` cookie and, unmasked, as the form's token, which Django accepts."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    ids = list(Patient.objects.filter(clinic=world.clinic).values_list("pk", flat=True))
    chosen = rng.sample(ids, min(count, len(ids)))
    store = SessionStore()
    now = int(time.time())
    expires = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    rows, pairs = [], []
    for patient_id in chosen:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            ps.SESSION_PATIENT: patient_id,
            ps.SESSION_CLINIC: world.clinic.pk,
            ps.SESSION_METHOD: ps.METHOD_SMS,
            ps.SESSION_LEVEL: ps.LEVEL_SUBSTANTIAL,
            ps.SESSION_LOGIN_AT: now,
            ps.SESSION_SEEN_AT: now,
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        pairs.append((key, get_random_string(32, CSRF_CHARS)))
    Session.objects.bulk_create(rows, batch_size=2000)
    return pairs


def create_api_token(world: World) -> str:
    """A record system's API client of the clinic (fhirapi) and a bearer token for it that
    outlasts the run (real tokens live ten minutes)."""
    from oauth2_provider.models import AccessToken, Application

    from fhirapi.models import ApiClient
    from fhirapi.scopes import ALL_SCOPES

    application = Application.objects.create(
        name="bench EPJ",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    ApiClient.objects.create(
        clinic=world.clinic, application=application, name="bench EPJ", scopes=" ".join(ALL_SCOPES)
    )
    token = get_random_string(40)
    AccessToken.objects.create(
        token=token,
        application=application,
        expires=timezone.now() + datetime.timedelta(days=1),
        scope=" ".join(ALL_SCOPES),
    )
    return token


def bookable_slots(world: World, *, seed: int) -> list[int]:
    """Free ePortal slots of the other practitioners, shuffled, kept a day clear of both ends
    of the booking window so none leaves the window during a run."""
    rules = BookingSettings.objects.get(clinic=world.clinic)
    window = booking_window(rules)
    day = datetime.timedelta(days=1)
    ids = list(
        free_slots(
            practitioner_ids=world.others,
            start=window.earliest + day,
            end=window.horizon_end - day,
        ).values_list("pk", flat=True)
    )
    random.Random(seed).shuffle(ids)  # noqa: S311 - reproducible order
    return ids


DOUBLE_BOOKINGS_SQL = """
SELECT
  (SELECT count(*) FROM (
     SELECT slot_id FROM booking_appointment
     WHERE status = 'booked' AND slot_id IS NOT NULL
     GROUP BY slot_id HAVING count(*) > 1) AS same_slot),
  (SELECT count(*) FROM booking_appointment a JOIN booking_appointment b
     ON a.practitioner_id = b.practitioner_id AND a.id < b.id
    AND a.status = 'booked' AND b.status = 'booked'
    AND a.start < b."end" AND b.start < a."end")
"""


def double_bookings() -> tuple[int, int]:
    """(slots held by more than one booked appointment, pairs of overlapping booked
    appointments of one practitioner): both must be 0."""
    with connection.cursor() as cursor:
        cursor.execute(DOUBLE_BOOKINGS_SQL)
        same_slot, overlapping = cursor.fetchone()
    return int(same_slot), int(overlapping)


def booked_count() -> int:
    return Appointment.objects.filter(status=Appointment.Status.BOOKED).count()


# eConsultation: threads for "Mine meldinger" and the inbox, and a staff session


def build_econsult(world: World, *, threads: int, seed: int) -> int:
    """A matrix offering each list its GP and two colleagues for eConsultation, room for
    everyone, and ``threads`` consultations with two messages each spread over the
    practitioners (every fifth one to the measured practitioner). Returns how many of the
    measured practitioner's are open (the inbox's rows)."""
    from econsult.models import Consultation, EconsultSettings, Message

    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    clinic = world.clinic
    staff = [world.measured.pk, *world.others]
    lists = list(PatientList.objects.filter(clinic=clinic).order_by("key"))
    cells = []
    for n, patient_list in enumerate(lists):
        for offset in (0, 1, 2):
            cells.append((patient_list.pk, staff[(n + offset) % len(staff)]))
    service_matrix_save(clinic=clinic, service=Service.ECONSULT, cells=cells)
    EconsultSettings.objects.create(clinic=clinic, daily_cap=500, max_open_per_patient=50)
    patient_ids = list(Patient.objects.filter(clinic=clinic).values_list("pk", flat=True))
    today = local_today()
    statuses = ["sent", "read", "answered", "closed"]
    rows = []
    for n in range(threads):
        sent_day = today - datetime.timedelta(days=rng.randint(0, 30))
        rows.append(
            Consultation(
                clinic=clinic,
                patient_id=rng.choice(patient_ids),
                practitioner_id=world.measured.pk if n % 5 == 0 else rng.choice(staff),
                subject=f"Spørsmål {n}",
                status=statuses[n % 4],
                intake_day=sent_day,
                answer_by=sent_day + datetime.timedelta(days=4),
                last_patient_message_at=local_midnight(sent_day),
                unread_by_staff=n % 4 == 0,
            )
        )
    made = Consultation.objects.bulk_create(rows, batch_size=2000)
    Message.objects.bulk_create(
        (
            Message(consultation=c, author=author, body="Melding " * 40)
            for c in made
            for author in ("patient", "clinic")
        ),
        batch_size=4000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Consultation.objects.filter(practitioner=world.measured).exclude(status="closed").count()


def create_staff_session(world: World) -> tuple[str, str]:
    """A session of the measured practitioner's staff account, as after a password and TOTP
    login (the admin's two-factor gate lets it through)."""
    from allauth.mfa.models import Authenticator

    from clinics.models import User

    user = User.objects.create_user(
        email="lege@benkeby.invalid",
        password=get_random_string(24),
        clinic=world.clinic,
        practitioner=world.measured,
        is_staff=True,
    )
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )
    key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
    data = {
        "_auth_user_id": str(user.pk),
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
        "_auth_user_hash": user.get_session_auth_hash(),
        "account_authentication_methods": [
            {"method": "password", "at": time.time(), "email": user.email},
            {"method": "mfa", "at": time.time(), "type": "totp"},
        ],
    }
    expires = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    Session.objects.create(
        session_key=key, session_data=SessionStore().encode(data), expire_date=expires
    )
    return key, get_random_string(32, CSRF_CHARS)
