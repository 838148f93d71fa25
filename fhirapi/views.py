"""The FHIR endpoints: thin. Who calls and with which scope (:mod:`.auth`), the clinic's
rows (:mod:`.selectors`), search (:mod:`.search`), the mapping (:mod:`.mapping`), writes
(:mod:`.services`; booking and cancelling through booking's own services). Every error is
an OperationOutcome; every call that reaches data is audited with the client as actor."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt

from booking.selectors import bookable_window
from booking.services import (
    LimitReached,
    SlotTaken,
    SlotUnavailable,
    appointment_book,
    appointment_cancel,
)
from clinics import audit
from delegation.models import Service
from delegation.selectors import matrix_state, offered_practitioners

from . import selectors, services
from .auth import Caller, authenticate, require_scope
from .capability import capability_statement, smart_configuration
from .http import (
    FhirError,
    error_response,
    etag,
    if_match_version,
    read_json,
    respond,
    version_of,
)
from .mapping import appointment as appointment_map
from .mapping import consent as consent_map
from .mapping import group as group_map
from .mapping import healthcare_service as service_map
from .mapping import medication as medication_map
from .mapping import organization as organization_map
from .mapping import patient as patient_map
from .mapping import practitioner as practitioner_map
from .mapping import related_person as related_map
from .mapping import schedule as schedule_map
from .mapping import service_matrix as matrix_map
from .mapping import slot as slot_map
from .mapping.refs import as_id, parse_ref
from .openapi import openapi_document
from .scopes import RESOURCES, scope
from .search import bundle, parse_when
from .search import run as run_search
from .validation import check

#: Each resource type: its clinic's rows and its mapping.
READERS: dict[str, tuple[Callable[[int], QuerySet], Callable[[Any], dict[str, Any]]]] = {
    "Organization": (selectors.organizations, organization_map.to_fhir),
    "Group": (selectors.patient_lists, group_map.to_fhir),
    "HealthcareService": (selectors.healthcare_services, service_map.to_fhir),
    "MedicationStatement": (selectors.medication_statements, medication_map.to_fhir),
    "RelatedPerson": (selectors.related_persons, related_map.to_fhir),
    "Patient": (selectors.patients, patient_map.to_fhir),
    "Practitioner": (selectors.practitioners, practitioner_map.to_fhir),
    "PractitionerRole": (selectors.practitioners, practitioner_map.role_to_fhir),
    "Schedule": (selectors.schedules, schedule_map.to_fhir),
    "Slot": (selectors.slots, slot_map.to_fhir),
    "Appointment": (selectors.appointments, appointment_map.to_fhir),
    "Consent": (selectors.consents, consent_map.to_fhir),
}
#: The longest window one $find may ask for.
MAX_FIND = datetime.timedelta(days=31)


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("fhirapi:base"))


def token_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("fhirapi:token"))


def endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """OperationOutcome for every FhirError; no CSRF (bearer tokens, no cookies)."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            with translation.override("en"):  # the diagnostics of every answer: English
                return view(request, *args, **kwargs)
        except FhirError as error:
            return error_response(error)

    return wrapped


def _method_not_allowed(request: HttpRequest) -> FhirError:
    return FhirError(405, "not-supported", f"{request.method} is not supported here.")


def _unknown_type(resource: str) -> FhirError:
    return FhirError(404, "not-supported", f"Unknown resource type {resource!r}.")


def _caller(request: HttpRequest, resource: str, access: str) -> Caller:
    caller = authenticate(request)
    require_scope(caller, scope(resource, access))
    return caller


def _resource_response(data: dict[str, Any], status: int = 200, **headers: str) -> HttpResponse:
    return respond(data, status, {"ETag": etag(data["meta"]["versionId"]), **headers})


def _one(caller: Caller, resource: str, pk: str) -> Any:
    rows, _ = READERS[resource]
    pk_id = as_id(pk)
    found = rows(caller.clinic.pk).filter(pk=pk_id).first() if pk_id is not None else None
    if found is None:
        raise FhirError(404, "not-found", f"{resource}/{pk} is not known.")
    return found


@endpoint
def metadata(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        raise _method_not_allowed(request)
    return respond(capability_statement(base_url(request), token_url(request)))


@endpoint
def openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI document made from the CapabilityStatement: public, as metadata is."""
    if request.method != "GET":
        raise _method_not_allowed(request)
    response = respond(openapi_document(base_url(request), token_url(request)))
    response["Content-Type"] = "application/json"
    return response


@endpoint
def smart(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        raise _method_not_allowed(request)
    response = respond(smart_configuration(token_url(request)))
    response["Content-Type"] = "application/json"
    return response


@endpoint
def not_found(request: HttpRequest) -> HttpResponse:
    raise FhirError(404, "not-found", "No such endpoint.")


@endpoint
def type_view(request: HttpRequest, resource: str) -> HttpResponse:
    if resource not in RESOURCES:
        raise _unknown_type(resource)
    if request.method == "GET":
        return _search(request, resource, request.GET)
    if request.method == "POST" and resource in CREATORS:
        return CREATORS[resource](request)
    raise _method_not_allowed(request)


@endpoint
def search_view(request: HttpRequest, resource: str) -> HttpResponse:
    """``POST [type]/_search``: the parameters in the form body."""
    if resource not in RESOURCES:
        raise _unknown_type(resource)
    if request.method != "POST":
        raise _method_not_allowed(request)
    return _search(request, resource, request.POST)


def _search(request: HttpRequest, resource: str, params: QueryDict) -> HttpResponse:
    caller = _caller(request, resource, "read")
    rows, to_fhir = READERS[resource]
    page = run_search(resource, rows(caller.clinic.pk), params)
    audit.record(
        "fhir.search",
        request=request,
        clinic=caller.clinic,
        details={"type": resource, "total": page.total, "returned": len(page.rows)},
        api_client=caller.client_id,
        fetch_pk=False,
    )
    entries = [to_fhir(row) for row in page.rows]
    return respond(bundle(request, resource, page, entries, base=base_url(request)))


@endpoint
def instance_view(request: HttpRequest, resource: str, pk: str) -> HttpResponse:
    if resource not in RESOURCES:
        raise _unknown_type(resource)
    if request.method == "GET":
        caller = _caller(request, resource, "read")
        obj = _one(caller, resource, pk)
        audit.record(
            "fhir.read",
            request=request,
            clinic=caller.clinic,
            obj=obj,
            details={"type": resource},
            api_client=caller.client_id,
            fetch_pk=False,
        )
        return _resource_response(READERS[resource][1](obj))
    if request.method == "PUT" and resource in UPDATERS:
        return UPDATERS[resource](request, pk)
    if request.method == "DELETE" and resource == "Slot":
        return _slot_delete(request, pk)
    if request.method == "DELETE" and resource == "RelatedPerson":
        return _related_person_delete(request, pk)
    if request.method == "DELETE" and resource == "Consent":
        return _consent_end(request, pk)
    if request.method in ("PUT", "PATCH") and resource == "Appointment":
        return _appointment_status(request, pk)
    raise _method_not_allowed(request)


# Patients


def _patient_create(request: HttpRequest) -> HttpResponse:
    caller = _caller(request, "Patient", "write")
    data = check("Patient", read_json(request))
    patient = services.patient_create(
        caller=caller, data=patient_map.from_fhir(data), request=request
    )
    resource = patient_map.to_fhir(_one(caller, "Patient", str(patient.pk)))
    # No vread (_history) yet: the Location is the resource's own URL.
    return _resource_response(resource, 201, Location=f"{base_url(request)}Patient/{patient.pk}")


def _update_of(request: HttpRequest, resource: str, pk: str) -> tuple[Caller, str, dict[str, Any]]:
    """The caller, the If-Match version and the checked resource of an update (PUT): another
    clinic's id is a 404 before anything else, no If-Match a 428, another id a 400."""
    caller = _caller(request, resource, "write")
    _one(caller, resource, pk)
    version = if_match_version(request)
    if version is None:
        raise FhirError(428, "required", "An update needs If-Match with the version read.")
    data = check(resource, read_json(request))
    if data.get("id") != pk:
        raise FhirError(
            400, "invalid", "The resource's id must be the one in the URL.", f"{resource}.id"
        )
    return caller, version, data


def _patient_update(request: HttpRequest, pk: str) -> HttpResponse:
    caller, version, data = _update_of(request, "Patient", pk)
    services.patient_update(
        caller=caller,
        patient_id=int(pk),
        data=patient_map.from_fhir(data),
        version=version,
        request=request,
    )
    return _resource_response(patient_map.to_fhir(_one(caller, "Patient", pk)))


# Practitioners, their roles, schedules and slots


def _practitioner_create(request: HttpRequest) -> HttpResponse:
    caller = _caller(request, "Practitioner", "write")
    data = check("Practitioner", read_json(request))
    practitioner = services.practitioner_create(
        caller=caller, data=practitioner_map.from_fhir(data), request=request
    )
    resource = practitioner_map.to_fhir(_one(caller, "Practitioner", str(practitioner.pk)))
    return _resource_response(
        resource, 201, Location=f"{base_url(request)}Practitioner/{practitioner.pk}"
    )


def _practitioner_update(request: HttpRequest, pk: str) -> HttpResponse:
    caller, version, data = _update_of(request, "Practitioner", pk)
    services.practitioner_update(
        caller=caller,
        practitioner_id=int(pk),
        data=practitioner_map.from_fhir(data),
        version=version,
        request=request,
    )
    return _resource_response(practitioner_map.to_fhir(_one(caller, "Practitioner", pk)))


def _role_update(request: HttpRequest, pk: str) -> HttpResponse:
    caller, version, data = _update_of(request, "PractitionerRole", pk)
    services.role_update(
        caller=caller,
        practitioner_id=int(pk),
        data=practitioner_map.role_from_fhir(data, int(pk)),
        version=version,
        request=request,
    )
    return _resource_response(practitioner_map.role_to_fhir(_one(caller, "PractitionerRole", pk)))


def _schedule_update(request: HttpRequest, pk: str) -> HttpResponse:
    caller, version, data = _update_of(request, "Schedule", pk)
    types = selectors.appointment_types(caller.clinic.pk)
    services.schedule_update(
        caller=caller,
        practitioner_id=int(pk),
        data=schedule_map.from_fhir(data, int(pk), types),
        version=version,
        request=request,
    )
    return _resource_response(schedule_map.to_fhir(_one(caller, "Schedule", pk)))


def _slot_create(request: HttpRequest) -> HttpResponse:
    caller = _caller(request, "Slot", "write")
    data = check("Slot", read_json(request))
    types = selectors.appointment_types(caller.clinic.pk)
    slot = services.slot_create(
        caller=caller, data=slot_map.from_fhir(data, types), request=request
    )
    resource = slot_map.to_fhir(_one(caller, "Slot", str(slot.pk)))
    return _resource_response(resource, 201, Location=f"{base_url(request)}Slot/{slot.pk}")


def _slot_update(request: HttpRequest, pk: str) -> HttpResponse:
    caller, version, data = _update_of(request, "Slot", pk)
    types = selectors.appointment_types(caller.clinic.pk)
    services.slot_update(
        caller=caller,
        slot_id=int(pk),
        data=slot_map.from_fhir(data, types),
        version=version,
        request=request,
    )
    return _resource_response(slot_map.to_fhir(_one(caller, "Slot", pk)))


def _slot_delete(request: HttpRequest, pk: str) -> HttpResponse:
    """A slot the record system made and nobody booked; If-Match is taken, not needed."""
    caller = _caller(request, "Slot", "write")
    _one(caller, "Slot", pk)
    services.slot_delete(
        caller=caller, slot_id=int(pk), version=if_match_version(request), request=request
    )
    return HttpResponse(status=204)


# The clinic itself, its lists, appointment types, medications and parent-child links


def _organization_update(request: HttpRequest, pk: str) -> HttpResponse:
    caller, version, data = _update_of(request, "Organization", pk)
    services.organization_update(
        caller=caller,
        data=organization_map.from_fhir(data, caller.clinic),
        version=version,
        request=request,
    )
    return _resource_response(organization_map.to_fhir(_one(caller, "Organization", pk)))


#: Each written through fhirapi.services.save: the resource read, then saved.
SAVERS: dict[str, tuple[Callable[[dict[str, Any]], Any], Callable[..., Any]]] = {
    "Group": (group_map.from_fhir, services.group_save),
    "HealthcareService": (service_map.from_fhir, services.healthcare_service_save),
    "MedicationStatement": (medication_map.from_fhir, services.medication_statement_save),
    "RelatedPerson": (related_map.from_fhir, services.related_person_save),
    "Consent": (consent_map.from_fhir, services.consent_save),
}


def _saved_create(resource: str) -> Callable[[HttpRequest], HttpResponse]:
    read, save = SAVERS[resource]

    def create(request: HttpRequest) -> HttpResponse:
        caller = _caller(request, resource, "write")
        data = check(resource, read_json(request))
        obj = save(caller=caller, pk=None, data=read(data), version=None, request=request)
        made = READERS[resource][1](_one(caller, resource, str(obj.pk)))
        return _resource_response(made, 201, Location=f"{base_url(request)}{resource}/{obj.pk}")

    return create


def _saved_update(resource: str) -> Callable[[HttpRequest, str], HttpResponse]:
    read, save = SAVERS[resource]

    def update(request: HttpRequest, pk: str) -> HttpResponse:
        caller, version, data = _update_of(request, resource, pk)
        save(caller=caller, pk=int(pk), data=read(data), version=version, request=request)
        return _resource_response(READERS[resource][1](_one(caller, resource, pk)))

    return update


def _related_person_delete(request: HttpRequest, pk: str) -> HttpResponse:
    """The register no longer links them; If-Match is taken, not needed."""
    caller = _caller(request, "RelatedPerson", "write")
    _one(caller, "RelatedPerson", pk)
    services.related_person_delete(
        caller=caller, pk=int(pk), version=if_match_version(request), request=request
    )
    return HttpResponse(status=204)


def _consent_end(request: HttpRequest, pk: str) -> HttpResponse:
    """Ends the power of attorney, as an import without it does: kept (``status``
    inactive), never deleted, so the answer is the Consent as it now is."""
    caller = _caller(request, "Consent", "write")
    _one(caller, "Consent", pk)
    services.consent_end(
        caller=caller, pk=int(pk), version=if_match_version(request), request=request
    )
    return _resource_response(consent_map.to_fhir(_one(caller, "Consent", pk)))


#: ``POST [type]`` and ``PUT [type]/[id]`` by resource type.
CREATORS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "Patient": _patient_create,
    "Practitioner": _practitioner_create,
    "Slot": _slot_create,
    **{resource: _saved_create(resource) for resource in SAVERS},
}
UPDATERS: dict[str, Callable[[HttpRequest, str], HttpResponse]] = {
    "Organization": _organization_update,
    "Patient": _patient_update,
    "Practitioner": _practitioner_update,
    "PractitionerRole": _role_update,
    "Schedule": _schedule_update,
    "Slot": _slot_update,
    **{resource: _saved_update(resource) for resource in SAVERS},
}


# Appointments: cancel, $find, $book


def _appointment_status(request: HttpRequest, pk: str) -> HttpResponse:
    """PUT with ``status: cancelled``, or PATCH (JSON Patch) replacing ``/status``."""
    caller = _caller(request, "Appointment", "write")
    current = _one(caller, "Appointment", pk)
    body = read_json(request)
    version = if_match_version(request)
    if version is not None and version != version_of(current.last_changed):
        raise FhirError(412, "conflict", "The appointment changed since that version was read.")
    if request.method == "PATCH":
        ops = body if isinstance(body, list) else None
        status = None
        if (
            ops
            and len(ops) == 1
            and isinstance(ops[0], dict)
            and ops[0].get("op") == "replace"
            and ops[0].get("path") == "/status"
        ):
            status = ops[0].get("value")
        if status is None:
            raise FhirError(
                422, "not-supported", "Only replacing /status is supported.", "Appointment.status"
            )
    else:
        data = check("Appointment", body)
        if data.get("id") != pk:
            raise FhirError(
                400, "invalid", "The resource's id must be the one in the URL.", "Appointment.id"
            )
        status = data.get("status")
    if status == current.status:
        return _resource_response(appointment_map.to_fhir(current))
    if status != "cancelled":
        raise FhirError(
            422,
            "business-rule",
            "An appointment's status may change only to cancelled; book with $book.",
            "Appointment.status",
        )
    appointment_cancel(appointment_id=current.pk, by_staff=True)
    audit.record(
        "fhir.cancel",
        request=request,
        clinic=caller.clinic,
        obj=current,
        api_client=caller.client_id,
    )
    return _resource_response(appointment_map.to_fhir(_one(caller, "Appointment", pk)))


def _parameters(request: HttpRequest) -> dict[str, list[Any]]:
    """The operation's parameters, by name: from the query (GET) or a Parameters body."""
    if request.method == "GET":
        return {name: request.GET.getlist(name) for name in request.GET}
    data = check("Parameters", read_json(request))
    found: dict[str, list[Any]] = {}
    for p in data.get("parameter", []):
        value = next((v for k, v in p.items() if k.startswith("value") or k == "resource"), None)
        found.setdefault(p["name"], []).append(value)
    return found


def _when(params: dict[str, list[Any]], name: str, default: datetime.datetime) -> datetime.datetime:
    values = params.get(name) or []
    if not values:
        return default
    _, start, _ = parse_when(name, str(values[0]))
    return start


def _refs(params: dict[str, list[Any]], name: str, resource: str) -> list[int]:
    found = []
    for value in params.get(name) or []:
        pk = parse_ref(value if isinstance(value, dict) else {"reference": str(value)}, resource)
        if pk is None and isinstance(value, str):
            pk = as_id(value)
        if pk is None:
            raise FhirError(
                400, "invalid", f"{name}: give {resource}/<id>.", f"Parameters.parameter[{name}]"
            )
        found.append(pk)
    return found


@endpoint
def find(request: HttpRequest) -> HttpResponse:
    """IHE ITI-115 ``Appointment/$find``: the free slots of the clinic's practitioners (or
    of those asked) between ``start`` and ``end`` (a week by default, at most 31 days), as
    proposed Appointments with their Slots included. With ``patient``, only what that
    patient may book: the practitioners the matrix offers them, in the bookable window."""
    if request.method not in ("GET", "POST"):
        raise _method_not_allowed(request)
    caller = authenticate(request)
    require_scope(caller, scope("Slot", "read"))
    params = _parameters(request)
    now = timezone.now()
    start = _when(params, "start", now)
    end = _when(params, "end", start + datetime.timedelta(days=7))
    if end <= start or end - start > MAX_FIND:
        raise FhirError(400, "invalid", "end must be after start, at most 31 days.", "end")
    clinic = caller.clinic
    practitioners = selectors.practitioners(clinic.pk).filter(eportal_enabled=True)
    asked = _refs(params, "practitioner", "Practitioner")
    if asked:
        practitioners = practitioners.filter(pk__in=asked)
    patient_ids = _refs(params, "patient", "Patient")
    if patient_ids:
        patient = selectors.patients(clinic.pk).filter(pk=patient_ids[0]).first()
        if patient is None:
            raise FhirError(422, "not-found", f"Patient/{patient_ids[0]} is not known.", "patient")
        practitioners = practitioners.filter(
            pk__in=offered_practitioners(
                clinic_id=clinic.pk, list_id=patient.patient_list_id, service=Service.BOOKING
            ).values("pk")
        )
        window = bookable_window(clinic, urgent=False, now=now)
        start, end = max(start, window.earliest), min(end, window.horizon_end)
    ids = list(practitioners.values_list("pk", flat=True))
    rows = (
        selectors.free_slot_list(clinic_id=clinic.pk, practitioner_ids=ids, start=start, end=end)
        if ids and end > start
        else []
    )
    audit.record(
        "fhir.find",
        request=request,
        clinic=clinic,
        details={"practitioners": len(ids), "found": len(rows)},
        api_client=caller.client_id,
        fetch_pk=False,
    )
    base = base_url(request)
    entries: list[dict[str, Any]] = []
    for slot in rows:
        entries.append({"resource": appointment_map.proposed(slot), "search": {"mode": "match"}})
    for slot in rows:
        resource = slot_map.to_fhir(slot)
        entries.append(
            {
                "fullUrl": f"{base}Slot/{slot.pk}",
                "resource": resource,
                "search": {"mode": "include"},
            }
        )
    return respond(
        {"resourceType": "Bundle", "type": "searchset", "total": len(rows), "entry": entries}
    )


@endpoint
def book(request: HttpRequest) -> HttpResponse:
    """IHE ITI-116 ``Appointment/$book``: the slot and the patient (an ``appointment``
    parameter as ``$find`` proposed it with the patient added, or ``slot`` and ``patient``
    references), booked by ``booking.services.appointment_book``: the patient pages' own,
    race-safe function. A slot taken meanwhile is a 409."""
    if request.method != "POST":
        raise _method_not_allowed(request)
    caller = _caller(request, "Appointment", "write")
    params = _parameters(request)
    reason = str((params.get("reason") or [""])[0] or "")[:200]
    urgent = (params.get("urgent") or [False])[0] is True
    proposal = (params.get("appointment") or [None])[0]
    if isinstance(proposal, dict):
        proposal = check("Appointment", proposal, status=422)
        slot_refs = [parse_ref(s, "Slot") for s in proposal.get("slot", [])]
        patient_refs = [
            parse_ref(p.get("actor"), "Patient") for p in proposal.get("participant", [])
        ]
        slot_ids = [pk for pk in slot_refs if pk is not None]
        patient_ids = [pk for pk in patient_refs if pk is not None]
        reason = reason or str(proposal.get("description") or "")[:200]
    else:
        slot_ids = _refs(params, "slot", "Slot")
        patient_ids = _refs(params, "patient", "Patient")
    if len(slot_ids) != 1:
        raise FhirError(422, "required", "Give one slot.", "Parameters.parameter[slot]")
    if len(patient_ids) != 1:
        raise FhirError(422, "required", "Give one patient.", "Parameters.parameter[patient]")
    clinic = caller.clinic
    patient = (
        selectors.patients(clinic.pk).select_related("clinic").filter(pk=patient_ids[0]).first()
    )
    if patient is None:
        raise FhirError(
            422,
            "not-found",
            f"Patient/{patient_ids[0]} is not known.",
            "Parameters.parameter[patient]",
        )
    if not selectors.slots(clinic.pk).filter(pk=slot_ids[0]).exists():
        raise FhirError(
            422, "not-found", f"Slot/{slot_ids[0]} is not known.", "Parameters.parameter[slot]"
        )
    try:
        appointment = appointment_book(
            patient=patient, slot_id=slot_ids[0], reason=reason, urgent=urgent
        )
    except SlotTaken:
        raise FhirError(
            409, "conflict", "The slot was booked meanwhile.", "Parameters.parameter[slot]"
        ) from None
    except SlotUnavailable:
        raise FhirError(
            422,
            "business-rule",
            "This slot is not offered to this patient.",
            "Parameters.parameter[slot]",
        ) from None
    except LimitReached:
        raise FhirError(
            422,
            "business-rule",
            "The patient holds as many future appointments as allowed.",
            "Parameters.parameter[patient]",
        ) from None
    audit.record(
        "fhir.book",
        request=request,
        clinic=clinic,
        obj=appointment,
        api_client=caller.client_id,
    )
    resource = appointment_map.to_fhir(_one(caller, "Appointment", str(appointment.pk)))
    return _resource_response(
        resource, 201, Location=f"{base_url(request)}Appointment/{appointment.pk}"
    )


@endpoint
def service_matrix(request: HttpRequest) -> HttpResponse:
    """``$service-matrix`` on the base: GET reads the clinic's whole service matrix, POST a
    Parameters replaces it (as the file's ``service_matrix`` section; docs/api.md) and
    answers with the matrix as it now is. Scopes: PractitionerRole's, the matrix being which
    practitioners serve which patients in which service."""
    if request.method not in ("GET", "POST"):
        raise _method_not_allowed(request)
    caller = _caller(request, "PractitionerRole", "read" if request.method == "GET" else "write")
    clinic = caller.clinic
    if request.method == "POST":
        data = check("Parameters", read_json(request))
        lists = dict(selectors.patient_lists(clinic.pk).values_list("pk", "key"))
        practitioners = dict(selectors.practitioners(clinic.pk).values_list("pk", "key"))
        found = matrix_map.from_parameters(data, lists, practitioners)
        services.refused(found.errors, "service matrix")
        services.service_matrix_replace(caller=caller, configured=found.configured, request=request)
    else:
        audit.record(
            "fhir.read",
            request=request,
            clinic=clinic,
            details={"type": "ServiceMatrix"},
            api_client=caller.client_id,
            fetch_pk=False,
        )
    return respond(matrix_map.to_parameters([matrix_state(clinic, s) for s in Service]))


def token_audit(sender: Any, request: HttpRequest, token: Any, **kwargs: Any) -> None:
    """django-oauth-toolkit's ``app_authorized``: a client got a token."""
    client = getattr(token.application, "api_client", None)
    if client is None:
        return
    audit.record(
        "fhir.token",
        request=request,
        clinic=client.clinic,
        details={"scope": token.scope, "expires": token.expires.isoformat()},
        api_client=token.application.client_id,
    )
