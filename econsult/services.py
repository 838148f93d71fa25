"""Writes of eConsultation: send, reply, read, answer, close, offer booking, reassign.

Every write is one transaction with its audit event (what happened and to which
consultation; never a word of its content) and, for an answer, the SMS's outbox row: the SMS
exists exactly when the answer does.

Sending checks, under locks, everything that decides (the patient's row queues one patient's
sends, the practitioner's row the practitioner's capacity): the patient may use the portal
and the matrix offers them the practitioner (``delegation.selectors.may_use``), the fee is
accepted, the patient's open limit and the practitioner's capacity
(``econsult.selectors.capacities``). A double submit (the form's one-time key) returns the
first consultation.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation

from clinics import audit
from clinics.models import Patient, Practitioner, User
from clinics.selectors import may_use_portal, public_url, representative_in, sms_recipient
from delegation.selectors import may_use
from sms.services import sms_queue
from sms.texts import sms_text

from .files import CheckedFile
from .models import (
    Attachment,
    Consultation,
    Kind,
    Message,
    RenewalItem,
    RenewalRequest,
    Status,
    attachment_storage,
)
from .selectors import (
    Capacity,
    answer_by_for_reply,
    capacities,
    econsult_settings,
    open_limit_reached,
    reception_answer_by,
    reception_offered,
    staff_clinic,
    submitted_consultation,
    submitted_renewal,
)

T = TypeVar("T", bound=Model)

logger = logging.getLogger(__name__)


class EconsultError(Exception):
    code = "error"


class NotOffered(EconsultError):
    """The patient may not write to this practitioner (the matrix, or the portal's rules)."""

    code = "not_offered"


class FeeNotAccepted(EconsultError):
    code = "fee"


class OpenLimitReached(EconsultError):
    code = "open_limit"


class CapacityFull(EconsultError):
    """The practitioner takes no more eConsultations today (or is closed)."""

    code = "full"

    def __init__(self, capacity: Capacity) -> None:
        super().__init__(self.code)
        self.capacity = capacity


class ConsultationClosed(EconsultError):
    code = "closed"


class NotFound(EconsultError):
    """No such consultation for this patient or staff user (the view answers 404)."""

    code = "not_found"


def _language(language: str | None) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def _attach(message: Message, files: list[CheckedFile], saved: list[str]) -> None:
    for checked in files:
        attachment = Attachment(
            clinic_id=message.consultation.clinic_id,
            message=message,
            name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
        )
        checked.upload.seek(0)
        attachment.file.save(checked.name, checked.upload, save=False)
        saved.append(attachment.file.name)
        attachment.save()


def _forget_files(saved: list[str]) -> None:
    storage = attachment_storage()
    for name in saved:
        try:
            storage.delete(name)
        except OSError:  # pragma: no cover - a full disk or a vanished folder
            logger.warning("Could not remove an attachment of a failed write")


def _patient_message(
    consultation: Consultation,
    patient: Patient,
    *,
    body: str,
    files: list[CheckedFile] | None,
    saved: list[str],
    action: str,
    request: HttpRequest | None,
    details: dict[str, Any] | None = None,
) -> Message:
    """The patient's message in ``consultation`` with its files, and its audit event (the
    number of files; never a word of the text)."""
    message = Message.objects.create(
        consultation=consultation, author=Message.Author.PATIENT, body=body
    )
    _attach(message, files or [], saved)
    audit.record(
        action,
        request=request,
        patient=patient,
        clinic=patient.clinic,
        obj=consultation,
        details={**(details or {}), "attachments": len(files or [])},
    )
    return message


def consultation_send(
    *,
    patient: Patient,
    practitioner_id: int,
    subject: str,
    body: str,
    files: list[CheckedFile] | None = None,
    fee_accepted: bool = False,
    submission_key: str = "",
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> Consultation:
    """Send a new eConsultation; raises an :class:`EconsultError` and writes nothing when it
    may not be sent."""
    if not may_use_portal(patient):
        raise NotOffered
    rules = econsult_settings(patient.clinic_id)
    if rules.fee_nok and not fee_accepted:
        raise FeeNotAccepted
    now = now or timezone.now()
    saved: list[str] = []
    try:
        with transaction.atomic():
            Patient.objects.select_for_update().filter(pk=patient.pk).first()
            earlier = submitted_consultation(patient, submission_key)
            if earlier is not None:
                return earlier
            if not may_use(patient, "econsult", practitioner_id):
                raise NotOffered
            Practitioner.objects.select_for_update().filter(pk=practitioner_id).first()
            if open_limit_reached(patient, rules):
                raise OpenLimitReached
            capacity = capacities([practitioner_id], rules, now=now)[practitioner_id]
            if not capacity.available:
                raise CapacityFull(capacity)
            if capacity.intake_day is None or capacity.answer_by is None:  # pragma: no cover
                raise CapacityFull(capacity)
            consultation = Consultation.objects.create(
                clinic_id=patient.clinic_id,
                patient=patient,
                practitioner_id=practitioner_id,
                subject=subject,
                intake_day=capacity.intake_day,
                answer_by=capacity.answer_by,
                last_patient_message_at=now,
                fee_nok=rules.fee_nok,
                language=_language(translation.get_language()),
                submission_key=submission_key,
                sent_by=representative_in(request, patient),
            )
            _patient_message(
                consultation,
                patient,
                body=body,
                files=files,
                saved=saved,
                action="econsult.sent",
                request=request,
                details={"practitioner": practitioner_id},
            )
    except BaseException:
        _forget_files(saved)
        raise
    return consultation


def reception_send(
    *,
    patient: Patient,
    subject: str,
    body: str,
    files: list[CheckedFile] | None = None,
    submission_key: str = "",
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> Consultation:
    """ "Kontakt ekspedisjonen": an administrative message to the clinic's reception (no
    practitioner, no fee, no capacity); the limit of unanswered messages applies apart."""
    if not reception_offered(patient):
        raise NotOffered
    rules = econsult_settings(patient.clinic_id)
    now = now or timezone.now()
    saved: list[str] = []
    try:
        with transaction.atomic():
            Patient.objects.select_for_update().filter(pk=patient.pk).first()
            earlier = submitted_consultation(patient, submission_key)
            if earlier is not None:
                return earlier
            if open_limit_reached(patient, rules, Kind.RECEPTION):
                raise OpenLimitReached
            today = timezone.localdate(now)
            consultation = Consultation.objects.create(
                clinic_id=patient.clinic_id,
                patient=patient,
                kind=Kind.RECEPTION,
                practitioner=None,
                subject=subject,
                intake_day=today,
                answer_by=reception_answer_by(rules, now=now),
                last_patient_message_at=now,
                language=_language(translation.get_language()),
                submission_key=submission_key,
                sent_by=representative_in(request, patient),
            )
            _patient_message(
                consultation,
                patient,
                body=body,
                files=files,
                saved=saved,
                action="reception.sent",
                request=request,
            )
    except BaseException:
        _forget_files(saved)
        raise
    return consultation


def reception_convert(
    *,
    staff: User,
    consultation_id: int,
    practitioner_id: int,
    request: HttpRequest | None = None,
) -> Consultation:
    """Staff make a message to the reception an eConsultation to a practitioner of the
    clinic (a medical question sent to the wrong place; audited). No fee is charged for it."""
    with transaction.atomic():
        consultation = _staff_consultation_for_update(staff, consultation_id)
        if consultation.kind != Kind.RECEPTION:
            return consultation
        target = Practitioner.objects.filter(
            pk=practitioner_id, clinic_id=consultation.clinic_id
        ).first()
        if target is None:
            raise NotFound
        consultation.kind = Kind.ECONSULT
        consultation.practitioner = target
        consultation.save(update_fields=["kind", "practitioner"])
        audit.record(
            "reception.converted",
            request=request,
            staff=staff,
            clinic=consultation.clinic,
            obj=consultation,
            details={"to": target.pk},
        )
    return consultation


def consultation_reply(
    *,
    patient: Patient,
    consultation_id: int,
    body: str,
    files: list[CheckedFile] | None = None,
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> Consultation:
    """The patient writes again in an open thread: it waits for the clinic again."""
    now = now or timezone.now()
    saved: list[str] = []
    try:
        with transaction.atomic():
            consultation = (
                Consultation.objects.select_for_update()
                .filter(pk=consultation_id, patient=patient, clinic_id=patient.clinic_id)
                .first()
            )
            if consultation is None:
                raise NotFound
            if consultation.status == Status.CLOSED:
                raise ConsultationClosed
            if consultation.status == Status.ANSWERED:
                # A new question: a new answer time, from today.
                rules = econsult_settings(patient.clinic_id)
                answer_by: datetime.date | None
                if consultation.practitioner_id is None:
                    answer_by = reception_answer_by(rules, now=now)
                else:
                    answer_by = answer_by_for_reply(consultation.practitioner_id, rules, now=now)
                consultation.answer_by = answer_by or consultation.answer_by
            consultation.status = Status.SENT
            consultation.unread_by_staff = True
            consultation.last_patient_message_at = now
            consultation.save(
                update_fields=["status", "unread_by_staff", "last_patient_message_at", "answer_by"]
            )
            _patient_message(
                consultation,
                patient,
                body=body,
                files=files,
                saved=saved,
                action="econsult.replied",
                request=request,
            )
    except BaseException:
        _forget_files(saved)
        raise
    return consultation


def consultation_read_by_patient(
    *, patient: Patient, consultation: Consultation, request: HttpRequest | None = None
) -> None:
    """The patient opened the thread (and may read its answers)."""
    audit.record(
        "econsult.viewed",
        request=request,
        patient=patient,
        clinic=patient.clinic,
        obj=consultation,
        fetch_pk=False,
    )
    if consultation.unread_by_patient:
        Consultation.objects.filter(pk=consultation.pk).update(unread_by_patient=False)
        consultation.unread_by_patient = False


# Staff


def _staff_locked(queryset: QuerySet[T], object_id: int, staff: User) -> T:
    """The object ``object_id`` of the staff member's clinic (any clinic's, for a superuser),
    locked to the end of the transaction; another clinic's, or none, is :class:`NotFound`."""
    queryset = queryset.select_for_update().filter(pk=object_id)
    if not staff.is_superuser:
        clinic_id = staff_clinic(staff)
        if clinic_id is None:
            raise NotFound
        queryset = queryset.filter(clinic_id=clinic_id)
    found = queryset.first()
    if found is None:
        raise NotFound
    return found


def _staff_consultation_for_update(staff: User, consultation_id: int) -> Consultation:
    return _staff_locked(Consultation.objects.all(), consultation_id, staff)


def consultation_open(
    *, staff: User, consultation: Consultation, request: HttpRequest | None = None
) -> None:
    """A staff member reads the consultation: audited every time; the first read marks it
    read."""
    audit.record(
        "econsult.viewed",
        request=request,
        staff=staff,
        clinic=consultation.clinic,
        obj=consultation,
        fetch_pk=False,
    )
    if not consultation.unread_by_staff:
        return
    changes: dict[str, Any] = {"unread_by_staff": False}
    if consultation.status == Status.SENT:
        changes["status"] = Status.READ
    Consultation.objects.filter(pk=consultation.pk, unread_by_staff=True).update(**changes)
    for field, value in changes.items():
        setattr(consultation, field, value)


def _answer_sms(consultation: Consultation, request: HttpRequest | None, message: Message) -> None:
    """ "Du har fått svar fra <clinic>. Logg inn for å lese: <link>", and nothing more."""
    to = sms_recipient(consultation.patient, consultation.sent_by)
    if not to:
        return
    clinic = consultation.clinic
    link = public_url(
        request,
        reverse(
            "econsult:thread",
            kwargs={"ep_ident": clinic.ep_ident, "consultation_id": consultation.pk},
        ),
    )
    with translation.override(_language(consultation.language)):
        text = sms_text("econsult_answer", clinic=clinic.name, link=link)
    sms_queue(
        clinic_id=clinic.pk,
        to=to,
        text=text,
        purpose="econsult_answer",
        idempotency_key=f"econsult-answer:{message.pk}",
    )


def consultation_answer(
    *,
    staff: User,
    consultation_id: int,
    body: str,
    close: bool = False,
    offer_booking: bool = False,
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> Consultation:
    """The clinic answers (and may close the thread, or ask the patient to book an
    appointment with the practitioner instead); the patient gets the answer SMS."""
    now = now or timezone.now()
    with transaction.atomic():
        consultation = _staff_consultation_for_update(staff, consultation_id)
        if consultation.status == Status.CLOSED:
            raise ConsultationClosed
        message = Message.objects.create(
            consultation=consultation,
            author=Message.Author.CLINIC,
            staff=staff,
            practitioner_id=staff.practitioner_id,
            body=body,
        )
        consultation.status = Status.CLOSED if close or offer_booking else Status.ANSWERED
        consultation.answered_at = now
        if consultation.status == Status.CLOSED:
            consultation.closed_at = now
        consultation.unread_by_staff = False
        consultation.unread_by_patient = True
        consultation.booking_offered = consultation.booking_offered or offer_booking
        consultation.save(
            update_fields=[
                "status",
                "answered_at",
                "closed_at",
                "unread_by_staff",
                "unread_by_patient",
                "booking_offered",
            ]
        )
        action = "econsult.booking_offered" if offer_booking else "econsult.answered"
        audit.record(
            action,
            request=request,
            staff=staff,
            clinic=consultation.clinic,
            obj=consultation,
            details={"closed": consultation.status == Status.CLOSED},
        )
        _answer_sms(consultation, request, message)
    return consultation


def consultation_close(
    *, staff: User, consultation_id: int, request: HttpRequest | None = None
) -> Consultation:
    """Close the thread without (another) answer: the patient can no longer reply."""
    with transaction.atomic():
        consultation = _staff_consultation_for_update(staff, consultation_id)
        if consultation.status == Status.CLOSED:
            return consultation
        consultation.status = Status.CLOSED
        consultation.closed_at = timezone.now()
        consultation.unread_by_staff = False
        consultation.save(update_fields=["status", "closed_at", "unread_by_staff"])
        audit.record(
            "econsult.closed",
            request=request,
            staff=staff,
            clinic=consultation.clinic,
            obj=consultation,
        )
    return consultation


class NotAllowed(EconsultError):
    code = "not_allowed"


def consultation_reassign(
    *,
    staff: User,
    consultation_id: int,
    practitioner_id: int,
    request: HttpRequest | None = None,
) -> Consultation:
    """A clinic administrator moves the consultation to another practitioner of the clinic
    (audited, with both practitioners' ids)."""
    from .selectors import may_reassign

    if not (staff.is_superuser or may_reassign(staff)):
        raise NotAllowed
    with transaction.atomic():
        consultation = _staff_consultation_for_update(staff, consultation_id)
        target = Practitioner.objects.filter(
            pk=practitioner_id, clinic_id=consultation.clinic_id
        ).first()
        if target is None:
            raise NotFound
        if target.pk == consultation.practitioner_id or consultation.kind != Kind.ECONSULT:
            return consultation
        previous = consultation.practitioner_id
        consultation.practitioner = target
        consultation.save(update_fields=["practitioner"])
        audit.record(
            "econsult.reassigned",
            request=request,
            staff=staff,
            clinic=consultation.clinic,
            obj=consultation,
            details={"from": previous, "to": target.pk},
        )
    return consultation


# Prescription renewal


class RenewalRefused(EconsultError):
    """A medication that may not be asked for now (``why``: the option's reason)."""

    code = "renewal_refused"

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def renewal_request(
    *,
    patient: Patient,
    practitioner_id: int,
    medication_ids: list[int],
    note: str = "",
    pharmacy: str = "",
    submission_key: str = "",
    request: HttpRequest | None = None,
) -> RenewalRequest:
    """Ask ``practitioner_id`` (offered for ``renewal`` by the matrix) to renew medications
    of the patient's own that are renewable now (``renewal_options``). Checked under the
    patient's row lock; the database's one-open-per-medication constraint has the last word.
    The audit event counts the medicines and never names them."""
    from .selectors import renewal_options

    if not may_use_portal(patient) or not medication_ids:
        raise NotOffered
    rules = econsult_settings(patient.clinic_id)
    try:
        with transaction.atomic():
            Patient.objects.select_for_update().filter(pk=patient.pk).first()
            earlier_request = submitted_renewal(patient, submission_key)
            if earlier_request is not None:
                return earlier_request
            if not may_use(patient, "renewal", practitioner_id):
                raise NotOffered
            options = {o.medication.pk: o for o in renewal_options(patient, rules)}
            wanted = list(dict.fromkeys(medication_ids))
            for pk in wanted:
                option = options.get(pk)
                if option is None:
                    raise NotFound
                if not option.renewable:
                    raise RenewalRefused(option.why_not)
            renewal = RenewalRequest.objects.create(
                clinic_id=patient.clinic_id,
                patient=patient,
                practitioner_id=practitioner_id,
                note=note,
                pharmacy=pharmacy,
                language=_language(translation.get_language()),
                submission_key=submission_key,
                sent_by=representative_in(request, patient),
            )
            RenewalItem.objects.bulk_create(
                RenewalItem(request=renewal, medication_id=pk) for pk in wanted
            )
            audit.record(
                "renewal.requested",
                request=request,
                patient=patient,
                clinic=patient.clinic,
                obj=renewal,
                details={"practitioner": practitioner_id, "medications": len(wanted)},
            )
    except IntegrityError:
        # Another request for one of these medicines committed first.
        raise RenewalRefused("open") from None
    return renewal


@dataclass(frozen=True)
class Decision:
    status: str
    reason: str = ""
    comment: str = ""


def renewal_handle(
    *,
    staff: User,
    request_id: int,
    decisions: dict[int, Decision],
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> RenewalRequest:
    """The practitioner decides on each waiting medicine (renewed, not renewed with a reason,
    or needs an appointment). When none is left waiting, the request is handled and the
    patient gets the SMS that says so, and nothing of what (no drug's name)."""
    now = now or timezone.now()
    with transaction.atomic():
        renewal = _staff_locked(
            RenewalRequest.objects.select_related("patient", "clinic"), request_id, staff
        )
        waiting = {
            item.pk: item for item in renewal.items.filter(status=RenewalItem.Status.REQUESTED)
        }
        decided = 0
        for item_id, decision in decisions.items():
            item = waiting.get(item_id)
            if item is None:
                continue
            if decision.status not in RenewalItem.Status.values or (
                decision.status == RenewalItem.Status.REQUESTED
            ):
                continue
            item.status = decision.status
            item.reason = decision.reason if decision.status == RenewalItem.Status.REJECTED else ""
            item.comment = decision.comment
            item.handled_by = staff
            item.handled_at = now
            item.save(update_fields=["status", "reason", "comment", "handled_by", "handled_at"])
            decided += 1
        if decided == 0:
            return renewal
        left = len(waiting) - decided
        renewal.unread_by_staff = False
        if left == 0:
            renewal.handled_at = now
            renewal.unread_by_patient = True
        renewal.save(update_fields=["unread_by_staff", "handled_at", "unread_by_patient"])
        audit.record(
            "renewal.handled",
            request=request,
            staff=staff,
            clinic=renewal.clinic,
            obj=renewal,
            details={"decided": decided, "waiting": left},
        )
        if left == 0:
            _renewal_sms(renewal)
    return renewal


def _renewal_sms(renewal: RenewalRequest) -> None:
    """ "Din forespørsel hos <clinic> er behandlet. Logg inn for å se svaret." Never a drug."""
    to = sms_recipient(renewal.patient, renewal.sent_by)
    if not to:
        return
    with translation.override(_language(renewal.language)):
        text = sms_text("renewal_handled", clinic=renewal.clinic.name)
    sms_queue(
        clinic_id=renewal.clinic_id,
        to=to,
        text=text,
        purpose="renewal_handled",
        idempotency_key=f"renewal-handled:{renewal.pk}",
    )


def renewal_read_by_patient(*, patient: Patient, renewal: RenewalRequest) -> None:
    if renewal.unread_by_patient:
        RenewalRequest.objects.filter(pk=renewal.pk).update(unread_by_patient=False)
        renewal.unread_by_patient = False


def renewal_open(*, staff: User, renewal: RenewalRequest, request: HttpRequest | None) -> None:
    """A staff member reads the request (audited; the first read marks it read)."""
    audit.record(
        "renewal.viewed",
        request=request,
        staff=staff,
        clinic=renewal.clinic,
        obj=renewal,
        fetch_pk=False,
    )
    if renewal.unread_by_staff:
        RenewalRequest.objects.filter(pk=renewal.pk).update(unread_by_staff=False)
        renewal.unread_by_staff = False
