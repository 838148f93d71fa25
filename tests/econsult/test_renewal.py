"""Prescription renewal ("Reseptfornyelse"): the medicines in the record, the matrix's
practitioner, per-medicine decisions, the SMS, the limits and who may see what."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import sms
from clinics.exchange import dumps, export_clinic, import_clinic
from clinics.models import AuditEvent, Medication
from delegation.services import service_matrix_save
from econsult.models import EconsultSettings, RenewalItem, RenewalRequest
from econsult.services import Decision, RenewalRefused, renewal_handle, renewal_request
from tests import factories

pytestmark = pytest.mark.django_db

CANARY = "Kanarifuglin"


def med(patient, key, name, group="C", **fields):
    return Medication.objects.create(
        patient=patient,
        key=key,
        name=name,
        strength="10 mg",
        form="tablett",
        group=group,
        **fields,
    )


@pytest.fixture
def meds(world):
    return {
        "blood": med(world.patient, "m1", "Albyl-E", atc="B01AC06"),
        "pain": med(world.patient, "m2", CANARY, atc="N02BE01"),
        "sleep": med(world.patient, "m3", "Stilnoct", group="B", atc="N05CF02"),
    }


def url(world, name="renewal", **kwargs):
    return reverse(f"econsult:{name}", kwargs={"ep_ident": world.clinic.ep_ident, **kwargs})


def ask(world, *medications, patient=None):
    return renewal_request(
        patient=patient or world.patient,
        practitioner_id=world.gp.pk,
        medication_ids=[m.pk for m in medications],
    )


def test_the_page_lists_the_record_and_disables_a_and_b(world, meds, patient_client_for):
    page = patient_client_for(world.patient).get(url(world))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'value="{meds["blood"].pk}" id="med-{meds["blood"].pk}">' in html
    assert f'id="med-{meds["sleep"].pk}" disabled' in html
    assert reverse("booking:book", kwargs={"ep_ident": world.clinic.ep_ident}) in html
    home = patient_client_for(world.patient).get(
        reverse("identification:home", kwargs={"ep_ident": world.clinic.ep_ident})
    )
    assert url(world) in home.content.decode()


def test_a_request_goes_to_the_matrix_practitioner(world, meds, patient_client_for):
    client = patient_client_for(world.patient)
    key = client.get(url(world)).context["key"]
    data = {
        "practitioner": world.gp.pk,
        "medications": [meds["blood"].pk, meds["pain"].pk],
        "note": "Går tom neste uke",
        "key": key,
    }
    response = client.post(url(world), data)
    again = client.post(url(world), data)  # a double submit
    renewal = RenewalRequest.objects.get()
    assert response.status_code == again.status_code == 302
    assert renewal.practitioner == world.gp
    assert sorted(i.medication_id for i in renewal.items.all()) == sorted(
        [meds["blood"].pk, meds["pain"].pk]
    )
    event = AuditEvent.objects.get(action="renewal.requested")
    assert event.details == {"practitioner": world.gp.pk, "medications": 2}


def test_the_matrix_decides_who_renews(world, meds, patient_client_for):
    service_matrix_save(
        clinic=world.clinic, service="renewal", cells=[(world.gp_list.pk, world.locum.pk)]
    )
    with pytest.raises(Exception):  # noqa: B017 - the GP is no longer offered
        ask(world, meds["blood"])
    renewal_request(
        patient=world.patient, practitioner_id=world.locum.pk, medication_ids=[meds["blood"].pk]
    )
    page = patient_client_for(world.no_gp).get(url(world))
    assert page.context["offered"] is False


def test_a_and_b_preparations_are_refused_by_the_service_too(world, meds):
    with pytest.raises(RenewalRefused):
        ask(world, meds["sleep"])
    assert not RenewalRequest.objects.exists()


def test_one_open_request_per_medicine(world, meds):
    ask(world, meds["blood"])
    with pytest.raises(RenewalRefused):
        ask(world, meds["blood"], meds["pain"])
    assert RenewalRequest.objects.count() == 1
    assert RenewalItem.objects.count() == 1


def test_another_patients_medicine_cannot_be_asked_for(world, meds, patient_client_for):
    theirs = med(world.neighbour, "x1", "Naboens medisin")
    client = patient_client_for(world.patient)
    response = client.post(
        url(world), {"practitioner": world.gp.pk, "medications": [theirs.pk], "key": ""}
    )
    assert response.status_code == 400
    assert not RenewalRequest.objects.exists()
    assert "Naboens medisin" not in client.get(url(world)).content.decode()


def test_not_earlier_than_the_clinics_days_before_running_out(world, meds):
    EconsultSettings.objects.create(clinic=world.clinic, renewal_days_before=14)
    far = datetime.date.today() + datetime.timedelta(days=60)
    Medication.objects.filter(pk=meds["blood"].pk).update(runs_out=far)
    with pytest.raises(RenewalRefused):
        ask(world, meds["blood"])
    Medication.objects.filter(pk=meds["blood"].pk).update(
        runs_out=datetime.date.today() + datetime.timedelta(days=10)
    )
    ask(world, meds["blood"])


def staff_of(world):
    return factories.make_staff(world.clinic, practitioner=world.gp)


def test_per_medicine_decisions_and_one_sms_when_all_are_handled(
    world, meds, django_capture_on_commit_callbacks
):
    renewal = ask(world, meds["blood"], meds["pain"])
    blood, pain = renewal.items.order_by("pk")
    staff = staff_of(world)
    with django_capture_on_commit_callbacks(execute=True):
        renewal_handle(
            staff=staff, request_id=renewal.pk, decisions={blood.pk: Decision("approved")}
        )
    assert not sms.outbox  # one still waits
    with django_capture_on_commit_callbacks(execute=True):
        renewal_handle(
            staff=staff,
            request_id=renewal.pk,
            decisions={pain.pk: Decision("needs_appointment", comment="Vi må se på dosen")},
        )
    renewal.refresh_from_db()
    assert renewal.handled_at is not None and renewal.unread_by_patient
    assert [m.text for m in sms.outbox] == [
        f"Din forespørsel hos {world.clinic.name} er behandlet. Logg inn for å se svaret."
    ]


def test_the_staff_pages_decide_and_the_patient_sees_it(
    world, meds, admin_client_for, patient_client_for, django_capture_on_commit_callbacks
):
    renewal = ask(world, meds["blood"], meds["pain"])
    blood, pain = renewal.items.order_by("pk")
    staff_client = admin_client_for(staff_of(world))
    listing = staff_client.get("/admin/econsult/inbox/renewals/")
    assert [r.pk for r in listing.context["rows"]] == [renewal.pk]
    detail = f"/admin/econsult/inbox/renewals/{renewal.pk}/"
    assert staff_client.get(detail).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            detail,
            {
                f"decision-{blood.pk}": "rejected",
                f"reason-{blood.pk}": "check_up",
                f"comment-{blood.pk}": "Ta blodprøve først",
                f"decision-{pain.pk}": "needs_appointment",
            },
        )
    assert response.status_code == 302
    blood.refresh_from_db()
    assert (blood.status, blood.reason, blood.comment) == (
        "rejected",
        "check_up",
        "Ta blodprøve først",
    )
    assert len(sms.outbox) == 1
    page = patient_client_for(world.patient).get(
        url(world, "renewal_detail", request_id=renewal.pk)
    )
    html = page.content.decode()
    assert "Ta blodprøve først" in html
    book = reverse("booking:book", kwargs={"ep_ident": world.clinic.ep_ident})
    assert f"{book}?p={world.gp.pk}" in html
    assert AuditEvent.objects.filter(action="renewal.viewed").exists()
    assert AuditEvent.objects.filter(action="renewal.handled").exists()


def test_idor_every_renewal_url_and_method(
    world, other_world, meds, patient_client_for, admin_client_for
):
    theirs = med(world.neighbour, "n1", "Naboens")
    neighbour_request = renewal_request(
        patient=world.neighbour, practitioner_id=world.gp.pk, medication_ids=[theirs.pk]
    )
    client = patient_client_for(world.patient)
    detail = url(world, "renewal_detail", request_id=neighbour_request.pk)
    assert client.get(detail).status_code == 404
    assert client.post(detail).status_code in (404, 405)
    other_med = med(other_world.patient, "o1", "Annen klinikk")
    other_request = renewal_request(
        patient=other_world.patient,
        practitioner_id=other_world.gp.pk,
        medication_ids=[other_med.pk],
    )
    assert client.get(url(world, "renewal_detail", request_id=other_request.pk)).status_code == 404
    staff_client = admin_client_for(staff_of(world))
    staff_detail = f"/admin/econsult/inbox/renewals/{other_request.pk}/"
    item = other_request.items.get()
    assert staff_client.get(staff_detail).status_code == 404
    assert staff_client.post(staff_detail, {f"decision-{item.pk}": "approved"}).status_code == 404
    item.refresh_from_db()
    assert item.status == "requested"


def test_the_drug_name_never_reaches_sms_logs_or_audit(
    world, meds, caplog, patient_client_for, admin_client_for, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    client = patient_client_for(world.patient)
    client.post(
        url(world),
        {"practitioner": world.gp.pk, "medications": [meds["pain"].pk], "note": CANARY, "key": ""},
    )
    renewal = RenewalRequest.objects.get()
    item = renewal.items.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_for(staff_of(world)).post(
            f"/admin/econsult/inbox/renewals/{renewal.pk}/", {f"decision-{item.pk}": "approved"}
        )
    assert len(sms.outbox) == 1
    assert CANARY not in sms.outbox[0].text
    for record in caplog.records:
        assert CANARY not in record.getMessage()
    for event in AuditEvent.objects.all():
        assert CANARY not in f"{event.details} {event.object_repr}"


def count(client, path) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_medicines_and_requests(
    world, patient_client_for, admin_client_for
):
    client = patient_client_for(world.patient)
    first = med(world.patient, "a0", "Medisin 0")
    ask(world, first)
    small_patient = count(client, url(world))
    staff_client = admin_client_for(staff_of(world))
    small_inbox = count(staff_client, "/admin/econsult/inbox/renewals/")
    for n in range(1, 25):
        m = med(world.patient, f"a{n}", f"Medisin {n}")
        if n % 2:
            ask(world, m)
    patient = factories.make_patient(world.clinic, patient_list=world.gp_list)
    for n in range(10):
        ask(world, med(patient, f"b{n}", f"Annen {n}"), patient=patient)
    assert count(client, url(world)) == small_patient
    assert count(staff_client, "/admin/econsult/inbox/renewals/") == small_inbox


def exchange_file(world):
    data = export_clinic(world.clinic)
    for row in data["patients"]:
        if row["national_id"] == world.patient.national_id:
            row["medications"] = [
                {
                    "key": "m1",
                    "name": "Albyl-E",
                    "strength": "75 mg",
                    "form": "enterotablett",
                    "atc": "B01AC06",
                    "group": "C",
                    "last_prescribed": "2026-06-01",
                    "runs_out": "2027-06-01",
                },
                {
                    "key": "m2",
                    "name": "Stilnoct",
                    "strength": "10 mg",
                    "form": "tablett",
                    "atc": "N05CF02",
                    "group": "B",
                    "last_prescribed": None,
                    "runs_out": None,
                },
            ]
    return data


def test_exchange_imports_and_exports_medications_byte_identically(world):
    data = exchange_file(world)
    import_clinic(data)
    text = dumps(data)
    assert dumps(export_clinic(world.clinic)) == text
    import_clinic(data)  # again: nothing changes
    assert Medication.objects.filter(patient=world.patient, current=True).count() == 2
    assert dumps(export_clinic(world.clinic)) == text
    for row in data["patients"]:
        row.pop("medications", None)
    import_clinic(data)
    assert not Medication.objects.filter(current=True).exists()
    assert Medication.objects.count() == 2  # kept: renewal requests may refer to them


@pytest.mark.parametrize(
    ("change", "place"),
    [
        ({"atc": "XYZ"}, "medications[0].atc"),
        ({"group": "D"}, "medications[0].group"),
        ({"last_prescribed": "01.06.2026"}, "medications[0].last_prescribed"),
        ({"key": "m2"}, ".key"),
        ({"colour": "blue"}, "medications[0].colour"),
        ({"name": ""}, "medications[0].name"),
    ],
)
def test_exchange_reports_medication_errors_by_place(world, change, place):
    from clinics.exchange import ImportFailed

    data = exchange_file(world)
    index = next(
        i
        for i, row in enumerate(data["patients"])
        if row["national_id"] == world.patient.national_id
    )
    data["patients"][index]["medications"][0].update(change)
    with pytest.raises(ImportFailed) as failed:
        import_clinic(data)
    places = [p for p, _message in failed.value.errors]
    assert any(
        p.endswith(place) and p.startswith(f"patients[{index}].medications") for p in places
    ), places
