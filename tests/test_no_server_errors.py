"""Nothing a user can type or click answers 500: junk in every patient-facing URL and form."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command

from clinics.models import Patient

pytestmark = pytest.mark.django_db

JUNK = ["", "0", "-1", "abc", "99999999999", "9" * 25, "²", "%00", "<script>", "' OR 1=1 --",
        "ø" * 300, "../../", "9999-12-31", "0001-01-01"]  # fmt: skip

PATIENT_PATHS = [
    "/c/DEMO/",
    "/c/DEMO/login/",
    "/c/DEMO/login/code/",
    "/c/DEMO/login/code/new/",
    "/c/DEMO/password/",
    "/c/DEMO/password/new/",
    "/c/DEMO/bankid/",
    "/c/DEMO/home/",
    "/c/DEMO/velg/",
    "/c/DEMO/fullmakt/",
    "/c/DEMO/fullmakt/ny/",
    "/c/DEMO/fullmakt/1/avslutt/",
    "/c/DEMO/timer/",
    "/c/DEMO/timer/forste-ledige/",
    "/c/DEMO/timer/1/",
    "/c/DEMO/timer/bestilt/1/",
    "/c/DEMO/mine-timer/",
    "/c/DEMO/mine-timer/1/avbestill/",
    "/c/DEMO/mine-timer/1/kalender.ics",
    "/c/DEMO/mine-timer/1/flytt/",
    "/c/DEMO/mine-timer/1/flytt/1/",
    "/c/DEMO/hastetime/",
    "/c/DEMO/hastetime/1/",
    "/c/DEMO/meldinger/",
    "/c/DEMO/meldinger/ny/",
    "/c/DEMO/meldinger/1/",
    "/c/DEMO/meldinger/vedlegg/1/",
    "/c/DEMO/resept/",
    "/c/DEMO/resept/1/",
    "/c/DEMO/logout/",
    "/oidc/callback/",
    "/sms/status/",
    "/Login.aspx",
    "/i18n/setlang/",
]
FIELDS = ["national_id", "password", "code", "password1", "password2", "reason", "language",
          "practitioner", "p", "week", "slot", "next", "state", "clinic", "subject", "body",
          "key", "accept_fee", "action", "show", "page", "attachments", "medications", "note",
          "pharmacy", "services", "valid_to", "confirm", "person"]  # fmt: skip


@pytest.fixture
def demo(db):
    call_command("loaddemo", stdout=io.StringIO())


def _hammer(client, path):
    for junk in JUNK:
        query = dict.fromkeys(FIELDS, junk)
        for response in (client.get(path, query), client.post(path, query)):
            # 503 is the honest answer of the BankID start while no provider is configured.
            assert response.status_code < 500 or (
                path.endswith("/bankid/") and response.status_code == 503
            ), (path, junk, response.status_code)


@pytest.mark.parametrize("path", PATIENT_PATHS)
def test_anonymous_junk_never_answers_500(client, demo, path):
    _hammer(client, path)


@pytest.mark.parametrize("path", PATIENT_PATHS)
def test_logged_in_patient_junk_never_answers_500(client, patient_client_for, demo, path):
    patient = Patient.objects.get(name="Kari Testesen")
    _hammer(patient_client_for(patient), path)


@pytest.mark.parametrize(
    "path",
    ["/c/demo/home/", "/c/NOPE/home/", "/c/%00/", "/c/" + "A" * 300 + "/", "/c/DEMO/timer/0/"],
)
def test_odd_paths_never_answer_500(client, demo, path):
    assert client.get(path).status_code < 500


DAY = datetime.timedelta(days=1)
HUGE = "9" * 20  # beyond any database integer


@pytest.mark.parametrize(
    "path",
    [
        f"/c/DEMO/timer/{HUGE}/",
        f"/c/DEMO/hastetime/{HUGE}/",
        f"/c/DEMO/timer/bestilt/{HUGE}/",
        f"/c/DEMO/mine-timer/{HUGE}/avbestill/",
        f"/c/DEMO/mine-timer/{HUGE}/kalender.ics",
        f"/c/DEMO/mine-timer/{HUGE}/flytt/",
        f"/c/DEMO/mine-timer/{HUGE}/flytt/1/",
        f"/c/DEMO/mine-timer/1/flytt/{HUGE}/",
        f"/c/DEMO/meldinger/{HUGE}/",
        f"/c/DEMO/meldinger/vedlegg/{HUGE}/",
        f"/c/DEMO/resept/{HUGE}/",
        f"/c/DEMO/fullmakt/{HUGE}/avslutt/",
        "/c/DEMO/timer/\u00b2/",
    ],
)
def test_ids_beyond_any_integer_are_not_found(client, patient_client_for, demo, path):
    patient = Patient.objects.get(name="Kari Testesen")
    client = patient_client_for(patient)
    for response in (client.get(path), client.post(path, {"reason": "Hodepine"})):
        assert response.status_code == 404, (path, response.status_code)


def test_bankid_patient_junk_in_the_power_of_attorney_form_never_answers_500(
    client, patient_client_for, demo
):
    # Behind the BankID check: the form itself, with junk in every field.
    patient = Patient.objects.get(name="Kari Testesen")
    _hammer(patient_client_for(patient, method="bankid"), "/c/DEMO/fullmakt/ny/")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/econsult/inbox/",
        "/admin/econsult/inbox/1/",
        "/admin/econsult/inbox/file/1/",
        "/admin/econsult/inbox/renewals/",
        "/admin/econsult/inbox/renewals/1/",
    ],
)
def test_staff_junk_in_the_econsult_inbox_never_answers_500(admin_client_for, demo, path):
    from econsult.services import consultation_send

    patient = Patient.objects.get(name="Kari Testesen")
    from delegation.selectors import practitioners_for

    consultation_send(
        patient=patient,
        practitioner_id=practitioners_for(patient, "econsult")[0].pk,
        subject="s",
        body="b",
    )
    from clinics.models import User

    _hammer(admin_client_for(User.objects.get(email="lege@demo.eportal.invalid")), path)


def test_junk_on_the_move_pages_of_a_real_booking_never_answers_500(
    client, patient_client_for, demo
):
    from booking.selectors import bookable_window, free_slots
    from booking.services import appointment_book, slots_generate
    from delegation.selectors import practitioners_for

    patient = Patient.objects.get(name="Kari Testesen")
    window = bookable_window(patient.clinic, urgent=False)
    offered = [p.pk for p in practitioners_for(patient, "booking")]
    for practitioner_id in offered:
        slots_generate(practitioner_id=practitioner_id)
    own, other = free_slots(
        practitioner_ids=offered, start=window.earliest + DAY, end=window.horizon_end
    )[:2]
    appointment = appointment_book(patient=patient, slot_id=own.pk, reason="x")
    client = patient_client_for(patient)
    for path in (
        f"/c/DEMO/mine-timer/{appointment.pk}/flytt/",
        f"/c/DEMO/mine-timer/{appointment.pk}/flytt/{other.pk}/",
    ):
        _hammer(client, path)
