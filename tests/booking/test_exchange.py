"""The schedule in the clinic exchange format (docs/booking.md): import, export, errors by place."""

from __future__ import annotations

import copy

import pytest
import time_machine

from booking.models import AppointmentType, ScheduleTemplate, Slot
from clinics.exchange import ImportFailed, export_clinic, import_clinic
from clinics.models import Clinic
from tests.factories import oslo

pytestmark = pytest.mark.django_db


def document() -> dict:
    return {
        "format": "eportal-clinic/1",
        "clinic": {"ep_ident": "TIMEBOK", "name": "Timebok legesenter"},
        "practitioners": [{"key": "p1", "name": "Kari Nordmann", "eportal_enabled": True}],
        "patient_lists": [],
        "appointment_types": [
            {"key": "ep", "name": "ePortal", "minutes": 20, "online": True},
            {"key": "int", "name": "Intern", "minutes": 30, "colour": "#aa0000"},
        ],
        "schedule_templates": [
            {
                "practitioner": "p1",
                "valid_from": "2026-01-05",
                "valid_to": None,
                "rules": [
                    {"weekday": 1, "start": "08:00", "end": "11:00", "slot_minutes": 20,
                     "appointment_type": "ep"},
                ],
            }
        ],
    }  # fmt: skip


def errors_of(data) -> list[tuple[str, str]]:
    with pytest.raises(ImportFailed) as failure:
        import_clinic(data)
    return failure.value.errors


def test_import_creates_types_and_templates_and_generates_slots(
    django_capture_on_commit_callbacks,
):
    with time_machine.travel(oslo(2026, 2, 2, 6, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            stats = import_clinic(document())
        assert stats["appointment types created"] == 2
        assert stats["schedule templates created"] == 1
        ep = AppointmentType.objects.get(key="ep")
        assert ep.online and ep.minutes == 20
        template = ScheduleTemplate.objects.get()
        rule = template.rules.get()
        assert (rule.weekday, f"{rule.start:%H:%M}", rule.appointment_type) == (1, "08:00", ep)
        assert Slot.objects.filter(start=oslo(2026, 2, 2, 8, 0)).exists()


def test_reimport_changes_nothing_and_export_round_trips():
    import_clinic(document())
    assert import_clinic(document()) == {}
    exported = export_clinic(Clinic.objects.get(ep_ident="TIMEBOK"))
    assert exported["schedule_templates"] == document()["schedule_templates"]
    assert [t["key"] for t in exported["appointment_types"]] == ["ep", "int"]
    assert import_clinic(exported) == {}


def test_a_template_left_out_is_deleted_and_a_changed_one_updated():
    import_clinic(document())
    data = document()
    data["schedule_templates"][0]["rules"][0]["end"] = "12:00"
    assert import_clinic(data)["schedule templates updated"] == 1
    assert f"{ScheduleTemplate.objects.get().rules.get().end:%H:%M}" == "12:00"
    data["schedule_templates"] = []
    assert import_clinic(data)["schedule templates deleted"] == 1
    assert not ScheduleTemplate.objects.exists()


def test_every_error_is_reported_by_place_and_nothing_is_imported():
    data = copy.deepcopy(document())
    data["appointment_types"][0]["minutes"] = 0
    data["appointment_types"][1]["key"] = "ep"
    template = data["schedule_templates"][0]
    template["practitioner"] = "nobody"
    template["valid_to"] = "2025-01-01"
    template["rules"][0].update(weekday=8, start="11:00", appointment_type="nope")
    places = {place for place, _ in errors_of(data)}
    assert places == {
        "appointment_types[0].minutes",
        "appointment_types[1].key",
        "schedule_templates[0].practitioner",
        "schedule_templates[0].valid_to",
        "schedule_templates[0].rules[0].weekday",
        "schedule_templates[0].rules[0].end",
        "schedule_templates[0].rules[0].appointment_type",
    }
    assert not Clinic.objects.filter(ep_ident="TIMEBOK").exists()
    assert not AppointmentType.objects.exists()


def test_a_second_template_from_one_date_goes_with_the_next_import():
    """Code may make two templates from one date; the import leaves the file's one."""
    import_clinic(document())
    first = ScheduleTemplate.objects.get()
    ScheduleTemplate.objects.create(practitioner=first.practitioner, valid_from=first.valid_from)
    stats = import_clinic(document())
    assert stats["schedule templates deleted"] == 1
    template = ScheduleTemplate.objects.get()
    assert [(r.weekday, f"{r.start:%H:%M}") for r in template.rules.all()] == [(1, "08:00")]


def test_one_template_per_practitioner_and_start_date_for_the_import_too():
    from django.core.exceptions import ValidationError

    from booking.services import schedule_template_save

    import_clinic(document())
    first = ScheduleTemplate.objects.get()
    with pytest.raises(ValidationError):
        schedule_template_save(
            practitioner_id=first.practitioner_id,
            valid_from=first.valid_from,
            valid_to=None,
            rules=[],
        )
    assert ScheduleTemplate.objects.count() == 1
