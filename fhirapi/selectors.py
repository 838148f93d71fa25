"""Reads for the API: every queryset here is one clinic's, with the resource's last change
(``last_changed``: meta.lastUpdated, the version and ``_lastUpdated``) annotated, so that a
page of any search is a fixed number of queries.

Last changes: a patient's and a practitioner's ``updated``; a schedule's, its practitioner's
or their newest template's; a slot's, its own ``updated`` or the newest change of an
appointment in it (booked, cancelled, moved: a booking changes the slot's status); an
appointment's, its creation, cancellation or move.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import (
    DateTimeField,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Greatest

from booking.models import Appointment, AppointmentType, ScheduleRule, ScheduleTemplate, Slot
from booking.selectors import free_slots, overlapping_booked
from clinics.models import (
    Clinic,
    Medication,
    ParentChild,
    Patient,
    PatientList,
    PowerOfAttorney,
    Practitioner,
)


def _appointment_changed(prefix: str = "") -> Greatest:
    created = F(f"{prefix}created")
    return Greatest(
        created,
        Coalesce(F(f"{prefix}cancelled_at"), created),
        Coalesce(F(f"{prefix}moved_at"), created),
        output_field=DateTimeField(),
    )


def patients(clinic_id: int) -> QuerySet[Patient]:
    return (
        Patient.objects.filter(clinic_id=clinic_id)
        .select_related("patient_list")
        .annotate(last_changed=F("updated"))
    )


def practitioners(clinic_id: int) -> QuerySet[Practitioner]:
    return (
        Practitioner.objects.filter(clinic_id=clinic_id)
        .select_related("clinic")
        .annotate(last_changed=F("updated"))
    )


def schedules(clinic_id: int) -> QuerySet[Practitioner]:
    newest_template = (
        ScheduleTemplate.objects.filter(practitioner_id=OuterRef("pk"))
        .order_by()
        .values("practitioner_id")
        .annotate(m=Max("updated"))
        .values("m")[:1]
    )
    templates = ScheduleTemplate.objects.prefetch_related(
        Prefetch("rules", queryset=ScheduleRule.objects.select_related("appointment_type"))
    )
    return (
        Practitioner.objects.filter(clinic_id=clinic_id)
        .prefetch_related(Prefetch("schedule_templates", queryset=templates))
        .annotate(
            last_changed=Greatest(
                F("updated"),
                Coalesce(Subquery(newest_template, output_field=DateTimeField()), F("updated")),
                output_field=DateTimeField(),
            )
        )
    )


def slot_last_changed() -> Greatest:
    """A slot's last change: its own, or the newest of an appointment in it."""
    newest_booking = (
        Appointment.objects.filter(slot_id=OuterRef("pk"))
        .order_by()
        .values("slot_id")
        .annotate(m=Max(_appointment_changed()))
        .values("m")[:1]
    )
    return Greatest(
        F("updated"),
        Coalesce(Subquery(newest_booking, output_field=DateTimeField()), F("updated")),
        output_field=DateTimeField(),
    )


def slots(clinic_id: int) -> QuerySet[Slot]:
    return (
        Slot.objects.filter(practitioner__clinic_id=clinic_id)
        .select_related("appointment_type", "practitioner")
        .annotate(booked=Exists(overlapping_booked()), last_changed=slot_last_changed())
    )


@dataclass(frozen=True)
class SlotType:
    key: str
    name: str
    online: bool


@dataclass(frozen=True)
class FreeSlot:
    """A free slot as ``$find`` reads it: plain values, no model instances."""

    pk: int
    start: datetime.datetime
    end: datetime.datetime
    practitioner_id: int
    last_changed: datetime.datetime
    appointment_type: SlotType
    blocked: bool = False
    booked: bool = False


def _free(
    clinic_id: int, practitioner_ids: list[int], start: datetime.datetime, end: datetime.datetime
) -> QuerySet:
    return (
        free_slots(practitioner_ids=practitioner_ids, start=start, end=end)
        .filter(practitioner__clinic_id=clinic_id)
        .annotate(last_changed=slot_last_changed())
        .values_list("pk", "start", "end", "practitioner_id", "appointment_type_id", "last_changed")
    )


def free_slot_list(
    *,
    clinic_id: int,
    practitioner_ids: list[int],
    start: datetime.datetime,
    end: datetime.datetime,
) -> list[FreeSlot]:
    """The clinic's free slots (``booking.selectors.free_slots``) of the practitioners, by
    time, as tuples (no model instances): one query, and one for the clinic's appointment
    types."""
    rows = list(_free(clinic_id, list(practitioner_ids), start, end))
    if not rows:
        return []
    types = {
        t.pk: SlotType(t.key, t.name, t.online)
        for t in AppointmentType.objects.filter(clinic_id=clinic_id)
    }
    return [FreeSlot(pk, s, e, p, changed, types[kind]) for pk, s, e, p, kind, changed in rows]


def appointment_types(clinic_id: int) -> dict[str, int]:
    """The clinic's appointment types, key → id (what a Slot's serviceType and a schedule
    rule name)."""
    return dict(AppointmentType.objects.filter(clinic_id=clinic_id).values_list("key", "pk"))


def appointments(clinic_id: int) -> QuerySet[Appointment]:
    return Appointment.objects.filter(patient__clinic_id=clinic_id).annotate(
        last_changed=_appointment_changed()
    )


# The clinic's own rows (each with ``updated``): the clinic, its lists, appointment types,
# medications and parent-child links (a link changes with its parent's name or number).


def organizations(clinic_id: int) -> QuerySet[Clinic]:
    return Clinic.objects.filter(pk=clinic_id).annotate(last_changed=F("updated"))


def patient_lists(clinic_id: int) -> QuerySet[PatientList]:
    return PatientList.objects.filter(clinic_id=clinic_id).annotate(last_changed=F("updated"))


def healthcare_services(clinic_id: int) -> QuerySet[AppointmentType]:
    return AppointmentType.objects.filter(clinic_id=clinic_id).annotate(last_changed=F("updated"))


def medication_statements(clinic_id: int) -> QuerySet[Medication]:
    return Medication.objects.filter(patient__clinic_id=clinic_id).annotate(
        last_changed=F("updated")
    )


def related_persons(clinic_id: int) -> QuerySet[ParentChild]:
    return (
        ParentChild.objects.filter(parent__clinic_id=clinic_id)
        .select_related("parent")
        .annotate(
            last_changed=Greatest(F("updated"), F("parent__updated"), output_field=DateTimeField())
        )
    )


def consents(clinic_id: int) -> QuerySet[PowerOfAttorney]:
    """The clinic's powers of attorney, ended ones too (history, ``status`` inactive)."""
    return PowerOfAttorney.objects.filter(giver__clinic_id=clinic_id).annotate(
        last_changed=F("updated"), clinic_pk=F("giver__clinic_id")
    )


#: The rows of the resource types written through :func:`fhirapi.services.save`.
ROWS = {
    "Organization": organizations,
    "Group": patient_lists,
    "HealthcareService": healthcare_services,
    "MedicationStatement": medication_statements,
    "RelatedPerson": related_persons,
    "Consent": consents,
}
