"""The API as an OpenAPI 3.0 document (``/fhir/r4/openapi.json``), for tools that read
OpenAPI rather than FHIR (schemathesis, client generators, API gateways).

It is made from the CapabilityStatement itself (:func:`.capability.capability_statement`):
one OpenAPI operation for each interaction and operation the statement declares, with the
statement's search parameters, so the two cannot drift. Each operation carries
``x-fhir-resource`` and ``x-fhir-interaction`` (the statement's code, or ``$find``/``$book``).
"""

from __future__ import annotations

from typing import Any

from .capability import capability_statement
from .http import FHIR_JSON
from .scopes import ALL_SCOPES, scope
from .search import OFFSET, PREFIXES

SECURITY_SCHEME = "smart"
JSON_PATCH = "application/json-patch+json"
FORM = "application/x-www-form-urlencoded"
#: The scope each FHIR operation needs (views.find and views.book check the same).
OPERATION_SCOPES = {"find": ("Slot", "read"), "book": ("Appointment", "write")}
#: What a date search value looks like: a prefix, then a day or an instant with its offset.
DATE_PATTERN = (
    rf"^({'|'.join(PREFIXES)})?[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
)
#: An id as the URL conf takes it (fhirapi.urls).
ID_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"
SEARCH_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "token": {"type": "string", "description": "[system|]code"},
    "reference": {"type": "string", "description": "[Type/]id"},
    "date": {"type": "string", "pattern": DATE_PATTERN},
}
#: The paging parameters every search takes beyond the statement's searchParam.
PAGING = (
    ("_count", {"type": "integer", "minimum": 0}, "Page size (at most 200; 0: the total only)."),
    (OFFSET, {"type": "integer", "minimum": 0}, "Where the page starts (the paging links')."),
)
#: ``$find``'s and ``$book``'s parameters (IHE ITI-115, ITI-116) and their schemas.
FIND_PARAMETERS = {
    "start": SEARCH_SCHEMAS["date"],
    "end": SEARCH_SCHEMAS["date"],
    "practitioner": SEARCH_SCHEMAS["reference"],
    "patient": SEARCH_SCHEMAS["reference"],
}
BOOK_PARAMETERS = ("appointment", "slot", "patient", "reason", "urgent")

ERROR_STATUSES = {
    "400": "Invalid request (bad parameter, body or JSON).",
    "401": "No valid bearer token.",
    "403": "The token lacks the scope.",
    "404": "Unknown id (or another clinic's), unknown type or endpoint.",
    "405": "Method not supported here.",
    "409": "Conflict (the slot was booked meanwhile).",
    "412": "If-Match names another version than the current one.",
    "422": "Valid FHIR the server will not process (a business rule, a reference unknown).",
    "428": "An update needs If-Match.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _fhir(schema: dict[str, Any]) -> dict[str, Any]:
    return {FHIR_JSON: {"schema": schema}}


def _resource_schema(resource: str) -> dict[str, Any]:
    """Permissive: the resource type is fixed, the rest is the server's to check."""
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {
            "resourceType": {"type": "string", "enum": [resource]},
            "id": {"type": "string", "pattern": ID_PATTERN},
        },
        "additionalProperties": True,
    }


def _errors(*statuses: str) -> dict[str, Any]:
    return {
        status: {"description": ERROR_STATUSES[status], "content": _fhir(_ref("OperationOutcome"))}
        for status in ("400", "401", "403", *statuses)
    }


def _ok(status: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        status: {
            "description": description,
            "headers": {"ETag": {"schema": {"type": "string"}}}
            | ({"Location": {"schema": {"type": "string"}}} if status == "201" else {}),
            "content": _fhir(schema),
        }
    }


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    found = {"name": name, "in": "query", "required": False, "schema": schema}
    return found | ({"description": description} if description else {})


ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": ID_PATTERN},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'W/"<versionId>" as read (required by update: 428 without).',
    "schema": {"type": "string"},
}


def _operation(
    resource: str,
    interaction: str,
    access: str,
    summary: str,
    *,
    suffix: str = "",
    scoped: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One operation; its scope is ``scoped``'s (default: the resource's) ``access``."""
    return {
        "operationId": f"{resource}.{interaction}{suffix}",
        "summary": summary,
        "tags": [resource],
        "x-fhir-resource": resource,
        "x-fhir-interaction": interaction,
        "security": [{SECURITY_SCHEME: [scope(scoped or resource, access)]}],
        **fields,
    }


def _search_parameters(entry: dict[str, Any]) -> list[dict[str, Any]]:
    found = [
        _query(p["name"], SEARCH_SCHEMAS.get(p["type"], {"type": "string"}), p["type"])
        for p in entry.get("searchParam", [])
    ]
    return found + [_query(name, schema, words) for name, schema, words in PAGING]


def _interaction(entry: dict[str, Any], code: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The (path, method, operation) of one interaction of the statement."""
    resource = entry["type"]
    instance, kind = f"/{resource}/{{id}}", f"/{resource}"
    body = {"required": True, "content": _fhir(_resource_schema(resource))}
    if code == "read":
        op = _operation(
            resource,
            code,
            "read",
            f"Read a {resource}",
            parameters=[ID],
            responses=_ok("200", resource, _resource_schema(resource)) | _errors("404"),
        )
        return [(instance, "get", op)]
    if code == "search-type":
        params = _search_parameters(entry)
        responses = _ok("200", "A searchset Bundle", _ref("Bundle")) | _errors()
        get = _operation(
            resource, code, "read", f"Search {resource}", parameters=params, responses=responses
        )
        form = {
            "type": "object",
            "properties": {p["name"]: p["schema"] for p in params},
            "additionalProperties": False,
        }
        post = _operation(
            resource,
            code,
            "read",
            f"Search {resource} (parameters in the form body)",
            suffix=".post",
            requestBody={"required": False, "content": {FORM: {"schema": form}}},
            responses=responses,
        )
        return [(kind, "get", get), (f"{kind}/_search", "post", post)]
    if code == "create":
        op = _operation(
            resource,
            code,
            "write",
            f"Create a {resource}",
            requestBody=body,
            responses=_ok("201", "Created", _resource_schema(resource)) | _errors("409", "422"),
        )
        return [(kind, "post", op)]
    if code == "update":
        op = _operation(
            resource,
            code,
            "write",
            f"Update a {resource} (If-Match: the version read)",
            parameters=[ID, IF_MATCH],
            requestBody=body,
            responses=_ok("200", "Updated", _resource_schema(resource))
            | _errors("404", "409", "412", "422", "428"),
        )
        return [(instance, "put", op)]
    if code == "patch":
        patch = {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["op", "path"],
                "properties": {
                    "op": {"type": "string", "enum": ["add", "remove", "replace", "test"]},
                    "path": {"type": "string"},
                    "value": {},
                },
            },
        }
        op = _operation(
            resource,
            code,
            "write",
            f"Patch a {resource} (JSON Patch)",
            parameters=[ID, IF_MATCH],
            requestBody={"required": True, "content": {JSON_PATCH: {"schema": patch}}},
            responses=_ok("200", "Patched", _resource_schema(resource))
            | _errors("404", "412", "422"),
        )
        return [(instance, "patch", op)]
    if code == "delete":
        op = _operation(
            resource,
            code,
            "write",
            f"Delete a {resource}",
            parameters=[ID, IF_MATCH],
            responses={"204": {"description": "Deleted"}} | _errors("404", "409", "412", "422"),
        )
        return [(instance, "delete", op)]
    raise ValueError(f"No OpenAPI operation for the interaction {code!r} of {resource}.")


def _parameters_body(names: list[str]) -> dict[str, Any]:
    """A FHIR Parameters resource whose parameters are among ``names``."""
    value = {"type": "string"}
    return {
        "required": True,
        "content": _fhir(
            {
                "type": "object",
                "required": ["resourceType"],
                "properties": {
                    "resourceType": {"type": "string", "enum": ["Parameters"]},
                    "parameter": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string", "enum": list(names)},
                                "valueString": value,
                                "valueDateTime": value,
                                "valueBoolean": {"type": "boolean"},
                                "valueReference": {
                                    "type": "object",
                                    "properties": {"reference": value},
                                },
                                "resource": {"type": "object"},
                            },
                        },
                    },
                },
            }
        ),
    }


def _fhir_operation(entry: dict[str, Any], name: str) -> list[tuple[str, str, dict[str, Any]]]:
    resource = entry["type"]
    path = f"/{resource}/${name}"
    if name == "find":
        target, access = OPERATION_SCOPES["find"]
        responses = _ok("200", "Proposed Appointments and their Slots", _ref("Bundle")) | _errors()
        get = _operation(
            resource,
            "$find",
            access,
            "Free slots (ITI-115)",
            scoped=target,
            parameters=[_query(n, schema) for n, schema in FIND_PARAMETERS.items()],
            responses=responses,
        )
        post = _operation(
            resource,
            "$find",
            access,
            "Free slots (ITI-115), the parameters in a Parameters body",
            suffix=".post",
            scoped=target,
            requestBody=_parameters_body(list(FIND_PARAMETERS)),
            responses=responses,
        )
        return [(path, "get", get), (path, "post", post)]
    if name == "book":
        target, access = OPERATION_SCOPES["book"]
        op = _operation(
            resource,
            "$book",
            access,
            "Book a slot for a patient (ITI-116)",
            scoped=target,
            requestBody=_parameters_body(list(BOOK_PARAMETERS)),
            responses=_ok("201", "The booked Appointment", _resource_schema("Appointment"))
            | _errors("409", "422"),
        )
        return [(path, "post", op)]
    raise ValueError(f"No OpenAPI operation for the operation ${name} of {resource}.")


def _system_operation(name: str) -> list[tuple[str, str, dict[str, Any]]]:
    """An operation on the base (the statement's ``rest[0].operation``)."""
    if name == "service-matrix":
        path = "/$service-matrix"
        matrix = {
            "type": "object",
            "required": ["resourceType"],
            "properties": {"resourceType": {"type": "string", "enum": ["Parameters"]}},
        }
        read = _operation(
            "system",
            "$service-matrix",
            "read",
            "The clinic's whole service matrix, as Parameters",
            scoped="PractitionerRole",
            responses=_ok("200", "Parameters", matrix) | _errors(),
        )
        write = _operation(
            "system",
            "$service-matrix",
            "write",
            "Replace the service matrix (as the file's service_matrix section)",
            suffix=".post",
            scoped="PractitionerRole",
            requestBody={"required": True, "content": _fhir(matrix)},
            responses=_ok("200", "Parameters", matrix) | _errors("422"),
        )
        return [(path, "get", read), (path, "post", write)]
    raise ValueError(f"No OpenAPI operation for the system operation ${name}.")


def _components() -> dict[str, Any]:
    issue = {
        "type": "object",
        "required": ["severity", "code"],
        "properties": {
            "severity": {"type": "string", "enum": ["fatal", "error", "warning", "information"]},
            "code": {"type": "string"},
            "diagnostics": {"type": "string"},
            "expression": {"type": "array", "items": {"type": "string"}},
        },
    }
    return {
        "OperationOutcome": {
            "type": "object",
            "required": ["resourceType", "issue"],
            "properties": {
                "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
                "issue": {"type": "array", "minItems": 1, "items": issue},
            },
        },
        "Bundle": {
            "type": "object",
            "required": ["resourceType", "type"],
            "properties": {
                "resourceType": {"type": "string", "enum": ["Bundle"]},
                "type": {"type": "string", "enum": ["searchset"]},
                "total": {"type": "integer", "minimum": 0},
                "link": {"type": "array", "items": {"type": "object"}},
                "entry": {"type": "array", "items": {"type": "object"}},
            },
        },
    }


def openapi_document(base: str, token_url: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the server at ``base`` (``…/fhir/r4/``)."""
    statement = capability_statement(base, token_url)
    rest = statement["rest"][0]
    paths: dict[str, dict[str, Any]] = {
        "/metadata": {
            "get": {
                "operationId": "metadata",
                "summary": "The CapabilityStatement",
                "tags": ["system"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "CapabilityStatement",
                        "content": _fhir(_resource_schema("CapabilityStatement")),
                    }
                },
            }
        },
    }
    for entry in rest["resource"]:
        found = [op for i in entry.get("interaction", []) for op in _interaction(entry, i["code"])]
        found += [
            op for o in entry.get("operation", []) for op in _fhir_operation(entry, o["name"])
        ]
        for path, method, operation in found:
            paths.setdefault(path, {})[method] = operation
    for system_op in rest.get("operation", []):
        for path, method, operation in _system_operation(system_op["name"]):
            paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": statement["implementation"]["description"],
            "version": statement["fhirVersion"],
            "description": "Made from the CapabilityStatement at /fhir/r4/metadata "
            "(FHIR R4, application/fhir+json). Every error is an OperationOutcome.",
        },
        "servers": [{"url": base.rstrip("/")}],
        "paths": paths,
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "oauth2",
                    "description": rest["security"]["description"],
                    "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": ALL_SCOPES}},
                }
            },
        },
    }
