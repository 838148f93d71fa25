"""Domain ↔ FHIR R4, one module per resource type; the identifier systems in
:mod:`.identifiers`. Each module's ``to_fhir`` turns one row (as its search queryset in
:mod:`fhirapi.selectors` reads it) into a resource dict; the writable ones have
``from_fhir`` too."""
