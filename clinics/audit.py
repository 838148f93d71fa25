"""Writing the audit log. Call :func:`record` from services and views; never log secrets."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from eportal.db.prepared import PreparedInsert

from .models import AuditEvent, Clinic, Patient, User

_INSERT = PreparedInsert(AuditEvent)


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
    obj: models.Model | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    fetch_pk: bool = True,
) -> AuditEvent:
    """Write one audit event; ``fetch_pk=False`` (the event's id is not needed) lets it go
    out with the next statement inside :func:`eportal.db.prepared.pipeline`."""
    if staff is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            staff = user
    if patient is not None:
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
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=object_repr[:200],
        details=details or {},
        ip=ip or client_ip(request),
    )
