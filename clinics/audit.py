"""Writing the audit log. Call :func:`record` from services and views; never log secrets."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from eportal.db.prepared import PreparedInsert

from .models import AuditEvent, Clinic, Patient, User

_INSERT = PreparedInsert(AuditEvent)

#: Every action the code records, in words for the audit log ("Hendelseslogg"), in the
#: admin's language. tests/clinics/test_audit_actions.py checks that each action recorded
#: anywhere has its words here.
ACTION_LABELS: dict[str, Promise] = {
    # Staff in the admin site
    "admin.add": _("Added in the admin"),
    "admin.change": _("Changed in the admin"),
    "admin.delete": _("Deleted in the admin"),
    "patient.read": _("Patient record opened"),
    "patient.national_id_shown": _("Identity number shown in full"),
    "patient.national_id_changed": _("Identity number corrected"),
    "delegation.matrix_save": _("Service matrix saved"),
    "delegation.matrix_reset": _("Service matrix reset to the standard package"),
    "sms.outbox_list_viewed": _("SMS outbox list viewed"),
    "sms.outbox_viewed": _("SMS message opened"),
    # Patients: the way in and out
    "patient.login": _("Patient logged in"),
    "patient.login_failed": _("Patient login refused"),
    "patient.code_requested": _("SMS code requested"),
    "patient.code_sent": _("SMS code sent"),
    "patient.password_set": _("Patient password set"),
    "patient.logout": _("Patient logged out"),
    "patient.timeout": _("Patient session timed out"),
    "patient.ineligible": _("Patient session ended: may no longer use the portal"),
    # Acting for others (docs/acting-for-others.md)
    "patient.acting_started": _("Began acting on behalf of the patient"),
    "patient.acting_stopped": _("Stopped acting on behalf of another patient"),
    "patient.acting_dropped": _("Acting on behalf of the patient ended: no longer allowed"),
    "attorney.given": _("Power of attorney given"),
    "attorney.ended": _("Power of attorney ended"),
    # Booking
    "booking.book": _("Appointment booked"),
    "booking.cancel": _("Appointment cancelled"),
    "booking.move": _("Appointment moved"),
    "booking.list_viewed": _("Patient viewed their appointments"),
    "booking.appointment_read": _("Appointment opened"),
    "booking.waitlist_join": _("Patient asked for an earlier time (waitlist)"),
    "booking.waitlist_leave": _("Patient left the waitlist"),
    "booking.offer_made": _("Earlier time offered to a waiting patient"),
    "booking.offer_declined": _("Patient declined an offered time"),
    "booking.waitlist_viewed": _("Waitlist viewed"),
    # eConsultation
    "econsult.sent": _("eConsultation sent"),
    "econsult.replied": _("Patient replied to an eConsultation"),
    "econsult.viewed": _("eConsultation read"),
    "econsult.answered": _("eConsultation answered"),
    "econsult.closed": _("eConsultation closed"),
    "econsult.booking_offered": _("eConsultation answered with an offer to book"),
    "econsult.reassigned": _("eConsultation reassigned"),
    "econsult.attachment_viewed": _("eConsultation attachment opened"),
    "econsult.inbox_viewed": _("eConsultation inbox viewed"),
    "reception.sent": _("Message to the reception sent"),
    "reception.converted": _("Message to the reception made an eConsultation"),
    "renewal.requested": _("Prescription renewal requested"),
    "renewal.viewed": _("Prescription renewal request read"),
    "renewal.handled": _("Prescription renewal decided"),
    "renewal.inbox_viewed": _("Prescription renewal inbox viewed"),
    # The FHIR API (a clinic system's client)
    "fhir.token": _("API client got an access token"),
    "fhir.read": _("API client read a resource"),
    "fhir.search": _("API client searched"),
    "fhir.create": _("API client created a resource"),
    "fhir.update": _("API client updated a resource"),
    "fhir.delete": _("API client deleted a resource"),
    "fhir.find": _("API client looked for free times"),
    "fhir.book": _("API client booked an appointment"),
    "fhir.cancel": _("API client cancelled an appointment"),
    "fhir.client_registered": _("API client registered"),
}


def action_label(action: str) -> str:
    """The action in words; an action without words (an old one) as it was recorded."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: ``REMOTE_ADDR``, which the project's first middleware sets to
    the client behind a trusted proxy (``EPORTAL_TRUSTED_PROXIES``, eportal/proxies.py).

    X-Forwarded-For is never read here: only that middleware knows whom to believe.
    """
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    *,
    request: HttpRequest | None = None,
    clinic: Clinic | None = None,
    staff: User | None = None,
    patient: Patient | None = None,
    subject: Patient | None = None,
    obj: models.Model | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    fetch_pk: bool = True,
    api_client: str | None = None,
) -> AuditEvent:
    """Write one audit event; ``fetch_pk=False`` (the event's id is not needed) lets it go
    out with the next statement inside :func:`eportal.db.prepared.pipeline`.

    ``subject``: the patient the event is about; by default the object when it is a patient,
    else the object's own patient (a consultation's, an appointment's), else the acting
    patient.

    Acting for another (docs/acting-for-others.md): during a request in which the logged-in
    patient acts for someone (``request.patient_actor``, set by the patient session), an
    event recorded with ``patient`` = the person acted for is written with both: ``patient``
    the logged-in patient who did it and ``subject`` the person it was done for. So the
    services, which know only ``request.patient``, need nothing of their own.
    """
    actor = getattr(request, "patient_actor", None) if request is not None else None
    if isinstance(actor, Patient) and patient is not None and patient.pk != actor.pk:
        subject = subject or patient
        patient = actor
    if staff is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            staff = user
    if api_client is not None:
        actor_type = AuditEvent.ActorType.API
        details = {**(details or {}), "client": api_client}
    elif patient is not None:
        actor_type = AuditEvent.ActorType.PATIENT
    elif staff is not None:
        actor_type = AuditEvent.ActorType.STAFF
    elif request is not None:
        actor_type = AuditEvent.ActorType.ANONYMOUS
    else:
        actor_type = AuditEvent.ActorType.SYSTEM
    if clinic is None:
        clinic = getattr(patient, "clinic", None) or getattr(obj, "clinic", None)
        if clinic is None and isinstance(obj, Clinic):
            clinic = obj
        if clinic is None and staff is not None:
            clinic = staff.clinic
    subject_id = _subject_id(subject, obj, patient)
    if action == "admin.delete" and isinstance(obj, Patient):
        subject_id = None  # the event would protect the row from its own deletion (PROTECT)
    object_repr = ""
    if obj is not None:
        object_repr = obj.masked_national_id if isinstance(obj, Patient) else str(obj)
    return _INSERT(  # AuditEvent.objects.create(), compiled once
        fetch_pk=fetch_pk,
        action=action,
        actor_type=actor_type,
        clinic=clinic,
        staff=staff,
        patient=patient,
        subject_id=subject_id,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=object_repr[:200],
        details=details or {},
        ip=ip or client_ip(request),
    )


def _subject_id(
    subject: Patient | None, obj: models.Model | None, patient: Patient | None
) -> int | None:
    if subject is not None:
        return subject.pk
    if isinstance(obj, Patient):
        return obj.pk
    own = getattr(obj, "patient_id", None)
    if isinstance(own, int):
        return own
    return patient.pk if patient is not None else None
