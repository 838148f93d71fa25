"""Reads for the API: every queryset here is one clinic's, with the resource's last change
(``last_changed``: meta.lastUpdated, the version and ``_lastUpdated``) annotated, so that a
page of any search is a fixed number of queries.

Last changes: a patient's and a practitioner's ``updated``; a schedule's, its practitioner's
or their newest template's; a slot's, its own ``updated`` or the newest change of an
appointment in it (booked, cancelled, moved: a booking changes the slot's status); an
appointment's, its creation, cancellation or move.
"""

from __future__ import annotations

from django.db.models import DateTimeField, Exists, F, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest

from booking.models import Appointment, ScheduleTemplate, Slot
from booking.selectors import overlapping_booked
from clinics.models import Patient, Practitioner


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
    return Practitioner.objects.filter(clinic_id=clinic_id).annotate(
        last_changed=Greatest(
            F("updated"),
            Coalesce(Subquery(newest_template, output_field=DateTimeField()), F("updated")),
            output_field=DateTimeField(),
        )
    )


def slots(clinic_id: int) -> QuerySet[Slot]:
    newest_booking = (
        Appointment.objects.filter(slot_id=OuterRef("pk"))
        .order_by()
        .values("slot_id")
        .annotate(m=Max(_appointment_changed()))
        .values("m")[:1]
    )
    return (
        Slot.objects.filter(practitioner__clinic_id=clinic_id)
        .select_related("appointment_type", "practitioner")
        .annotate(
            booked=Exists(overlapping_booked()),
            last_changed=Greatest(
                F("updated"),
                Coalesce(Subquery(newest_booking, output_field=DateTimeField()), F("updated")),
                output_field=DateTimeField(),
            ),
        )
    )


def appointments(clinic_id: int) -> QuerySet[Appointment]:
    return Appointment.objects.filter(patient__clinic_id=clinic_id).annotate(
        last_changed=_appointment_changed()
    )
