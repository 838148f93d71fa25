"""Writes for what a clinic lays its timebook out with: schedule templates, absences,
closed days, booking settings. The admin and the import call these; each change makes the
slots follow (:mod:`.slots`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.models import Practitioner

from ..models import Absence, AppointmentType, BookingSettings, ScheduleRule, ScheduleTemplate
from .slots import absence_changed, slots_regenerate_later

# Appointment types


def appointment_type_save(
    *, clinic_id: int, values: dict, appointment_type: AppointmentType | None = None
) -> tuple[AppointmentType, list[str]]:
    """An appointment type made or changed (``key``, ``name``, ``minutes``, ``colour``,
    ``online``, as :func:`booking.exchange.validate_appointment_type` cleaned them); the
    fields changed. Slots and rules keep pointing at the type, so nothing follows."""
    if appointment_type is None:
        return AppointmentType.objects.create(clinic_id=clinic_id, **values), list(values)
    changed = [k for k, v in values.items() if getattr(appointment_type, k) != v]
    for k in changed:
        setattr(appointment_type, k, values[k])
    if changed:
        appointment_type.save(update_fields=[*changed, "updated"])
    return appointment_type, changed


# Schedule templates

#: Why a second template from one date is refused: which one applies would be left to
#: chance, and the clinic's export could not be imported again.
TEMPLATE_START_TAKEN = _(
    "This practitioner already has a template from this date; change that one."
)

#: A rule as the import gives it: (weekday, start, end, slot minutes, appointment type id).
RuleValues = tuple[int, datetime.time, datetime.time, int, int]


def schedule_template_start_taken(
    *, practitioner_id: int, valid_from: datetime.date, template_id: int | None = None
) -> bool:
    """Whether another template of the practitioner (than ``template_id``) starts on
    ``valid_from``: one template per practitioner and start date. The admin form refuses
    such a template; :func:`schedule_template_save` (the import) too."""
    same_start = ScheduleTemplate.objects.filter(
        practitioner_id=practitioner_id, valid_from=valid_from
    )
    if template_id is not None:  # exclude(pk=None) excludes nothing
        same_start = same_start.exclude(pk=template_id)
    return same_start.exists()


def schedule_template_save(
    *,
    practitioner_id: int,
    valid_from: datetime.date,
    valid_to: datetime.date | None,
    rules: Iterable[RuleValues],
    template: ScheduleTemplate | None = None,
) -> tuple[ScheduleTemplate, Literal["created", "updated", "unchanged"]]:
    """Create the practitioner's template from ``valid_from``, or bring ``template`` (theirs
    from that date, with its rules prefetched) to ``valid_to`` and ``rules``.

    Raises ``ValidationError`` (:data:`TEMPLATE_START_TAKEN`) for a new template from a date
    the practitioner has one from. The caller has the slots regenerated
    (:func:`~booking.services.slots_regenerate_later`), once for all its changes.
    """
    wanted = sorted(rules)
    if template is None:
        if schedule_template_start_taken(practitioner_id=practitioner_id, valid_from=valid_from):
            raise ValidationError(TEMPLATE_START_TAKEN, code="template_start_taken")
        template = ScheduleTemplate.objects.create(
            practitioner_id=practitioner_id, valid_from=valid_from, valid_to=valid_to
        )
        outcome: Literal["created", "updated", "unchanged"] = "created"
        have: list[RuleValues] = []
    else:
        have = sorted(
            (r.weekday, r.start, r.end, r.slot_minutes, r.appointment_type_id)
            for r in template.rules.all()
        )
        if template.valid_to == valid_to and have == wanted:
            return template, "unchanged"
        if template.valid_to != valid_to:
            template.valid_to = valid_to
            template.save(update_fields=["valid_to", "updated"])
        outcome = "updated"
    if have != wanted:
        template.rules.all().delete()
        ScheduleRule.objects.bulk_create(
            ScheduleRule(
                template=template, weekday=w, start=s, end=e, slot_minutes=m,
                appointment_type_id=t,
            )
            for w, s, e, m, t in wanted
        )  # fmt: skip
    return template, outcome


# Absences


def absence_save(*, absence: Absence) -> int:
    """Save a new or changed absence: its days' slots are blocked, and the days it no longer
    covers (shortened, moved, or given to another practitioner) are unblocked unless another
    absence covers them. Returns the slots changed."""
    with transaction.atomic():
        old = Absence.objects.filter(pk=absence.pk).first() if absence.pk else None
        absence.save()
        after = set(absence.days())
        if old is None:
            before: set[datetime.date] = set()
        elif old.practitioner_id != absence.practitioner_id:
            freed = absence_changed(
                practitioner_id=old.practitioner_id, before=set(old.days()), after=set()
            )
            return freed + absence_changed(
                practitioner_id=absence.practitioner_id, before=set(), after=after
            )
        else:
            before = set(old.days())
        return absence_changed(practitioner_id=absence.practitioner_id, before=before, after=after)


def absence_delete(*, absence: Absence) -> int:
    """Delete an absence: its days open again unless another absence covers them."""
    return absences_delete(absences=Absence.objects.filter(pk=absence.pk))


def absences_delete(*, absences: QuerySet[Absence]) -> int:
    """Delete these absences (the same as one by one). Returns the slots changed."""
    with transaction.atomic():
        gone = [(a.practitioner_id, set(a.days())) for a in absences]
        absences.delete()
        return sum(
            absence_changed(practitioner_id=practitioner_id, before=days, after=set())
            for practitioner_id, days in gone
        )


# Closed days and booking settings: they apply to every practitioner of the clinic.


def clinic_slots_regenerate_later(*, clinic_ids: Iterable[int]) -> None:
    """After the current transaction commits, regenerate the slots of every practitioner of
    these clinics who has a template (a closed day or the horizon changed)."""
    ids = ScheduleTemplate.objects.filter(practitioner__clinic_id__in=list(clinic_ids))
    slots_regenerate_later(practitioner_ids=list(ids.values_list("practitioner_id", flat=True)))


def booking_settings_save(*, booking_settings: BookingSettings) -> None:
    """Save the clinic's booking settings; a new horizon makes the slots reach it.

    The slots were made for the horizon saved before (the default when the clinic had no
    settings row)."""
    with transaction.atomic():
        saved = None
        if booking_settings.pk is not None:
            saved = BookingSettings.objects.filter(pk=booking_settings.pk).first()
        before = (saved or BookingSettings()).horizon_weeks
        booking_settings.save()
        if booking_settings.horizon_weeks != before:
            clinic_slots_regenerate_later(clinic_ids=[booking_settings.clinic_id])


#: A template as a whole: (valid from, valid to, its rules).
TemplateValues = tuple[datetime.date, datetime.date | None, list[RuleValues]]


def practitioner_templates_replace(
    *, practitioner_id: int, templates: Iterable[TemplateValues]
) -> list[str]:
    """Make ``templates`` the practitioner's whole set, as the import's section does for a
    clinic: matched on ``valid_from`` (one per date: the caller checked that), created,
    updated, and the ones not given deleted; the slots are regenerated after the commit.
    A deletion touches the practitioner, so that the schedule's last change (the newest of
    the practitioner's and their templates') never goes back. Returns the outcomes
    (``created``, ``updated``, ``deleted``), one per template changed."""
    outcomes: list[str] = []
    with transaction.atomic():
        existing = {
            t.valid_from: t
            for t in ScheduleTemplate.objects.select_for_update()
            .filter(practitioner_id=practitioner_id)
            .prefetch_related("rules")
        }
        kept: set[int] = set()
        for valid_from, valid_to, rules in templates:
            template, outcome = schedule_template_save(
                practitioner_id=practitioner_id,
                valid_from=valid_from,
                valid_to=valid_to,
                rules=rules,
                template=existing.get(valid_from),
            )
            kept.add(template.pk)
            if outcome != "unchanged":
                outcomes.append(outcome)
        gone = [t.pk for t in existing.values() if t.pk not in kept]
        if gone:
            ScheduleTemplate.objects.filter(pk__in=gone).delete()
            Practitioner.objects.filter(pk=practitioner_id).update(updated=timezone.now())
            outcomes.extend("deleted" for _ in gone)
        if outcomes:
            slots_regenerate_later(practitioner_ids=[practitioner_id])
    return outcomes
