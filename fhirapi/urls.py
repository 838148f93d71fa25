from __future__ import annotations

from django.urls import path, re_path
from oauth2_provider.views import TokenView

from . import views

app_name = "fhirapi"

TYPE = r"(?P<resource>[A-Z][A-Za-z]+)"

urlpatterns = [
    path("oauth/token/", TokenView.as_view(), name="token"),
    path("r4/", views.metadata, name="base"),
    path("r4/metadata", views.metadata, name="metadata"),
    path("r4/openapi.json", views.openapi, name="openapi"),
    path("r4/.well-known/smart-configuration", views.smart, name="smart"),
    path("r4/Appointment/$find", views.find, name="find"),
    path("r4/Appointment/$book", views.book, name="book"),
    path("r4/$service-matrix", views.service_matrix, name="service_matrix"),
    re_path(rf"^r4/{TYPE}/_search$", views.search_view, name="search"),
    re_path(rf"^r4/{TYPE}/(?P<pk>[A-Za-z0-9\-.]{{1,64}})$", views.instance_view, name="instance"),
    re_path(rf"^r4/{TYPE}$", views.type_view, name="type"),
    # Anything else under the base: an OperationOutcome, never the site's HTML 404 page.
    re_path(r"^r4/", views.not_found, name="not_found"),
]
