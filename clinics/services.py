"""Writes of clinic data outside the import: acting for others (docs/acting-for-others.md),
and the one way the import and the FHIR API write a clinic's own rows, its patient lists,
medications and parent-child links (:func:`save_changed` and the ``*_save`` functions; the
rules are checked by :mod:`clinics.exchange`'s validators before).

The rules themselves are read from :mod:`clinics.selectors` (``may_act_for`` and its
parts); these functions give and end powers of attorney in the portal and send the notice
before a child turns 12.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sms.services import sms_queue
from sms.texts import sms_text

from . import audit
from .dates import long_date
from .models import Clinic, Medication, ParentChild, Patient, PatientList, PowerOfAttorney
from .national_id import age_on, birth_date, birthday, compact
from .national_id import parse as parse_national_id
from .selectors import (
    ATTORNEY_GIVER_MIN_AGE,
    ATTORNEY_HOLDER_MIN_AGE,
    CHILD_AGE_LIMIT,
    may_use_portal,
    parent_may_act,
)


def save_changed(obj: Any, values: dict[str, Any]) -> list[str]:
    """Set the fields of ``values`` that differ and save only them; the names changed (none:
    nothing is written, so a re-import or a repeated PUT writes nothing)."""
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    if changed:
        # A model's ``updated`` (auto_now) is written only when named: the FHIR API's
        # meta.lastUpdated and _lastUpdated polling read it.
        auto = [f.name for f in obj._meta.concrete_fields if getattr(f, "auto_now", False)]
        obj.save(update_fields=changed + auto)
    return changed


def clinic_update(*, clinic: Clinic, values: dict[str, Any]) -> list[str]:
    """The clinic's own fields as :func:`clinics.exchange.validate_clinic` cleaned them."""
    return save_changed(clinic, values)


def patient_list_save(
    *, clinic_id: int, values: dict[str, Any], patient_list: PatientList | None = None
) -> tuple[PatientList, list[str]]:
    """A patient list made or changed: ``key``, ``name``, ``gp_id`` (the GP: a practitioner
    of the clinic, checked by the caller)."""
    if patient_list is None:
        return PatientList.objects.create(clinic_id=clinic_id, **values), list(values)
    return patient_list, save_changed(patient_list, values)


def medication_save(
    *, patient_id: int, values: dict[str, Any], medication: Medication | None = None
) -> tuple[Medication, list[str]]:
    """A patient's medication made or changed, with the fields of
    :func:`clinics.exchange.validate_medication` and ``current``."""
    if medication is None:
        return Medication.objects.create(patient_id=patient_id, **values), list(values)
    return medication, save_changed(medication, values)


def parent_child_save(
    *, parent_id: int, child_id: int, values: dict[str, Any], link: ParentChild | None = None
) -> tuple[ParentChild, list[str]]:
    """A parent-child link made or its flags changed (checked by
    :func:`clinics.exchange.validate_parent_child`)."""
    if link is None:
        made = ParentChild.objects.create(parent_id=parent_id, child_id=child_id, **values)
        return made, list(values)
    return link, save_changed(link, values)


def parent_child_remove(*, link_id: int) -> None:
    """The register no longer has the link: it goes (links are not history)."""
    ParentChild.objects.filter(pk=link_id).delete()


def attorney_values(row: dict[str, Any]) -> dict[str, Any]:
    """A power of attorney's fields from a row as
    :func:`clinics.exchange.validate_power_of_attorney` cleaned it."""
    return {
        "valid_from": row["valid_from"],
        "valid_to": row["valid_to"],
        "source": row["source"],
        **{f"covers_{s}": s in row["services"] for s in PowerOfAttorney.Service.values},
    }


def power_of_attorney_save(
    *,
    giver_id: int,
    holder_id: int,
    values: dict[str, Any],
    attorney: PowerOfAttorney | None = None,
) -> tuple[PowerOfAttorney, list[str]]:
    """A power of attorney from the journal made or changed (the import, the FHIR API):
    ``values`` of :func:`attorney_values`, checked by
    :func:`clinics.exchange.validate_power_of_attorney`. At most one open per pair (the
    database's constraint: an IntegrityError)."""
    if attorney is None:
        made = PowerOfAttorney.objects.create(giver_id=giver_id, holder_id=holder_id, **values)
        return made, list(values)
    return attorney, save_changed(attorney, values)


def powers_of_attorney_close(*, attorney_ids: Iterable[int]) -> int:
    """The journal ended them (a later import without them, the FHIR API): ended now, by
    nobody in the portal; kept, never deleted. Those already ended stay as they were."""
    return PowerOfAttorney.objects.filter(pk__in=list(attorney_ids), ended_at__isnull=True).update(
        ended_at=timezone.now(), updated=timezone.now()
    )


#: How many days before the 12th birthday the parents hear that it ends.
CHILD_NOTICE_DAYS = 30


class AttorneyRefused(Exception):
    """Nothing was given or ended; ``message`` says why, in words for the patient."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _neutral() -> AttorneyRefused:
    # The same words whether the number is unknown, belongs to someone who may not use the
    # portal or to someone with a confidential address: the page never tells which.
    return AttorneyRefused(
        _(
            "A power of attorney cannot be given to this identity number here. Check the "
            "number: the person must be a patient at this clinic who can use the portal."
        ),
        code="holder",
    )


def power_of_attorney_give(
    *,
    giver: Patient,
    holder_national_id: str,
    services: Iterable[str],
    valid_to: datetime.date,
    today: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> PowerOfAttorney:
    """``giver`` gives the patient of the same clinic with ``holder_national_id`` a power of
    attorney from today to ``valid_to`` (inclusive) for ``services``; the holder gets an SMS
    without details. Raises :class:`AttorneyRefused` and changes nothing when a rule says
    no. The caller checks that the giver logged in with BankID."""
    today = today or timezone.localdate()
    chosen = {service for service in services if service in PowerOfAttorney.Service.values}
    if not chosen:
        raise AttorneyRefused(_("Choose at least one service."), code="services")
    if valid_to < today:
        raise AttorneyRefused(_("The end date cannot be in the past."), code="valid_to")
    try:
        number = parse_national_id(holder_national_id).value
    except ValidationError:  # the form validated it; anything else reads as unknown
        raise _neutral() from None
    if number == compact(giver.national_id):
        raise AttorneyRefused(_("You cannot give a power of attorney to yourself."), code="self")
    giver_age = age_on(giver.national_id, today)
    if giver_age is None or giver_age < ATTORNEY_GIVER_MIN_AGE:
        raise AttorneyRefused(
            _("You must be %(age)d or older to give a power of attorney.")
            % {"age": ATTORNEY_GIVER_MIN_AGE},
            code="giver_age",
        )
    # The holder's age is in the number typed: saying so tells nothing about who is a patient.
    holder_age = age_on(number, today)
    if holder_age is None or holder_age < ATTORNEY_HOLDER_MIN_AGE:
        raise AttorneyRefused(
            _("A power of attorney can only be given to someone aged %(age)d or older.")
            % {"age": ATTORNEY_HOLDER_MIN_AGE},
            code="holder_age",
        )
    if giver.confidential_address:
        raise AttorneyRefused(
            _("Powers of attorney cannot be given in the portal for you. Please call the clinic."),
            code="giver_confidential",
        )
    with transaction.atomic():
        # The giver's row lock serialises two submits of the same form.
        Patient.objects.select_for_update().filter(pk=giver.pk).first()
        holder = (
            Patient.objects.select_related("clinic")
            .filter(clinic_id=giver.clinic_id, national_id=number)
            .first()
        )
        if holder is None or holder.confidential_address or not may_use_portal(holder):
            raise _neutral()
        if PowerOfAttorney.objects.filter(
            giver=giver, holder=holder, ended_at__isnull=True
        ).exists():
            raise AttorneyRefused(
                _(
                    "You have already given this person a power of attorney. End it first "
                    "to give a new one."
                ),
                code="exists",
            )
        try:
            with transaction.atomic():
                attorney = PowerOfAttorney.objects.create(
                    giver=giver,
                    holder=holder,
                    valid_from=today,
                    valid_to=valid_to,
                    source=PowerOfAttorney.Source.PORTAL,
                    **{
                        f"covers_{service}": service in chosen
                        for service in PowerOfAttorney.Service.values
                    },
                )
        except IntegrityError:  # a concurrent submit won: the partial unique constraint
            raise AttorneyRefused(
                _(
                    "You have already given this person a power of attorney. End it first "
                    "to give a new one."
                ),
                code="exists",
            ) from None
        audit.record(
            "attorney.given",
            request=request,
            patient=giver,
            clinic=giver.clinic,
            obj=attorney,
            details={"holder": holder.pk, "services": list(attorney.services)},
        )
        if holder.mobile:
            with translation.override(settings.LANGUAGE_CODE):  # the holder's language is unknown
                text = sms_text("power_of_attorney_given", clinic=giver.clinic.name)
            sms_queue(
                clinic_id=giver.clinic_id,
                to=holder.mobile,
                text=text,
                purpose="power_of_attorney",
                idempotency_key=f"attorney-given:{attorney.pk}",
                wait=True,
            )
    return attorney


def power_of_attorney_end(
    *, patient: Patient, attorney_id: int, request: HttpRequest | None = None
) -> PowerOfAttorney | None:
    """``patient``, the giver or the holder, ends the power of attorney now. None when it is
    not theirs or already ended (the page answers 404); ending twice ends once."""
    with transaction.atomic():
        attorney = (
            PowerOfAttorney.objects.select_for_update()
            .filter(Q(giver_id=patient.pk) | Q(holder_id=patient.pk), ended_at__isnull=True)
            .filter(pk=attorney_id)
            .first()
        )
        if attorney is None:
            return None
        attorney.ended_at = timezone.now()
        attorney.ended_by = patient
        attorney.save(update_fields=["ended_at", "ended_by", "updated"])
        audit.record(
            "attorney.ended",
            request=request,
            patient=patient,
            clinic=patient.clinic,
            obj=attorney,
            details={"side": "giver" if attorney.giver_id == patient.pk else "holder"},
        )
    return attorney


def _birth_prefixes(born: datetime.date) -> list[str]:
    """The first six digits of every kind of identity number with this date of birth: the
    day (D-number: + 40), the month (H-number: + 40; synthetic: + 80) and the year."""
    days = (born.day, born.day + 40)
    months = (born.month, born.month + 40, born.month + 80)
    return [f"{d:02d}{m:02d}{born.year % 100:02d}" for d in days for m in months]


def child_turning_12_notices_send(*, today: datetime.date | None = None) -> int:
    """SMS each parent who may act for a child turning 12 in :data:`CHILD_NOTICE_DAYS` days,
    once (the idempotency key names the child, the parent and the birthday's year). No
    name, no health information: the date and the clinic. Returns how many SMS it asked
    for (on a second run the same ones: their keys make them the first run's)."""
    today = today or timezone.localdate()
    turns_on = today + datetime.timedelta(days=CHILD_NOTICE_DAYS)
    # Twelve years back is as much a leap year as today: 29 February maps to itself.
    prefixes = Q()
    for prefix in _birth_prefixes(birthday(turns_on, -CHILD_AGE_LIMIT)):
        prefixes |= Q(child__national_id__startswith=prefix)
    links = (
        ParentChild.objects.filter(prefixes)
        .exclude(parent__mobile="")
        .select_related("parent__clinic", "child__clinic")
        .order_by("pk")
    )
    sent = 0
    for link in links:
        born = birth_date(link.child.national_id)
        if born is None or birthday(born, CHILD_AGE_LIMIT) != turns_on:
            continue  # another century with the same six digits, or an invalid number
        if not parent_may_act(link, today) or not may_use_portal(link.parent):
            continue
        clinic = link.parent.clinic
        with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
            text = sms_text(
                "child_turns_12", clinic=clinic.name, date=long_date(turns_on, weekday=False)
            )
            sms_queue(
                clinic_id=clinic.pk,
                to=link.parent.mobile,
                text=text,
                purpose="child_turns_12",
                idempotency_key=f"child-turns-12:{link.child_id}:{link.parent_id}:{turns_on.year}",
                wait=True,
            )
        sent += 1
    return sent
