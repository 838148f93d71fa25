"""Schedule and Slot writes from the record system: a Schedule's templates (the import's
``schedule_templates``) set by PUT, slots made, changed, blocked and deleted, each through
booking's services. Bad input is an OperationOutcome with the place and nothing stored; a
slot with a booked appointment is never changed (409); If-Match as for patients."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.models import ScheduleTemplate, Slot
from booking.services import appointment_book
from clinics.models import AuditEvent
from fhirapi.mapping.schedule import TEMPLATE
from fhirapi.mapping.slot import APPOINTMENT_TYPE_SYSTEM
from tests import factories

from .conftest import Api, token_for

pytestmark = pytest.mark.django_db


def instant(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def slot_resource(w, start, minutes=20, **extra):
    return {
        "resourceType": "Slot",
        "schedule": {"reference": f"Schedule/{w.gp.pk}"},
        "status": "free",
        "start": instant(start),
        "end": instant(start + datetime.timedelta(minutes=minutes)),
        "serviceType": [{"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": "ep"}]}],
        **extra,
    }


def next_week():
    return (timezone.now() + datetime.timedelta(days=8)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )


def rule(weekday=1, start="08:00:00", end="11:00:00", minutes=20, kind="ep"):
    return {
        "url": "rule",
        "extension": [
            {"url": "weekday", "valueInteger": weekday},
            {"url": "start", "valueTime": start},
            {"url": "end", "valueTime": end},
            {"url": "slotMinutes", "valueInteger": minutes},
            {
                "url": "appointmentType",
                "valueCoding": {"system": APPOINTMENT_TYPE_SYSTEM, "code": kind},
            },
        ],
    }


def template(valid_from="2026-01-05", valid_to=None, rules=None):
    parts = [{"url": "validFrom", "valueDate": valid_from}]
    if valid_to:
        parts.append({"url": "validTo", "valueDate": valid_to})
    return {"url": TEMPLATE, "extension": parts + (rules if rules is not None else [rule()])}


def _put(api, path, body, etag):
    return api.put(path, body, **{"If-Match": etag})


# Slots


def test_slot_create_update_block_and_delete(world):
    start = next_week()
    made = world.api.post("Slot", slot_resource(world, start))
    assert made.status_code == 201, made.content
    slot = Slot.objects.get(pk=made.fhir["id"])
    assert (slot.practitioner, slot.start, slot.appointment_type) == (world.gp, start, world.ep)
    assert made["Location"].endswith(f"/Slot/{slot.pk}")
    assert AuditEvent.objects.filter(action="fhir.create", object_id=str(slot.pk)).exists()

    body = dict(made.fhir, status="busy-unavailable")
    body.pop("meta")
    assert world.api.put(f"Slot/{slot.pk}", body).status_code == 428
    assert _put(world.api, f"Slot/{slot.pk}", body, 'W/"1"').status_code == 412
    blocked = _put(world.api, f"Slot/{slot.pk}", body, made["ETag"])
    assert blocked.status_code == 200, blocked.content
    assert blocked.fhir["status"] == "busy-unavailable"
    assert Slot.objects.get(pk=slot.pk).blocked

    moved = dict(
        body,
        status="free",
        start=instant(start + datetime.timedelta(minutes=30)),
        end=instant(start + datetime.timedelta(minutes=60)),
        serviceType=[{"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": "int"}]}],
    )
    ok = _put(world.api, f"Slot/{slot.pk}", moved, blocked["ETag"])
    assert ok.status_code == 200, ok.content
    slot.refresh_from_db()
    assert (slot.start, slot.blocked, slot.appointment_type) == (
        start + datetime.timedelta(minutes=30),
        False,
        world.internal,
    )
    event = AuditEvent.objects.filter(action="fhir.update").latest("pk")
    assert set(event.details["fields"]) == {"start", "end", "appointment_type_id", "blocked"}

    gone = world.api.call("DELETE", f"Slot/{slot.pk}")
    assert gone.status_code == 204
    assert not Slot.objects.filter(pk=slot.pk).exists()
    assert AuditEvent.objects.filter(action="fhir.delete").exists()


@pytest.mark.parametrize(
    ("change", "status", "place"),
    [
        (lambda b, w: b.update(end=b["start"]), 422, "Slot.end"),
        (
            lambda b, w: b.update(end=instant(next_week() + datetime.timedelta(minutes=481))),
            422,
            "Slot.end",
        ),
        (
            lambda b, w: b.update(
                start=instant(timezone.now() - datetime.timedelta(days=1)),
                end=instant(timezone.now() - datetime.timedelta(days=1, minutes=-20)),
            ),
            422,
            "Slot.start",
        ),
        (
            lambda b, w: b.update(start=instant(w.slot.start), end=instant(w.slot.end)),
            409,
            "Slot.start",
        ),
        (
            lambda b, w: b["serviceType"][0]["coding"][0].update(code="nope"),
            422,
            "Slot.serviceType",
        ),
        (lambda b, w: b.update(schedule={"reference": "Schedule/999999"}), 422, "Slot.schedule"),
        (lambda b, w: b.update(schedule={"reference": "Patient/1"}), 422, "Slot.schedule"),
        (lambda b, w: b.update(status="busy"), 422, "Slot.status"),
        (lambda b, w: b.update(status="entered-in-error"), 422, "Slot.status"),
        (lambda b, w: b.update(start="tomorrow"), 400, "Slot.start"),
        (lambda b, w: b.pop("schedule"), 400, "Slot.schedule"),
    ],
)
def test_bad_slots_are_refused_with_the_place_and_nothing_stored(world, change, status, place):
    before = Slot.objects.count()
    body = slot_resource(world, next_week())
    change(body, world)
    response = world.api.post("Slot", body)
    assert response.status_code == status, response.content
    places = [e for issue in response.fhir["issue"] for e in issue.get("expression", [])]
    assert place in places
    assert Slot.objects.count() == before


def test_a_booked_slot_is_never_changed_or_deleted(world):
    appointment_book(patient=world.patient, slot_id=world.slot.pk, reason="x")
    read = world.api.get(f"Slot/{world.slot.pk}")
    assert read.fhir["status"] == "busy"
    body = dict(read.fhir)
    body.pop("meta")
    same = _put(world.api, f"Slot/{world.slot.pk}", body, read["ETag"])
    assert same.status_code == 200  # unchanged: nothing to refuse
    for status in ("busy-unavailable", "free"):
        response = _put(world.api, f"Slot/{world.slot.pk}", dict(body, status=status), read["ETag"])
        assert response.status_code == 409, (status, response.content)
        assert response.fhir["issue"][0]["code"] == "conflict"
    later = dict(body, end=instant(world.slot.end + datetime.timedelta(minutes=5)))
    assert _put(world.api, f"Slot/{world.slot.pk}", later, read["ETag"]).status_code == 409
    assert world.api.call("DELETE", f"Slot/{world.slot.pk}").status_code == 409
    slot = Slot.objects.get(pk=world.slot.pk)
    assert (slot.blocked, slot.end) == (False, world.slot.end)


def test_a_generated_slot_may_only_be_blocked(world):
    factories.make_template(world.gp, world.ep)
    assert world.api.post("Slot", slot_resource(world, next_week())).status_code == 422
    read = world.api.get(f"Slot/{world.later.pk}")
    body = dict(read.fhir)
    body.pop("meta")
    moved = dict(body, end=instant(world.later.end + datetime.timedelta(minutes=5)))
    refused = _put(world.api, f"Slot/{world.later.pk}", moved, read["ETag"])
    assert refused.status_code == 422
    assert world.api.call("DELETE", f"Slot/{world.later.pk}").status_code == 422
    blocked = _put(world.api, f"Slot/{world.later.pk}", dict(body, status="busy-unavailable"),
                   read["ETag"])  # fmt: skip
    assert blocked.status_code == 200
    assert Slot.objects.get(pk=world.later.pk).blocked


def test_slot_writes_need_the_scope(world):
    reader = Api(token_for(world.api_client, ["system/Slot.read"]))
    assert reader.post("Slot", slot_resource(world, next_week())).status_code == 403
    assert reader.call("DELETE", f"Slot/{world.later.pk}").status_code == 403
    assert Slot.objects.filter(pk=world.later.pk).exists()


def test_another_clinics_schedule_is_not_a_place_for_a_slot(world, other):
    body = slot_resource(world, next_week())
    body["schedule"] = {"reference": f"Schedule/{other.gp.pk}"}
    response = world.api.post("Slot", body)
    assert response.status_code == 422
    assert response.fhir["issue"][0]["expression"] == ["Slot.schedule"]
    # Moving one of mine into their schedule: the same.
    read = world.api.get(f"Slot/{world.later.pk}")
    mine = dict(read.fhir, schedule={"reference": f"Schedule/{other.gp.pk}"})
    mine.pop("meta")
    assert _put(world.api, f"Slot/{world.later.pk}", mine, read["ETag"]).status_code == 422
    assert (
        not Slot.objects.filter(practitioner=other.gp)
        .exclude(pk__in=[other.slot.pk, other.later.pk])
        .exists()
    )


# Schedules


def test_schedule_put_sets_the_templates(world):
    read = world.api.get(f"Schedule/{world.gp.pk}")
    assert "extension" not in read.fhir
    body = dict(read.fhir, extension=[template(rules=[rule(1), rule(3, "12:00:00", "15:00:00")])])
    body.pop("meta")
    assert world.api.put(f"Schedule/{world.gp.pk}", body).status_code == 428
    ok = _put(world.api, f"Schedule/{world.gp.pk}", body, read["ETag"])
    assert ok.status_code == 200, ok.content
    saved = ScheduleTemplate.objects.get(practitioner=world.gp)
    assert saved.valid_from == datetime.date(2026, 1, 5)
    assert sorted((r.weekday, f"{r.start:%H:%M}") for r in saved.rules.all()) == [
        (1, "08:00"),
        (3, "12:00"),
    ]
    assert ok.fhir["extension"] == body["extension"]
    assert ok["ETag"] != read["ETag"]
    assert _put(world.api, f"Schedule/{world.gp.pk}", body, read["ETag"]).status_code == 412
    event = AuditEvent.objects.filter(action="fhir.update").latest("pk")
    assert (event.details["type"], event.details["templates"]) == ("Schedule", ["created"])

    # No templates: the practitioner's are deleted, and the version moves on.
    empty = dict(ok.fhir)
    empty.pop("meta")
    empty.pop("extension")
    cleared = _put(world.api, f"Schedule/{world.gp.pk}", empty, ok["ETag"])
    assert cleared.status_code == 200
    assert not ScheduleTemplate.objects.filter(practitioner=world.gp).exists()
    assert int(cleared.fhir["meta"]["versionId"]) > int(ok.fhir["meta"]["versionId"])


X0 = "Schedule.extension[0]"
RULE = f"{X0}.extension[1]"


@pytest.mark.parametrize(
    ("extension", "place"),
    [
        ([template(rules=[rule(weekday=8)])], f"{RULE}.extension[0]"),
        ([template(rules=[rule(start="08:00:30")])], f"{RULE}.extension[1]"),
        ([template(rules=[rule(start="11:00:00", end="08:00:00")])], RULE),
        ([template(rules=[rule(minutes=2)])], f"{RULE}.extension[3]"),
        ([template(rules=[rule(kind="nope")])], f"{RULE}.extension[4]"),
        ([template(valid_from="2026-02-01", valid_to="2026-01-01")], "Schedule.extension[0]"),
        ([template(), template()], "Schedule.extension[1]"),
        ([{"url": TEMPLATE, "extension": [rule()]}], "Schedule.extension[0]"),
        ([{"url": TEMPLATE, "extension": [{"url": "x", "valueCode": "y"}]}], f"{X0}.extension[0]"),
    ],
)  # fmt: skip
def test_bad_schedules_are_refused_with_the_place_and_nothing_stored(world, extension, place):
    read = world.api.get(f"Schedule/{world.gp.pk}")
    body = dict(read.fhir, extension=extension)
    body.pop("meta")
    response = _put(world.api, f"Schedule/{world.gp.pk}", body, read["ETag"])
    assert response.status_code == 422, response.content
    places = [e for issue in response.fhir["issue"] for e in issue.get("expression", [])]
    assert place in places, places
    assert not ScheduleTemplate.objects.exists()


def test_a_schedules_actor_and_active_are_its_practitioners(world, other):
    read = world.api.get(f"Schedule/{world.gp.pk}")
    body = dict(read.fhir, actor=[{"reference": f"Practitioner/{other.gp.pk}"}])
    body.pop("meta")
    wrong = _put(world.api, f"Schedule/{world.gp.pk}", body, read["ETag"])
    assert wrong.status_code == 422
    assert wrong.fhir["issue"][0]["expression"] == ["Schedule.actor"]
    inactive = dict(read.fhir, active=False)
    inactive.pop("meta")
    assert _put(world.api, f"Schedule/{world.gp.pk}", inactive, read["ETag"]).status_code == 422
    assert world.api.post("Schedule", body).status_code == 405


def test_a_page_of_schedules_costs_the_same_whatever_their_templates(world):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert world.api.get("Schedule").status_code == 200
        return len(ctx.captured_queries)

    factories.make_template(world.gp, world.ep)
    few = queries()
    for _ in range(4):
        gp = factories.make_practitioner(world.clinic)
        for week in range(3):
            factories.make_template(
                gp, world.ep, valid_from=datetime.date(2026, 1, 5) + datetime.timedelta(weeks=week)
            )
    assert queries() == few
