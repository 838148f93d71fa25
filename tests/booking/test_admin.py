"""The clinic's side in the admin (docs/booking.md): each clinic administrator sees and changes
only their own clinic's appointment types, templates, slots and appointments."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse

from booking.admin import ScheduleRuleInline
from booking.models import Absence, Appointment, ScheduleRule, ScheduleTemplate, Slot
from booking.services import slots_generate
from tests.factories import build_booking_world, make_template, oslo

pytestmark = pytest.mark.django_db

NOW = oslo(2026, 2, 2, 9, 0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def populate(clinic, reason):
    w = build_booking_world(clinic)
    w.template = make_template(w.gp, w.ep)
    slots_generate(practitioner_id=w.gp.pk)
    w.slot = Slot.objects.filter(practitioner=w.gp).order_by("start").first()
    w.appointment = Appointment.objects.create(
        slot=w.slot,
        patient=w.patient,
        practitioner=w.gp,
        start=w.slot.start,
        end=w.slot.end,
        reason=reason,
    )
    w.absence = Absence.objects.create(
        practitioner=w.gp, first_day=datetime.date(2026, 6, 1), last_day=datetime.date(2026, 6, 5)
    )
    return w


@pytest.fixture
def a(clinic):
    return populate(clinic, "Aamodt-grunn")


@pytest.fixture
def b(other_clinic):
    w = populate(other_clinic, "Bergersen-grunn")
    w.gp.name = "Dr Bergersen"
    w.gp.save()
    w.patient.name = "Berit Bergersen"
    w.patient.save()
    return w


def objects(w):
    return {
        "absence": w.absence,
        "appointmenttype": w.ep,
        "scheduletemplate": w.template,
        "slot": w.slot,
        "appointment": w.appointment,
        "bookingsettings": w.settings,
    }


MODELS = [
    "absence",
    "appointmenttype",
    "scheduletemplate",
    "slot",
    "appointment",
    "bookingsettings",
]


@pytest.mark.parametrize("model", MODELS)
def test_clinic_admin_lists_and_opens_only_their_own(model, a, b, admin_client_for, clinic_admin):
    client = admin_client_for(clinic_admin)
    listing = client.get(reverse(f"admin:booking_{model}_changelist"))
    assert listing.status_code == 200
    shown = list(listing.context["cl"].result_list)
    assert objects(a)[model] in shown
    assert objects(b)[model] not in shown
    own = client.get(reverse(f"admin:booking_{model}_change", args=[objects(a)[model].pk]))
    assert own.status_code == 200
    foreign = client.get(reverse(f"admin:booking_{model}_change", args=[objects(b)[model].pk]))
    assert foreign.status_code == 302 and foreign["Location"] == "/admin/"


def test_appointments_show_patient_reason_and_status(a, b, admin_client_for, clinic_admin):
    body = admin_client_for(clinic_admin).get("/admin/booking/appointment/").content.decode()
    assert "Aamodt-grunn" in body and a.patient.name in body
    assert "Bergersen-grunn" not in body and b.patient.name not in body


def test_template_form_offers_only_own_practitioners_and_types(
    a, b, admin_client_for, clinic_admin
):
    response = admin_client_for(clinic_admin).get("/admin/booking/scheduletemplate/add/")
    form = response.context["adminform"].form
    assert list(form.fields["practitioner"].queryset) == [a.gp]
    inline = response.context["inline_admin_formsets"][0].formset
    assert set(inline.forms[0].fields["appointment_type"].queryset) == {a.ep, a.internal}


def template_post(w, *, valid_from: str, **fields: str) -> dict[str, str]:
    """The template form's POST for ``w``'s GP: from ``valid_from``, one new rule (Mondays
    10 to 11, 30-minute ePortal slots); ``fields`` on top."""
    return {
        "practitioner": str(w.gp.pk),
        "valid_from": valid_from,
        "valid_to": "",
        "rules-TOTAL_FORMS": "1",
        "rules-INITIAL_FORMS": "0",
        "rules-0-weekday": "1",
        "rules-0-start": "10:00",
        "rules-0-end": "11:00",
        "rules-0-slot_minutes": "30",
        "rules-0-appointment_type": str(w.ep.pk),
        **fields,
    }


# The template's rules inline is scoped as the admin pages are.


def template_change(client, template):
    return client.get(reverse("admin:booking_scheduletemplate_change", args=[template.pk]))


def rules_formset(response):
    (inline,) = response.context["inline_admin_formsets"]
    return inline.formset


def test_the_rules_inline_offers_own_appointment_types_only_on_the_change_page(
    a, b, admin_client_for, clinic_admin
):
    formset = rules_formset(template_change(admin_client_for(clinic_admin), a.template))
    forms = [*formset.forms, formset.empty_form]
    assert len(forms) > 1  # the template's rules, and a blank one
    for form in forms:
        assert set(form.fields["appointment_type"].queryset) == {a.ep, a.internal}


def test_the_rules_inline_shows_the_templates_own_rules(a, b, admin_client_for, clinic_admin):
    formset = rules_formset(template_change(admin_client_for(clinic_admin), a.template))
    assert set(formset.queryset) == set(a.template.rules.all())
    assert not {f.instance.pk for f in formset.forms} & set(
        ScheduleRule.objects.filter(template=b.template).values_list("pk", flat=True)
    )


@pytest.mark.parametrize("who", ["clinic_admin", "other_admin", "clinicless", "superuser"])
def test_the_rules_inline_lists_only_the_users_clinics_rules(a, b, rf, who, request):
    if who == "clinicless":
        from tests import factories

        user = factories.make_staff(None, email="nobody@example.org")
    else:
        user = request.getfixturevalue(who)
    http = rf.get("/admin/")
    http.user = user
    inline = ScheduleRuleInline(ScheduleTemplate, admin.site)
    expected = {
        "clinic_admin": set(a.template.rules.all()),
        "other_admin": set(b.template.rules.all()),
        "clinicless": set(),
        "superuser": set(ScheduleRule.objects.all()),
    }[who]
    assert set(inline.get_queryset(http)) == expected
    assert inline.has_change_permission(http, a.template) == (who != "clinicless")


def test_the_rules_inline_refuses_another_clinics_type_and_rule(
    a, b, admin_client_for, clinic_admin
):
    client = admin_client_for(clinic_admin)
    url = reverse("admin:booking_scheduletemplate_change", args=[a.template.pk])
    theirs = b.template.rules.first()
    before = (theirs.template_id, theirs.slot_minutes, theirs.appointment_type_id)
    base = template_post(
        a,
        valid_from="2026-01-05",
        **{"rules-0-template": str(a.template.pk), "rules-0-slot_minutes": "45"},
    )
    own_rules = set(a.template.rules.values_list("pk", "slot_minutes"))
    # A new rule with the other clinic's appointment type: the form again, with the error.
    response = client.post(url, {**base, "rules-0-appointment_type": str(b.ep.pk)})
    assert response.status_code == 200
    assert "appointment_type" in rules_formset(response).errors[0]
    # The other clinic's rule, posted as if it were one of this template's: not among the
    # rows the inline edits, so the form is ignored (Django skips a row outside them).
    client.post(
        url,
        {
            **base,
            "rules-INITIAL_FORMS": "1",
            "rules-0-id": str(theirs.pk),
            "rules-0-appointment_type": str(a.ep.pk),
        },
    )
    theirs.refresh_from_db()
    assert (theirs.template_id, theirs.slot_minutes, theirs.appointment_type_id) == before
    assert set(a.template.rules.values_list("pk", "slot_minutes")) == own_rules
    assert not ScheduleRule.objects.filter(template=a.template, appointment_type=b.ep).exists()


def test_saving_a_template_regenerates_the_slots(
    a, admin_client_for, clinic_admin, django_capture_on_commit_callbacks
):
    client = admin_client_for(clinic_admin)
    data = template_post(a, valid_from="2026-01-12", **{"rules-0-weekday": "6"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/booking/scheduletemplate/add/", data)
    assert response.status_code == 302
    # The newer template replaces the weekday one from its first day: Saturdays only.
    saturday = Slot.objects.filter(practitioner=a.gp, start=oslo(2026, 2, 7, 10, 0))
    assert saturday.exists()
    assert not Slot.objects.filter(
        practitioner=a.gp, start=oslo(2026, 2, 3, 8, 0), appointments__isnull=True
    ).exists()


def test_block_a_whole_day_from_the_slot_list(a, b, admin_client_for, clinic_admin):
    client = admin_client_for(clinic_admin)
    one = Slot.objects.get(practitioner=a.gp, start=oslo(2026, 2, 4, 9, 0))
    response = client.post(
        "/admin/booking/slot/",
        {"action": "block_days", "_selected_action": [str(one.pk)]},
    )
    assert response.status_code == 302
    day = Slot.objects.filter(practitioner=a.gp, start__date=datetime.date(2026, 2, 4))
    assert day.count() == 9 and all(s.blocked for s in day)
    assert not Slot.objects.filter(blocked=True).exclude(practitioner=a.gp).exists()
    # Another clinic's slot id in the POST changes nothing.
    client.post("/admin/booking/slot/", {"action": "block", "_selected_action": [str(b.slot.pk)]})
    b.slot.refresh_from_db()
    assert not b.slot.blocked


def test_staff_cancel_frees_the_slot(a, admin_client_for, clinic_admin):
    client = admin_client_for(clinic_admin)
    client.post(
        "/admin/booking/appointment/",
        {"action": "cancel", "_selected_action": [str(a.appointment.pk)]},
    )
    a.appointment.refresh_from_db()
    assert a.appointment.status == "cancelled"


def day_slots(practitioner, day):
    return Slot.objects.filter(practitioner=practitioner, start__date=day)


def test_an_absence_blocks_its_days_also_beyond_the_horizon_and_after_a_template_change(
    a, b, admin_client_for, clinic_admin, django_capture_on_commit_callbacks
):
    client = admin_client_for(clinic_admin)
    # Add: next Wednesday to Thursday, and a day in May (beyond the 6-week horizon).
    for first, last in (("2026-02-04", "2026-02-05"), ("2026-05-06", "2026-05-06")):
        response = client.post(
            "/admin/booking/absence/add/",
            {"practitioner": str(a.gp.pk), "first_day": first, "last_day": last, "note": "Kurs"},
        )
        assert response.status_code == 302, response.content
    wednesday = day_slots(a.gp, datetime.date(2026, 2, 4))
    assert wednesday.count() == 9 and all(s.blocked for s in wednesday)
    assert not day_slots(a.gp, datetime.date(2026, 2, 6)).filter(blocked=True).exists()
    # The template changes to 15-minute slots: the new slots of the absent days are blocked.
    a.template.rules.update(slot_minutes=15)
    slots_generate(practitioner_id=a.gp.pk)
    wednesday = day_slots(a.gp, datetime.date(2026, 2, 4))
    assert wednesday.count() == 12 and all(s.blocked for s in wednesday)
    # May comes within the horizon: its slots are made blocked.
    slots_generate(practitioner_id=a.gp.pk, now=oslo(2026, 4, 20, 9, 0))
    may = day_slots(a.gp, datetime.date(2026, 5, 6))
    assert may.count() == 12 and all(s.blocked for s in may)
    # Deleting the absence ("Delete selected") opens the days again.
    absence = Absence.objects.get(practitioner=a.gp, first_day=datetime.date(2026, 2, 4))
    client.post(
        "/admin/booking/absence/",
        {"action": "delete_selected", "_selected_action": [str(absence.pk)], "post": "yes"},
    )
    assert not Absence.objects.filter(pk=absence.pk).exists()
    assert not day_slots(a.gp, datetime.date(2026, 2, 4)).filter(blocked=True).exists()
    # Nothing of the other clinic moved.
    assert not Slot.objects.filter(practitioner=b.gp, blocked=True).exists()


def test_absence_form_refuses_bad_ranges_and_other_clinics_practitioners(
    a, b, admin_client_for, clinic_admin
):
    client = admin_client_for(clinic_admin)
    before = Absence.objects.count()
    for data in (
        {"practitioner": str(a.gp.pk), "first_day": "2026-02-05", "last_day": "2026-02-04"},
        {"practitioner": str(a.gp.pk), "first_day": "2026-02-05", "last_day": "2028-02-04"},
        {"practitioner": str(b.gp.pk), "first_day": "2026-02-05", "last_day": "2026-02-06"},
        {"practitioner": str(a.gp.pk), "first_day": "9999-12-30", "last_day": "9999-12-31"},
    ):
        response = client.post("/admin/booking/absence/add/", {**data, "note": ""})
        assert response.status_code == 200  # the form again, with the error
        assert response.context["adminform"].form.errors
    assert Absence.objects.count() == before


def test_deleting_templates_in_bulk_regenerates_the_slots(
    a, admin_client_for, clinic_admin, django_capture_on_commit_callbacks
):
    client = admin_client_for(clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/booking/scheduletemplate/",
            {"action": "delete_selected", "_selected_action": [str(a.template.pk)], "post": "yes"},
        )
    assert response.status_code == 302
    assert not ScheduleTemplate.objects.filter(pk=a.template.pk).exists()
    # Only the booked slot stays.
    assert list(Slot.objects.filter(practitioner=a.gp)) == [a.slot]


def test_template_form_explains_bad_rules_and_a_second_template_from_one_date(
    a, admin_client_for, clinic_admin
):
    client = admin_client_for(clinic_admin)
    base = template_post(a, valid_from="2026-03-02")
    cases = [  # the admin speaks bokmål
        ({"rules-0-start": "12:00"}, "En regel må slutte etter at den begynner."),
        ({"valid_to": "2026-03-01"}, "«Gyldig til» kan ikke være før «gyldig fra»."),
        ({"valid_from": "2026-01-05"}, "Behandleren har allerede en mal fra denne datoen"),
    ]
    before = ScheduleTemplate.objects.count()
    for change, message in cases:
        response = client.post("/admin/booking/scheduletemplate/add/", {**base, **change})
        assert response.status_code == 200
        assert message in response.content.decode(), message
    assert ScheduleTemplate.objects.count() == before


def test_a_longer_horizon_makes_the_slots_reach_it(
    a, admin_client_for, clinic_admin, django_capture_on_commit_callbacks
):
    client = admin_client_for(clinic_admin)
    assert not Slot.objects.filter(practitioner=a.gp, start__gte=oslo(2026, 4, 1, 0, 0)).exists()
    data = {
        "horizon_weeks": "10",
        "min_notice_minutes": "120",
        "cancel_deadline_hours": "24",
        "max_future_online": "2",
        "reminder_time": "18:00",
        "waitlist_notice_hours": "2",
        "waitlist_hold_minutes": "15",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/booking/bookingsettings/{a.settings.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Slot.objects.filter(practitioner=a.gp, start__gte=oslo(2026, 4, 1, 0, 0)).exists()
